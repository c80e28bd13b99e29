//! Keys and plans of other shapes: a key whose scopes do not reach the v2 directory,
//! an org list with several organizations, and estimates of any integer.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use atlassian_sandbox::*;
use common::*;
use serde_json::{json, Value};

fn start(opts: SandboxOptions) -> Sandbox {
    Sandbox::start(opts).expect("start")
}

#[test]
fn a_key_without_directory_scopes_gets_403_on_the_v2_directory_only() {
    let sb = start(SandboxOptions { users: 80, directory_forbidden: true, ..Default::default() });
    let api = Api::new(&sb);
    let org = &api.org;
    sb.set_rate_limit(Some(RateLimit::new(1000, Duration::from_secs(3600))));
    let forbidden = [
        api.search(&json!({})),
        api.search(&json!({"expand": ["productAccess"]})),
        api.get(&format!("/admin/v2/orgs/{org}/directories/-/users/count")),
        api.get(&format!("/admin/v2/orgs/{org}/directories/{}/users/count?status=active", api.dir)),
        api.get(&format!("/admin/v2/orgs/{org}/directories")),
    ];
    for r in &forbidden {
        assert_app_error(r, 403, "ADMIN-403-3");
        assert!(r.header("X-RateLimit-Remaining").is_some(), "a 403 still spends quota");
    }
    let id = sb.truth().users[0].account_id.clone();
    for path in [
        "/admin/v1/orgs".to_string(),
        format!("/admin/v1/orgs/{org}"),
        format!("/admin/v1/orgs/{org}/users"),
        format!("/admin/v1/orgs/{org}/directory/users/{id}/last-active-dates"),
    ] {
        assert_eq!(api.get(&path).status, 200, "{path}");
    }
    assert_eq!(api.workspaces(&json!({})).status, 200);
    assert_eq!(sb.request_count(Endpoint::UsersSearch), 2);
    assert_eq!(sb.request_count(Endpoint::UsersCount), 2);
    assert_eq!(sb.request_count(Endpoint::Directories), 1);
    // The key's scopes change at run time.
    sb.set_directory_forbidden(false);
    assert_eq!(api.search(&json!({})).status, 200);
    let dirs = api.get(&format!("/admin/v2/orgs/{org}/directories")).json();
    assert_eq!(dirs["data"], json!([{"directoryId": api.dir, "name": sb.truth().directory_name, "icon": null}]));
    assert!(dirs["links"].get("next").is_none());
    assert_app_error(&api.get(&format!("/admin/v2/orgs/{org}/directories?cursor=x")), 400, "ADMIN-400-1");
    assert_app_error(&api.get(&format!("/admin/v2/orgs/{org}/directories?limit=0")), 400, "ADMIN-400-24");
    assert_app_error(&api.get("/admin/v2/orgs/nope/directories"), 404, "ADMIN-404-2");
    sb.set_directory_forbidden(true);
    assert_app_error(&api.get(&format!("/admin/v2/orgs/{org}/directories/-/users/count")), 403, "ADMIN-403-3");
}

#[test]
fn several_organizations_page_by_url_and_only_ours_is_readable() {
    let sb = start(SandboxOptions { users: 10, extra_orgs: 44, ..Default::default() });
    let api = Api::new(&sb);
    let mut path = "/admin/v1/orgs".to_string();
    let mut orgs: Vec<Value> = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let j = api.get(&path).json();
        assert_eq!(j["links"]["self"].as_str().unwrap(), format!("{}{path}", api.base));
        let data = j["data"].as_array().unwrap();
        sizes.push(data.len());
        orgs.extend(data.iter().cloned());
        let Some(next) = j["links"].get("next").and_then(Value::as_str) else { break };
        assert!(next.starts_with(&format!("{}/admin/v1/orgs?cursor=", api.base)), "{next}");
        path = next.trim_start_matches(&api.base).to_string();
    }
    assert_eq!(sizes, [20, 20, 5]);
    let ids: HashSet<&str> = orgs.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 45);
    assert_eq!(orgs.iter().filter(|o| o["id"] == json!(api.org)).count(), 1);
    assert_ne!(orgs[0]["id"], json!(api.org), "ours is not simply first (seed 42)");
    for o in &orgs {
        assert_eq!(o["type"], "orgs");
        assert!(o["attributes"]["name"].is_string() && o["relationships"].is_object());
        let id = o["id"].as_str().unwrap();
        let status = api.get(&format!("/admin/v1/orgs/{id}")).status;
        assert_eq!(status, if id == api.org { 200 } else { 404 }, "{id}");
    }
    // prev of the last page is the second page.
    let last = api.get(&path).json();
    let prev = last["links"]["prev"].as_str().unwrap().trim_start_matches(&api.base).to_string();
    assert_eq!(api.get(&prev).json()["data"].as_array().unwrap(), &orgs[20..40]);
    assert_app_error(&api.get("/admin/v1/orgs?cursor=abc"), 400, "ADMIN-400-1");
    // The same seed lists the same organizations.
    let again = start(SandboxOptions { users: 10, extra_orgs: 44, ..Default::default() });
    let ids_of = |v: &[Value]| v.iter().map(|o| (o["id"].clone(), o["attributes"].clone())).collect::<Vec<_>>();
    assert_eq!(ids_of(Api::new(&again).get("/admin/v1/orgs").json()["data"].as_array().unwrap()), ids_of(&orgs[..20]));
    // An empty list still wins, and one org alone has no next.
    let empty = start(SandboxOptions { users: 10, extra_orgs: 44, orgs_list_empty: true, ..Default::default() });
    let j = Api::new(&empty).get("/admin/v1/orgs").json();
    assert_eq!(j["data"], json!([]));
    assert!(j["links"].get("next").is_none());
    let one = start(SandboxOptions { users: 10, ..Default::default() });
    let j = Api::new(&one).get("/admin/v1/orgs").json();
    assert_eq!(j["data"].as_array().unwrap().len(), 1);
    assert!(j["links"].get("next").is_none());
}

#[test]
fn negative_estimates_answer_minus_one_where_the_schema_has_a_plain_integer() {
    let sb = start(SandboxOptions { users: 150, negative_estimates: true, ..Default::default() });
    let api = Api::new(&sb);
    let pages = api.managed_pages();
    assert!(pages.len() > 1, "paging does not depend on the estimate");
    assert!(pages.iter().all(|(_, p)| p["meta"]["total"] == -1));
    let managed = sb.truth().users.iter().filter(|u| u.is_managed()).count();
    assert_eq!(pages.iter().map(|(_, p)| p["data"].as_array().unwrap().len()).sum::<usize>(), managed);
    let ws = api.workspaces(&json!({"limit": 2})).json();
    assert_eq!(ws["meta"]["total"], -1);
    assert_eq!(ws["meta"]["pageSize"], 2);
    let users = api.search_all(json!({"limit": 100, "expand": ["counts.resources"]}));
    assert_eq!(users.len(), 150);
    assert!(users.iter().all(|u| u["counts"]["resources"] == -1));
    let count = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count", api.org)).json();
    assert_eq!(count["count"], 150, "users/count is a count, not an estimate");
}

#[test]
fn command_line_switches_for_keys_and_plans() {
    let (mut child, info) =
        spawn_cli(&["--users", "30", "--v2-directory-forbidden", "--extra-orgs", "2", "--negative-estimates"]);
    let (base, key, org) = (info["base_url"].as_str().unwrap(), info["api_key"].as_str().unwrap(), info["org_id"].as_str().unwrap());
    let search = format!("/admin/v2/orgs/{org}/directories/-/users/search");
    assert_app_error(&request(base, "POST", &search, Some(key), Some("{}")), 403, "ADMIN-403-3");
    assert_eq!(request(base, "GET", "/admin/v1/orgs", Some(key), None).json()["data"].as_array().unwrap().len(), 3);
    let users = request(base, "GET", &format!("/admin/v1/orgs/{org}/users"), Some(key), None).json();
    assert_eq!(users["meta"]["total"], -1);
    drop(child.stdin.take());
    let _ = child.wait();
    let help = help_text();
    for word in ["--v2-directory-forbidden", "--extra-orgs", "--negative-estimates", "/admin/v2/orgs/{orgId}/directories", "directories"] {
        assert!(help.contains(word), "--help mentions {word}");
    }
}

#[test]
fn any_scope_a_route_needs_can_be_taken_from_the_key() {
    let sb = start(SandboxOptions { users: 30, forbidden_scopes: vec!["read:workspaces:admin".into()], ..Default::default() });
    let api = Api::new(&sb);
    let r = api.workspaces(&json!({}));
    assert_app_error(&r, 403, "ADMIN-403-3");
    assert!(r.json()["errors"][0]["detail"].as_str().unwrap().contains("(scope read:workspaces:admin)"));
    assert_eq!(api.get(&format!("/admin/v1/orgs/{}", api.org)).status, 200, "the rest works");
    // The control routes: every scope with the endpoints needing it; one switched.
    let scopes = request(&api.base, "GET", "/__sandbox/scopes", None, None).json();
    let listed: Vec<&str> = scopes["scopes"].as_array().unwrap().iter().map(|s| s["scope"].as_str().unwrap()).collect();
    assert_eq!(listed, Scope::all().iter().map(|s| s.name).collect::<Vec<_>>());
    let workspaces = scopes["scopes"].as_array().unwrap().iter().find(|s| s["scope"] == "read:workspaces:admin").unwrap();
    assert_eq!((workspaces["forbidden"].clone(), workspaces["endpoints"].clone()), (json!(true), json!(["workspaces"])));
    let switch = |scope: &str, body: &str| request(&api.base, "POST", &format!("/__sandbox/scopes/{scope}"), None, Some(body));
    assert_eq!(switch("read:orgs:admin", r#"{"forbidden": true}"#).status, 200);
    assert_app_error(&api.get(&format!("/admin/v1/orgs/{}", api.org)), 403, "ADMIN-403-3");
    assert!(sb.scope_forbidden("read:orgs:admin"));
    assert_eq!(switch("read:orgs:admin", r#"{"forbidden": false}"#).status, 200);
    assert_eq!(api.get("/admin/v1/orgs").status, 200);
    assert_eq!(switch("read:nothing:admin", r#"{"forbidden": true}"#).status, 404);
    for bad in ["", "{}", r#"{"forbidden": "yes"}"#, "[true]"] {
        let r = switch("read:orgs:admin", bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json()["error"].is_string());
    }
    // The library: the older switches are scopes too.
    sb.allow_scope("read:workspaces:admin").unwrap();
    assert_eq!(api.workspaces(&json!({})).status, 200);
    assert_eq!(sb.forbid_scope("read:nothing:admin"), Err(UnknownScope("read:nothing:admin".into())));
    sb.set_groups_forbidden(true);
    assert!(sb.scope_forbidden("read:groups:admin"));
    sb.forbid_scope("read:events:admin").unwrap();
    assert_eq!(sb.events_access(), EventsAccess::Forbidden);
    sb.set_events_access(EventsAccess::Empty);
    assert!(!sb.scope_forbidden("read:events:admin"));
    let err = Sandbox::start(SandboxOptions { users: 5, forbidden_scopes: vec!["read:nothing:admin".into()], ..Default::default() }).err().unwrap();
    assert!(err.to_string().contains("read:nothing:admin"), "{err}");
}

#[test]
fn the_command_line_forbids_a_scope_by_name() {
    let (mut child, info) = spawn_cli(&["--users", "20", "--forbid-scope", "read:groups:admin", "--forbid-scope", "read:accounts:admin"]);
    let (base, key, org) = (info["base_url"].as_str().unwrap(), info["api_key"].as_str().unwrap(), info["org_id"].as_str().unwrap());
    let groups = request(base, "POST", &format!("/admin/v2/orgs/{org}/directories/-/groups/search"), Some(key), Some("{}"));
    assert_app_error(&groups, 403, "ADMIN-403-3");
    assert_app_error(&request(base, "GET", &format!("/admin/v1/orgs/{org}/users"), Some(key), None), 403, "ADMIN-403-3");
    assert_eq!(request(base, "POST", &format!("/admin/v2/orgs/{org}/directories/-/users/search"), Some(key), Some("{}")).status, 200);
    drop(child.stdin.take());
    let _ = child.wait();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_atlassian-sandbox")).args(["--forbid-scope", "read:nothing:admin"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("read:groups:admin"), "the error lists the scopes");
    let help = help_text();
    for word in ["--forbid-scope", "[read:directories:admin]", "/__sandbox/scopes"] {
        assert!(help.contains(word), "--help mentions {word}");
    }
}
