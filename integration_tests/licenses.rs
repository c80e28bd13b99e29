//! `license_assignments` through the binary against the sandbox: the records equal the
//! sandbox's truth (billable roles on online, non-sandbox sites), and incremental reads emit
//! exactly the seats added and a deletion for each seat removed — also after a kill.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use atlassian_sandbox::{Org, Sandbox, SandboxOptions, SiteRole, WorkspaceStatus, BILLABLE_ROLES};
use serde_json::{json, Value};

use crate::harness::*;

const STREAM: &str = "license_assignments";

fn catalog(mode: &str) -> Value {
    let dest = if mode == "incremental" { "append_dedup" } else { "overwrite" };
    json!({"streams": [
        {"stream": {"name": STREAM, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
         "sync_mode": mode, "destination_sync_mode": dest}
    ]})
}

fn read(config: &Value, mode: &str, state: &Value) -> Run {
    read_ok(config, &catalog(mode), state)
}

type Seat = (String, String, String);

/// The seats the sandbox says exist: billable roles on sites that are online and not sandboxes.
fn truth_seats(org: &Org) -> BTreeSet<Seat> {
    let mut seats = BTreeSet::new();
    for u in &org.users {
        for r in &u.site_roles {
            let Some(w) = org.workspaces.get(r.workspace) else { continue };
            if BILLABLE_ROLES.contains(&r.role_id.as_ref()) && w.sandbox_type != "CHILD" && w.status != WorkspaceStatus::Offline {
                seats.insert((w.id.clone(), u.account_id.clone(), r.role_id.to_string()));
            }
        }
    }
    seats
}

fn seat(r: &serde_json::Map<String, Value>) -> Seat {
    let s = |k: &str| r[k].as_str().unwrap_or_else(|| panic!("{k} missing in {r:?}")).to_string();
    (s("workspace_id"), s("account_id"), s("role"))
}

/// Seats emitted (not deleted) and seats deleted by one run.
fn split(run: &Run) -> (BTreeSet<Seat>, BTreeSet<Seat>) {
    let (mut live, mut gone) = (BTreeSet::new(), BTreeSet::new());
    for r in run.records(STREAM) {
        if r["_ab_cdc_deleted_at"].is_string() {
            gone.insert(seat(r));
        } else {
            live.insert(seat(r));
        }
    }
    (live, gone)
}

fn assert_schema(run: &Run) {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(project_dir().join("schemas/license_assignments.json")).unwrap()).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for rec in run.records(STREAM) {
        let v = Value::Object(rec.clone());
        let errs: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "record violates its schema: {errs:?}\n{v}");
        assert!(rec.keys().all(|k| props.contains_key(k)), "undeclared field in {v}");
    }
}

#[test]
fn full_refresh_equals_the_sandbox_truth_and_skips_sandbox_and_offline_sites() {
    let sb = sandbox(400);
    let run = read(&config_for(&sb), "full_refresh", &json!([]));
    let org = sb.truth();
    let (live, gone) = split(&run);
    assert!(gone.is_empty());
    let want = truth_seats(&org);
    assert!(want.len() > 100, "the sandbox org has seats: {}", want.len());
    assert_eq!(live, want);
    assert_eq!(run.records(STREAM).len(), want.len(), "each seat once");
    assert!(run.records(STREAM).iter().all(|r| r["billable"] == json!(true) && r["org_id"] == json!(sb.org_id()) && r["observed_at"].is_string()));
    assert_schema(&run);
    // The sandbox and offline sites hold billable roles in the truth, and are skipped out loud.
    let sandbox_site = org.workspaces.iter().position(|w| w.sandbox_type == "CHILD").unwrap();
    let offline_site = org.workspaces.iter().position(|w| w.status == WorkspaceStatus::Offline).unwrap();
    for (kind, idx) in [("a sandbox site", sandbox_site), ("offline", offline_site)] {
        assert!(org.count_with_roles(idx, &BILLABLE_ROLES) > 0, "the truth has seats on the {kind} site");
        let id = &org.workspaces[idx].id;
        assert!(run.logs().iter().any(|l| l.message.contains(id.as_str()) && l.message.contains(kind)), "a LOG line says {id} is skipped ({kind})");
        assert!(!live.iter().any(|s| &s.0 == id));
    }
    // Both billable roles are read; non-billable roles never appear.
    assert!(live.iter().any(|s| s.2 == "atlassian/admin") && live.iter().any(|s| s.2 == "atlassian/user"));
    assert_eq!(run.statuses(STREAM), ["STARTED", "RUNNING", "COMPLETE"]);
}

#[test]
fn incremental_emits_added_seats_and_deletions_only() {
    let sb = sandbox(300);
    let cfg = config_for(&sb);
    let first = read(&cfg, "incremental", &json!([]));
    assert_eq!(split(&first).0, truth_seats(&sb.truth()));
    assert_schema(&first);
    let state = state_after(&first.messages);
    let second = read(&cfg, "incremental", &state);
    assert!(second.records(STREAM).is_empty(), "nothing changed, nothing emitted: {}", second.records(STREAM).len());
    assert_eq!(second.statuses(STREAM), ["STARTED", "COMPLETE"]);
    let state = state_after(&second.messages);

    // A seat removed, a seat added, and a user gone from the directory with all their seats.
    let org = sb.truth();
    let seats = truth_seats(&org);
    let removed = seats.iter().next().unwrap().clone();
    let leaver = org.users.iter().rev().find(|u| truth_seats_of(&org, &u.account_id) > 1).unwrap().account_id.clone();
    assert_ne!(leaver, removed.1);
    let (newcomer_idx, ws) = org
        .users
        .iter()
        .enumerate()
        .find_map(|(i, u)| (u.account_id != leaver && !u.site_roles.iter().any(|r| r.workspace == 0)).then_some((i, 0usize)))
        .unwrap();
    let newcomer = org.users[newcomer_idx].account_id.clone();
    let leaver_seats: BTreeSet<Seat> = seats.iter().filter(|s| s.1 == leaver).cloned().collect();
    sb.with_org_mut(|org| {
        let ws_idx = org.workspace_index(&removed.0).unwrap();
        let u = org.user_mut(&removed.1).unwrap();
        u.site_roles.retain(|r| !(r.workspace == ws_idx && r.role_id == removed.2));
        org.user_mut(&newcomer).unwrap().site_roles.push(SiteRole { workspace: ws, role_id: "atlassian/admin".into() });
        org.users.retain(|u| u.account_id != leaver);
    });
    let third = read(&cfg, "incremental", &state);
    let (live, gone) = split(&third);
    let added: Seat = (sb.truth().workspaces[ws].id.clone(), newcomer.clone(), "atlassian/admin".into());
    assert_eq!(live, BTreeSet::from([added]));
    let mut want_gone = leaver_seats.clone();
    want_gone.insert(removed);
    assert_eq!(gone, want_gone);
    assert_schema(&third);
    assert!(third.records(STREAM).iter().filter(|r| r["_ab_cdc_deleted_at"].is_string()).all(|r| r["observed_at"] == r["_ab_cdc_deleted_at"]));

    // The deduplicated view of all reads equals the truth now.
    let mut view = BTreeSet::new();
    for run in [&first, &second, &third] {
        for r in run.records(STREAM) {
            if r["_ab_cdc_deleted_at"].is_string() {
                view.remove(&seat(r));
            } else {
                view.insert(seat(r));
            }
        }
    }
    assert_eq!(view, truth_seats(&sb.truth()));
    let fourth = read(&cfg, "incremental", &state_after(&third.messages));
    assert!(fourth.records(STREAM).is_empty());

    // A site going offline: every seat on it is deleted.
    let jira = sb.truth().workspaces[0].id.clone();
    let on_jira: BTreeSet<Seat> = truth_seats(&sb.truth()).into_iter().filter(|s| s.0 == jira).collect();
    sb.with_org_mut(|org| org.workspaces[0].status = WorkspaceStatus::Offline);
    let fifth = read(&cfg, "incremental", &state_after(&fourth.messages));
    let (live, gone) = split(&fifth);
    assert!(live.is_empty());
    assert_eq!(gone, on_jira);
}

fn truth_seats_of(org: &Org, account: &str) -> usize {
    truth_seats(org).iter().filter(|s| s.1 == account).count()
}

#[test]
fn states_are_compact_and_a_future_cursor_reads_nothing() {
    let sb = sandbox(1000);
    let cfg = config_for(&sb);
    let run = read(&cfg, "incremental", &json!([]));
    let states: Vec<_> = run.states().into_iter().filter(|s| s.stream.stream_descriptor.name == STREAM).collect();
    // A checkpoint after each of the 14 searches (7 sites × 2 roles), then the final state.
    assert_eq!(states.len(), 15);
    assert!(states[..14].iter().all(|s| s.stream.stream_state["pass"]["started_at"].is_string()));
    let last = &states[14].stream.stream_state;
    assert!(last.get("pass").is_none());
    let seats = truth_seats(&sb.truth()).len();
    let bytes = serde_json::to_string(last).unwrap().len();
    assert!(bytes < seats * 24 + 4096, "{bytes} bytes of state for {seats} seats");
    let mut future = state_after(&run.messages);
    future[0]["stream"]["stream_state"]["cursor"] = json!("2099-01-01T00:00:00Z");
    sb.reset_counts();
    let frozen = read(&cfg, "incremental", &future);
    assert!(frozen.records(STREAM).is_empty());
    assert_eq!(sb.total_requests(), 0);
    assert_eq!(state_after(&frozen.messages), future);
}

#[test]
fn unreadable_states_are_config_errors_naming_the_stream() {
    let sb = sandbox(20);
    for bad in [json!({"version": 9}), json!({"version": 1, "searches": [{"workspace_id": "w", "role": "r", "accounts": "@@"}]}), json!([1])] {
        let files = Files::new();
        let state = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": STREAM}, "stream_state": bad}}]);
        let run = run(&["read", "--config", &files.json("c.json", &config_for(&sb)), "--catalog", &files.json("k.json", &catalog("incremental")), "--state", &files.json("s.json", &state)]);
        assert_eq!(run.code, 1);
        let err = run.single_error();
        assert_eq!(err.failure_type, "config_error");
        assert_eq!(err.stream_descriptor.as_ref().map(|d| d.name.as_str()), Some(STREAM));
    }
}

/// Reads until the `kill_after`-th STATE, then SIGKILLs the connector.
fn read_and_kill(config: &Value, kill_after: usize) -> Vec<Message> {
    let files = Files::new();
    let args = ["read".to_string(), "--config".into(), files.json("c.json", config), "--catalog".into(), files.json("k.json", &catalog("incremental"))];
    let mut child = Command::new(BIN).args(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let (mut lines, mut states) = (String::new(), 0);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let is_state = line.starts_with("{\"type\":\"STATE\"");
        lines.push_str(&line);
        lines.push('\n');
        if is_state {
            states += 1;
            if states == kill_after {
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert!(states >= kill_after, "the read ended before checkpoint {kill_after}");
    decode(&lines)
}

#[test]
fn a_read_killed_after_any_search_resumes_without_loss_or_repeats() {
    let sb = Sandbox::start(SandboxOptions { users: 300, api_key: SANDBOX_KEY.into(), latency: Duration::from_millis(10), ..SandboxOptions::default() }).unwrap();
    let mut cfg = config_for(&sb);
    cfg["page_size"] = json!(20);
    let want = truth_seats(&sb.truth());
    for kill_after in [1, 5, 13] {
        let killed = read_and_kill(&cfg, kill_after);
        let partial = Run { code: -9, stdout: String::new(), stderr: String::new(), messages: killed };
        let resumed = read(&cfg, "incremental", &state_after(&partial.messages));
        let (a, _) = split(&partial);
        let (b, gone) = split(&resumed);
        assert!(gone.is_empty(), "kill after {kill_after}: nothing was removed");
        assert_eq!(a.union(&b).cloned().collect::<BTreeSet<_>>(), want, "kill after {kill_after}: seats lost");
        // Every search before the last STATE was checkpointed: none of its seats comes again.
        assert_eq!(a.intersection(&b).count(), 0, "kill after {kill_after}: checkpointed seats emitted again");
        let again = read(&cfg, "incremental", &state_after(&resumed.messages));
        assert!(again.records(STREAM).is_empty());
    }
}
