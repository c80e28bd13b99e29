//! The audit log: `events-stream` paged, polled and filtered against the truth; cursors
//! that keep working for events appended later, the last page's cursor (or `null`), bad and
//! expired cursors; the 180-day retention; events processed late; the 403 and the empty 200
//! of a key or an org without access; the per-path rate limit; `event-actions`.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use atlassian_sandbox::*;
use chrono::{DateTime, Utc};
use common::*;
use serde_json::{json, Value};

fn start(opts: SandboxOptions) -> Sandbox {
    Sandbox::start(SandboxOptions { users: 150, cursor_salt: opts.cursor_salt.or(Some(9)), ..opts }).expect("start")
}

fn with_events(events: usize) -> Sandbox {
    start(SandboxOptions { events, ..Default::default() })
}

fn events(api: &Api, query: &str) -> Resp {
    api.get(&format!("/admin/v1/orgs/{}/events-stream{query}", api.org))
}

fn ok(r: Resp) -> Value {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

/// Walks the stream from the start with `limit`; returns every event and the last `meta.next`.
fn walk(api: &Api, limit: usize) -> (Vec<Value>, Option<String>) {
    let mut out = Vec::new();
    let mut page = ok(events(api, &format!("?limit={limit}")));
    loop {
        let data = page["data"].as_array().unwrap().clone();
        assert_eq!(page["meta"]["page_size"], data.len());
        let next = page["meta"]["next"].as_str().map(str::to_owned);
        if data.is_empty() {
            return (out, next);
        }
        assert!(data.len() <= limit);
        out.extend(data);
        let Some(c) = next else { return (out, None) };
        page = ok(events(api, &format!("?limit={limit}&cursor={c}")));
        assert!(out.len() < 100_000, "paging does not end");
    }
}

/// The truth's events (every field as served) served now, by `eventsRetainedSince`.
fn served_truth(sb: &Sandbox) -> Vec<Value> {
    let truth = request(&sb.base_url(), "GET", "/__sandbox/truth", None, None).json();
    let since = time(&truth["eventsRetainedSince"]);
    truth["events"].as_array().unwrap().iter().filter(|e| time(&e["attributes"]["processedAt"]) >= since).cloned().collect()
}

#[test]
fn paging_by_seven_serves_every_retained_event_once_in_processing_order() {
    let sb = with_events(400);
    let api = Api::new(&sb);
    let (seen, last) = walk(&api, 7);
    assert!(last.is_some(), "the last page still answers a cursor");
    let truth = served_truth(&sb);
    assert_eq!(seen, truth, "every served event, every field as the truth has it");
    let served = sb.served_events();
    assert_eq!(seen.iter().map(|e| e["id"].as_str().unwrap()).collect::<Vec<_>>(), served.iter().map(|e| e.id.as_str()).collect::<Vec<_>>());
    assert_eq!(seen.iter().map(|e| &e["id"]).collect::<HashSet<_>>().len(), seen.len(), "no event twice");
    let keys: Vec<(DateTime<Utc>, String)> =
        seen.iter().map(|e| (time(&e["attributes"]["processedAt"]), e["id"].as_str().unwrap().to_string())).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "ordered by processedAt, then id");
    // Retention: the history reaches past 180 days, and that part is never served.
    let org = sb.truth();
    assert_eq!(org.events.len(), 400);
    let cutoff = org.now - chrono::Duration::days(EVENT_RETENTION_DAYS);
    assert!(org.events.iter().any(|e| e.processed_at < cutoff), "some history is older than the retention");
    assert!(seen.len() < 400 && seen.len() > 300, "{}", seen.len());
    assert!(keys.iter().all(|(p, _)| *p >= cutoff));
    assert!(org.events.iter().all(|e| e.processed_at >= e.time && e.processed_at <= org.now));
    // The shape: times in milliseconds, UTC; the parts real payloads leave out are left out somewhere.
    for e in &seen {
        assert_eq!(e["type"], "events");
        for t in ["time", "processedAt"] {
            let s = e["attributes"][t].as_str().unwrap();
            assert!(s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.', "{s}");
        }
        assert!(e["attributes"]["actor"]["id"].is_string());
        assert!(e["links"]["self"].as_str().unwrap().ends_with(e["id"].as_str().unwrap()));
    }
    let has = |f: &dyn Fn(&Value) -> bool| seen.iter().any(f);
    assert!(has(&|e| e["attributes"].get("context").is_none()) && has(&|e| e["attributes"]["context"].is_array()));
    assert!(has(&|e| e.get("message").is_some()) && has(&|e| e["attributes"].get("location").is_some()));
    assert!(has(&|e| e.to_string().contains("\"futureField\"")), "an unknown field now and then");
    for auth in AuthType::ALL {
        assert!(org.events.iter().any(|e| e.actor.auth.as_ref().is_some_and(|a| a.auth_type == auth)), "{auth:?}");
    }
    // The same seed gives the same log.
    assert_eq!(with_events(400).truth().events, org.events);
}

#[test]
fn some_events_are_processed_after_events_that_happened_later() {
    let sb = with_events(300);
    let org = sb.truth();
    let late = org.events.iter().filter(|e| e.processed_at - e.time > chrono::Duration::hours(1)).count();
    assert!((3..=40).contains(&late), "about 5 % processed late: {late}");
    let mut newest_time = None;
    let mut out_of_order = 0;
    for e in &org.events {
        if newest_time.is_some_and(|t| e.time < t) {
            out_of_order += 1;
        }
        newest_time = newest_time.max(Some(e.time));
    }
    assert!(out_of_order > 0, "processing order differs from time order");
}

#[test]
fn the_last_cursor_finds_what_mutations_append_and_nothing_else() {
    let sb = with_events(120);
    let api = Api::new(&sb);
    let (seen, last) = walk(&api, 50);
    let cursor = last.unwrap();
    // Nothing new: empty data and the same cursor back.
    let again = ok(events(&api, &format!("?cursor={cursor}")));
    assert_eq!(again["data"], json!([]));
    assert_eq!(again["meta"]["next"], json!(cursor));
    let newest_seen = seen.iter().map(|e| time(&e["attributes"]["processedAt"])).max().unwrap();

    let mut appended = Vec::new();
    for report in [sb.add_users(2, 30).unwrap(), sb.suspend_users(1).unwrap(), sb.logins(3).unwrap(), sb.api_token_created(None, Some("nightly export")).unwrap()] {
        appended.extend(report.events_added);
    }
    let newest_time = sb.served_events().iter().map(|e| e.time).max().unwrap();
    let late_ids = sb.late_events(4, 3).unwrap().events_added;
    appended.extend(late_ids.clone());
    for report in [sb.advance_clock(1).unwrap(), sb.remove_users(1).unwrap()] {
        appended.extend(report.events_added);
    }
    let page = ok(events(&api, &format!("?cursor={cursor}&limit=500")));
    assert_eq!(ids(&page), appended, "exactly the appended events, in order");
    let data = page["data"].as_array().unwrap();
    assert!(data.iter().all(|e| time(&e["attributes"]["processedAt"]) > newest_seen));
    let actions: Vec<&str> = data.iter().map(|e| e["attributes"]["action"].as_str().unwrap()).collect();
    for a in ["user_added_to_org", "product_access_granted", "user_suspended", "user_logged_in", "api_token_created", "user_removed_from_org"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let token = data.iter().find(|e| e["attributes"]["action"] == "api_token_created").unwrap();
    let auth = &token["attributes"]["actor"]["auth"];
    assert_eq!((auth["authType"].as_str(), auth["tokenLabel"].as_str()), (Some("api-token"), Some("nightly export")));
    assert!(auth["tokenId"].is_string());
    let logins: Vec<&Value> = data.iter().filter(|e| e["attributes"]["action"] == "user_logged_in").collect();
    assert!(logins.iter().all(|e| e["attributes"]["location"]["ip"].is_string()));
    // The late ones happened days before the newest event already in the log, though
    // processed after it: a cursor on `time` would lose them.
    let late: Vec<&Value> = data.iter().filter(|e| late_ids.iter().any(|id| e["id"] == id.as_str())).collect();
    assert_eq!(late.len(), 4);
    for e in late {
        assert_eq!(e["attributes"]["action"], "user_logged_in");
        let t = time(&e["attributes"]["time"]);
        assert!(t <= newest_time - chrono::Duration::days(3) && t > newest_time - chrono::Duration::days(3) - chrono::Duration::hours(1));
    }
    // And the same cursor, polled again, still finds them all.
    assert_eq!(ids(&ok(events(&api, &format!("?cursor={cursor}&limit=500")))), appended);
    let next = page["meta"]["next"].as_str().unwrap();
    assert_eq!(ok(events(&api, &format!("?cursor={next}")))["data"], json!([]));
    assert!(sb.late_events(1, 0).is_err(), "a late event is dated before the newest");
}

#[test]
fn every_mutation_atlassian_logs_appends_events() {
    let sb = with_events(0);
    let api = Api::new(&sb);
    assert_eq!(ok(events(&api, ""))["data"], json!([]));
    let logged = ["add_users", "hire_users", "link_site", "revoke_access", "remove_users", "suspend_users", "rename_site", "add_group", "remove_group",
        "rename_group", "grant_group_role", "revoke_group_role", "join_group", "leave_group", "logins", "api_token_created", "late_events"];
    let mut all = Vec::new();
    for (name, _, _) in MUTATIONS {
        let r = request(&api.base, "POST", &format!("/__sandbox/mutations/{name}"), None, None);
        assert_eq!(r.status, 200, "{name}: {}", String::from_utf8_lossy(&r.body));
        let added: Vec<String> = r.json()["events_added"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert_eq!(!added.is_empty(), logged.contains(&name), "{name}: {added:?}");
        all.extend(added);
    }
    let (seen, _) = walk(&api, 7);
    assert_eq!(seen.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect::<Vec<_>>(), all);
    let listed: HashSet<String> =
        ok(api.get(&format!("/admin/v1/orgs/{}/event-actions", api.org)))["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed.len(), EVENT_ACTIONS.len());
    assert!(seen.iter().all(|e| listed.contains(e["attributes"]["action"].as_str().unwrap())));
    assert!(EVENT_ACTIONS.iter().all(|a| seen.iter().any(|e| e["attributes"]["action"] == a.id)), "every action can happen");
}

#[test]
fn a_null_next_on_the_last_page_when_asked() {
    let sb = start(SandboxOptions { events: 60, events_null_next: true, ..Default::default() });
    let api = Api::new(&sb);
    let (seen, last) = walk(&api, 7);
    assert_eq!(seen.len(), sb.served_events().len());
    assert_eq!(last, None);
    let first = ok(events(&api, "?limit=7"));
    assert!(first["meta"]["next"].is_string() && first["links"]["next"].is_string(), "pages before the last have a cursor");
    let empty = with_events(0);
    let page = ok(events(&Api::new(&empty), ""));
    assert!(page["meta"]["next"].is_string(), "an empty log still answers a cursor to poll with");
    let c = page["meta"]["next"].as_str().unwrap().to_string();
    let report = empty.logins(2).unwrap();
    assert_eq!(ids(&ok(events(&Api::new(&empty), &format!("?cursor={c}")))), report.events_added);
}

#[test]
fn limits_and_parameters() {
    let sb = with_events(1300);
    let api = Api::new(&sb);
    let served = sb.served_events();
    assert!(served.len() > 1000);
    let p = ok(events(&api, "?limit=1000"));
    assert_eq!(p["data"].as_array().unwrap().len(), 500, "clamped to 500");
    assert_eq!(ok(events(&api, ""))["data"].as_array().unwrap().len(), 200, "200 by default");
    let next = p["links"]["next"].as_str().unwrap();
    assert!(next.contains("limit=1000") && next.contains("cursor="), "{next}");
    let p2 = ok(api.get(next.strip_prefix(&api.base).unwrap()));
    assert_eq!(p2["data"][0]["id"].as_str(), Some(served[500].id.as_str()));
    for bad in ["limit=0", "limit=-3", "limit=ten", "limit=1.5", "from=yesterday", "to=1.7e12", "sortOrder=newest", "from=20&to=10"] {
        assert_app_error(&events(&api, &format!("?{bad}")), 400, "ADMIN-400-4");
    }
    // from / to on processedAt, from inclusive, to exclusive.
    let (a, b) = (&served[100], &served[400]);
    let (from, to) = (a.processed_at.timestamp_millis(), b.processed_at.timestamp_millis());
    let want: Vec<&str> = served.iter().filter(|e| e.processed_at >= a.processed_at && e.processed_at < b.processed_at).map(|e| e.id.as_str()).collect();
    let got = ok(events(&api, &format!("?from={from}&to={to}&limit=500")));
    assert_eq!(ids(&got), want);
    // A from before the retention serves the retained part only.
    let all = ok(events(&api, "?from=0&limit=500"));
    assert_eq!(all["data"][0]["id"].as_str(), Some(served[0].id.as_str()));
    // Descending: newest first, back to the oldest retained event, then next null.
    let mut desc = Vec::new();
    let mut page = ok(events(&api, "?sortOrder=desc&limit=500"));
    loop {
        desc.extend(ids(&page));
        let Some(c) = page["meta"]["next"].as_str().map(str::to_owned) else { break };
        page = ok(events(&api, &format!("?cursor={c}&limit=500")));
    }
    let mut asc: Vec<String> = served.iter().map(|e| e.id.clone()).collect();
    asc.reverse();
    assert_eq!(desc, asc);
}

#[test]
fn bad_and_expired_cursors_are_400_admin_400_1() {
    let sb = with_events(50);
    let api = Api::new(&sb);
    let other = start(SandboxOptions { events: 50, cursor_salt: Some(10), ..Default::default() });
    let foreign = ok(events(&Api::new(&other), "?limit=5"))["meta"]["next"].as_str().unwrap().to_string();
    let groups = ok(api.post(&format!("/admin/v2/orgs/{}/directories/-/groups/search", api.org), &json!({"limit": 1})));
    let group_cursor = groups["links"]["next"].as_str().unwrap().to_string();
    for bad in ["not-a-cursor", "eyJ0IjoiZSJ9", foreign.as_str(), group_cursor.as_str()] {
        assert_app_error(&events(&api, &format!("?cursor={bad}")), 400, "ADMIN-400-1");
    }
    let mid = ok(events(&api, "?limit=5"))["meta"]["next"].as_str().unwrap().to_string();
    let (_, last) = walk(&api, 20);
    let last = last.unwrap();
    assert_eq!(ok(events(&api, &format!("?cursor={mid}")))["data"].as_array().unwrap().len(), sb.served_events().len() - 5);
    sb.expire_event_cursors();
    for c in [&mid, &last] {
        assert_app_error(&events(&api, &format!("?cursor={c}")), 400, "ADMIN-400-1");
    }
    // A client recovers by starting again: the new cursors work.
    let fresh = ok(events(&api, "?limit=5"))["meta"]["next"].as_str().unwrap().to_string();
    assert_eq!(ok(events(&api, &format!("?cursor={fresh}&limit=1")))["data"].as_array().unwrap().len(), 1);
    // The same over HTTP.
    let r = request(&api.base, "POST", "/__sandbox/events/expire-cursors", None, None);
    assert_eq!(r.status, 200);
    assert_app_error(&events(&api, &format!("?cursor={fresh}")), 400, "ADMIN-400-1");
}

#[test]
fn the_retention_follows_the_clock() {
    let sb = with_events(200);
    let before = sb.served_events();
    sb.advance_clock(30).unwrap();
    let after = sb.served_events();
    assert!(after.len() < before.len());
    let cutoff = sb.truth().now - chrono::Duration::days(EVENT_RETENTION_DAYS);
    assert!(after.iter().all(|e| e.processed_at >= cutoff));
    let (seen, _) = walk(&Api::new(&sb), 100);
    assert_eq!(seen.len(), after.len());
}

#[test]
fn without_access_a_403_or_an_empty_200() {
    let sb = start(SandboxOptions { events: 40, events_access: EventsAccess::Forbidden, ..Default::default() });
    let api = Api::new(&sb);
    let actions = format!("/admin/v1/orgs/{}/event-actions", api.org);
    assert_app_error(&events(&api, ""), 403, "ADMIN-403-3");
    assert_app_error(&api.get(&actions), 403, "ADMIN-403-3");
    assert!(String::from_utf8_lossy(&events(&api, "").body).contains("read:events:admin"));
    assert_eq!(api.get(&format!("/admin/v1/orgs/{}", api.org)).status, 200, "the rest works");
    sb.set_events_access(EventsAccess::Empty);
    assert_eq!(sb.events_access(), EventsAccess::Empty);
    let page = ok(events(&api, "?limit=5"));
    assert_eq!((page["data"].clone(), page["meta"]["next"].clone(), page["meta"]["page_size"].clone()), (json!([]), Value::Null, json!(0)));
    assert_eq!(ok(api.get(&actions))["data"].as_array().unwrap().len(), EVENT_ACTIONS.len());
    sb.set_events_access(EventsAccess::Guard);
    assert_eq!(ok(events(&api, "?limit=5"))["data"].as_array().unwrap().len(), 5);
    // Wrong org: the usual 404.
    assert_app_error(&api.get("/admin/v1/orgs/not-ours/events-stream"), 404, "ADMIN-404-2");
}

#[test]
fn the_per_path_limit_refuses_events_stream_alone() {
    let rl: RateLimit = "3/h,retry-after".parse().unwrap();
    let sb = start(SandboxOptions { events: 40, events_rate_limit: Some(rl), ..Default::default() });
    let api = Api::new(&sb);
    let answers: Vec<Resp> = (0..5).map(|_| events(&api, "?limit=1")).collect();
    assert_eq!(answers.iter().map(|r| r.status).collect::<Vec<_>>(), [200, 200, 200, 429, 429]);
    assert_eq!(answers[2].header("X-RateLimit-Remaining"), Some("0"));
    assert_eq!(answers[0].header("X-RateLimit-Limit"), Some("3"));
    let refused = &answers[3];
    assert_eq!(refused.json(), json!({"code": 429, "message": "Too many requests"}));
    assert!(refused.header("Retry-After").is_some() && refused.header("X-RateLimit-Reset").is_some());
    // Other endpoints still answer, without the per-path headers.
    let org = api.get(&format!("/admin/v1/orgs/{}", api.org));
    assert_eq!((org.status, org.header("X-RateLimit-Limit")), (200, None));
    assert_eq!(api.get(&format!("/admin/v1/orgs/{}/event-actions", api.org)).status, 200);
    assert_eq!(sb.throttled_count_for(Endpoint::EventsStream), 2);
    let stats = sb.stats_json();
    assert_eq!(stats["by_endpoint"]["events_stream"], 5);
    assert_eq!(stats["by_endpoint"]["event_actions"], 1);
    assert_eq!(stats["throttled_by_endpoint"]["events_stream"], 2);
    assert_eq!(sb.events_rate_limit_window().unwrap().used, 5);
    // The org-wide limit still counts events-stream requests too.
    sb.set_events_rate_limit(None);
    sb.set_rate_limit(Some(RateLimit::new(2, Duration::from_secs(3600))));
    assert_eq!(events(&api, "").status, 200);
    assert_eq!(api.get(&format!("/admin/v1/orgs/{}", api.org)).status, 200);
    assert_eq!(events(&api, "").status, 429);
}

#[test]
fn faults_name_the_events_endpoints() {
    let sb = with_events(10);
    let api = Api::new(&sb);
    let rules: Vec<FaultRule> = ["events_stream:503:first=1", "event_actions:429,retry-after=1:first=1"].iter().map(|r| r.parse().unwrap()).collect();
    sb.set_faults(Faults { rules });
    assert_eq!(events(&api, "").status, 503);
    assert_eq!(events(&api, "").status, 200);
    assert_eq!(api.get(&format!("/admin/v1/orgs/{}/event-actions", api.org)).status, 429);
    assert_eq!(sb.request_count(Endpoint::EventsStream), 2);
    assert!(Endpoint::names().contains(&"events_stream") && Endpoint::names().contains(&"event_actions"));
}

#[test]
fn the_command_line_switches() {
    let (mut child, info) = spawn_cli(&["--users", "20", "--events", "30", "--events-null-next", "--events-access", "guard", "--events-rate-limit", "50/min"]);
    let base = info["base_url"].as_str().unwrap();
    let path = format!("/admin/v1/orgs/{}/events-stream?limit=500", info["org_id"].as_str().unwrap());
    let r = request(base, "GET", &path, info["api_key"].as_str(), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("X-RateLimit-Limit"), Some("50"));
    let page = r.json();
    assert!(!page["data"].as_array().unwrap().is_empty());
    assert_eq!(page["meta"]["next"], Value::Null);
    drop(child.stdin.take());
    let _ = child.wait();
    let (mut child, info) = spawn_cli(&["--users", "20", "--events-access", "forbidden"]);
    let path = format!("/admin/v1/orgs/{}/event-actions", info["org_id"].as_str().unwrap());
    assert_eq!(request(info["base_url"].as_str().unwrap(), "GET", &path, info["api_key"].as_str(), None).status, 403);
    drop(child.stdin.take());
    let _ = child.wait();
    let help = help_text();
    for word in ["--events <N>", "--events-null-next", "--events-access", "--events-rate-limit", "events-stream", "event-actions", "expire-cursors"] {
        assert!(help.contains(word), "--help mentions {word}");
    }
}
