//! Every sync mode gives the same answer: after any change to the organization, the
//! incremental records appended over the syncs so far and then deduplicated as a destination
//! does (the latest row per primary key, deleted rows dropped) equal what a full refresh
//! returns now — field for field but for `observed_at`, for `users`, `user_activity` and
//! `license_assignments`. Each kind of change is one of the sandbox's named mutations.

use std::collections::BTreeMap;

use atlassian_sandbox::{MutationReport, Sandbox};
use serde_json::{json, Map, Value};

use crate::harness::*;

const STREAMS: &[&str] = &["users", "user_activity", "workspaces", "license_assignments"];
const INCREMENTAL: &[&str] = &["users", "user_activity", "license_assignments"];

fn catalog(incremental: bool) -> Value {
    let mut cat = catalog_of(STREAMS);
    if incremental {
        for s in cat["streams"].as_array_mut().unwrap() {
            if INCREMENTAL.contains(&s["stream"]["name"].as_str().unwrap()) {
                s["sync_mode"] = json!("incremental");
                s["destination_sync_mode"] = json!("append_dedup");
            }
        }
    }
    cat
}

fn primary_key(stream: &str) -> &'static [&'static str] {
    match stream {
        "users" => &["account_id"],
        "user_activity" => &["account_id", "product_id"],
        "license_assignments" => &["workspace_id", "account_id", "role"],
        _ => unreachable!("{stream}"),
    }
}

type Table = BTreeMap<Vec<String>, Map<String, Value>>;

fn key(stream: &str, r: &Map<String, Value>) -> Vec<String> {
    primary_key(stream).iter().map(|k| r[*k].as_str().unwrap_or_else(|| panic!("{stream}: {k} in {r:?}")).to_string()).collect()
}

/// An append table deduplicated as a destination does: per primary key the row with the
/// latest `observed_at` (the cursor), later emission winning a tie; rows that carry
/// `_ab_cdc_deleted_at` are deletions. `observed_at` itself is dropped, to compare values.
fn deduplicated(appended: &[Map<String, Value>], stream: &str) -> Table {
    let mut latest: BTreeMap<Vec<String>, &Map<String, Value>> = BTreeMap::new();
    for r in appended {
        let k = key(stream, r);
        let newer = latest.get(&k).is_none_or(|old| observed_at(old) <= observed_at(r));
        if newer {
            latest.insert(k, r);
        }
    }
    latest.into_iter().filter(|(_, r)| r["_ab_cdc_deleted_at"].is_null()).map(|(k, r)| (k, without_observed_at(r))).collect()
}

/// `observed_at` as an instant: its text drops a whole second's fraction, so `…:01Z` sorts
/// after `…:01.2Z` as a string.
fn observed_at(r: &Map<String, Value>) -> chrono::DateTime<chrono::FixedOffset> {
    let text = r["observed_at"].as_str().unwrap_or_else(|| panic!("observed_at in {r:?}"));
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("observed_at {text:?}: {e}"))
}

fn without_observed_at(r: &Map<String, Value>) -> Map<String, Value> {
    let mut r = r.clone();
    r.remove("observed_at");
    r
}

/// The full refresh of every stream, keyed like the deduplicated tables.
fn full_refresh(sb: &Sandbox) -> BTreeMap<&'static str, Table> {
    let run = read_ok(&config_for(sb), &catalog(false), &json!([]));
    INCREMENTAL.iter().map(|s| (*s, run.records(s).into_iter().map(|r| (key(s, r), without_observed_at(r))).collect())).collect()
}

/// Incremental syncs of one organization, their records appended per stream.
struct Destination {
    appended: BTreeMap<&'static str, Vec<Map<String, Value>>>,
    state: Value,
}

impl Destination {
    fn new() -> Self {
        Destination { appended: INCREMENTAL.iter().map(|s| (*s, Vec::new())).collect(), state: json!([]) }
    }

    /// One incremental sync; returns how many records each stream emitted.
    fn sync(&mut self, sb: &Sandbox) -> BTreeMap<&'static str, usize> {
        let run = read_ok(&config_for(sb), &catalog(true), &self.state);
        self.state = state_after(&run.messages);
        let mut emitted = BTreeMap::new();
        for s in INCREMENTAL {
            let records: Vec<Map<String, Value>> = run.records(s).into_iter().cloned().collect();
            emitted.insert(*s, records.len());
            self.appended.get_mut(s).unwrap().extend(records);
        }
        emitted
    }

    /// The deduplicated tables equal a full refresh now.
    fn assert_converged(&self, sb: &Sandbox, after: &str) {
        let full = full_refresh(sb);
        for s in INCREMENTAL {
            let dedup = deduplicated(&self.appended[s], s);
            let truth = &full[s];
            let missing: Vec<_> = truth.keys().filter(|k| !dedup.contains_key(*k)).take(5).collect();
            let extra: Vec<_> = dedup.keys().filter(|k| !truth.contains_key(*k)).take(5).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{after}: {s} differs from a full refresh: missing {missing:?}, extra {extra:?}");
            for (k, row) in truth {
                assert_eq!(&dedup[k], row, "{after}: {s} {k:?}");
            }
        }
    }
}

fn changed(report: &MutationReport) -> usize {
    report.users_added.len() + report.users_removed.len() + report.users_changed.len() + report.workspaces_added.len()
        + report.workspaces_changed.len()
        + report.activity.len()
}

/// Every kind of change, one after the other, each followed by an incremental sync that
/// emits it and leaves the deduplicated tables equal to a full refresh.
#[test]
fn incremental_tables_equal_a_full_refresh_after_every_kind_of_change() {
    let sb = sandbox(300);
    let mut destination = Destination::new();
    destination.sync(&sb);
    destination.assert_converged(&sb, "the first sync");

    type Change = (&'static str, fn(&Sandbox) -> MutationReport, &'static [&'static str]);
    let changes: [Change; 9] = [
        ("users added with activity 90 days old", |sb| sb.add_users(6, 90).unwrap(), &["users", "user_activity", "license_assignments"]),
        ("a site linked whose users have activity 60 days old", |sb| sb.link_site("confluence", 12, 60).unwrap(), &["users", "user_activity", "license_assignments"]),
        ("activity reported late, dated 5 days back", |sb| sb.late_activity(8, 5).unwrap(), &["users", "user_activity"]),
        ("access revoked on a site", |sb| sb.revoke_access(4).unwrap(), &["user_activity", "license_assignments"]),
        ("users removed", |sb| sb.remove_users(3).unwrap(), &["users", "user_activity", "license_assignments"]),
        ("users suspended", |sb| sb.suspend_users(3).unwrap(), &["users", "user_activity", "license_assignments"]),
        ("new activity", |sb| sb.new_activity(10).unwrap(), &["users", "user_activity"]),
        ("a site renamed", |sb| sb.rename_site(None, Some("Renamed Site")).unwrap(), &["user_activity"]),
        ("the clock moved on a week, nothing else", |sb| sb.advance_clock(7).unwrap(), &[]),
    ];
    for (what, change, emitting) in changes {
        let report = change(&sb);
        assert!(changed(&report) > 0 || emitting.is_empty(), "{what}: the mutation changed nothing: {report:?}");
        let emitted = destination.sync(&sb);
        // The streams the change must show in emit something (others may too: a revoked
        // access changes a user's resource count); a change that changes nothing emits nothing.
        for s in INCREMENTAL {
            if emitting.contains(s) || emitting.is_empty() {
                assert_eq!(emitted[s] > 0, !emitting.is_empty(), "{what}: {s} emitted {} records", emitted[s]);
            }
        }
        destination.assert_converged(&sb, what);
    }
    // And a sync where nothing changed emits nothing.
    let quiet = destination.sync(&sb);
    assert!(quiet.values().all(|n| *n == 0), "nothing changed, yet {quiet:?}");
}

/// Deletion records carry the primary key, `observed_at` and `_ab_cdc_deleted_at`.
#[test]
fn a_vanished_pair_gets_a_deletion_record() {
    let sb = sandbox(120);
    let mut destination = Destination::new();
    destination.sync(&sb);
    let report = sb.remove_users(1).unwrap();
    let gone = report.users_removed[0].clone();
    let run = read_ok(&config_for(&sb), &catalog(true), &destination.state);
    let deletions: Vec<_> = run.records("user_activity").into_iter().filter(|r| r["_ab_cdc_deleted_at"].is_string()).collect();
    assert!(!deletions.is_empty());
    for d in &deletions {
        assert_eq!(d["account_id"], json!(gone));
        assert!(d["product_id"].is_string() && d["observed_at"] == d["_ab_cdc_deleted_at"], "{d:?}");
    }
    assert_records_match_schemas(&run);
}

/// A sync killed at a checkpoint — after a change that deletes pairs and adds others — and
/// resumed from its last STATE still converges, and deletes nothing that is still there.
#[test]
fn a_sync_killed_at_a_checkpoint_and_resumed_still_converges() {
    let sb = sandbox(600);
    let mut cfg = config_for(&sb);
    cfg["page_size"] = json!(50);
    let mut destination = Destination::new();
    let first = read_ok(&cfg, &catalog(true), &destination.state);
    destination.state = state_after(&first.messages);
    for s in INCREMENTAL {
        destination.appended.get_mut(s).unwrap().extend(first.records(s).into_iter().cloned());
    }
    sb.remove_users(5).unwrap();
    sb.add_users(5, 120).unwrap();
    sb.new_activity(20).unwrap();
    for stop_after in [2, 7] {
        let (killed, _) = read_and_stop(&cfg, &catalog(true), &destination.state, "user_activity", stop_after, None);
        let partial = Run { code: -9, stdout: String::new(), stderr: String::new(), messages: killed };
        let deleted_early = partial.records("user_activity").iter().filter(|r| r["_ab_cdc_deleted_at"].is_string()).count();
        assert_eq!(deleted_early, 0, "deletions come only when the pass is complete");
        for s in INCREMENTAL {
            destination.appended.get_mut(s).unwrap().extend(partial.records(s).into_iter().cloned());
        }
        destination.state = state_after_from(&destination.state, &partial.messages);
    }
    let resumed = read_ok(&cfg, &catalog(true), &destination.state);
    assert!(resumed.logs().iter().any(|l| l.message.contains("Resuming")), "resumed mid-pass");
    for s in INCREMENTAL {
        destination.appended.get_mut(s).unwrap().extend(resumed.records(s).into_iter().cloned());
    }
    destination.state = state_after_from(&destination.state, &resumed.messages);
    destination.assert_converged(&sb, "a killed sync resumed");
    let quiet = destination.sync(&sb);
    assert!(quiet.values().all(|n| *n == 0), "nothing changed since, yet {quiet:?}");
}
