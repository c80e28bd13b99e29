//! `audit_events` through the binary: the log equals the sandbox's, each event exactly once —
//! across incremental syncs with late-processed events, kills at each checkpoint, a refused
//! cursor, and a log that ends with a null `next` — and an org without Guard fails the stream
//! alone.

use std::collections::{BTreeMap, BTreeSet};

use atlassian_sandbox::{EventsAccess, Sandbox, SandboxOptions};
use serde_json::{json, Value};

use crate::harness::*;

const STREAM: &str = "audit_events";

fn events_sandbox(events: usize, null_next: bool) -> Sandbox {
    Sandbox::start(SandboxOptions { users: 40, events, events_null_next: null_next, api_key: SANDBOX_KEY.into(), ..SandboxOptions::default() })
        .expect("start sandbox")
}

fn catalog(streams: &[&str], incremental: bool) -> Value {
    let mut cat = catalog_of(streams);
    for s in cat["streams"].as_array_mut().unwrap() {
        if incremental && s["stream"]["name"] == STREAM {
            s["sync_mode"] = json!("incremental");
            s["destination_sync_mode"] = json!("append_dedup");
        }
    }
    cat
}

fn config(sb: &Sandbox) -> Value {
    let mut cfg = config_for(sb);
    cfg["max_retries"] = json!(1);
    cfg
}

/// The ids a platform kept: every record before the last STATE (a killed read's later records
/// are not committed).
fn committed(messages: &[Message]) -> Vec<String> {
    let last_state = messages.iter().rposition(|m| matches!(m, Message::State { .. })).unwrap_or(0);
    messages[..last_state]
        .iter()
        .filter_map(|m| match m {
            Message::Record { record } if record.stream == STREAM => Some(record.data["id"].as_str().unwrap().to_string()),
            _ => None,
        })
        .collect()
}

fn ids(run: &Run) -> Vec<String> {
    run.records(STREAM).iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

fn served(sb: &Sandbox) -> BTreeSet<String> {
    sb.served_events().into_iter().map(|e| e.id).collect()
}

/// Each id once, and together exactly the log.
fn assert_exactly_once(emitted: &[String], sb: &Sandbox, what: &str) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in emitted {
        *counts.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{what}: emitted more than once: {twice:?}");
    let got: BTreeSet<String> = emitted.iter().cloned().collect();
    let want = served(sb);
    assert_eq!(got.len(), want.len(), "{what}: {} missing, {} extra", want.difference(&got).count(), got.difference(&want).count());
    assert_eq!(got, want, "{what}");
}

#[test]
fn a_full_refresh_is_the_log_with_its_fields() {
    let sb = events_sandbox(1200, false);
    let run = read_ok(&config(&sb), &catalog(&[STREAM], false), &json!([]));
    assert_exactly_once(&ids(&run), &sb, "full refresh");
    assert_records_match_schemas(&run);
    let truth: BTreeMap<String, _> = sb.served_events().into_iter().map(|e| (e.id.clone(), e)).collect();
    for r in run.records(STREAM) {
        let e = &truth[r["id"].as_str().unwrap()];
        assert_eq!(r["action"], json!(e.action));
        assert!(r["action_name"].is_string(), "every action has a display name: {r:?}");
        assert_eq!(r["actor_id"], json!(e.actor.id));
        assert_eq!(r["processed_at"].as_str().map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap()), Some(e.processed_at.into()));
        assert_eq!(r["context"].is_null(), e.context.is_none(), "context kept whole, or missing as sent");
    }
    // The log is in processing order, and some events were processed after later ones.
    let times: Vec<(&str, &str)> = run.records(STREAM).iter().map(|r| (r["processed_at"].as_str().unwrap(), r["time"].as_str().unwrap())).collect();
    assert!(times.windows(2).any(|w| w[1].1 < w[0].1), "late-processed events are in the log");
    let kept = |r: &&serde_json::Map<String, Value>| r["context"].get(0).and_then(|c| c["attributes"].get("futureField")).is_some();
    assert!(run.records(STREAM).iter().any(kept), "fields no client knows yet are kept");
}

#[test]
fn incremental_syncs_emit_each_new_event_once_including_late_ones() {
    for null_next in [false, true] {
        let sb = events_sandbox(700, null_next);
        let cfg = config(&sb);
        let cat = catalog(&["users", STREAM], true);
        let first = read_ok(&cfg, &cat, &json!([]));
        let mut all = ids(&first);
        let mut state = state_after(&first.messages);
        let quiet = read_ok(&cfg, &cat, &state);
        assert!(ids(&quiet).is_empty(), "null_next {null_next}: nothing new, nothing emitted");
        all.extend(ids(&quiet));
        state = state_after_from(&state, &quiet.messages);
        sb.logins(5).unwrap();
        sb.late_events(4, 3).unwrap();
        sb.add_users(2, 1).unwrap();
        sb.api_token_created(None, Some("ci")).unwrap();
        let second = read_ok(&cfg, &cat, &state);
        let new = ids(&second);
        assert!(new.len() >= 12, "null_next {null_next}: {} new events", new.len());
        all.extend(new);
        assert_exactly_once(&all, &sb, &format!("null_next {null_next}"));
        assert!(second.records(STREAM).iter().any(|r| r["action"] == "api_token_created" && r["actor_token_label"] == "ci"));
    }
}

/// Atlassian's clock an hour ahead of the connector's: the newest event a state holds was
/// processed "in the future", which must not freeze the log (only a pass this machine began
/// in the future does).
#[test]
fn an_api_clock_ahead_of_the_connectors_does_not_freeze_the_log() {
    let ahead = chrono::Utc::now() + chrono::Duration::hours(1);
    let sb = Sandbox::start(SandboxOptions { users: 40, events: 300, now: ahead, api_key: SANDBOX_KEY.into(), ..SandboxOptions::default() })
        .expect("start sandbox");
    sb.logins(2).unwrap(); // processed at the sandbox's now, an hour ahead
    let (cfg, cat) = (config(&sb), catalog(&[STREAM], true));
    let first = read_ok(&cfg, &cat, &json!([]));
    let state = state_after(&first.messages);
    let newest = state[0]["stream"]["stream_state"]["newest_processed_at"].as_str().expect("newest_processed_at").to_string();
    assert!(newest > chrono::Utc::now().to_rfc3339(), "the sandbox's events are processed ahead of this clock: {newest}");
    sb.logins(3).unwrap();
    let second = read_ok(&cfg, &cat, &state);
    assert_eq!(ids(&second).len(), 3, "the three logins, read although the saved newest time is in this machine's future");
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_exactly_once(&all, &sb, "clock ahead");
}

#[test]
fn a_sync_killed_at_any_checkpoint_resumes_with_no_gap_and_no_repeat() {
    let sb = events_sandbox(2600, false); // 6 pages of 500
    let cfg = config(&sb);
    let cat = catalog(&[STREAM], true);
    let full = read_ok(&cfg, &cat, &json!([]));
    let checkpoints = full.states().iter().filter(|s| s.stream.stream_descriptor.name == STREAM).count();
    assert!(checkpoints >= 6, "a checkpoint per page: {checkpoints}");
    for kill_after in 1..checkpoints {
        let (killed, _) = read_and_stop(&cfg, &cat, &json!([]), STREAM, kill_after, None);
        let mut emitted = committed(&killed);
        let resumed = read_ok(&cfg, &cat, &state_after(&killed));
        emitted.extend(ids(&resumed));
        assert_exactly_once(&emitted, &sb, &format!("killed after checkpoint {kill_after}"));
    }
}

#[test]
fn a_refused_cursor_reads_again_and_skips_what_was_emitted() {
    let sb = events_sandbox(900, false);
    let cfg = config(&sb);
    let cat = catalog(&[STREAM], true);
    let first = read_ok(&cfg, &cat, &json!([]));
    let mut all = ids(&first);
    sb.logins(3).unwrap();
    sb.late_events(2, 1).unwrap();
    sb.expire_event_cursors();
    let second = read_ok(&cfg, &cat, &state_after(&first.messages));
    assert!(second.logs().iter().any(|l| l.message.contains("refused the page cursor")), "a WARN says so");
    assert!(second.logs().iter().any(|l| l.message.contains("already emitted were read again and skipped")));
    all.extend(ids(&second));
    assert_exactly_once(&all, &sb, "after a refused cursor");
}

#[test]
fn without_guard_the_log_fails_alone_and_the_other_streams_complete() {
    for access in [EventsAccess::Forbidden, EventsAccess::Empty] {
        let sb = events_sandbox(50, false);
        sb.set_events_access(access);
        let run = read_files(&config(&sb), &catalog(&["users", "workspaces", STREAM], true), &json!([]));
        assert_eq!(run.code, 1, "{access:?}: the read ends failed");
        let err = run.single_error();
        assert_eq!(err.failure_type, "config_error");
        assert!(err.message.contains("Atlassian Guard") && err.message.contains("read:events:admin"), "{access:?}: {}", err.message);
        assert_eq!(run.statuses(STREAM).last(), Some(&"INCOMPLETE"));
        for other in ["users", "workspaces"] {
            assert_eq!(run.statuses(other).last(), Some(&"COMPLETE"), "{access:?}: {other}");
        }
        assert_eq!(run.records("users").len(), 40);
    }
}

#[test]
fn check_says_which_optional_streams_the_key_can_read() {
    let sb = events_sandbox(10, false);
    let files = Files::new();
    let cfg = files.json("c.json", &config(&sb));
    let ok = run(&["check", "--config", &cfg]);
    let message = ok.connection_status().message.clone().unwrap();
    assert!(message.contains("groups is readable") && message.contains("audit_events is readable"), "{message}");
    sb.set_events_access(EventsAccess::Forbidden);
    let refused = run(&["check", "--config", &cfg]);
    assert_eq!(refused.connection_status().status, "SUCCEEDED", "the required streams are readable");
    let message = refused.connection_status().message.clone().unwrap();
    assert!(message.contains("audit_events is not") && message.contains("Atlassian Guard"), "{message}");
}
