//! The two activity sources: the bulk users search and per-user last-active-dates, the `auto`
//! choice between them, and the estimates and request budgets of each.

use std::collections::BTreeMap;

use atlassian_sandbox::{Endpoint, ProductAccessMode, Sandbox, SandboxOptions};
use serde_json::{json, Value};

use crate::harness::*;

fn sandbox_with(users: usize, mode: ProductAccessMode) -> Sandbox {
    Sandbox::start(SandboxOptions { users, api_key: SANDBOX_KEY.into(), product_access_mode: mode, ..SandboxOptions::default() }).unwrap()
}

fn read(sb: &Sandbox, source: &str, streams: &[&str]) -> Run {
    let files = Files::new();
    let mut cfg = config_for(sb);
    cfg["activity_source"] = json!(source);
    cfg["max_concurrency"] = json!(4);
    run(&["read", "--config", &files.json("c.json", &cfg), "--catalog", &files.json("k.json", &catalog_of(streams))])
}

/// user_activity records by primary key, without `observed_at` (when each read saw them).
fn activity(run: &Run) -> BTreeMap<(String, String), Value> {
    run.records("user_activity")
        .into_iter()
        .map(|r| {
            let mut r = r.clone();
            r.remove("observed_at");
            ((r["account_id"].as_str().unwrap().into(), r["product_id"].as_str().unwrap().into()), Value::Object(r))
        })
        .collect()
}

fn logs_contain(run: &Run, text: &str) -> bool {
    run.logs().iter().any(|l| l.message.contains(text))
}

#[test]
fn per_user_and_bulk_give_identical_records() {
    let sb = sandbox_with(300, ProductAccessMode::Supported);
    let bulk = read(&sb, "bulk", &["users", "user_activity"]);
    assert_eq!(bulk.code, 0);
    sb.reset_counts();
    let per_user = read(&sb, "per_user", &["users", "user_activity"]);
    assert_eq!(per_user.code, 0, "{:?}", per_user.errors());
    assert!(logs_contain(&per_user, "per-user last-active-dates"));
    assert_records_match_schemas(&per_user);

    // One last-active-dates request per user (plus further pages for users on many sites).
    let truth = sb.truth();
    assert!(sb.request_count(Endpoint::LastActiveDates) >= truth.users.len() as u64);

    // Identical records, except that v1 gives some users only a date: then the date agrees.
    let quirky: std::collections::BTreeSet<String> =
        truth.users.iter().filter(|u| u.quirks.omit_v1_timestamp).map(|u| u.account_id.clone()).collect();
    let (a, b) = (activity(&bulk), activity(&per_user));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "same (account, product) pairs");
    let mut compared_exactly = 0;
    for (key, rec) in &a {
        let other = &b[key];
        if quirky.contains(&key.0) {
            assert_eq!(rec["last_active"].as_str().unwrap()[..10], other["last_active"].as_str().unwrap()[..10]);
            let (mut x, mut y) = (rec.clone(), other.clone());
            x["last_active"] = Value::Null;
            y["last_active"] = Value::Null;
            assert_eq!(x, y);
        } else {
            assert_eq!(rec, other, "{key:?}");
            compared_exactly += 1;
        }
    }
    assert!(compared_exactly > a.len() * 9 / 10);
    // users.last_active comes from the same activity.
    let last_active = |run: &Run| -> BTreeMap<String, Value> {
        run.records("users").into_iter().map(|r| (r["account_id"].as_str().unwrap().to_string(), r["last_active"].clone())).collect()
    };
    let (la, lb) = (last_active(&bulk), last_active(&per_user));
    for (id, v) in &la {
        if !quirky.contains(id) {
            assert_eq!(v, &lb[id], "last_active of {id}");
        }
    }
}

#[test]
fn auto_falls_back_to_per_user_when_the_expand_is_rejected_or_empty() {
    for (mode, reason) in [(ProductAccessMode::Rejected, "rejected the productAccess expand"), (ProductAccessMode::Omitted, "returned no productAccess")] {
        let sb = sandbox_with(250, mode);
        let run = read(&sb, "auto", &["users", "user_activity"]);
        assert_eq!(run.code, 0, "{mode:?}: {:?}", run.errors());
        assert!(logs_contain(&run, reason), "{mode:?} says why it falls back");
        let want: usize = sb.truth().users.iter().map(|u| u.product_access.len()).sum();
        assert_eq!(run.records("user_activity").len(), want, "{mode:?}");
        assert_eq!(run.records("users").len(), 250);
    }
    // With activity in the search, auto stays on the bulk path.
    let sb = sandbox_with(250, ProductAccessMode::Supported);
    let run = read(&sb, "auto", &["users", "user_activity"]);
    assert!(logs_contain(&run, "bulk users search"));
    assert_eq!(sb.request_count(Endpoint::LastActiveDates), 0);
}

#[test]
fn bulk_with_a_rejected_expand_fails_naming_the_endpoint() {
    let sb = sandbox_with(50, ProductAccessMode::Rejected);
    let run = read(&sb, "bulk", &["user_activity"]);
    assert_eq!(run.code, 1);
    let err = run.single_error();
    assert!(err.message.contains("users/search") && err.message.contains("400"), "{}", err.message);
    assert_eq!(run.statuses("user_activity"), ["STARTED", "INCOMPLETE"]);
}

#[test]
fn estimates_come_before_the_records() {
    let sb = sandbox_with(400, ProductAccessMode::Supported);
    let run = read(&sb, "bulk", &["users", "user_activity", "workspaces"]);
    assert_eq!(run.code, 0);
    let mut estimates = BTreeMap::new();
    let mut first_record = BTreeMap::new();
    for (i, m) in run.messages.iter().enumerate() {
        match m {
            Message::Trace { trace: Trace::Estimate { estimate, .. } } => {
                assert_eq!(estimate["type"], json!("STREAM"));
                estimates.insert(estimate["name"].as_str().unwrap().to_string(), (i, estimate["row_estimate"].as_u64().unwrap()));
            }
            Message::Record { record } => {
                first_record.entry(record.stream.clone()).or_insert(i);
            }
            _ => {}
        }
    }
    let truth = sb.truth();
    assert_eq!(estimates["users"].1, 400);
    assert_eq!(estimates["workspaces"].1, truth.workspaces.len() as u64);
    let activity_total: usize = truth.users.iter().map(|u| u.product_access.len()).sum();
    let guess = estimates["user_activity"].1 as f64;
    assert!((guess - activity_total as f64).abs() < activity_total as f64 * 0.5, "estimate {guess} vs {activity_total}");
    for (stream, (at, _)) in &estimates {
        assert!(at < &first_record[stream], "{stream}: ESTIMATE before its first record");
    }
}
