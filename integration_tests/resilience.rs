//! Rate limits, faults and security through the real binary: each sandbox fault is either
//! survived (every record read, with the waits announced) or reported exactly as
//! docs/errors.md describes (exit 1, one ERROR trace of the right failure type naming the
//! endpoint, INCOMPLETE streams). The harness checks every run's output for the API key.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atlassian_sandbox::{
    Endpoint, FaultAction, FaultRule, FaultTrigger, Faults, RateLimit, ResetPrecision, Sandbox, SandboxOptions,
};
use serde_json::{json, Value};

use source_atlassian_admin::client::pagination::PREFETCH;

use crate::harness::*;

const ALL: &[&str] = &["users", "user_activity", "workspaces"];

fn rule(endpoint: Endpoint, when: FaultTrigger, action: FaultAction) -> FaultRule {
    FaultRule { endpoint: Some(endpoint), when, action }
}

fn start(users: usize, rules: Vec<FaultRule>, rate_limit: Option<RateLimit>) -> Sandbox {
    Sandbox::start(SandboxOptions {
        users,
        api_key: SANDBOX_KEY.into(),
        faults: Faults { rules },
        rate_limit,
        ..SandboxOptions::default()
    })
    .expect("start sandbox")
}

/// A read of `streams` with the config's fields overridden by `extra`; also its wall time.
fn read(sb: &Sandbox, extra: Value, streams: &[&str]) -> (Run, Duration) {
    let files = Files::new();
    let mut cfg = config_for(sb);
    for (k, v) in extra.as_object().expect("extra config is an object") {
        cfg[k] = v.clone();
    }
    let cfg = files.json("config.json", &cfg);
    let cat = files.json("catalog.json", &catalog_of(streams));
    let state = files.write("state.json", "[]");
    let t = Instant::now();
    let run = run(&["read", "--config", &cfg, "--catalog", &cat, "--state", &state]);
    (run, t.elapsed())
}

fn check(sb: &Sandbox, extra: Value) -> Run {
    let files = Files::new();
    let mut cfg = config_for(sb);
    for (k, v) in extra.as_object().expect("extra config is an object") {
        cfg[k] = v.clone();
    }
    run(&["check", "--config", &files.json("config.json", &cfg)])
}

fn tail(run: &Run) -> String {
    format!("exit {}\nstderr: {}\nstdout tail: {}", run.code, run.stderr, &run.stdout[run.stdout.len().saturating_sub(3000)..])
}

/// A RUNNING / RATE_LIMITED status: emitted when the wait was decided, until `quota_reset`.
#[derive(Debug)]
struct Paused {
    decided_at: i64,
    quota_reset: i64,
}

impl Paused {
    fn wait_ms(&self) -> i64 {
        self.quota_reset - self.decided_at
    }
}

/// Every RUNNING / RATE_LIMITED status, in any stream.
fn rate_limited(run: &Run) -> Vec<Paused> {
    let mut out = Vec::new();
    for m in &run.messages {
        let Message::Trace { trace: Trace::StreamStatus { stream_status, emitted_at } } = m else { continue };
        if stream_status.status != "RUNNING" {
            continue;
        }
        for r in stream_status.reasons.iter().flatten().filter(|r| r["type"] == "RATE_LIMITED") {
            let quota_reset = r["rate_limited"]["quota_reset"].as_i64().expect("quota_reset is an integer");
            out.push(Paused { decided_at: *emitted_at as i64, quota_reset });
        }
    }
    out
}

fn warnings(run: &Run) -> Vec<&str> {
    run.logs().into_iter().filter(|l| l.level == "WARN").map(|l| l.message.as_str()).collect()
}

/// A successful read of every stream with exactly the sandbox's users and workspaces.
fn assert_complete(run: &Run, sb: &Sandbox, streams: &[&str]) {
    assert_eq!(run.code, 0, "{}", tail(run));
    assert!(run.errors().is_empty(), "{}", tail(run));
    let truth = sb.truth();
    if streams.contains(&"users") {
        let mut ids: Vec<&str> = run.records("users").iter().map(|r| r["account_id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), truth.users.len(), "every user exactly once");
    }
    if streams.contains(&"workspaces") {
        assert_eq!(run.records("workspaces").len(), truth.workspaces.len());
    }
    for s in streams {
        assert_eq!(run.statuses(s).last(), Some(&"COMPLETE"), "{s}: {}", tail(run));
    }
}

/// A failed read: exit 1, one ERROR trace of `failure_type` containing every `needle`, and
/// every stream that did not complete marked INCOMPLETE.
fn assert_failed<'r>(run: &'r Run, failure_type: &str, needles: &[&str], streams: &[&str]) -> &'r ErrorTrace {
    assert_eq!(run.code, 1, "{}", tail(run));
    let err = run.single_error();
    assert_eq!(err.failure_type, failure_type, "{}", err.message);
    for n in needles {
        assert!(err.message.contains(n), "the error should contain {n:?}: {}", err.message);
    }
    assert_names_origins_only(&err.message);
    for s in streams {
        let last = run.statuses(s).last().copied();
        assert!(matches!(last, Some("COMPLETE" | "INCOMPLETE")), "{s} ends with {last:?}");
    }
    assert!(streams.iter().any(|s| run.statuses(s).last() == Some(&"INCOMPLETE")));
    err
}

/// A message may name an origin (scheme, host, port) but never a URL's path or query, where
/// an org id or a cursor would be.
fn assert_names_origins_only(message: &str) {
    for (at, _) in message.match_indices("://") {
        let rest = &message[at + 3..];
        let end = rest.find(|c: char| c.is_whitespace() || "()'\";,".contains(c)).unwrap_or(rest.len());
        let authority = rest[..end].trim_end_matches('.');
        assert!(!authority.contains(['/', '?', '#']), "a URL with a path in the message: {message}");
    }
}

const USERS_SEARCH: &str = "POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search";
const WORKSPACES: &str = "POST /admin/v2/orgs/{orgId}/workspaces";

// ------------------------------------------------------------------ rate limits

#[test]
fn a_429_burst_with_retry_after_is_waited_out_and_announced() {
    let sb = start(
        150,
        vec![rule(
            Endpoint::UsersSearch,
            FaultTrigger::FirstN(3),
            FaultAction::throttle(Some(Duration::from_millis(200)), None, ResetPrecision::Millis),
        )],
        None,
    );
    let before = now_ms();
    let (run, took) = read(&sb, json!({"page_size": 50}), ALL);
    let after = now_ms();
    assert_complete(&run, &sb, ALL);
    assert_eq!(sb.throttled_count(), 3);
    let pauses = rate_limited(&run);
    assert_eq!(pauses.len(), 3, "one RATE_LIMITED status per wait: {}", tail(&run));
    for p in &pauses {
        assert_eq!(p.wait_ms(), 200, "the wait Retry-After asked for: {p:?}");
        assert!((before..=after).contains(&p.decided_at), "decided during the read: {p:?} ({before}..{after})");
    }
    let warns = warnings(&run);
    assert!(
        warns.iter().filter(|w| w.contains(USERS_SEARCH) && w.contains("rate limited") && w.contains("max_rate_limit_wait_seconds")).count() == 3,
        "{warns:#?}"
    );
    assert!(took >= Duration::from_millis(600), "three waits of 0.2 s: {took:?}");
}

/// The rate-limit waits the connector decided on, in seconds (from its RATE_LIMITED statuses).
fn rate_limit_waiting(run: &Run) -> f64 {
    rate_limited(run).iter().map(|p| p.wait_ms() as f64 / 1000.0).sum()
}

#[test]
fn a_429_with_only_a_reset_time_waits_until_it() {
    let sb = start(
        60,
        vec![rule(
            Endpoint::Workspaces,
            FaultTrigger::FirstN(1),
            FaultAction::throttle(None, Some(Duration::from_millis(1500)), ResetPrecision::Millis),
        )],
        None,
    );
    let before = now_ms();
    let (run, took) = read(&sb, json!({}), ALL);
    let after = now_ms();
    assert_complete(&run, &sb, ALL);
    // The 429 of the workspaces list says the org's quota is used up until the reset: the
    // users search, paced by the same quota, may wait for it too (a second RATE_LIMITED).
    let pauses = rate_limited(&run);
    assert!(matches!(pauses.len(), 1 | 2), "{}", tail(&run));
    for p in &pauses {
        // The reset is 1.5 s after the sandbox's answer, which came after `before` and before
        // `after`; the pacer adds a margin of at most 5 ms + 1/200 of the window + a tenth of
        // a round trip (a round trip is shorter than the read).
        let margin = 5 + 1500 / 200 + (after - before) / 10 + 1;
        assert!(p.quota_reset >= before + 1500, "not before the reset: {p:?} (read began {before})");
        assert!(p.quota_reset <= after + 1500 + margin, "no later than the reset and its margin: {p:?} (read ended {after})");
    }
    assert!(took >= Duration::from_millis(1200), "{took:?}");
}

#[test]
fn a_429_with_a_minute_precision_reset_or_no_headers_backs_off() {
    // A minute-precision reset is truncated, so it is (almost always) already past: the
    // connector must neither wait for it nor hammer, but back off.
    let sb = start(
        100,
        vec![
            rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![1, 2]), FaultAction::throttle(None, Some(Duration::ZERO), ResetPrecision::Minutes)),
            rule(Endpoint::Workspaces, FaultTrigger::FirstN(2), FaultAction::throttle(None, None, ResetPrecision::Millis)),
        ],
        None,
    );
    let (run, _) = read(&sb, json!({"page_size": 50}), ALL);
    assert_complete(&run, &sb, ALL);
    assert_eq!(sb.throttled_count(), 4);
    assert_eq!(rate_limited(&run).len(), 4);
    assert!(warnings(&run).iter().filter(|w| w.contains("backing off")).count() == 4, "{:#?}", warnings(&run));
    // Each 429 is answered by one wait and one more request: two pages + two 429s, one page + two 429s.
    assert_eq!((sb.request_count(Endpoint::UsersSearch), sb.request_count(Endpoint::Workspaces)), (4, 3));
    // Backoff, not the minute: the first and second waits of a call are at most 0.5 s and 1 s.
    assert!(rate_limit_waiting(&run) <= 3.0, "{}", rate_limit_waiting(&run));
}

#[test]
fn a_real_per_org_rate_limit_is_paced_and_every_record_read() {
    let sb = start(300, vec![], Some(RateLimit::new(5, Duration::from_millis(700))));
    let (run, _) = read(&sb, json!({"page_size": 25}), ALL);
    assert_complete(&run, &sb, ALL);
    assert_records_match_schemas(&run);
    let pauses = rate_limited(&run);
    assert!(!pauses.is_empty(), "the used-up quota is announced as RATE_LIMITED: {}", tail(&run));
    let warns = warnings(&run);
    assert!(warns.iter().any(|w| w.contains("quota is used up")), "{warns:#?}");
    // How few 429s the pacing leaves depends on the wall clock: the pacer's own tests
    // (client::pacing::sim) assert it in simulated time. Here, only counts: every other
    // request is one page (12 users pages, 1 workspaces page, 1 count).
    assert_eq!(sb.total_requests() - sb.throttled_count(), 14, "a throttled request is repeated once, nothing else is");
}

#[test]
fn a_real_rate_limit_with_minute_precision_resets_still_completes() {
    // Resets truncated to the minute cannot be paced on; 429s are backed off instead.
    let mut rl = RateLimit::new(6, Duration::from_millis(500));
    rl.reset_precision = ResetPrecision::Minutes;
    let sb = start(200, vec![], Some(rl));
    let (run, _) = read(&sb, json!({"page_size": 25}), ALL);
    assert_complete(&run, &sb, ALL);
    // 8 users pages, 1 workspaces page, 1 count; each 429 is one backed-off wait and one retry.
    assert_eq!(sb.total_requests() - sb.throttled_count(), 10);
    assert_eq!(rate_limited(&run).len() as u64, sb.throttled_count(), "every 429 is announced");
}

#[test]
fn an_endless_rate_limit_fails_with_a_transient_error_after_max_wait() {
    let sb = start(
        50,
        vec![FaultRule {
            endpoint: None,
            when: FaultTrigger::Always,
            action: FaultAction::throttle(Some(Duration::from_millis(400)), None, ResetPrecision::Millis),
        }],
        None,
    );
    let (run, _) = read(&sb, json!({"max_rate_limit_wait_seconds": 1}), ALL);
    let err = assert_failed(&run, "transient_error", &["rate limited", "max_rate_limit_wait_seconds (1 s)", "run the sync again later"], ALL);
    assert!(err.message.contains(WORKSPACES) || err.message.contains(USERS_SEARCH), "{}", err.message);
    let waits = rate_limited(&run).len();
    // Waits of 0.4 s in a budget of 1 s: two per chain at most (three chains: workspaces, users, count).
    assert!((1..=6).contains(&waits), "{waits} waits");
    assert!(sb.throttled_count() <= waits as u64 + 3, "{} requests answered 429 for {waits} waits", sb.throttled_count());
}

#[test]
fn a_reset_beyond_the_wait_budget_fails_at_once() {
    let sb = start(
        50,
        vec![FaultRule {
            endpoint: None,
            when: FaultTrigger::Always,
            action: FaultAction::throttle(None, Some(Duration::from_secs(7200)), ResetPrecision::Seconds),
        }],
        None,
    );
    // Three chains start at once; whichever 429 the pacer hears first, no request may then be
    // held back in pauses for a reset the budget cannot reach (that once took 30 minutes).
    for _ in 0..8 {
        sb.reset_counts();
        let (run, _) = read(&sb, json!({}), ALL);
        assert_failed(&run, "transient_error", &["max_rate_limit_wait_seconds (1800 s)"], ALL);
        assert!(rate_limited(&run).is_empty(), "no pause begun for a reset two hours away: {}", tail(&run));
        // One request per chain (workspaces, users, count), none repeated.
        assert!(sb.total_requests() <= 3, "{} requests", sb.total_requests());
    }
}

// ------------------------------------------------------------------ faults

#[test]
fn server_errors_500_502_503_are_retried_with_backoff() {
    let sb = start(
        100,
        vec![
            rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![1]), FaultAction::server_error(500)),
            rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![2]), FaultAction::server_error(502)),
            rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![4]), FaultAction::server_error(503)),
        ],
        None,
    );
    let (run, _) = read(&sb, json!({"page_size": 50}), ALL);
    assert_complete(&run, &sb, ALL);
    assert_eq!(sb.request_count(Endpoint::UsersSearch), 2 + 3, "two pages, three of the requests retried once");
    let warns = warnings(&run);
    for status in ["500", "502", "503"] {
        assert!(
            warns.iter().any(|w| w.contains(USERS_SEARCH) && w.contains(&format!("answered {status} (server error)")) && w.contains("retrying in")),
            "{status}: {warns:#?}"
        );
    }
    assert!(rate_limited(&run).is_empty(), "a server error is not a rate limit");
}

#[test]
fn connection_resets_are_retried() {
    let sb = start(
        100,
        vec![
            rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![2]), FaultAction::ResetConnection),
            rule(Endpoint::Workspaces, FaultTrigger::FirstN(1), FaultAction::ResetConnection),
        ],
        None,
    );
    let (run, _) = read(&sb, json!({"page_size": 50}), ALL);
    assert_complete(&run, &sb, ALL);
    let warns = warnings(&run);
    assert_eq!(warns.iter().filter(|w| w.contains("could not be reached") && w.contains("retrying in")).count(), 2, "{warns:#?}");
}

#[test]
fn a_response_slower_than_the_timeout_is_retried() {
    let sb = start(60, vec![rule(Endpoint::UsersSearch, FaultTrigger::FirstN(1), FaultAction::Delay(Duration::from_secs(3)))], None);
    let (run, took) = read(&sb, json!({"request_timeout_seconds": 1}), ALL);
    assert_complete(&run, &sb, ALL);
    let warns = warnings(&run);
    assert!(warns.iter().any(|w| w.contains("no complete response within 1 s (request_timeout_seconds)")), "{warns:#?}");
    assert!(took >= Duration::from_secs(1), "{took:?}");
}

#[test]
fn timeouts_that_persist_end_in_a_transient_error() {
    let sb = start(20, vec![rule(Endpoint::Workspaces, FaultTrigger::Always, FaultAction::Delay(Duration::from_secs(4)))], None);
    let (run, _) = read(&sb, json!({"request_timeout_seconds": 1, "max_retries": 1}), ALL);
    assert_failed(&run, "transient_error", &[WORKSPACES, "request_timeout_seconds", "gave up after 2 attempts"], ALL);
    assert_eq!(sb.request_count(Endpoint::Workspaces), 2);
}

#[test]
fn truncated_json_is_retried_then_a_system_error_naming_the_endpoint() {
    let sb = start(40, vec![rule(Endpoint::UsersSearch, FaultTrigger::FirstN(1), FaultAction::Truncate { keep: None })], None);
    let (run, _) = read(&sb, json!({}), ALL);
    assert_complete(&run, &sb, ALL);
    assert!(warnings(&run).iter().any(|w| w.contains(USERS_SEARCH) && w.contains("cut off")));

    let sb = start(40, vec![rule(Endpoint::Workspaces, FaultTrigger::Always, FaultAction::Truncate { keep: None })], None);
    let (run, _) = read(&sb, json!({"max_retries": 2}), ALL);
    assert_failed(&run, "system_error", &[WORKSPACES, "not the expected JSON", "cut off", "gave up after 3 attempts"], ALL);
    assert_eq!(sb.request_count(Endpoint::Workspaces), 3, "bounded retries");
}

#[test]
fn malformed_and_wrong_shaped_bodies_are_system_errors() {
    for (action, needle) in [(FaultAction::malformed(), "not valid JSON"), (FaultAction::wrong_shape(), "unexpected shape")] {
        let sb = start(20, vec![rule(Endpoint::Workspaces, FaultTrigger::Always, action)], None);
        let (run, _) = read(&sb, json!({"max_retries": 1}), ALL);
        let err = assert_failed(&run, "system_error", &[WORKSPACES, needle], ALL);
        assert!(!err.message.contains("<html>") && !err.message.contains("Service Unavailable"), "no body in messages: {}", err.message);
        assert_eq!(sb.request_count(Endpoint::Workspaces), 2);
    }
}

#[test]
fn unknown_fields_are_accepted_and_missing_optional_fields_tolerated() {
    let body = json!({
        "data": [
            {"id": "ari:cloud:jira::site/minimal"},
            {
                "id": "ari:cloud:confluence::site/extra", "type": "workspaces", "brandNewTopLevel": [1, {"x": null}],
                "attributes": {"name": "Extra", "typeKey": "confluence", "status": "online", "capacity": 50,
                    "futureAttribute": {"deeply": {"nested": ["value"]}}, "sandbox": {"type": "NONE", "new": 1}},
                "relationships": {"entitlement": {"id": "e", "attributes": {"plan": "Premium", "newPlanField": true}}}
            }
        ],
        "links": {"self": "s", "somethingElse": "x"},
        "meta": {"total": 2, "newMeta": "y"},
        "newTopLevel": {"a": 1}
    });
    let sb = start(10, vec![rule(Endpoint::Workspaces, FaultTrigger::Always, FaultAction::Respond { status: 200, body, headers: vec![] })], None);
    let (run, _) = read(&sb, json!({}), &["workspaces"]);
    assert_eq!(run.code, 0, "{}", tail(&run));
    assert_records_match_schemas(&run);
    let ws = run.records("workspaces");
    assert_eq!(ws.len(), 2);
    assert_eq!(ws[1]["plan"], json!("Premium"));
    assert_eq!(ws[1]["capacity"], json!(50));
}

#[test]
fn a_repeated_cursor_ends_the_read_with_an_error_not_a_loop() {
    let sb = start(200, vec![rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![3]), FaultAction::RepeatCursor)], None);
    let (run, _) = read(&sb, json!({"page_size": 20}), ALL);
    assert_failed(&run, "system_error", &[USERS_SEARCH, "page cursor it had already returned"], ALL);
    assert!(sb.request_count(Endpoint::UsersSearch) <= 3, "no request after the repeated cursor");
}

#[test]
fn a_key_revoked_mid_sync_is_a_config_error_and_is_not_retried() {
    // Revoked at a request the test controls: the users pass consumes its first page only
    // once the workspaces and the user count are read, and until then its chain has at most
    // PREFETCH pages queued and one request in flight; so the request after those is sent
    // when nothing else is in flight, and it is the one that meets the 401.
    let revoking = PREFETCH as u64 + 3;
    let sb = start(200, vec![rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![revoking]), FaultAction::RevokeKey)], None);
    let (run, _) = read(&sb, json!({"page_size": 20}), ALL);
    assert_failed(&run, "config_error", &[USERS_SEARCH, "401", "API keys"], ALL);
    assert!(sb.key_revoked());
    assert_eq!(sb.request_count(Endpoint::UsersSearch), revoking, "a 401 is not retried");
    assert_eq!(run.statuses("workspaces").last(), Some(&"COMPLETE"));
    assert!(!run.records("users").is_empty(), "the pages before the revocation were emitted");
}

/// After retries run out the read exits non-zero with its ERROR trace, and what it emitted
/// before its last STATE stays emitted. (Resuming from that STATE: see the next test.)
#[test]
fn retries_running_out_exit_non_zero_with_an_error_trace_and_incomplete_streams() {
    let sb = start(200, vec![rule(Endpoint::UsersSearch, FaultTrigger::From(4), FaultAction::server_error(503))], None);
    let (run, _) = read(&sb, json!({"page_size": 20, "max_retries": 1}), ALL);
    assert_failed(&run, "transient_error", &[USERS_SEARCH, "503", "gave up after 2 attempts"], ALL);
    for s in ["users", "user_activity"] {
        assert_eq!(run.statuses(s).last(), Some(&"INCOMPLETE"), "{s}");
    }
    let error_at = run.messages.iter().position(|m| matches!(m, Message::Trace { trace: Trace::Error { .. } })).unwrap();
    assert!(run.messages[error_at + 1..].iter().all(|m| !matches!(m, Message::Record { .. } | Message::State { .. })), "nothing after the ERROR trace");
    assert!(run.records("users").len() >= 60, "the three pages served were emitted");
}

/// A 5xx from something in front of the API (an HTML page, no Atlassian error) names what
/// answered by the page's title.
#[test]
fn a_proxy_error_page_is_named_by_its_title() {
    let sb = start(200, vec![rule(Endpoint::Workspaces, FaultTrigger::Always, FaultAction::gateway_page(502))], None);
    let (run, _) = read(&sb, json!({"max_retries": 1}), ALL);
    assert_failed(&run, "transient_error", &[WORKSPACES, "(502 Bad Gateway)", "gave up after 2 attempts"], ALL);
}

/// A read whose retries run out, resumed from its last STATE, yields every user: the records
/// the platform may commit (those before the last STATE) plus the resumed read cover them all.
#[test]
fn resuming_after_retries_ran_out_yields_complete_data() {
    let sb = start(200, vec![rule(Endpoint::UsersSearch, FaultTrigger::Nth(vec![4, 5]), FaultAction::server_error(503))], None);
    let mut catalog = catalog_of(&["users"]);
    catalog["streams"][0]["sync_mode"] = json!("incremental");
    catalog["streams"][0]["destination_sync_mode"] = json!("append_dedup");
    let files = Files::new();
    let mut cfg = config_for(&sb);
    cfg["page_size"] = json!(20);
    cfg["max_retries"] = json!(1);
    let cfg = files.json("config.json", &cfg);
    let cat = files.json("catalog.json", &catalog);
    let first = run(&["read", "--config", &cfg, "--catalog", &cat, "--state", &files.write("s0.json", "[]")]);
    assert_eq!(first.code, 1);
    let state = files.json("s1.json", &state_after(&first.messages));
    let second = run(&["read", "--config", &cfg, "--catalog", &cat, "--state", &state]);
    assert_eq!(second.code, 0, "{}", tail(&second));
    assert!(second.logs().iter().any(|l| l.message.contains("Resuming")), "resumes mid-pass");
    let last_state = first.messages.iter().rposition(|m| matches!(m, Message::State { .. })).expect("a checkpoint before the failure");
    let mut ids: Vec<String> = first.messages[..last_state]
        .iter()
        .filter_map(|m| match m {
            Message::Record { record } if record.stream == "users" => record.data["account_id"].as_str().map(String::from),
            _ => None,
        })
        .chain(second.records("users").iter().map(|r| r["account_id"].as_str().unwrap().to_string()))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), sb.truth().users.len());
}

// ------------------------------------------------------------------ security

/// A listener on another loopback host that counts connections: nothing may reach it.
fn spy() -> (String, Arc<AtomicU64>, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    let handle = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(8);
        while Instant::now() < until {
            if listener.accept().is_ok() {
                h.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    (format!("http://{addr}"), hits, handle)
}

#[test]
fn a_redirect_to_another_host_is_not_followed_so_the_key_stays_home() {
    let (spy_url, hits, _spy) = spy();
    let location = format!("{spy_url}/admin/v2/orgs/steal/workspaces");
    let sb = start(20, vec![rule(Endpoint::Workspaces, FaultTrigger::Always, FaultAction::Redirect { status: 307, location })], None);
    let (run, _) = read(&sb, json!({}), ALL);
    assert_failed(&run, "system_error", &[WORKSPACES, "307", &format!("redirecting to {spy_url};"), "base_url"], ALL);
    assert_eq!(sb.request_count(Endpoint::Workspaces), 1, "a redirect is not retried");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was sent to the other host");
}

#[test]
fn a_redirect_within_the_api_host_is_followed() {
    let sb = start(30, vec![], None);
    let location = format!("{}/admin/v2/orgs/{}/workspaces", sb.base_url(), sb.org_id());
    sb.set_faults(Faults::one(Some(Endpoint::Workspaces), FaultTrigger::FirstN(1), FaultAction::Redirect { status: 307, location }));
    let (run, _) = read(&sb, json!({}), ALL);
    assert_complete(&run, &sb, ALL);
    assert_eq!(sb.request_count(Endpoint::Workspaces), 2);
}

#[test]
fn an_error_body_echoing_the_key_is_redacted() {
    let body = json!({"errors": [{"code": "ADMIN-400-1", "title": "Bad Request", "detail": format!("Bearer {SANDBOX_KEY} is not allowed here")}]});
    let sb = start(10, vec![rule(Endpoint::Workspaces, FaultTrigger::Always, FaultAction::Respond { status: 400, body, headers: vec![] })], None);
    let (run, _) = read(&sb, json!({}), ALL);
    let err = assert_failed(&run, "system_error", &[WORKSPACES, "400", "**********"], ALL);
    assert!(!err.internal_message.as_deref().unwrap_or_default().contains(SANDBOX_KEY));
}

#[test]
fn check_reports_outages_rate_limits_and_a_revoked_key_as_failed() {
    let sb = start(10, vec![rule(Endpoint::Org, FaultTrigger::Always, FaultAction::server_error(503))], None);
    let run = check(&sb, json!({}));
    assert_eq!(run.code, 0, "{}", tail(&run));
    let status = run.connection_status();
    assert_eq!(status.status, "FAILED");
    assert!(status.message.as_deref().unwrap().contains("503"), "{status:?}");

    sb.set_faults(Faults::one(None, FaultTrigger::Always, FaultAction::throttle(Some(Duration::from_millis(300)), None, ResetPrecision::Millis)));
    let run = check(&sb, json!({"max_rate_limit_wait_seconds": 1}));
    assert_eq!(run.code, 0, "{}", tail(&run));
    let status = run.connection_status();
    assert_eq!(status.status, "FAILED");
    assert!(status.message.as_deref().unwrap().contains("max_rate_limit_wait_seconds"), "{status:?}");

    sb.set_faults(Faults::none());
    sb.revoke_key();
    let run = check(&sb, json!({}));
    let status = run.connection_status();
    assert_eq!(status.status, "FAILED");
    assert!(status.message.as_deref().unwrap().contains("401"), "{status:?}");
    sb.restore_key();
    assert_eq!(check(&sb, json!({})).connection_status().status, "SUCCEEDED");
}

#[test]
fn check_against_a_base_url_that_is_not_the_api_root_reports_failed_with_the_address() {
    let sb = start(10, vec![], None);
    let base = format!("{}/not-the-api", sb.base_url());
    let run = check(&sb, json!({"base_url": base}));
    assert_eq!(run.code, 0, "{}", tail(&run));
    assert!(run.errors().is_empty(), "a configuration problem, not an ERROR trace: {}", tail(&run));
    let status = run.connection_status();
    assert_eq!(status.status, "FAILED");
    let msg = status.message.as_deref().unwrap();
    assert!(msg.contains("answered 404 Not Found") && msg.contains(&base) && msg.contains("'base_url' is the API root"), "{msg}");
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
