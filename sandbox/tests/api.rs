//! HTTP behaviour of the sandbox, exercised with a raw blocking client.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use atlassian_sandbox::*;
use common::{assert_app_error, request, Api};
use serde_json::{json, Value};

fn start(users: usize) -> Sandbox {
    Sandbox::start(SandboxOptions { users, ..Default::default() }).expect("start")
}

#[test]
fn pagination_walks_every_user_exactly_once() {
    let sb = start(1000);
    let api = Api::new(&sb);
    let mut body = json!({"limit": 100});
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut prev_links: Vec<Value> = Vec::new();
    loop {
        let r = api.search(&body);
        assert_eq!(r.status, 200);
        let j = r.json();
        let data = j["data"].as_array().unwrap();
        assert!(data.len() <= 100);
        seen.extend(data.iter().map(|u| u["accountId"].as_str().unwrap().to_string()));
        pages += 1;
        prev_links.push(j["links"].clone());
        match j["links"].get("next").and_then(|n| n.as_str()) {
            Some(n) => {
                assert!(!n.contains("http"), "bare cursor expected");
                body["cursor"] = json!(n);
            }
            None => break,
        }
    }
    assert_eq!(pages, 10);
    assert!(prev_links[0].get("prev").is_none());
    assert!(prev_links[1]["prev"].is_string());
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 1000, "no duplicates");
    let truth: HashSet<String> = sb.truth().users.iter().map(|u| u.account_id.clone()).collect();
    assert_eq!(unique.into_iter().cloned().collect::<HashSet<_>>(), truth);
    // Stable order, not sorted by name nor by account id.
    let again: Vec<String> =
        api.search_all(json!({"limit": 100})).iter().map(|u| u["accountId"].as_str().unwrap().to_string()).collect();
    assert_eq!(again, seen);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_ne!(sorted, seen);
    // prev of page 2 leads back to page 1.
    let r = api.search(&json!({"limit": 100, "cursor": prev_links[1]["prev"]})).json();
    assert_eq!(r["data"].as_array().unwrap().len(), 100);
    assert_eq!(r["data"][0]["accountId"].as_str().unwrap(), seen[0]);
    // Default limit is 50.
    assert_eq!(api.search(&json!({})).json()["data"].as_array().unwrap().len(), 50);
    // A user's links.self is a cursor starting at that user.
    let u = &api.search(&json!({"limit": 5})).json()["data"][3];
    let r = api.search(&json!({"limit": 1, "cursor": u["links"]["self"]})).json();
    assert_eq!(r["data"][0]["accountId"], u["accountId"]);
}

#[test]
fn cursor_and_limit_errors() {
    let sb = start(50);
    let api = Api::new(&sb);
    for bad in [json!("garbage"), json!("eyJ0IjoidSJ9AAAAAAAAAAAA"), json!(12)] {
        assert_app_error(&api.search(&json!({"cursor": bad})), 400, "ADMIN-400-1");
    }
    // A cursor from another sandbox instance (different salt) is rejected.
    let other = start(50);
    let c = Api::new(&other).search(&json!({"limit": 10})).json()["links"]["next"].clone();
    assert_app_error(&api.search(&json!({"cursor": c})), 400, "ADMIN-400-1");
    for limit in [json!(0), json!(101), json!(-1), json!("10")] {
        let r = api.search(&json!({"limit": limit}));
        assert_eq!(r.status, 400);
        assert!(r.json()["errors"][0]["code"].as_str().unwrap().starts_with("ADMIN-400-"));
    }
    assert_eq!(api.search(&json!({"limit": 100})).status, 200);
    let r = request(&api.base, "POST", &format!("/admin/v2/orgs/{}/directories/-/users/search", api.org), Some(api.key), Some("{not json"));
    assert_app_error(&r, 400, "ADMIN-400-24");
    // Configurable maximum.
    let sb2 = Sandbox::start(SandboxOptions { users: 20, search_max_limit: 10, ..Default::default() }).unwrap();
    let api2 = Api::new(&sb2);
    assert_eq!(api2.search(&json!({"limit": 11})).status, 400);
    assert_eq!(api2.search(&json!({"limit": 10})).status, 200);
    // Last-active cursor errors.
    let id = sb.truth().users[0].account_id.clone();
    assert_app_error(&api.last_active(&id, Some("nope")), 400, "ADMIN-400-1");
}

#[test]
fn auth_and_not_found_errors() {
    let sb = start(20);
    let api = Api::new(&sb);
    let paths = [
        ("GET", "/admin/v1/orgs".to_string()),
        ("GET", format!("/admin/v1/orgs/{}", api.org)),
        ("POST", format!("/admin/v2/orgs/{}/directories/-/users/search", api.org)),
        ("GET", format!("/admin/v2/orgs/{}/directories/-/users/count", api.org)),
        ("POST", format!("/admin/v2/orgs/{}/workspaces", api.org)),
        ("GET", format!("/admin/v1/orgs/{}/directory/users/x/last-active-dates", api.org)),
    ];
    for (m, p) in &paths {
        for key in [None, Some("wrong-key")] {
            let r = request(&api.base, m, p, key, None);
            assert_eq!(r.status, 401, "{m} {p}");
            assert_eq!(r.json(), json!({"code": 401, "message": "Unauthorized"}));
        }
        // Basic auth is a 401 too.
        let host = api.base.trim_start_matches("http://");
        let raw = format!("{m} {p} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: Basic dXNlcjp0b2tlbg==\r\nContent-Length: 0\r\n\r\n");
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(host).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    }
    let wrong = "00000000-0000-0000-0000-000000000000";
    assert_app_error(&api.get(&format!("/admin/v1/orgs/{wrong}")), 404, "ADMIN-404-2");
    assert_app_error(&api.post(&format!("/admin/v2/orgs/{wrong}/directories/-/users/search"), &json!({})), 404, "ADMIN-404-2");
    assert_app_error(&api.get(&format!("/admin/v2/orgs/{wrong}/directories/-/users/count")), 404, "ADMIN-404-2");
    assert_app_error(&api.post(&format!("/admin/v2/orgs/{wrong}/workspaces"), &json!({})), 404, "ADMIN-404-2");
    assert_app_error(&api.get(&format!("/admin/v1/orgs/{wrong}/directory/users/x/last-active-dates")), 404, "ADMIN-404-2");
    // Directory: "-" and the real id work, others 404.
    let p = format!("/admin/v2/orgs/{}/directories/{}/users/search", api.org, api.dir);
    assert_eq!(api.post(&p, &json!({})).status, 200);
    let r = api.post(&format!("/admin/v2/orgs/{}/directories/nope/users/search", api.org), &json!({}));
    assert_eq!(r.status, 404);
    assert!(r.json()["errors"][0]["code"].as_str().unwrap().starts_with("ADMIN-404"));
    // Unknown user.
    assert_app_error(&api.last_active("no-such-user", None), 404, "ADMIN-404-8");
    // Unknown path and wrong method.
    assert_eq!(api.get("/admin/v9/nothing").status, 404);
    assert_eq!(api.get(&format!("/admin/v2/orgs/{}/workspaces", api.org)).status, 405);
    assert_eq!(api.post(&format!("/admin/v1/orgs/{}", api.org), &json!({})).status, 405);
}

#[test]
fn org_endpoints() {
    let sb = start(10);
    let api = Api::new(&sb);
    let j = api.get("/admin/v1/orgs").json();
    assert_eq!(j["data"][0]["id"], json!(api.org));
    assert_eq!(j["data"][0]["type"], "orgs");
    assert!(j["data"][0]["attributes"]["name"].is_string());
    assert!(j["links"]["next"].is_null());
    let j = api.get(&format!("/admin/v1/orgs/{}", api.org)).json();
    assert_eq!(j["data"]["id"], json!(api.org));
    assert!(j["data"]["relationships"].is_object());
    assert!(j["data"]["links"]["self"].is_string());
    assert_app_error(&api.get("/admin/v1/orgs?cursor=abc"), 400, "ADMIN-400-1");
    let sb2 = Sandbox::start(SandboxOptions { users: 10, orgs_list_empty: true, ..Default::default() }).unwrap();
    let api2 = Api::new(&sb2);
    let r = api2.get("/admin/v1/orgs");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!([]));
    assert_eq!(api2.get(&format!("/admin/v1/orgs/{}", api2.org)).status, 200);
}

#[test]
fn workspaces_paging_and_cursor_alone_rule() {
    let sb = start(100);
    let api = Api::new(&sb);
    let truth = sb.truth();
    let j = api.workspaces(&json!({})).json();
    let all = j["data"].as_array().unwrap();
    assert_eq!(all.len(), truth.workspaces.len());
    assert_eq!(j["meta"]["total"], truth.workspaces.len());
    assert_eq!(j["meta"]["pageSize"], 20);
    assert!(j["links"].get("next").is_none());
    for w in all {
        assert_eq!(w["type"], "workspaces");
        assert!(w["id"].as_str().unwrap().starts_with("ari:cloud:"));
        let a = &w["attributes"];
        for k in ["name", "typeKey", "type", "status", "hostUrl", "realm", "createdAt"] {
            assert!(a[k].is_string(), "{k} in {w}");
        }
        assert!(a["regions"].is_array() && a["labels"].is_array() && a["statusDetails"].is_array());
        let ent = &w["relationships"]["entitlement"][0];
        assert_eq!(ent["type"], "entitlement");
        assert!(ent["attributes"]["plan"].is_string());
        if a["typeKey"] == "trello" {
            assert!(a.get("capacity").is_none());
        } else {
            assert!(a["capacity"].is_u64());
        }
        if a["typeKey"] == "bitbucket" {
            assert!(a["usage"].is_u64());
        } else {
            assert!(a["usage"].is_null());
        }
    }
    assert!(all.iter().any(|w| w["attributes"]["sandbox"]["type"] == "CHILD"));
    // Paging with limit 4 and cursor alone.
    let mut ids = Vec::new();
    let mut r = api.workspaces(&json!({"limit": 4})).json();
    assert_eq!(r["meta"]["startIndex"], 0);
    assert_eq!(r["meta"]["endIndex"], 3);
    loop {
        ids.extend(r["data"].as_array().unwrap().iter().map(|w| w["id"].clone()));
        let Some(next) = r["links"].get("next").cloned() else { break };
        // Cursor together with anything else is rejected.
        let bad = api.workspaces(&json!({"cursor": next, "limit": 4}));
        assert_eq!(bad.status, 400);
        assert!(bad.json()["errors"][0]["code"].as_str().unwrap().starts_with("ADMIN-400"));
        r = api.workspaces(&json!({"cursor": next})).json();
        assert_eq!(r["meta"]["pageSize"], 4);
    }
    assert_eq!(ids.len(), truth.workspaces.len());
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    assert_app_error(&api.workspaces(&json!({"cursor": "xyz"})), 400, "ADMIN-400-1");
    assert_eq!(api.workspaces(&json!({"limit": 1001})).status, 400);
    assert_eq!(api.workspaces(&json!({"limit": 0})).status, 400);
    // Query and sort.
    let j = api
        .workspaces(&json!({"query": {"field": {"name": "attributes.typeKey", "values": ["confluence"]}},
                            "sort": [{"field": "attributes.name", "order": "desc"}]}))
        .json();
    let names: Vec<&str> = j["data"].as_array().unwrap().iter().map(|w| w["attributes"]["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names[0] > names[1]);
    assert_eq!(api.workspaces(&json!({"sort": [{"field": "bogus"}]})).status, 400);
}

#[test]
fn last_active_dates_match_product_access() {
    let sb = Sandbox::start(SandboxOptions { users: 300, last_active_page_size: 2, ..Default::default() }).unwrap();
    let api = Api::new(&sb);
    let users = api.search_all(json!({"limit": 100, "expand": ["productAccess"]}));
    let truth = sb.truth();
    let key_of: HashMap<&str, &str> =
        truth.workspaces.iter().map(|w| (w.id.as_str(), w.last_active_key.as_str())).collect();
    let mut checked_multi_page = 0;
    for u in users.iter().take(120) {
        let id = u["accountId"].as_str().unwrap();
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let r = api.last_active(id, cursor.as_deref());
            assert_eq!(r.status, 200);
            let j = r.json();
            let pa = j["data"]["product_access"].as_array().unwrap();
            assert!(pa.len() <= 2);
            entries.extend(pa.iter().cloned());
            pages += 1;
            if let Some(a) = u.get("addedToOrg").and_then(|a| a.as_str()) {
                assert_eq!(j["data"]["added_to_org"].as_str().unwrap(), &a[..10]);
                assert_eq!(j["data"]["added_to_org_timestamp"].as_str().unwrap(), a);
            }
            match j["links"].get("next").and_then(|n| n.as_str()) {
                Some(n) => cursor = Some(n.to_string()),
                None => break,
            }
        }
        if pages > 1 {
            checked_multi_page += 1;
        }
        let expected: Vec<Value> = u.get("productAccess").and_then(|p| p.as_array()).cloned().unwrap_or_default();
        assert_eq!(entries.len(), expected.len(), "{id}");
        for (e, x) in entries.iter().zip(&expected) {
            assert_eq!(e["id"], x["id"]);
            assert_eq!(e["key"].as_str().unwrap(), key_of[x["id"].as_str().unwrap()]);
            let ts = x["lastActiveTimestamp"].as_str().unwrap();
            assert_eq!(e["last_active"].as_str().unwrap(), &ts[..10]);
            if let Some(t) = e.get("last_active_timestamp") {
                assert_eq!(t.as_str().unwrap(), ts);
            }
        }
    }
    assert!(checked_multi_page > 5);
    // Older vocabulary.
    assert!(key_of.values().any(|k| *k == "jira-software"));
    assert!(key_of.values().any(|k| *k == "jira-service-desk"));
}

#[test]
fn expand_gates_fields_and_product_access_modes() {
    let sb = start(400);
    let api = Api::new(&sb);
    let plain = api.search_all(json!({"limit": 100}));
    for u in &plain {
        for k in ["platformRoles", "counts", "groups", "productAccess"] {
            assert!(u.get(k).is_none(), "{k} without expand");
        }
        for k in ["accountId", "accountType", "status", "accountStatus", "membershipStatus", "name", "claimStatus", "picture", "avatar", "forDeletion", "links"] {
            assert!(u.get(k).is_some(), "{k} missing in {u}");
        }
        assert!(u.get("managementSource").is_some());
    }
    assert!(plain.iter().any(|u| u.get("jobTitle").is_none()));
    assert!(plain.iter().any(|u| u.get("jobTitle").is_some_and(|j| j.is_null())));
    let full = api.search_all(json!({"limit": 100, "expand": ["platformRoles", "counts.resources", "productAccess", "groups"]}));
    assert!(full.iter().all(|u| u["platformRoles"].is_array() && u["counts"]["resources"].is_u64() && u["groups"].is_array()));
    assert!(full.iter().any(|u| u["platformRoles"].as_array().unwrap().iter().any(|r| r == "atlassian/org-admin")));
    assert!(full.iter().any(|u| u["productAccess"].as_array().is_some_and(|a| a.is_empty())));
    assert!(full.iter().any(|u| u.get("productAccess").is_none()), "some never-active users omit the field");
    let pa = full.iter().flat_map(|u| u.get("productAccess").and_then(|p| p.as_array()).cloned().unwrap_or_default()).collect::<Vec<_>>();
    let keys: HashSet<&str> = pa.iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert!(keys.contains("jira") && keys.contains("confluence"));
    assert!(pa.iter().all(|p| p["lastActiveTimestamp"].as_str().unwrap().ends_with('Z')));
    let g = full.iter().find(|u| !u["groups"].as_array().unwrap().is_empty()).unwrap();
    assert!(g["groups"][0]["id"].is_string() && g["groups"][0]["name"].is_string());
    assert_eq!(api.search(&json!({"expand": ["bogus"]})).status, 400);

    let rej = Sandbox::start(SandboxOptions { users: 30, product_access_mode: ProductAccessMode::Rejected, ..Default::default() }).unwrap();
    let ra = Api::new(&rej);
    assert_app_error(&ra.search(&json!({"expand": ["productAccess"]})), 400, "ADMIN-400-4");
    assert_eq!(ra.search(&json!({"expand": ["groups"]})).status, 200);
    let om = Sandbox::start(SandboxOptions { users: 30, product_access_mode: ProductAccessMode::Omitted, ..Default::default() }).unwrap();
    let oa = Api::new(&om);
    let r = oa.search(&json!({"expand": ["productAccess", "groups"]}));
    assert_eq!(r.status, 200);
    assert!(r.json()["data"].as_array().unwrap().iter().all(|u| u.get("productAccess").is_none() && u.get("groups").is_some()));
}

#[test]
fn filters_match_truth() {
    let sb = start(1500);
    let api = Api::new(&sb);
    let org = sb.truth();
    let jira = &org.workspaces[0];
    let count = |body: Value| api.search_all(body).len();
    // resourceIds + billable roleIds = seats.
    let seats = count(json!({"limit": 100, "resourceIds": [jira.id], "roleIds": BILLABLE_ROLES}));
    assert_eq!(seats, org.count_with_roles(0, &BILLABLE_ROLES));
    // resourceIds alone = role OR activity.
    let touching = count(json!({"limit": 100, "resourceIds": [jira.id]}));
    assert_eq!(touching, org.users.iter().filter(|u| u.touches_workspace(0)).count());
    assert!(touching > seats);
    // status filter, search and count.
    let suspended = org.users.iter().filter(|u| u.status == UserStatus::Suspended).count();
    assert_eq!(count(json!({"limit": 100, "status": ["suspended"]})), suspended);
    let r = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count?status=suspended", api.org));
    assert_eq!(r.json()["count"], suspended);
    let r = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count", api.org));
    assert_eq!(r.json()["count"], 1500);
    let both = org.users.iter().filter(|u| matches!(u.status, UserStatus::Suspended | UserStatus::Deactivated)).count();
    let r = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count?status=suspended&status=deactivated", api.org));
    assert_eq!(r.json()["count"], both);
    let enc = jira.id.replace(':', "%3A").replace('/', "%2F");
    let r = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count?resourceIds={enc}&roleIds=atlassian/user,atlassian/admin", api.org));
    assert_eq!(r.json()["count"], seats);
    assert_eq!(api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count?status=bogus", api.org)).status, 400);
    // accountIds.
    let ids: Vec<&str> = org.users.iter().take(7).map(|u| u.account_id.as_str()).collect();
    assert_eq!(count(json!({"accountIds": ids})), 7);
    // Malformed resource id.
    assert_app_error(&api.search(&json!({"resourceIds": ["not-an-ari"]})), 400, "ADMIN-400-4");
}

#[test]
fn stats_count_every_admin_request() {
    let sb = start(30);
    let api = Api::new(&sb);
    api.get("/admin/v1/orgs");
    api.get(&format!("/admin/v1/orgs/{}", api.org));
    api.get("/admin/v1/orgs/wrong-org");
    request(&api.base, "GET", &format!("/admin/v1/orgs/{}", api.org), Some("bad"), None);
    api.search(&json!({}));
    api.search(&json!({"cursor": "bad"}));
    api.workspaces(&json!({}));
    api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count", api.org));
    let id = sb.truth().users[0].account_id.clone();
    api.last_active(&id, None);
    request(&api.base, "GET", "/__sandbox/truth", None, None);
    assert_eq!(sb.request_count(Endpoint::Orgs), 1);
    assert_eq!(sb.request_count(Endpoint::Org), 3);
    assert_eq!(sb.request_count(Endpoint::UsersSearch), 2);
    assert_eq!(sb.request_count(Endpoint::Workspaces), 1);
    assert_eq!(sb.request_count(Endpoint::UsersCount), 1);
    assert_eq!(sb.request_count(Endpoint::LastActiveDates), 1);
    assert_eq!(sb.total_requests(), 9);
    let s = request(&api.base, "GET", "/__sandbox/stats", None, None).json();
    assert_eq!(s["total"], 9);
    assert_eq!(s["by_endpoint"]["org"], 3);
    assert_eq!(s["by_endpoint"]["users_search"], 2);
    assert_eq!(s["by_endpoint"]["last_active_dates"], 1);
    let r = request(&api.base, "POST", "/__sandbox/stats/reset", None, None);
    assert_eq!(r.status, 200);
    assert_eq!(sb.total_requests(), 0);
    api.get("/admin/v1/orgs");
    assert_eq!(sb.total_requests(), 1);
    sb.reset_counts();
    assert_eq!(sb.request_count(Endpoint::Orgs), 0);
}

#[test]
fn truth_endpoint_matches_library_truth() {
    let sb = start(200);
    let j = request(&sb.base_url(), "GET", "/__sandbox/truth", None, None).json();
    let org = sb.truth();
    assert_eq!(j["orgId"], json!(org.id));
    assert_eq!(j["directoryId"], json!(org.directory_id));
    assert_eq!(j["workspaces"].as_array().unwrap().len(), org.workspaces.len());
    assert_eq!(j["groups"].as_array().unwrap().len(), org.groups.len());
    let users = j["users"].as_array().unwrap();
    assert_eq!(users.len(), 200);
    for (u, m) in users.iter().zip(&org.users) {
        assert_eq!(u["accountId"], json!(m.account_id));
        assert_eq!(u["productAccess"].as_array().unwrap().len(), m.product_access.len());
        assert_eq!(u["siteRoles"].as_array().unwrap().len(), m.site_roles.len());
        assert!(u["platformRoles"].is_array() && u["groups"].is_array());
    }
}

#[test]
fn org_mutations_show_up_and_cursors_survive() {
    let sb = start(300);
    let api = Api::new(&sb);
    let p1 = api.search(&json!({"limit": 100})).json();
    let next = p1["links"]["next"].clone();
    let first_id = p1["data"][0]["accountId"].as_str().unwrap().to_string();
    let victim = p1["data"][99]["accountId"].as_str().unwrap().to_string();
    sb.with_org_mut(|org| {
        org.user_mut(&first_id).unwrap().name = "Renamed Person".into();
        org.users.retain(|u| u.account_id != victim);
        let mut nu = org.users[0].clone();
        nu.account_id = "new-user-0001".into();
        nu.name = "Brand New".into();
        org.users.push(nu);
    });
    // Old cursor still valid after mutation.
    let r = api.search(&json!({"limit": 100, "cursor": next}));
    assert_eq!(r.status, 200);
    let all = api.search_all(json!({"limit": 100}));
    assert_eq!(all.len(), 300);
    assert!(all.iter().any(|u| u["accountId"] == "new-user-0001"));
    assert!(!all.iter().any(|u| u["accountId"] == json!(victim)));
    let renamed = all.iter().find(|u| u["accountId"] == json!(first_id)).unwrap();
    assert_eq!(renamed["name"], "Renamed Person");
    assert_eq!(api.last_active("new-user-0001", None).status, 200);
    assert_eq!(api.last_active(&victim, None).status, 404);
    // Invalid workspace index from a test never panics the server.
    sb.with_org_mut(|org| {
        org.users[0].product_access.push(ProductAccess { workspace: 999, last_active: org.now })
    });
    assert_eq!(api.search(&json!({"expand": ["productAccess", "counts.resources"]})).status, 200);
}

#[test]
fn faults_and_latency_hooks() {
    let sb = Sandbox::start(SandboxOptions {
        users: 10,
        latency: Duration::from_millis(150),
        faults: Faults {
            rules: vec![FaultRule {
                endpoint: Some(Endpoint::Orgs),
                when: FaultTrigger::FirstN(1),
                action: FaultAction::rate_limited(Some(2)),
            }],
        },
        ..Default::default()
    })
    .unwrap();
    let api = Api::new(&sb);
    let t = Instant::now();
    let r = api.get("/admin/v1/orgs");
    // A lower bound: the latency happened (a busy machine only adds to it).
    assert!(t.elapsed() >= Duration::from_millis(140));
    assert_eq!(r.status, 429);
    assert_eq!(r.header("Retry-After"), Some("2"));
    assert_eq!(r.json()["code"], 429);
    assert_eq!(api.get("/admin/v1/orgs").status, 200);
    sb.set_faults(Faults {
        rules: vec![FaultRule { endpoint: None, when: FaultTrigger::Always, action: FaultAction::server_error(503) }],
    });
    assert_app_error(&api.get("/admin/v1/orgs"), 503, "ADMIN-500-1");
    sb.set_faults(Faults::none());
    assert_eq!(api.get("/admin/v1/orgs").status, 200);
}

#[test]
fn control_routes_answer_while_an_admin_request_waits_out_its_latency() {
    let sb = Sandbox::start(SandboxOptions { users: 10, latency: Duration::from_secs(3600), ..Default::default() }).unwrap();
    let (base, key, org) = (sb.base_url(), sb.api_key().to_string(), sb.org_id());
    let waiting = std::thread::spawn(move || {
        // Its answer would take an hour; the server's shutdown ends it.
        let mut tcp = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
        let request = format!("GET /admin/v1/orgs/{org} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n");
        std::io::Write::write_all(&mut tcp, request.as_bytes()).unwrap();
        let _ = std::io::Read::read_to_end(&mut tcp, &mut Vec::new());
    });
    // Counted on arrival, before its latency: from then on it is waiting.
    while sb.request_count(Endpoint::Org) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    for (method, path) in [("GET", "/__sandbox/stats"), ("GET", "/__sandbox/truth"), ("POST", "/__sandbox/stats/reset")] {
        assert_eq!(request(&sb.base_url(), method, path, None, None).status, 200, "{path}");
    }
    assert!(!waiting.is_finished(), "the /admin request is still in its latency");
    drop(sb);
    waiting.join().unwrap();
}

#[test]
fn drop_stops_the_server() {
    let sb = start(10);
    let base = sb.base_url();
    assert_eq!(request(&base, "GET", "/__sandbox/stats", None, None).status, 200);
    drop(sb);
    assert!(std::net::TcpStream::connect(base.trim_start_matches("http://")).is_err());
}

#[test]
fn malformed_requests_get_api_error_bodies() {
    let sb = start(30);
    let api = Api::new(&sb);
    let org = &api.org;
    // Query strings: a repeated cursor, broken percent-encoding, an enum value that does not exist.
    assert_app_error(&api.get("/admin/v1/orgs?cursor=a&cursor=b"), 400, "ADMIN-400-1");
    assert_app_error(&api.get("/admin/v1/orgs?cursor=%ZZ%"), 400, "ADMIN-400-1");
    let id = sb.truth().users[0].account_id.clone();
    assert_app_error(&api.get(&format!("/admin/v1/orgs/{org}/directory/users/{id}/last-active-dates?cursor=x&cursor=y")), 400, "ADMIN-400-1");
    assert_eq!(api.get(&format!("/admin/v1/orgs/{org}/directory/users/{id}/last-active-dates?cursor=&other=%E2%82")).status, 200);
    assert_app_error(&api.get(&format!("/admin/v2/orgs/{org}/directories/-/users/count?status=act%FFive")), 400, "ADMIN-400-24");
    assert_app_error(&api.get(&format!("/admin/v2/orgs/{org}/directories/-/users/count?resourceIds=nope")), 400, "ADMIN-400-4");
    let r = api.get(&format!("/admin/v2/orgs/{org}/directories/-/users/count?searchTerm=a+b&claimStatus=managed%2Cunmanaged"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Paths that are not UTF-8 once decoded.
    assert_app_error(&api.get("/admin/v1/orgs/%FF%FE"), 400, "ADMIN-400-4");
    // Bodies: trailing garbage, not an object, wrong types, a cursor that is not a string.
    let search = format!("/admin/v2/orgs/{org}/directories/-/users/search");
    for bad in ["{} x", "[]", "null", "{\"status\": [1]}", "{\"expand\": {}}", "{\"searchTerm\": 5}"] {
        let r = request(&api.base, "POST", &search, Some(api.key), Some(bad));
        assert_app_error(&r, 400, "ADMIN-400-24");
        assert!(r.json()["errors"][0]["detail"].as_str().unwrap().contains("Invalid request body"), "{bad}");
    }
    assert_app_error(&api.search(&json!({"cursor": {"x": 1}})), 400, "ADMIN-400-1");
    assert_eq!(api.search(&json!({"expand": "groups", "status": "active", "limit": null, "cursor": null})).status, 200);
    let ws = format!("/admin/v2/orgs/{org}/workspaces");
    for bad in ["{\"limit\": \"5\"}", "7", "{\"cursor\": \"c\", \"limit\": null}"] {
        assert_app_error(&request(&api.base, "POST", &ws, Some(api.key), Some(bad)), 400, "ADMIN-400-4");
    }
    assert_app_error(&api.workspaces(&json!({"cursor": 5})), 400, "ADMIN-400-1");
    assert_eq!(api.workspaces(&json!({"cursor": null, "limit": null, "sort": null})).status, 200);
    assert_eq!(request(&api.base, "POST", &ws, Some(api.key), Some("  \n")).status, 200);
}
