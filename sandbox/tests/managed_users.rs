//! `GET /v1/orgs/{orgId}/users` (managed accounts): paging by URL, the wire shape, the
//! same activity facts as the v2 search, errors, faults and the rate limit.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use atlassian_sandbox::*;
use common::*;
use serde_json::{json, Value};

fn start(users: usize) -> Sandbox {
    Sandbox::start(SandboxOptions { users, ..Default::default() }).expect("start")
}

#[test]
fn pages_of_fifty_linked_by_urls_on_the_sandbox_host() {
    let sb = start(700);
    let api = Api::new(&sb);
    let truth = sb.truth();
    let managed: HashSet<String> = truth.users.iter().filter(|u| u.is_managed()).map(|u| u.account_id.clone()).collect();
    assert!(managed.len() > 100 && managed.len() < 700, "a mix of managed and unmanaged: {}", managed.len());
    let pages = api.managed_pages();
    let mut seen = Vec::new();
    for (k, (path, page)) in pages.iter().enumerate() {
        let data = page["data"].as_array().unwrap();
        assert_eq!(page["meta"]["total"], managed.len());
        if k + 1 < pages.len() {
            assert_eq!(data.len(), 50, "page {k}");
            let next = page["links"]["next"].as_str().unwrap();
            assert!(next.starts_with(&format!("{}/admin/v1/orgs/{}/users?cursor=", api.base, api.org)), "{next}");
        } else {
            assert!(page["links"].get("next").is_none());
        }
        let own = page["links"]["self"].as_str().unwrap();
        assert_eq!(own, format!("{}{}", api.base, path), "self is the page's own URL");
        for l in page["links"].as_object().unwrap().values() {
            assert!(l.as_str().unwrap().starts_with(&api.base), "no link leaves the sandbox host: {l}");
        }
        seen.extend(data.iter().map(|u| u["account_id"].as_str().unwrap().to_string()));
    }
    assert_eq!(pages.len(), managed.len().div_ceil(50));
    assert_eq!(seen.len(), managed.len(), "no duplicates");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), managed);
    assert!(pages[0].1["links"].get("prev").is_none());
    // prev of page 2 is page 1.
    let prev = pages[1].1["links"]["prev"].as_str().unwrap();
    let back = api.get(prev.trim_start_matches(&api.base)).json();
    assert_eq!(back["data"], pages[0].1["data"]);
    // The order is the users order: stable across walks.
    let again: Vec<Value> = api.managed_pages().into_iter().flat_map(|(_, p)| p["data"].as_array().unwrap().clone()).collect();
    assert_eq!(again.iter().map(|u| u["account_id"].as_str().unwrap()).collect::<Vec<_>>(), seen);
    assert_eq!(sb.request_count(Endpoint::ManagedUsers), 2 * pages.len() as u64 + 1);
    assert_eq!(sb.stats_json()["by_endpoint"]["managed_users"], 2 * pages.len() + 1);
}

#[test]
fn users_have_the_official_shape_and_the_v2_activity() {
    let sb = start(600);
    let api = Api::new(&sb);
    let truth = sb.truth();
    let v2: HashMap<String, Value> = api
        .search_all(json!({"limit": 100, "expand": ["productAccess"]}))
        .into_iter()
        .map(|u| (u["accountId"].as_str().unwrap().to_string(), u))
        .collect();
    let ws: HashMap<&str, &Workspace> = truth.workspaces.iter().map(|w| (w.id.as_str(), w)).collect();
    let users: Vec<Value> = api.managed_pages().into_iter().flat_map(|(_, p)| p["data"].as_array().unwrap().clone()).collect();
    let (mut without_email, mut billable, mut never_active) = (0, 0, 0);
    for u in &users {
        let id = u["account_id"].as_str().unwrap();
        let model = truth.user(id).unwrap();
        for k in ["account_id", "account_type", "account_status", "name", "picture", "access_billable", "product_access"] {
            assert!(u.get(k).is_some_and(|v| !v.is_null()), "{k} in {u}");
        }
        for k in u.as_object().unwrap().keys() {
            assert!(!k.chars().any(|c| c.is_ascii_uppercase()), "snake_case: {k}");
        }
        assert_eq!(u["account_type"], "atlassian");
        assert_eq!(u["account_status"], model.account_status.as_str());
        assert_eq!(u.get("email").and_then(Value::as_str), model.email.as_deref(), "email absent exactly when hidden");
        without_email += u.get("email").is_none() as usize;
        assert_eq!(u["access_billable"], model.access_billable());
        billable += model.access_billable() as usize;
        // Same activity facts as the v2 productAccess, in the v1 vocabulary.
        let v1 = u["product_access"].as_array().unwrap();
        let v2pa = v2[id].get("productAccess").and_then(Value::as_array).cloned().unwrap_or_default();
        assert_eq!(v1.len(), v2pa.len(), "{id}");
        for (a, b) in v1.iter().zip(&v2pa) {
            let w = ws[b["id"].as_str().unwrap()];
            assert_eq!(a["key"], json!(w.last_active_key));
            assert_eq!(a["url"], json!(w.host_url.as_deref().unwrap()));
            assert_eq!(a["last_active"], b["lastActiveTimestamp"]);
            assert!(a["name"].as_str().is_some_and(|n| !n.is_empty()));
        }
        let latest = v2pa.iter().filter_map(|p| p["lastActiveTimestamp"].as_str()).max();
        assert_eq!(u.get("last_active").and_then(Value::as_str), latest);
        never_active += latest.is_none() as usize;
    }
    // Every generated user has an email (the service users their service account's).
    assert!(without_email == 0 && billable > 0 && billable < users.len() && never_active > 0, "{without_email} {billable} {never_active}");
    let names: HashSet<(&str, &str)> = users
        .iter()
        .flat_map(|u| u["product_access"].as_array().unwrap().iter())
        .map(|p| (p["key"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&("jira-software", "Jira Software")) && names.contains(&("confluence", "Confluence")), "{names:?}");
    // The truth says which users are managed and billable.
    let t = request(&api.base, "GET", "/__sandbox/truth", None, None).json();
    let listed: HashSet<&str> = users.iter().map(|u| u["account_id"].as_str().unwrap()).collect();
    for u in t["users"].as_array().unwrap() {
        assert_eq!(u["managed"].as_bool().unwrap(), listed.contains(u["accountId"].as_str().unwrap()));
        assert!(u["accessBillable"].is_boolean());
    }
}

#[test]
fn a_workspace_without_a_host_url_keeps_its_entry_without_url() {
    let sb = start(300);
    let api = Api::new(&sb);
    sb.with_org_mut(|org| org.workspaces[org::WS_TRELLO].host_url = None);
    let trello = sb.with_org(|org| org.workspaces[org::WS_TRELLO].last_active_key.clone());
    let users: Vec<Value> = api.managed_pages().into_iter().flat_map(|(_, p)| p["data"].as_array().unwrap().clone()).collect();
    let entries: Vec<&Value> = users.iter().flat_map(|u| u["product_access"].as_array().unwrap()).filter(|p| p["key"] == json!(trello)).collect();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|p| p.get("url").is_none() && p["last_active"].is_string() && p["name"] == "Trello"));
}

#[test]
fn bad_cursors_and_orgs_without_managed_accounts() {
    let sb = start(120);
    let api = Api::new(&sb);
    let users = format!("/admin/v1/orgs/{}/users", api.org);
    for bad in ["garbage", "eyJ0IjoibSJ9AAAAAAAAAAAA"] {
        assert_app_error(&api.get(&format!("{users}?cursor={bad}")), 400, "ADMIN-400-1");
    }
    // A v2 search cursor is not a v1 cursor, nor the reverse.
    let v2 = api.search(&json!({"limit": 5})).json()["links"]["next"].as_str().unwrap().to_string();
    assert_app_error(&api.get(&format!("{users}?cursor={v2}")), 400, "ADMIN-400-1");
    let v1_next = api.get(&users).json()["links"]["next"].as_str().unwrap().to_string();
    let v1 = v1_next.split("cursor=").nth(1).unwrap().to_string();
    assert_app_error(&api.search(&json!({"cursor": v1})), 400, "ADMIN-400-1");
    // One from another sandbox instance.
    let other = start(120);
    let foreign = Api::new(&other).get(&format!("/admin/v1/orgs/{}/users", other.org_id())).json()["links"]["next"].as_str().unwrap().to_string();
    assert_app_error(&api.get(&format!("{users}?cursor={}", foreign.split("cursor=").nth(1).unwrap())), 400, "ADMIN-400-1");
    // An empty cursor is the first page; an unknown org is a 404.
    assert_eq!(api.get(&format!("{users}?cursor=")).json()["data"], api.get(&users).json()["data"]);
    assert_app_error(&api.get("/admin/v1/orgs/nope/users"), 404, "ADMIN-404-2");
    // No verified domain, no managed accounts: an empty list.
    sb.with_org_mut(|org| org.users.iter_mut().for_each(|u| u.claim_status = ClaimStatus::Unmanaged));
    let j = api.get(&users).json();
    assert_eq!(j["data"], json!([]));
    assert_eq!(j["meta"]["total"], 0);
    assert!(j["links"].get("next").is_none());
}

#[test]
fn faults_and_the_rate_limit_reach_managed_users() {
    let sb = start(60);
    let api = Api::new(&sb);
    let users = format!("/admin/v1/orgs/{}/users", api.org);
    let rule: FaultRule = "managed_users:503:first=1".parse().unwrap();
    sb.set_faults(Faults { rules: vec![rule] });
    assert_app_error(&api.get(&users), 503, "ADMIN-500-1");
    assert_eq!(api.get(&users).status, 200);
    sb.set_faults(Faults::none());
    sb.set_rate_limit(Some(RateLimit::new(2, Duration::from_secs(3600))));
    assert_eq!(api.get(&users).header("X-RateLimit-Remaining"), Some("1"));
    assert_eq!(api.get(&users).status, 200);
    assert_eq!(api.get(&users).status, 429);
    assert_eq!(sb.throttled_count(), 1);
}
