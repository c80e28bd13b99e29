//! Conformance to Atlassian's published OpenAPI document (2023-08 copy, the subset in
//! `tests/fixtures/`): every documented response of the operations the sandbox serves
//! validates against the document's schema for its status, and the sandbox's routes,
//! query parameters and workspaces request body are the documented ones.

mod common;

use std::collections::BTreeSet;

use atlassian_sandbox::*;
use common::*;
use jsonschema::{Draft, Validator};
use serde_json::{json, Value};

const DOC: &str = include_str!("fixtures/organizations-openapi-2023-08-subset.json");
const DOC_URI: &str = "urn:atlassian:organizations-openapi-2023-08";

/// The OpenAPI document, its schemas made JSON Schema (draft 7).
struct Spec {
    doc: Value,
}

/// OpenAPI 3.0 `nullable: true` in JSON Schema terms: `null` joins the type (or the enum);
/// a schema without a type becomes `anyOf [schema, null]`.
fn json_schema_nullable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                json_schema_nullable(x);
            }
            if m.remove("nullable") == Some(json!(true)) {
                if let Some(e) = m.get_mut("enum").and_then(Value::as_array_mut) {
                    e.push(Value::Null);
                }
                match m.get("type").cloned() {
                    Some(Value::String(t)) => {
                        m.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(m));
                        m.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(json_schema_nullable),
        _ => {}
    }
}

/// Points every document-local `$ref` of a schema taken out of the document back into it.
fn anchor_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(r) if k == "$ref" && r.starts_with('#') => *r = format!("{DOC_URI}{r}"),
                    _ => anchor_refs(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(anchor_refs),
        _ => {}
    }
}

impl Spec {
    fn load() -> Spec {
        let mut doc: Value = serde_json::from_str(DOC).expect("the fixture is JSON");
        json_schema_nullable(&mut doc);
        Spec { doc }
    }

    /// `(method, path)` of every documented operation, e.g. `("GET", "/v1/orgs")`.
    fn operations(&self) -> Vec<(String, String)> {
        let mut ops = Vec::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys().filter(|m| *m != "parameters") {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
        ops
    }

    fn operation(&self, method: &str, path: &str) -> &Value {
        let op = &self.doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in the document");
        op
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self.doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {r}")),
            None => v,
        }
    }

    /// Names of the documented query parameters of an operation.
    fn query_params(&self, method: &str, path: &str) -> BTreeSet<String> {
        let op = self.operation(method, path);
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn validator(&self, schema: &Value) -> Validator {
        let mut schema = schema.clone();
        anchor_refs(&mut schema);
        jsonschema::options()
            .with_draft(Draft::Draft7)
            .should_validate_formats(true)
            .with_resource(DOC_URI, Draft::Draft7.create_resource(self.doc.clone()))
            .build(&schema)
            .expect("the document's schema compiles")
    }

    /// The schema of an operation's response with this status.
    fn response_schema(&self, method: &str, path: &str, status: u16) -> Value {
        let op = self.operation(method, path);
        let resp = op["responses"].get(status.to_string()).unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
        self.resolve(resp)["content"]["application/json"]["schema"].clone()
    }

    /// Asserts that `body` is what the document says `method path` answers with `status`.
    fn assert_response(&self, method: &str, path: &str, r: &Resp) {
        let body = r.json();
        let v = self.validator(&self.response_schema(method, path, r.status));
        let errors: Vec<String> = v.iter_errors(&body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{method} {path} {}: {errors:#?}\n{body}", r.status);
    }
}

/// The document's path of a sandbox route (`/admin` is the document's server URL).
fn doc_path(route: &Route) -> &str {
    route.path.strip_prefix("/admin").unwrap()
}

#[test]
fn routes_and_query_parameters_are_the_documented_ones() {
    let spec = Spec::load();
    let ops = spec.operations();
    assert_eq!(ops.len(), 5);
    for (method, path) in &ops {
        let route = ROUTES
            .iter()
            .find(|r| doc_path(r) == path && r.method.as_str() == method)
            .unwrap_or_else(|| panic!("the sandbox does not serve {method} {path}"));
        let ours: BTreeSet<String> = route.query.iter().map(|q| q.to_string()).collect();
        assert_eq!(ours, spec.query_params(method, path), "query parameters of {method} {path}");
    }
    // A route on a documented path has a documented method.
    for r in &ROUTES {
        if spec.doc["paths"].get(doc_path(r)).is_some() {
            assert!(ops.contains(&(r.method.to_string(), doc_path(r).to_string())), "{} {}", r.method, r.path);
        }
    }
}

/// Forces `status` on the next request of `endpoint`, as a fault would.
fn force(sb: &Sandbox, endpoint: Endpoint, action: &str) {
    let rule: FaultRule = format!("{}:{action}:first=1", endpoint.as_str()).parse().unwrap();
    sb.reset_counts();
    sb.set_faults(Faults { rules: vec![rule] });
}

#[test]
fn v1_org_responses_match_the_document() {
    let spec = Spec::load();
    let sb = Sandbox::start(SandboxOptions { users: 50, ..Default::default() }).unwrap();
    let api = Api::new(&sb);
    let (list, one) = ("/v1/orgs", "/v1/orgs/{orgId}");
    let org = format!("/admin/v1/orgs/{}", api.org);
    spec.assert_response("GET", list, &api.get("/admin/v1/orgs"));
    spec.assert_response("GET", list, &api.get("/admin/v1/orgs?cursor=nope"));
    spec.assert_response("GET", one, &api.get(&org));
    spec.assert_response("GET", one, &api.get("/admin/v1/orgs/not-an-org"));
    for (path, url) in [(list, "/admin/v1/orgs"), (one, org.as_str())] {
        spec.assert_response("GET", path, &request(&api.base, "GET", url, Some("wrong"), None));
        for (ep, action) in [(Endpoint::Orgs, "429"), (Endpoint::Org, "429"), (Endpoint::Orgs, "500"), (Endpoint::Org, "500")] {
            force(&sb, ep, action);
            spec.assert_response("GET", path, &api.get(url));
        }
    }
    sb.set_faults(Faults::none());
    let empty = Sandbox::start(SandboxOptions { users: 5, orgs_list_empty: true, ..Default::default() }).unwrap();
    spec.assert_response("GET", list, &Api::new(&empty).get("/admin/v1/orgs"));
    // Several organizations, every page.
    let many = Sandbox::start(SandboxOptions { users: 5, extra_orgs: 30, ..Default::default() }).unwrap();
    let api = Api::new(&many);
    let first = api.get("/admin/v1/orgs");
    spec.assert_response("GET", list, &first);
    let next = first.json()["links"]["next"].as_str().unwrap().trim_start_matches(&api.base).to_string();
    spec.assert_response("GET", list, &api.get(&next));
}

#[test]
fn v1_users_and_last_active_dates_match_the_document() {
    let spec = Spec::load();
    let sb = Sandbox::start(SandboxOptions { users: 400, last_active_page_size: 2, ..Default::default() }).unwrap();
    let api = Api::new(&sb);
    let users = "/v1/orgs/{orgId}/users";
    let pages = api.managed_pages();
    assert!(pages.len() > 3);
    for (path, _) in &pages {
        spec.assert_response("GET", users, &api.get(path));
    }
    let base = format!("/admin/v1/orgs/{}/users", api.org);
    spec.assert_response("GET", users, &api.get(&format!("{base}?cursor=nope")));
    spec.assert_response("GET", users, &api.get("/admin/v1/orgs/nope/users"));
    spec.assert_response("GET", users, &request(&api.base, "GET", &base, Some("wrong"), None));
    for action in ["429", "500"] {
        force(&sb, Endpoint::ManagedUsers, action);
        spec.assert_response("GET", users, &api.get(&base));
    }
    sb.set_faults(Faults::none());
    // Negative estimates are still integers.
    let neg = Sandbox::start(SandboxOptions { users: 60, negative_estimates: true, ..Default::default() }).unwrap();
    let neg_api = Api::new(&neg);
    spec.assert_response("GET", users, &neg_api.get(&format!("/admin/v1/orgs/{}/users", neg_api.org)));
    spec.assert_response("POST", "/v2/orgs/{orgId}/workspaces", &neg_api.workspaces(&json!({})));
    // An undocumented parameter changes nothing.
    assert_eq!(api.get(&format!("{base}?limit=5")).json()["data"], api.get(&base).json()["data"]);

    let dates = "/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates";
    let ids: Vec<String> = sb.truth().users.iter().take(80).map(|u| u.account_id.clone()).collect();
    for id in &ids {
        let mut cursor: Option<String> = None;
        loop {
            let r = api.last_active(id, cursor.as_deref());
            spec.assert_response("GET", dates, &r);
            match r.json()["links"].get("next").and_then(Value::as_str) {
                Some(n) => cursor = Some(n.to_string()),
                None => break,
            }
        }
    }
    spec.assert_response("GET", dates, &api.last_active(&ids[0], Some("nope")));
    spec.assert_response("GET", dates, &api.last_active("no-such-user", None));
    let one = format!("/admin/v1/orgs/{}/directory/users/{}/last-active-dates", api.org, ids[0]);
    spec.assert_response("GET", dates, &request(&api.base, "GET", &one, Some("wrong"), None));
    for action in ["429", "500"] {
        force(&sb, Endpoint::LastActiveDates, action);
        spec.assert_response("GET", dates, &api.get(&one));
    }
}

#[test]
fn workspaces_responses_and_request_bodies_match_the_document() {
    let spec = Spec::load();
    let sb = Sandbox::start(SandboxOptions { users: 200, ..Default::default() }).unwrap();
    let api = Api::new(&sb);
    let path = "/v2/orgs/{orgId}/workspaces";
    let op = spec.operation("POST", path);
    let body_schema = &op["requestBody"]["content"]["application/json"];
    let body_validator = spec.validator(&body_schema["schema"]);
    // The document's own examples are accepted.
    for (name, example) in body_schema["examples"].as_object().unwrap() {
        let r = api.workspaces(&example["value"]);
        assert_eq!(r.status, 200, "example {name}: {}", String::from_utf8_lossy(&r.body));
        spec.assert_response("POST", path, &r);
    }
    // Every page of a walk, and the bodies that asked for them, conform.
    let mut body = json!({"limit": 3, "sort": [{"field": "attributes.name", "order": "desc"}]});
    loop {
        assert!(body_validator.is_valid(&body), "{body}");
        let r = api.workspaces(&body);
        spec.assert_response("POST", path, &r);
        match r.json()["links"].get("next").cloned() {
            Some(next) => body = json!({"cursor": next}),
            None => break,
        }
    }
    // `limit`: the documented default and bounds.
    let limit = &spec.resolve(&body_schema["schema"])["properties"]["limit"];
    assert_eq!(api.workspaces(&json!({})).json()["meta"]["pageSize"], limit["default"]);
    let (min, max) = (limit["minimum"].as_i64().unwrap(), limit["maximum"].as_i64().unwrap());
    for (n, ok) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
        let r = api.workspaces(&json!({"limit": n}));
        assert_eq!(r.status == 200, ok, "limit {n}");
        spec.assert_response("POST", path, &r);
    }
    // "When a cursor is provided in the request body, no other properties may be present."
    let next = api.workspaces(&json!({"limit": 2})).json()["links"]["next"].clone();
    let r = api.workspaces(&json!({"cursor": next, "limit": 2}));
    assert_eq!(r.status, 400);
    spec.assert_response("POST", path, &r);
    spec.assert_response("POST", path, &api.post("/admin/v2/orgs/nope/workspaces", &json!({})));
    spec.assert_response("POST", path, &request(&api.base, "POST", &format!("/admin/v2/orgs/{}/workspaces", api.org), Some("wrong"), Some("{}")));
    force(&sb, Endpoint::Workspaces, "500");
    spec.assert_response("POST", path, &api.workspaces(&json!({})));
}

#[test]
fn the_nullable_conversion_is_what_the_validation_relies_on() {
    let spec = Spec::load();
    let ws = spec.validator(&json!({"$ref": "#/components/schemas/WorkspaceModel"}));
    let mut w = json!({"id": "x", "type": "workspaces", "attributes": {"hostUrl": null, "capacity": null, "sandbox": null}});
    assert!(ws.is_valid(&w));
    w["attributes"]["capacity"] = json!("many");
    assert!(!ws.is_valid(&w), "a wrong type still fails");
    let user = spec.validator(&json!({"$ref": "#/components/schemas/User"}));
    let mut u = json!({"account_id": "a", "account_type": "atlassian", "account_status": "active", "name": "n", "picture": "p",
                       "product_access": [{"key": "confluence", "name": "Confluence", "last_active": "2026-01-02T03:04:05Z"}]});
    assert!(user.is_valid(&u));
    u["product_access"][0]["last_active"] = json!("yesterday");
    assert!(!user.is_valid(&u), "formats are checked");
    u["product_access"][0]["last_active"] = json!("2026-01-02T03:04:05Z");
    u["email"] = Value::Null;
    assert!(!user.is_valid(&u), "email is absent when hidden, never null");
    // What the org list used to answer: an item without relationships, a null next.
    let page = spec.validator(&json!({"$ref": "#/components/schemas/OrgPage"}));
    let item = json!({"id": "o", "type": "orgs", "attributes": {"name": "n"}, "relationships": {}, "links": {"self": "s"}});
    assert!(page.is_valid(&json!({"data": [item], "links": {"self": "s"}})));
    assert!(!page.is_valid(&json!({"data": [item], "links": {"self": "s", "next": null}})));
    let mut bare = item.clone();
    bare.as_object_mut().unwrap().remove("relationships");
    assert!(!page.is_valid(&json!({"data": [bare], "links": {"self": "s"}})));
    let dates = spec.validator(&json!({"$ref": "#/components/schemas/UserProductAccessActivityPage"}));
    let entry = |d: &str| json!({"data": {"product_access": [{"id": "i", "key": "confluence", "last_active": d}]}});
    assert!(dates.is_valid(&entry("2023-01-19")));
    assert!(!dates.is_valid(&entry("2023-13-45")));
}
