//! Incremental reads as a platform runs them: read, keep the last STATE per stream, change the
//! organization, read again from that state — and kills in the middle of a read.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use atlassian_sandbox::{Sandbox, SandboxOptions};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::harness::*;

const INCREMENTAL: &[&str] = &["users", "user_activity"];

fn incremental_catalog(streams: &[&str]) -> Value {
    let mut cat = catalog_of(streams);
    for s in cat["streams"].as_array_mut().unwrap() {
        if INCREMENTAL.contains(&s["stream"]["name"].as_str().unwrap()) {
            s["sync_mode"] = json!("incremental");
            s["destination_sync_mode"] = json!("append_dedup");
        }
    }
    cat
}

/// Runs an incremental `read` of `streams` with the given state; returns the run.
fn read_with(config: &Value, streams: &[&str], state: &Value) -> Run {
    read_ok(config, &incremental_catalog(streams), state)
}

fn ids(run: &Run, stream: &str) -> BTreeSet<String> {
    run.records(stream)
        .iter()
        .map(|r| match stream {
            "user_activity" => format!("{}|{}", r["account_id"].as_str().unwrap(), r["product_id"].as_str().unwrap()),
            _ => r["account_id"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn truth_activity_keys(sb: &Sandbox) -> BTreeSet<String> {
    let org = sb.truth();
    org.users
        .iter()
        .flat_map(|u| u.product_access.iter().map(move |p| (u.account_id.clone(), p.workspace)))
        .map(|(a, w)| format!("{a}|{}", org.workspaces[w].id))
        .collect()
}

/// The latest activity in the sandbox org: the activity cursor after a full pass.
fn latest_activity(sb: &Sandbox) -> DateTime<Utc> {
    sb.truth().users.iter().filter_map(|u| u.last_active()).max().unwrap()
}

#[test]
fn a_second_read_with_nothing_changed_emits_no_records() {
    let sb = sandbox(500);
    let cfg = config_for(&sb);
    let first = read_with(&cfg, INCREMENTAL, &json!([]));
    assert_eq!(first.records("users").len(), 500);
    assert_eq!(ids(&first, "user_activity"), truth_activity_keys(&sb));
    assert_records_match_schemas(&first);
    let state = state_after(&first.messages);
    let second = read_with(&cfg, INCREMENTAL, &state);
    assert!(second.records("users").is_empty(), "users re-emitted: {}", second.records("users").len());
    assert!(second.records("user_activity").is_empty());
    for stream in INCREMENTAL {
        assert_eq!(second.statuses(stream), ["STARTED", "COMPLETE"]);
        assert!(second.states().iter().any(|s| s.stream.stream_descriptor.name == *stream), "a STATE even with no records");
    }
    // And the state is stable: a third read emits nothing either.
    let third = read_with(&cfg, INCREMENTAL, &state_after(&second.messages));
    assert!(third.records("users").is_empty() && third.records("user_activity").is_empty());
}

#[test]
fn checkpoints_every_page_and_states_describe_the_pass() {
    let sb = sandbox(1000);
    let run = read_with(&config_for(&sb), INCREMENTAL, &json!([]));
    let users_states: Vec<_> = run.states().into_iter().filter(|s| s.stream.stream_descriptor.name == "users").collect();
    // 10 pages: a checkpoint after each of the first 9, then the final state.
    assert_eq!(users_states.len(), 10);
    for s in &users_states[..9] {
        assert!(s.stream.stream_state["pass"]["next_page"].is_string());
    }
    assert!(users_states[9].stream.stream_state.get("pass").is_none());
    let total: f64 = users_states.iter().map(|s| s.source_stats.record_count).sum();
    assert_eq!(total, 1000.0);
    // Each STATE comes after the records it covers: the running count matches.
    let mut seen = 0;
    for m in &run.messages {
        match m {
            Message::Record { record } if record.stream == "users" => seen += 1,
            Message::State { state } if state.stream.stream_descriptor.name == "users" => {
                assert_eq!(seen % 100, 0, "a users checkpoint falls on a page boundary");
            }
            _ => {}
        }
    }
}

#[test]
fn mutations_between_reads_emit_exactly_the_changes() {
    let sb = sandbox(300);
    let cfg = config_for(&sb);
    let first = read_with(&cfg, &["users", "user_activity", "workspaces"], &json!([]));
    let state = state_after(&first.messages);
    let cursor = latest_activity(&sb);

    let org = sb.truth();
    let late_time = cursor - chrono::Duration::hours(20); // before the previous cursor, inside the 2-day lookback
    // Active users whose own last activity is older than `late_time`, so late activity changes their record too.
    let active: Vec<String> = org
        .users
        .iter()
        .filter(|u| u.last_active().is_some_and(|t| t < late_time))
        .map(|u| u.account_id.clone())
        .collect();
    let (renamed, suspended, removed, newly_active, late) = (&active[0], &active[1], &active[2], &active[3], &active[4]);
    let new_id = "712020:00000000-0000-4000-8000-00000000abcd".to_string();
    let new_time = cursor + chrono::Duration::hours(1);
    let mut late_ws = 0;
    sb.with_org_mut(|org| {
        org.user_mut(renamed).unwrap().name = "Renamed Person".into();
        let s = org.user_mut(suspended).unwrap();
        s.status = atlassian_sandbox::UserStatus::Suspended;
        s.membership_status = atlassian_sandbox::MembershipStatus::Suspended;
        org.users.retain(|u| &u.account_id != removed);
        org.user_mut(newly_active).unwrap().product_access[0].last_active = new_time;
        // Late activity: on a site this user had not used, dated before the last cursor.
        let u = org.user_mut(late).unwrap();
        late_ws = (0..9).find(|w| !u.product_access.iter().any(|p| p.workspace == *w)).unwrap();
        u.product_access.push(atlassian_sandbox::ProductAccess { workspace: late_ws, last_active: late_time });
        let mut added = org.users[10].clone();
        added.account_id = new_id.clone();
        added.email = Some("new.person@example.com".into());
        added.product_access = vec![atlassian_sandbox::ProductAccess { workspace: 0, last_active: new_time }];
        org.users.push(added);
    });

    let second = read_with(&cfg, &["users", "user_activity", "workspaces"], &state);
    let users: BTreeMap<String, &serde_json::Map<String, Value>> =
        second.records("users").into_iter().map(|r| (r["account_id"].as_str().unwrap().to_string(), r)).collect();
    // renamed, suspended, newly active and late (last_active changed), the new user, and the
    // deletion of the removed one.
    let want: BTreeSet<String> = [renamed, suspended, newly_active, late, &new_id, removed].into_iter().cloned().collect();
    assert_eq!(users.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(users[renamed.as_str()]["name"], json!("Renamed Person"));
    assert_eq!(users[suspended.as_str()]["status"], json!("suspended"));
    assert!(users[removed.as_str()]["_ab_cdc_deleted_at"].is_string(), "deletion record");
    assert!(users[renamed.as_str()]["_ab_cdc_deleted_at"].is_null());
    assert!(users.values().all(|r| r["observed_at"].is_string()));

    let org = sb.truth();
    let (deleted, live): (Vec<_>, Vec<_>) = second.records("user_activity").into_iter().partition(|r| r["_ab_cdc_deleted_at"].is_string());
    let key = |r: &&serde_json::Map<String, Value>| format!("{}|{}", r["account_id"].as_str().unwrap(), r["product_id"].as_str().unwrap());
    let activity: BTreeSet<String> = live.iter().map(key).collect();
    // The removed user's pairs are gone: one deletion record each.
    let removed_pairs: BTreeSet<String> = first.records("user_activity").iter().filter(|r| r["account_id"] == json!(removed)).map(key).collect();
    assert!(!removed_pairs.is_empty());
    assert_eq!(deleted.iter().map(key).collect::<BTreeSet<_>>(), removed_pairs, "a deletion record for each pair of the removed user");
    let newly_key = format!("{newly_active}|{}", org.workspaces[org.user(newly_active).unwrap().product_access[0].workspace].id);
    let want: BTreeSet<String> = [
        newly_key,
        format!("{late}|{}", org.workspaces[late_ws].id),
        format!("{new_id}|{}", org.workspaces[0].id),
    ]
    .into_iter()
    .collect();
    assert_eq!(activity, want, "exactly the new, the late and the new user's activity");
    assert_eq!(second.records("workspaces").len(), org.workspaces.len(), "full refresh alongside");

    // The deduplicated view of both reads equals the sandbox's current truth.
    let mut view: BTreeMap<String, bool> = BTreeMap::new();
    for run in [&first, &second] {
        for r in run.records("users") {
            view.insert(r["account_id"].as_str().unwrap().to_string(), r["_ab_cdc_deleted_at"].is_null());
        }
    }
    let live: BTreeSet<String> = view.into_iter().filter(|(_, alive)| *alive).map(|(k, _)| k).collect();
    let truth: BTreeSet<String> = org.users.iter().map(|u| u.account_id.clone()).collect();
    assert_eq!(live, truth);

    let third = read_with(&cfg, INCREMENTAL, &state_after(&second.messages));
    assert!(third.records("users").is_empty() && third.records("user_activity").is_empty());
}

#[test]
fn a_new_product_site_and_its_activity_come_through() {
    let sb = sandbox(200);
    let cfg = config_for(&sb);
    let first = read_with(&cfg, &["user_activity", "workspaces"], &json!([]));
    let state = state_after(&first.messages);
    let when = latest_activity(&sb) + chrono::Duration::minutes(5);
    let account = sb.truth().users[0].account_id.clone();
    sb.with_org_mut(|org| {
        let mut site = org.workspaces[1].clone();
        site.id = "ari:cloud:confluence::site/0f0f0f0f-1111-2222-3333-444444444444".into();
        site.name = "New Confluence".into();
        site.host_url = Some("https://new-site.atlassian.net".into());
        org.workspaces.push(site);
        let idx = org.workspaces.len() - 1;
        org.user_mut(&account).unwrap().product_access.push(atlassian_sandbox::ProductAccess { workspace: idx, last_active: when });
    });
    let second = read_with(&cfg, &["user_activity", "workspaces"], &state);
    let acts = second.records("user_activity");
    assert_eq!(acts.len(), 1);
    assert_eq!(acts[0]["site_url"], json!("https://new-site.atlassian.net"));
    assert_eq!(acts[0]["workspace_name"], json!("New Confluence"));
    assert!(second.records("workspaces").iter().any(|w| w["name"] == json!("New Confluence")));
}

#[test]
fn start_date_bounds_the_first_incremental_read() {
    let sb = sandbox(300);
    let start = latest_activity(&sb) - chrono::Duration::days(30);
    let mut cfg = config_for(&sb);
    cfg["start_date"] = json!(start.to_rfc3339());
    let run = read_with(&cfg, &["user_activity"], &json!([]));
    let org = sb.truth();
    let want: usize = org.users.iter().map(|u| u.product_access.iter().filter(|p| p.last_active >= start).count()).sum();
    assert!(want > 0 && want < truth_activity_keys(&sb).len());
    assert_eq!(run.records("user_activity").len(), want);
}

#[test]
fn a_state_in_the_future_yields_no_records() {
    let sb = sandbox(200);
    let cfg = config_for(&sb);
    let first = read_with(&cfg, INCREMENTAL, &json!([]));
    let mut state = state_after(&first.messages);
    for s in state.as_array_mut().unwrap() {
        s["stream"]["stream_state"]["cursor"] = json!("2099-01-01T00:00:00Z");
    }
    sb.reset_counts();
    let run = read_with(&cfg, INCREMENTAL, &state);
    assert!(run.records("users").is_empty() && run.records("user_activity").is_empty());
    assert_eq!(sb.total_requests(), 0, "nothing to read, nothing requested");
    let after = state_after(&run.messages);
    assert_eq!(after, state, "the state is kept as it was");
}

#[test]
fn state_inputs_the_platforms_write_are_accepted() {
    let sb = sandbox(100);
    let cfg = config_for(&sb);
    // A null stream_state is a reset; a state for a stream not in the catalog is ignored;
    // PyAirbyte's extra keys are tolerated; `{}` (left by a full refresh) starts afresh.
    let state = json!([
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": "users", "namespace": null}, "stream_state": null}, "global_": null, "sourceStats": null},
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": "user_activity"}, "stream_state": {}}},
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": "jira_issues"}, "stream_state": {"whatever": 1}}}
    ]);
    let reset = read_with(&cfg, INCREMENTAL, &state);
    assert_eq!(reset.records("users").len(), 100);
    assert_eq!(ids(&reset, "user_activity"), truth_activity_keys(&sb));
    // A missing --state is a first sync too.
    let files = Files::new();
    let first = run(&["read", "--config", &files.json("c.json", &cfg), "--catalog", &files.json("k.json", &incremental_catalog(INCREMENTAL))]);
    assert_eq!(first.code, 0);
    assert_eq!(first.records("users").len(), 100);
}

#[test]
fn unreadable_stream_states_are_config_errors_naming_the_stream() {
    let sb = sandbox(50);
    let cfg = config_for(&sb);
    let cases = [
        ("users", json!({"version": 1})),
        ("users", json!({"version": 7, "accounts": ""})),
        ("users", json!({"version": 1, "accounts": "!!not base64!!"})),
        ("users", json!({"version": 1, "accounts": "AQAAAA==", "cursor": "tomorrow"})),
        ("user_activity", json!({"version": 2, "pairs": "AAA"})),
        ("user_activity", json!({"version": 9, "pairs": ""})),
        ("user_activity", json!([1, 2, 3])),
        ("user_activity", json!("a string")),
    ];
    for (stream, stream_state) in cases {
        let files = Files::new();
        let state = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": stream_state}}]);
        let run = run(&[
            "read",
            "--config",
            &files.json("c.json", &cfg),
            "--catalog",
            &files.json("k.json", &incremental_catalog(INCREMENTAL)),
            "--state",
            &files.json("s.json", &state),
        ]);
        assert_eq!(run.code, 1, "{stream}: {stream_state}");
        let err = run.single_error();
        assert_eq!(err.failure_type, "config_error");
        assert_eq!(err.stream_descriptor.as_ref().map(|d| d.name.as_str()), Some(stream));
        assert!(err.message.contains(stream), "{}", err.message);
        assert!(run.records("users").is_empty());
    }
    assert_eq!(sb.total_requests(), 0, "no request with an unreadable state");
}

#[test]
fn a_rejected_resume_position_restarts_the_pass() {
    let sb = sandbox(300);
    let cfg = config_for(&sb);
    let first = read_with(&cfg, INCREMENTAL, &json!([]));
    let mut state = state_after(&first.messages);
    for s in state.as_array_mut().unwrap() {
        s["stream"]["stream_state"]["pass"] = json!({"next_page": "expired-cursor", "started_at": "2026-11-01T00:00:00Z", "seen": ""});
    }
    let run = read_with(&cfg, INCREMENTAL, &state);
    assert!(run.logs().iter().any(|l| l.message.contains("restarting the users pass")), "says so in a LOG line");
    assert!(run.records("users").is_empty() && run.records("user_activity").is_empty(), "nothing changed: nothing re-emitted");
}

/// Reads until the `kill_after`-th STATE of `stream`, then SIGKILLs the connector; returns the
/// messages a platform received up to that point.
fn read_and_kill(config: &Value, state: &Value, stream: &str, kill_after: usize) -> Vec<Message> {
    read_and_stop(config, &incremental_catalog(INCREMENTAL), state, stream, kill_after, None).0
}

/// SIGTERM (a platform cancelling) and Ctrl-C stop a read with an ERROR trace that says how the
/// next sync resumes, the shell's exit code, and nothing lost when it does.
#[test]
fn a_read_stopped_by_sigterm_or_ctrl_c_says_so_and_resumes_without_loss() {
    let sb = Sandbox::start(SandboxOptions { users: 400, api_key: SANDBOX_KEY.into(), latency: Duration::from_millis(15), ..SandboxOptions::default() })
        .unwrap();
    let mut cfg = config_for(&sb);
    cfg["page_size"] = json!(50);
    let want_users: BTreeSet<String> = sb.truth().users.iter().map(|u| u.account_id.clone()).collect();
    for (signal, name, code) in [("TERM", "SIGTERM", 143), ("INT", "SIGINT", 130)] {
        let (stopped, exit) = read_and_stop(&cfg, &incremental_catalog(INCREMENTAL), &json!([]), "user_activity", 3, Some(signal));
        assert_eq!(exit, Some(code), "{name}");
        let Some(Message::Trace { trace: Trace::Error { error, .. } }) = stopped.last() else { panic!("{name}: the last message is not an ERROR trace") };
        assert_eq!(error.failure_type, "transient_error");
        assert!(error.message.contains(&format!("interrupted ({name}")) && error.message.contains("the next sync resumes"), "{}", error.message);
        let resumed = read_with(&cfg, INCREMENTAL, &state_after(&stopped));
        assert!(resumed.logs().iter().any(|l| l.message.contains("Resuming")), "{name}: resumed mid-pass");
        let partial = Run { code, stdout: String::new(), stderr: String::new(), messages: stopped };
        let union: BTreeSet<String> = ids(&partial, "users").union(&ids(&resumed, "users")).cloned().collect();
        assert_eq!(union, want_users, "{name}: users lost");
    }
}

#[test]
fn a_read_killed_at_any_checkpoint_resumes_without_loss() {
    let sb = Sandbox::start(SandboxOptions {
        users: 600,
        api_key: SANDBOX_KEY.into(),
        latency: Duration::from_millis(15),
        ..SandboxOptions::default()
    })
    .unwrap();
    let mut cfg = config_for(&sb);
    cfg["page_size"] = json!(50); // 12 pages, 11 checkpoints
    let want_users: BTreeSet<String> = sb.truth().users.iter().map(|u| u.account_id.clone()).collect();
    let want_activity = truth_activity_keys(&sb);
    // Killed after both streams checkpointed (resumes mid-pass), or between the two STATEs of one
    // checkpoint (their positions disagree: the pass restarts, nothing checkpointed is repeated).
    for (stream, kill_after) in [("user_activity", 1), ("user_activity", 4), ("user_activity", 11), ("users", 6)] {
        let killed = read_and_kill(&cfg, &json!([]), stream, kill_after);
        let resumed = read_with(&cfg, INCREMENTAL, &state_after(&killed));
        let resumed_mid_pass = resumed.logs().iter().any(|l| l.message.contains("Resuming"));
        assert_eq!(resumed_mid_pass, stream == "user_activity", "kill after {stream} state {kill_after}");
        let partial = Run { code: -9, stdout: String::new(), stderr: String::new(), messages: killed };
        let union = |stream: &str| -> BTreeSet<String> { ids(&partial, stream).union(&ids(&resumed, stream)).cloned().collect() };
        assert_eq!(union("users"), want_users, "users lost after a kill at checkpoint {kill_after}");
        assert_eq!(union("user_activity"), want_activity, "activity lost after a kill at checkpoint {kill_after}");
        // Nothing that was checkpointed comes again.
        let dup_users = ids(&partial, "users").intersection(&ids(&resumed, "users")).count();
        assert_eq!(dup_users, 0, "kill after {kill_after}: users emitted twice");
        let again = read_with(&cfg, INCREMENTAL, &state_after(&resumed.messages));
        assert!(again.records("users").is_empty() && again.records("user_activity").is_empty());
    }
}

/// A state over 64 KB is checkpointed when it has doubled (or a minute has passed), not every
/// page: a first read writes about twice its final state, and a kill at one of those
/// checkpoints still resumes without loss or repeats.
#[test]
fn a_large_state_is_checkpointed_when_it_doubles_and_resumes_from_there() {
    let sb = sandbox(6000);
    let mut cfg = config_for(&sb);
    cfg["page_size"] = json!(100); // 60 pages
    let first = read_with(&cfg, INCREMENTAL, &json!([]));
    let users_states: Vec<_> = first.states().into_iter().filter(|s| s.stream.stream_descriptor.name == "users").collect();
    let mid_pass = users_states.iter().filter(|s| s.stream.stream_state.get("pass").is_some()).count();
    assert!(first.logs().iter().any(|l| l.message.contains("checkpointed when it has doubled")), "the cadence is explained");
    assert!((3..30).contains(&mid_pass), "{mid_pass} mid-pass checkpoints over 60 pages");
    // From the checkpoint the LOG line follows (the first over 64 KB), each one covers about
    // twice the users of the one before (the keys held doubled).
    let mut covered = Vec::new();
    let mut first_large = None;
    for m in &first.messages {
        match m {
            Message::State { state } if state.stream.stream_descriptor.name == "users" && state.stream.stream_state.get("pass").is_some() => {
                covered.push(covered.last().copied().unwrap_or(0.0) + state.source_stats.record_count);
            }
            Message::Log { log } if log.message.contains("checkpointed when it has doubled") => first_large = Some(covered.len() - 1),
            _ => {}
        }
    }
    let large = &covered[first_large.expect("explained after a checkpoint")..];
    assert!(large.len() >= 2, "{covered:?}");
    for w in large.windows(2) {
        assert!(w[1] >= 1.8 * w[0], "checkpoints at {} then {} users: not spaced by doubling ({covered:?})", w[0], w[1]);
    }

    let want_users: BTreeSet<String> = sb.truth().users.iter().map(|u| u.account_id.clone()).collect();
    let killed = read_and_kill(&cfg, &json!([]), "user_activity", mid_pass);
    let resumed = read_with(&cfg, INCREMENTAL, &state_after(&killed));
    assert!(resumed.logs().iter().any(|l| l.message.contains("Resuming")), "resumed mid-pass");
    let partial = Run { code: -9, stdout: String::new(), stderr: String::new(), messages: killed };
    let union: BTreeSet<String> = ids(&partial, "users").union(&ids(&resumed, "users")).cloned().collect();
    assert_eq!(union, want_users, "users lost after a kill at the last large checkpoint");
    assert_eq!(ids(&partial, "users").intersection(&ids(&resumed, "users")).count(), 0, "users emitted twice");
    let pairs: BTreeSet<String> = ids(&partial, "user_activity").union(&ids(&resumed, "user_activity")).cloned().collect();
    assert_eq!(pairs, truth_activity_keys(&sb));
}
