//! Fault injection and the per-organization rate limit, over raw HTTP: from the library
//! (`Sandbox::set_faults`, `set_rate_limit`, `revoke_key`) and from the command line
//! (`--fault`, `--rate-limit`).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use atlassian_sandbox::{
    Endpoint, FaultAction, FaultRule, FaultTrigger, Faults, RateLimit, ResetPrecision, Sandbox, SandboxOptions,
};
use common::*;
use serde_json::{json, Value};

fn start(users: usize) -> Sandbox {
    Sandbox::start(SandboxOptions { users, ..Default::default() }).expect("start")
}

fn on(ep: Endpoint, when: FaultTrigger, action: FaultAction) -> Faults {
    Faults::one(Some(ep), when, action)
}

/// Sends one request and reads whatever comes back until the server closes the connection.
fn raw_exchange(base: &str, path: &str, key: &str) -> Vec<u8> {
    let host = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    raw
}

#[test]
fn throttle_fault_writes_fractional_retry_after_and_reset_at_each_precision() {
    let sb = start(10);
    let api = Api::new(&sb);
    let org = format!("/admin/v1/orgs/{}", api.org);
    sb.set_faults(on(Endpoint::Org, FaultTrigger::FirstN(1), FaultAction::throttle(Some(Duration::from_millis(200)), Some(Duration::from_secs(90)), ResetPrecision::Minutes)));
    let r = api.get(&org);
    assert_eq!(r.status, 429);
    assert_eq!(r.json(), json!({"code": 429, "message": "Too many requests"}));
    assert_eq!(r.header("Retry-After"), Some("0.2"));
    assert_eq!(r.header("X-RateLimit-Remaining"), Some("0"));
    let reset = r.header("X-RateLimit-Reset").unwrap();
    assert_eq!(reset.len(), "2023-10-11T12:34Z".len(), "{reset}");
    assert!(reset.ends_with('Z') && reset.matches(':').count() == 1, "{reset}");
    assert_eq!(api.get(&org).status, 200);

    sb.reset_counts();
    sb.set_faults(on(Endpoint::Org, FaultTrigger::Always, FaultAction::throttle(None, Some(Duration::from_secs(2)), ResetPrecision::Millis)));
    let before = chrono::Utc::now().timestamp_millis();
    let r = api.get(&org);
    let after = chrono::Utc::now().timestamp_millis();
    assert_eq!(r.header("Retry-After"), None);
    // 2 s after the moment the server answered, which lies between `before` and `after`
    // however slow the machine (the millisecond is truncated).
    let reset = chrono::DateTime::parse_from_rfc3339(r.header("X-RateLimit-Reset").unwrap()).unwrap().timestamp_millis();
    assert!((before + 1999..=after + 2000).contains(&reset), "{} ms after the request was sent", reset - before);
    assert_eq!(sb.throttled_count(), 2);
    assert_eq!(sb.stats_json()["throttled"], 2);
}

#[test]
fn the_rate_limit_counts_a_window_and_sends_the_three_headers() {
    let sb = start(10);
    let api = Api::new(&sb);
    let org = format!("/admin/v1/orgs/{}", api.org);
    // A window longer than any test run: every request below falls in the first one.
    let mut rl = RateLimit::new(3, Duration::from_secs(3600));
    rl.retry_after = true;
    sb.set_rate_limit(Some(rl));
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = api.get(&org);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("X-RateLimit-Limit"), Some("3"));
        assert!(r.header("X-RateLimit-Reset").unwrap().ends_with('Z'));
        remaining.push(r.header("X-RateLimit-Remaining").unwrap().to_string());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    // The limit is per organization, across endpoints.
    let r = api.workspaces(&json!({}));
    assert_eq!(r.status, 429);
    let wait: f64 = r.header("Retry-After").unwrap().parse().unwrap();
    assert!(wait > 0.0 && wait <= 3600.0, "{wait}");
    let window = sb.rate_limit_window().unwrap();
    assert_eq!(window.used, 4, "one window counted all four");
    assert_eq!(sb.throttled_count(), 1);
    // A wrong key is refused before it spends quota.
    assert_eq!(request(&api.base, "GET", &org, Some("wrong"), None).status, 401);
    assert_eq!(sb.rate_limit_window().unwrap().used, 4);
    // A window that has passed is followed by a new one: at least its length later, a
    // request opens the next window, however long the machine took in between.
    sb.set_rate_limit(Some(RateLimit::new(2, Duration::from_millis(200))));
    let first = api.get(&org);
    assert_eq!(first.status, 200);
    let opened = sb.rate_limit_window().unwrap();
    std::thread::sleep(Duration::from_millis(250));
    let r = api.get(&org);
    assert_eq!(r.status, 200, "a new window");
    assert_eq!(r.header("X-RateLimit-Remaining"), Some("1"));
    assert!(sb.rate_limit_window().unwrap().start >= opened.reset, "the window after the one that passed");
    sb.set_rate_limit(None);
    assert_eq!(api.get(&org).header("X-RateLimit-Limit"), None);
}

#[test]
fn reset_drops_the_connection_and_delay_slows_the_answer() {
    let sb = start(10);
    let api = Api::new(&sb);
    let org = format!("/admin/v1/orgs/{}", api.org);
    sb.set_faults(on(Endpoint::Org, FaultTrigger::Nth(vec![1]), FaultAction::ResetConnection));
    let raw = raw_exchange(&api.base, &org, api.key);
    assert!(!String::from_utf8_lossy(&raw).contains("\"data\""), "no complete response: {}", String::from_utf8_lossy(&raw));
    assert_eq!(api.get(&org).status, 200);
    sb.set_faults(on(Endpoint::Org, FaultTrigger::Always, FaultAction::Delay(Duration::from_millis(300))));
    let t = Instant::now();
    assert_eq!(api.get(&org).status, 200);
    // A lower bound: the delay happened (a busy machine only adds to it).
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[test]
fn truncate_cuts_a_well_framed_body() {
    let sb = start(30);
    let api = Api::new(&sb);
    let full = api.search(&json!({"limit": 10})).body;
    sb.set_faults(on(Endpoint::UsersSearch, FaultTrigger::Always, FaultAction::Truncate { keep: None }));
    let r = api.search(&json!({"limit": 10}));
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), full.len() / 2);
    assert_eq!(r.header("Content-Length"), Some(r.body.len().to_string().as_str()));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    sb.set_faults(on(Endpoint::UsersSearch, FaultTrigger::Always, FaultAction::Truncate { keep: Some(5) }));
    assert_eq!(api.search(&json!({"limit": 10})).body, full[..5]);
}

#[test]
fn repeat_cursor_hands_back_the_previous_next() {
    let sb = start(50);
    let api = Api::new(&sb);
    sb.set_faults(on(Endpoint::UsersSearch, FaultTrigger::Nth(vec![2]), FaultAction::RepeatCursor));
    let p1 = api.search(&json!({"limit": 10})).json();
    let c1 = p1["links"]["next"].as_str().unwrap().to_string();
    let p2 = api.search(&json!({"limit": 10, "cursor": c1})).json();
    assert_eq!(p2["links"]["next"], json!(c1), "page 2 points back at its own cursor");
    assert_ne!(p2["data"][0], p1["data"][0], "the data itself is page 2");
}

#[test]
fn next_link_sets_links_next_to_any_text() {
    let sb = start(120);
    let api = Api::new(&sb);
    let foreign = "http://127.0.0.2:9/admin/v1/orgs/x/users?cursor=abc";
    sb.set_faults(on(Endpoint::ManagedUsers, FaultTrigger::Nth(vec![1]), FaultAction::NextLink(foreign.into())));
    let path = format!("/admin/v1/orgs/{}/users", api.org);
    let page = api.get(&path).json();
    assert_eq!(page["links"]["next"], json!(foreign));
    assert!(!page["data"].as_array().unwrap().is_empty(), "the data is the real page");
    assert!(api.get(&path).json()["links"]["next"].as_str().unwrap().starts_with(&api.base), "only the nth");
    let rule: FaultRule = format!("managed_users:next-link={foreign}:first=1").parse().unwrap();
    assert_eq!(rule.action, FaultAction::NextLink(foreign.into()));
    assert_eq!(rule.when, FaultTrigger::FirstN(1));
    let rule: FaultRule = format!("managed_users:next-link={foreign}").parse().unwrap();
    assert_eq!((rule.action, rule.when), (FaultAction::NextLink(foreign.into()), FaultTrigger::Always));
}

#[test]
fn revoke_key_answers_401_from_then_on() {
    let sb = start(10);
    let api = Api::new(&sb);
    let org = format!("/admin/v1/orgs/{}", api.org);
    sb.set_faults(on(Endpoint::UsersSearch, FaultTrigger::Nth(vec![2]), FaultAction::RevokeKey));
    assert_eq!(api.search(&json!({})).status, 200);
    assert_eq!(api.search(&json!({})).status, 401);
    assert_eq!(api.get(&org).status, 401, "every endpoint");
    assert!(sb.key_revoked());
    sb.restore_key();
    assert_eq!(api.get(&org).status, 200);
}

#[test]
fn raw_wrong_shape_and_redirect_responses() {
    let sb = start(10);
    let api = Api::new(&sb);
    sb.set_faults(Faults {
        rules: vec![
            FaultRule { endpoint: Some(Endpoint::Workspaces), when: FaultTrigger::Nth(vec![1]), action: FaultAction::malformed() },
            FaultRule { endpoint: Some(Endpoint::Workspaces), when: FaultTrigger::Nth(vec![2]), action: FaultAction::wrong_shape() },
            FaultRule {
                endpoint: Some(Endpoint::Workspaces),
                when: FaultTrigger::Nth(vec![3]),
                action: FaultAction::Redirect { status: 307, location: "http://127.0.0.2:9/x".into() },
            },
        ],
    });
    let r = api.workspaces(&json!({}));
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert!(api.workspaces(&json!({})).json()["data"].is_object());
    let r = api.workspaces(&json!({}));
    assert_eq!((r.status, r.header("Location")), (307, Some("http://127.0.0.2:9/x")));
    assert_eq!(api.workspaces(&json!({})).status, 200);
}

#[test]
fn command_line_faults_and_rate_limit() {
    let (mut child, info) = spawn_cli(&[
        "--users",
        "20",
        "--fault",
        "org:429,retry-after=0.5:first=1",
        "--fault",
        "workspaces:503:nth=1+2",
        "--fault",
        "users_search:revoke-key:nth=2",
        "--rate-limit",
        "100/min,reset-precision=minute",
    ]);
    let base = info["base_url"].as_str().unwrap();
    let key = info["api_key"].as_str().unwrap();
    let org_id = info["org_id"].as_str().unwrap();
    let org = format!("/admin/v1/orgs/{org_id}");
    let r = request(base, "GET", &org, Some(key), None);
    assert_eq!((r.status, r.header("Retry-After")), (429, Some("0.5")));
    let r = request(base, "GET", &org, Some(key), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("X-RateLimit-Limit"), Some("100"));
    assert_eq!(r.header("X-RateLimit-Remaining"), Some("99"));
    assert_eq!(r.header("X-RateLimit-Reset").map(str::len), Some("2023-10-11T12:34Z".len()));
    let ws = format!("/admin/v2/orgs/{org_id}/workspaces");
    assert_eq!(request(base, "POST", &ws, Some(key), Some("{}")).status, 503);
    assert_eq!(request(base, "POST", &ws, Some(key), Some("{}")).status, 503);
    assert_eq!(request(base, "POST", &ws, Some(key), Some("{}")).status, 200);
    let search = format!("/admin/v2/orgs/{org_id}/directories/-/users/search");
    assert_eq!(request(base, "POST", &search, Some(key), Some("{}")).status, 200);
    assert_eq!(request(base, "POST", &search, Some(key), Some("{}")).status, 401);
    assert_eq!(request(base, "GET", &org, Some(key), None).status, 401);
    drop(child.stdin.take());
    let _ = child.wait();
}

#[test]
fn command_line_rejects_a_bad_fault_with_a_clear_message() {
    for (flag, value, needle) in [
        ("--fault", "users:500", "unknown endpoint 'users'"),
        ("--fault", "org:teapot", "unknown action 'teapot'"),
        ("--fault", "org:500:sometimes", "unknown trigger 'sometimes'"),
        ("--rate-limit", "fast", "expected LIMIT/WINDOW"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_atlassian-sandbox")).args([flag, value]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
    let help = help_text();
    for word in ["--fault", "--rate-limit", "repeat-cursor", "revoke-key", "reset-precision", "first=N"] {
        assert!(help.contains(word), "--help mentions {word}");
    }
}
