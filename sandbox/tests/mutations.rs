//! Named org mutations: what each changes, seen through every endpoint (v2 search with
//! productAccess, v1 users, last-active-dates, users count, the role-filtered search used
//! for seats, workspaces, the truth), determinism, and the HTTP control routes.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};

use atlassian_sandbox::*;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::*;
use serde_json::{json, Value};

fn start(users: usize) -> Sandbox {
    Sandbox::start(SandboxOptions { users, last_active_page_size: 3, ..Default::default() }).expect("start")
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One user's activity as `(workspace ARI, lastActiveTimestamp)`, sorted.
type Activity = BTreeSet<(String, String)>;

/// Everything the API shows, keyed for comparison.
struct Seen {
    v2: HashMap<String, Value>,
    v1: HashMap<String, Value>,
    count: u64,
    workspaces: Vec<Value>,
    truth: Value,
}

impl Seen {
    fn read(api: &Api) -> Seen {
        let v2 = api
            .search_all(json!({"limit": 100, "expand": ["productAccess", "counts.resources"]}))
            .into_iter()
            .map(|u| (u["accountId"].as_str().unwrap().to_string(), u))
            .collect();
        let v1 = api
            .managed_pages()
            .into_iter()
            .flat_map(|(_, p)| p["data"].as_array().unwrap().clone())
            .map(|u| (u["account_id"].as_str().unwrap().to_string(), u))
            .collect();
        let count = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count", api.org)).json()["count"].as_u64().unwrap();
        let workspaces = api.workspaces(&json!({"limit": 1000})).json()["data"].as_array().unwrap().clone();
        let truth = request(&api.base, "GET", "/__sandbox/truth", None, None).json();
        Seen { v2, v1, count, workspaces, truth }
    }

    fn activity(&self, id: &str) -> Activity {
        self.v2[id]
            .get("productAccess")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| (p["id"].as_str().unwrap().to_string(), p["lastActiveTimestamp"].as_str().unwrap().to_string()))
            .collect()
    }

    fn workspace(&self, ari: &str) -> &Value {
        self.workspaces.iter().find(|w| w["id"] == ari).unwrap_or_else(|| panic!("no workspace {ari}"))
    }
}

/// Every activity source says the same thing, and seats agree across the search, the count and the truth.
fn assert_consistent(sb: &Sandbox, api: &Api, seen: &Seen) {
    let org = sb.truth();
    assert_eq!(seen.v2.len(), org.users.len());
    assert_eq!(seen.count as usize, org.users.len());
    assert_eq!(seen.truth["users"].as_array().unwrap().len(), org.users.len());
    let managed: HashSet<&str> = org.users.iter().filter(|u| u.is_managed()).map(|u| u.account_id.as_str()).collect();
    assert_eq!(seen.v1.keys().map(String::as_str).collect::<HashSet<_>>(), managed);
    let by_ari: HashMap<&str, &Workspace> = org.workspaces.iter().map(|w| (w.id.as_str(), w)).collect();
    assert_eq!(seen.workspaces.len(), org.workspaces.len());
    for (id, v1) in &seen.v1 {
        // v1 entries map to the v2 ones through (host URL, v1 key); the generated org has no duplicates of those.
        let want: BTreeSet<(String, String, String)> = seen
            .activity(id)
            .into_iter()
            .map(|(ari, t)| {
                let w = by_ari[ari.as_str()];
                (w.host_url.clone().unwrap(), w.last_active_key.clone(), t)
            })
            .collect();
        let got: BTreeSet<(String, String, String)> = v1["product_access"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["url"].as_str().unwrap().into(), p["key"].as_str().unwrap().into(), p["last_active"].as_str().unwrap().into()))
            .collect();
        assert_eq!(got, want, "v1 and v2 activity of {id}");
        assert_eq!(v1.get("last_active").and_then(Value::as_str), want.iter().map(|x| x.2.as_str()).max());
    }
    for u in seen.truth["users"].as_array().unwrap() {
        let id = u["accountId"].as_str().unwrap();
        let truth: Activity = u["productAccess"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_string(), p["lastActiveTimestamp"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(truth, seen.activity(id), "truth and v2 activity of {id}");
        assert!(agrees(&last_active_dates(api, id), &truth), "last-active-dates of {id}");
    }
    for (k, w) in org.workspaces.iter().enumerate() {
        let seats = org.count_with_roles(k, &BILLABLE_ROLES);
        let enc = w.id.replace(':', "%3A").replace('/', "%2F");
        let counted = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count?resourceIds={enc}&roleIds=atlassian/user,atlassian/admin", api.org));
        assert_eq!(counted.json()["count"], seats, "seats on {}", w.id);
    }
}

/// last-active-dates of one user, all pages, as `(ARI, timestamp)`; where the API leaves
/// the timestamp out (a user quirk) the date stands in. Compare with [`agrees`].
fn last_active_dates(api: &Api, id: &str) -> Activity {
    let mut out = Activity::new();
    let mut cursor: Option<String> = None;
    loop {
        let j = api.last_active(id, cursor.as_deref()).json();
        for p in j["data"]["product_access"].as_array().unwrap() {
            let t = p.get("last_active_timestamp").unwrap_or(&p["last_active"]);
            out.insert((p["id"].as_str().unwrap().into(), t.as_str().unwrap().into()));
        }
        match j["links"].get("next").and_then(Value::as_str) {
            Some(n) => cursor = Some(n.to_string()),
            None => return out,
        }
    }
}

/// Whether last-active-dates (`dates`) say what the v2 activity (`v2`) says.
fn agrees(dates: &Activity, v2: &Activity) -> bool {
    dates.len() == v2.len() && dates.iter().zip(v2).all(|(d, v)| d.0 == v.0 && (d.1 == v.1 || d.1 == v.1[..10]))
}

/// Whether last-active-dates of `id` hold this (ARI, timestamp).
fn dates_hold(api: &Api, id: &str, ari: &str, when: &str) -> bool {
    last_active_dates(api, id).iter().any(|(w, t)| w == ari && (t == when || *t == when[..10]))
}

fn seats_by_search(api: &Api, ari: &str) -> HashSet<String> {
    api.search_all(json!({"limit": 100, "resourceIds": [ari], "roleIds": BILLABLE_ROLES}))
        .iter()
        .map(|u| u["accountId"].as_str().unwrap().to_string())
        .collect()
}

fn newest_activity(org: &Org) -> DateTime<Utc> {
    org.users.iter().flat_map(|u| org.activity(u).map(|(_, p)| p.last_active)).max().unwrap()
}

#[test]
fn add_users_brings_seated_users_with_old_activity_everywhere() {
    let sb = start(300);
    let api = Api::new(&sb);
    let before = Seen::read(&api);
    let newest = newest_activity(&sb.truth());
    let r = sb.add_users(6, 400).unwrap();
    assert_eq!((r.mutation.as_str(), r.users_added.len()), ("add_users", 6));
    let now = sb.truth().now;
    let when = ts(&(now - Duration::days(400)));
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    assert_eq!(seen.count, before.count + 6);
    let org = sb.truth();
    let mut managed = 0;
    for id in &r.users_added {
        let u = &seen.v2[id];
        assert_eq!((u["status"].as_str(), u["membershipStatus"].as_str()), (Some("active"), Some("active")));
        let act = seen.activity(id);
        assert!(!act.is_empty() && act.iter().all(|(_, t)| *t == when), "{act:?}");
        assert!(when < ts(&newest), "older than any incremental cursor");
        assert!(agrees(&last_active_dates(&api, id), &act));
        for (ari, _) in &act {
            assert!(seats_by_search(&api, ari).contains(id), "a billable seat on {ari}");
        }
        managed += org.user(id).unwrap().is_managed() as usize;
        assert_eq!(seen.v1.contains_key(id), org.user(id).unwrap().is_managed());
        if let Some(v1) = seen.v1.get(id) {
            assert_eq!(v1["access_billable"], true);
        }
    }
    assert_eq!(r.activity.iter().map(|a| &a.account_id).collect::<HashSet<_>>().len(), 6);
    assert!(managed <= 6);
}

#[test]
fn hire_users_brings_seated_users_who_never_logged_in() {
    let sb = start(300);
    let api = Api::new(&sb);
    let before = Seen::read(&api);
    let r = sb.hire_users(3, 10).unwrap();
    assert_eq!((r.mutation.as_str(), r.users_added.len()), ("hire_users", 3));
    assert!(r.activity.is_empty() && r.users_removed.is_empty() && r.users_changed.is_empty());
    let now = sb.truth().now;
    let joined = (now - Duration::days(10)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    assert_eq!(seen.count, before.count + 3);
    let truth_users = seen.truth["users"].as_array().unwrap();
    assert_eq!(truth_users.len(), before.truth["users"].as_array().unwrap().len() + 3);
    let org = sb.truth();
    let mut grants = 0;
    for id in &r.users_added {
        assert!(!before.v2.contains_key(id), "{id} is new");
        // The truth: joined 10 days ago, a billable seat, no product access.
        let t = truth_users.iter().find(|u| u["accountId"] == id.as_str()).unwrap_or_else(|| panic!("{id} in the truth"));
        assert_eq!(t["addedToOrg"], json!(joined), "{t}");
        assert_eq!((t["status"].as_str(), t["accountStatus"].as_str(), t["membershipStatus"].as_str()), (Some("active"), Some("active"), Some("active")));
        let seats: Vec<&str> = t["siteRoles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| BILLABLE_ROLES.contains(&r["roleId"].as_str().unwrap()))
            .map(|r| r["resourceId"].as_str().unwrap())
            .collect();
        assert!((1..=3).contains(&seats.len()), "{t}");
        assert_eq!(t["productAccess"], json!([]), "{t}");
        assert_eq!(t["accessBillable"], true);
        // The served search says the same.
        let u = &seen.v2[id];
        assert_eq!(u["addedToOrg"], json!(joined), "{u}");
        assert_eq!((u["status"].as_str(), u["membershipStatus"].as_str()), (Some("active"), Some("active")));
        assert_eq!(u["productAccess"], json!([]), "{u}");
        assert!(last_active_dates(&api, id).is_empty());
        for ari in &seats {
            assert!(seats_by_search(&api, ari).contains(id), "a billable seat on {ari}");
        }
        assert_eq!(seen.v1.contains_key(id), org.user(id).unwrap().is_managed());
        if let Some(v1) = seen.v1.get(id) {
            assert_eq!(v1["access_billable"], true);
            assert!(v1["product_access"].as_array().unwrap().is_empty() && v1.get("last_active").is_none());
        }
        grants += seats.len();
    }
    // Logged like add_users: a user_added_to_org each and a product_access_granted per site.
    let events: Vec<&Value> =
        seen.truth["events"].as_array().unwrap().iter().filter(|e| r.events_added.iter().any(|id| e["id"] == id.as_str())).collect();
    assert_eq!(events.len(), r.events_added.len());
    let count = |a: &str| events.iter().filter(|e| e["attributes"]["action"] == a).count();
    assert_eq!((count("user_added_to_org"), count("product_access_granted")), (3, grants), "{events:?}");
    // Over HTTP, with the defaults.
    let r = request(&api.base, "POST", "/__sandbox/mutations/hire_users", None, Some(r#"{"count": 2, "days_ago": 45}"#));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let added = r.json()["users_added"].as_array().unwrap().clone();
    assert_eq!(added.len(), 2);
    let when = (sb.truth().now - Duration::days(45)).trunc_subsecs(3);
    assert!(added.iter().all(|id| sb.truth().user(id.as_str().unwrap()).unwrap().added_to_org == Some(when)));
}

#[test]
fn only_active_users_are_billable() {
    let sb = start(300);
    let api = Api::new(&sb);
    // A managed active user with a seat, then the same user with every other status: the
    // roles stay, the bill does not.
    let id = sb.truth().users.iter().find(|u| u.is_managed() && u.status == UserStatus::Active && u.access_billable()).unwrap().account_id.clone();
    let v1_billable = |api: &Api| -> Value {
        let page = api.managed_pages().into_iter().flat_map(|(_, p)| p["data"].as_array().unwrap().clone()).find(|u| u["account_id"] == id.as_str());
        page.unwrap()["access_billable"].clone()
    };
    let truth_billable = |sb: &Sandbox| -> Value {
        let t = request(&sb.base_url(), "GET", "/__sandbox/truth", None, None).json();
        t["users"].as_array().unwrap().iter().find(|u| u["accountId"] == id.as_str()).unwrap()["accessBillable"].clone()
    };
    assert_eq!((v1_billable(&api), truth_billable(&sb)), (json!(true), json!(true)));
    for status in [UserStatus::Suspended, UserStatus::Deactivated, UserStatus::ForDeletion, UserStatus::NotInvited] {
        sb.with_org_mut(|org| {
            let u = org.users.iter_mut().find(|u| u.account_id == id).unwrap();
            u.status = status;
        });
        let u = sb.truth().user(&id).unwrap().clone();
        assert!(u.site_roles.iter().any(|r| BILLABLE_ROLES.contains(&r.role_id.as_ref())), "still holds a billable role");
        assert!(!u.access_billable(), "{status:?}");
        assert_eq!((v1_billable(&api), truth_billable(&sb)), (json!(false), json!(false)), "{status:?}");
    }
    // In the generated org too: every billable user is active.
    assert!(sb.truth().users.iter().filter(|u| u.access_billable()).all(|u| u.status == UserStatus::Active));
    assert!(sb
        .truth()
        .users
        .iter()
        .any(|u| u.status != UserStatus::Active && u.site_roles.iter().any(|r| BILLABLE_ROLES.contains(&r.role_id.as_ref()))), "the generated org has unbilled roles");
}

#[test]
fn link_site_adds_a_site_with_seated_users_and_past_activity() {
    let sb = start(300);
    let api = Api::new(&sb);
    let r = sb.link_site("confluence", 7, 30).unwrap();
    let ari = r.workspaces_added[0].clone();
    assert!(ari.starts_with("ari:cloud:confluence::site/"), "{ari}");
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    let w = seen.workspace(&ari);
    let a = &w["attributes"];
    assert_eq!((a["status"].as_str(), a["typeKey"].as_str(), a["sandbox"]["type"].as_str()), (Some("online"), Some("confluence"), Some("NONE")));
    assert!(a["hostUrl"].as_str().unwrap().starts_with("https://") && a["capacity"].as_u64().unwrap() >= 7);
    assert!(w["relationships"]["entitlement"][0]["attributes"]["plan"].is_string());
    assert_eq!(r.users_changed.len(), 7);
    assert_eq!(seats_by_search(&api, &ari), r.users_changed.iter().cloned().collect());
    let when = ts(&(sb.truth().now - Duration::days(30)));
    let host = a["hostUrl"].as_str().unwrap();
    for id in &r.users_changed {
        assert!(seen.activity(id).contains(&(ari.clone(), when.clone())));
        assert!(dates_hold(&api, id, &ari, &when));
        if let Some(v1) = seen.v1.get(id) {
            assert!(v1["product_access"].as_array().unwrap().iter().any(|p| p["url"] == host && p["key"] == "confluence" && p["last_active"] == json!(when)));
        }
    }
    // Another product, and one that does not exist.
    let r = sb.link_site("bitbucket", 2, 10).unwrap();
    let bb = Seen::read(&api);
    assert_eq!(bb.workspace(&r.workspaces_added[0])["attributes"]["usage"], 2);
    assert!(sb.link_site("notion", 1, 1).is_err());
    assert_eq!(sb.truth().workspaces.len(), bb.workspaces.len(), "a failed mutation changes nothing");
}

#[test]
fn revoke_access_removes_role_and_activity_on_one_site() {
    let sb = start(400);
    let api = Api::new(&sb);
    let r = sb.revoke_access(5).unwrap();
    let ari = r.workspaces_changed[0].clone();
    assert_eq!(r.users_changed.len(), 5);
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    let seats = seats_by_search(&api, &ari);
    let touching: HashSet<String> =
        api.search_all(json!({"limit": 100, "resourceIds": [ari]})).iter().map(|u| u["accountId"].as_str().unwrap().to_string()).collect();
    for id in &r.users_changed {
        assert!(!seats.contains(id) && !touching.contains(id));
        assert!(seen.activity(id).iter().all(|(w, _)| *w != ari));
        assert!(last_active_dates(&api, id).iter().all(|(w, _)| *w != ari));
    }
    // Explicit users and site.
    let org = sb.truth();
    let jira = org.workspaces[org::WS_JIRA].id.clone();
    let victim = org.users.iter().find(|u| u.touches_workspace(org::WS_JIRA)).unwrap().account_id.clone();
    let r = sb.revoke_access_of(&[&victim], &jira).unwrap();
    assert_eq!((r.users_changed.clone(), r.workspaces_changed.clone()), (vec![victim.clone()], vec![jira.clone()]));
    assert!(!sb.truth().user(&victim).unwrap().touches_workspace(org::WS_JIRA));
    assert!(sb.revoke_access_of(&["nobody"], &jira).is_err());
    assert!(sb.revoke_access_of(&[&victim], "ari:cloud:nothing::site/x").is_err());
}

#[test]
fn remove_users_takes_them_off_every_endpoint() {
    let sb = start(300);
    let api = Api::new(&sb);
    let before = Seen::read(&api);
    let r = sb.remove_users(4).unwrap();
    assert_eq!(r.users_removed.len(), 4);
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    assert_eq!(seen.count, before.count - 4);
    for id in &r.users_removed {
        assert!(!seen.v2.contains_key(id) && !seen.v1.contains_key(id));
        assert_app_error(&api.last_active(id, None), 404, "ADMIN-404-8");
    }
}

#[test]
fn suspend_users_suspends_and_removes_access() {
    let sb = start(300);
    let api = Api::new(&sb);
    let suspended_before = sb.truth().users.iter().filter(|u| u.status == UserStatus::Suspended).count();
    let r = sb.suspend_users(3).unwrap();
    assert_eq!(r.users_changed.len(), 3);
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    for id in &r.users_changed {
        let u = &seen.v2[id];
        assert_eq!((u["status"].as_str(), u["membershipStatus"].as_str()), (Some("suspended"), Some("suspended")));
        assert!(seen.activity(id).is_empty() && last_active_dates(&api, id).is_empty());
        assert!(sb.truth().user(id).unwrap().site_roles.is_empty());
        if let Some(v1) = seen.v1.get(id) {
            assert!(v1["product_access"].as_array().unwrap().is_empty() && v1.get("last_active").is_none());
            assert_eq!(v1["access_billable"], false);
        }
    }
    let count = api.get(&format!("/admin/v2/orgs/{}/directories/-/users/count?status=suspended", api.org)).json();
    assert_eq!(count["count"], suspended_before + 3);
    assert!(r.activity.iter().all(|a| a.last_active.is_none() && a.previous.is_some()));
}

#[test]
fn late_activity_lands_behind_the_newest_and_new_activity_at_now() {
    let sb = start(300);
    let api = Api::new(&sb);
    let newest = newest_activity(&sb.truth());
    let r = sb.late_activity(5, 10).unwrap();
    assert_eq!(r.activity.len(), 5);
    let when = sb.truth().now - Duration::days(10);
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    for a in &r.activity {
        assert_eq!(a.last_active, Some(when));
        assert!(a.previous.unwrap() < when && when < newest);
        assert!(seen.activity(&a.account_id).contains(&(a.workspace.clone(), ts(&when))));
        assert!(dates_hold(&api, &a.account_id, &a.workspace, &ts(&when)));
    }
    assert!(sb.late_activity(1, 0).is_err(), "now is not behind the newest activity");

    let r = sb.new_activity(4).unwrap();
    let now = sb.truth().now;
    let seen = Seen::read(&api);
    assert_consistent(&sb, &api, &seen);
    assert_eq!(r.activity.len(), 4);
    for a in &r.activity {
        assert_eq!(a.last_active, Some(now));
        assert!(seen.activity(&a.account_id).contains(&(a.workspace.clone(), ts(&now))));
        assert!(dates_hold(&api, &a.account_id, &a.workspace, &ts(&now)));
    }
}

#[test]
fn the_clock_moves_and_sites_are_renamed() {
    let sb = start(200);
    let api = Api::new(&sb);
    let start_now = sb.truth().now;
    let r = sb.advance_clock(10).unwrap();
    assert_eq!(r.now, start_now + Duration::days(10));
    let t = request(&api.base, "GET", "/__sandbox/truth", None, None).json();
    assert_eq!(t["now"], json!(ts(&r.now)));
    let fresh = sb.new_activity(2).unwrap();
    assert!(fresh.activity.iter().all(|a| a.last_active == Some(r.now)), "dated from the new now");
    let added = sb.add_users(1, 0).unwrap();
    assert!(Seen::read(&api).activity(&added.users_added[0]).iter().all(|(_, t)| *t == ts(&r.now)));

    let r = sb.rename_site(None, None).unwrap();
    let ari = &r.workspaces_changed[0];
    let seen = Seen::read(&api);
    let name = seen.workspace(ari)["attributes"]["name"].as_str().unwrap().to_string();
    assert!(name.contains("(renamed"), "{name}");
    let jira = sb.truth().workspaces[0].id.clone();
    sb.rename_site(Some(&jira), Some("Renamed Jira")).unwrap();
    assert_eq!(Seen::read(&api).workspace(&jira)["attributes"]["name"], "Renamed Jira");
    assert!(sb.rename_site(Some("ari:cloud:x::site/none"), None).is_err());
}

/// The truth with the server's address taken out.
fn portable_truth(sb: &Sandbox) -> String {
    request(&sb.base_url(), "GET", "/__sandbox/truth", None, None).json().to_string().replace(&sb.base_url(), "")
}

#[test]
fn the_same_mutations_give_the_same_org() {
    let run = || {
        let sb = Sandbox::start(SandboxOptions { users: 250, cursor_salt: Some(1), ..Default::default() }).unwrap();
        let reports = vec![
            sb.add_users(3, 200).unwrap(),
            sb.hire_users(2, 10).unwrap(),
            sb.link_site("jira-software", 4, 20).unwrap(),
            sb.revoke_access(2).unwrap(),
            sb.remove_users(2).unwrap(),
            sb.suspend_users(2).unwrap(),
            sb.late_activity(3, 5).unwrap(),
            sb.new_activity(3).unwrap(),
            sb.rename_site(None, None).unwrap(),
            sb.advance_clock(2).unwrap(),
        ];
        (reports, portable_truth(&sb))
    };
    let (a, ta) = run();
    let (b, tb) = run();
    assert_eq!(a, b);
    assert_eq!(ta, tb);
    // A different seed picks other targets.
    let other = Sandbox::start(SandboxOptions { users: 250, seed: 43, ..Default::default() }).unwrap();
    assert_ne!(other.remove_users(2).unwrap().users_removed, a[4].users_removed);
}

#[test]
fn mutations_over_http() {
    let sb = start(200);
    let api = Api::new(&sb);
    let post = |path: &str, body: Option<&str>| request(&api.base, "POST", path, None, body);
    let list = request(&api.base, "GET", "/__sandbox/mutations", None, None).json();
    let names: Vec<&str> = list["mutations"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, mutation_catalog().iter().map(|m| m.name).collect::<Vec<_>>());
    assert_eq!(names[..MUTATIONS.len()], MUTATIONS.iter().map(|m| m.0).collect::<Vec<_>>(), "the Mutations first, then the resources' own");
    let r = post("/__sandbox/mutations/add_users", Some(r#"{"count": 2, "last_active_days_ago": 100}"#));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let report = r.json();
    assert_eq!(report["mutation"], "add_users");
    let added: Vec<String> = report["users_added"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(added.len(), 2);
    let seen = Seen::read(&api);
    assert!(added.iter().all(|id| seen.v2.contains_key(id)));
    // Defaults, an empty body, every name.
    for MutationInfo { name, .. } in mutation_catalog() {
        let r = post(&format!("/__sandbox/mutations/{name}"), None);
        assert_eq!(r.status, 200, "{name}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["mutation"], name);
    }
    assert_consistent(&sb, &api, &Seen::read(&api));
    // Bad input: 404 for a name, 400 for fields, never a panic.
    assert_eq!(post("/__sandbox/mutations/nuke", Some("{}")).status, 404);
    for bad in [r#"{"count": "x"}"#, r#"{"cnt": 1}"#, "[1]", "{not json", r#"{"count": -1}"#] {
        let r = post("/__sandbox/mutations/remove_users", Some(bad));
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json()["error"].is_string());
    }
    assert_eq!(post("/__sandbox/mutations/late_activity", Some(r#"{"days_ago": 0}"#)).status, 400);
    assert_eq!(post("/__sandbox/mutations/link_site", Some(r#"{"product": "notion"}"#)).status, 400);
    // Control routes need no key, and do not count as API requests.
    sb.reset_counts();
    assert_eq!(post("/__sandbox/mutations/new_activity", None).status, 200);
    assert_eq!(sb.total_requests(), 0);
    // with_org_mut keeps working between mutations.
    sb.with_org_mut(|org| org.users[0].name = "Renamed By Hand".into());
    let first = sb.truth().users[0].account_id.clone();
    assert_eq!(Seen::read(&api).v2[&first]["name"], "Renamed By Hand");
    let help = help_text();
    for MutationInfo { name, .. } in mutation_catalog() {
        assert!(help.contains(name), "--help documents {name}");
    }
    assert!(help.contains("/__sandbox/mutations/{name}"));
}
