//! `seat_counts` through the binary: Atlassian's count of each billable role's holders on each
//! site `license_assignments` reads equals the sandbox's truth in both modes through seats
//! granted, revoked, a site linked and users removed; a read killed at any checkpoint (one count
//! each) loses and repeats nothing; each count equals the holders `license_assignments` finds for
//! the same site and role — until a page of its search is lost (a `drop-items` fault), which the
//! counts then show; a key without `read:directories:admin` fails it alone.

use std::collections::BTreeMap;

use atlassian_sandbox::{Endpoint, FaultAction, FaultRule, FaultTrigger, Faults, Org, SandboxOptions, WorkspaceStatus};
use serde_json::{json, Map, Value};

use crate::harness::*;
use crate::plain::Plain;

const SEAT_COUNTS: Plain = Plain { stream: "seat_counts", endpoint: "users_count", scope: "read:directories:admin", truth, view };
const BILLABLE: [&str; 2] = ["atlassian/user", "atlassian/admin"];

/// Every online, non-sandbox site × billable role, and how many hold it there.
fn truth(org: &Org) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (k, w) in org.workspaces.iter().enumerate() {
        if w.sandbox_type.eq_ignore_ascii_case("CHILD") || w.status == WorkspaceStatus::Offline {
            continue;
        }
        for role in BILLABLE {
            out.insert(format!("{} {role}", w.id), json!(org.count_with_roles(k, &[role])));
        }
    }
    out
}

fn view(r: &Map<String, Value>) -> Value {
    r["count"].clone()
}

/// The holders `license_assignments` read, per `<site> <role>`.
fn holders(run: &Run) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for r in run.records("license_assignments") {
        *out.entry(format!("{} {}", r["workspace_id"].as_str().unwrap(), r["role"].as_str().unwrap())).or_default() += 1;
    }
    out.into_iter().map(|(k, n)| (k, json!(n))).collect()
}

fn counts(run: &Run) -> BTreeMap<String, Value> {
    run.records("seat_counts").iter().map(|r| (format!("{} {}", r["workspace_id"].as_str().unwrap(), r["role"].as_str().unwrap()), r["count"].clone())).collect()
}

#[test]
fn full_refresh_is_one_count_per_site_and_billable_role() {
    let sb = sandbox(300);
    let run = SEAT_COUNTS.full_refresh_equals_the_truth(&sb);
    let partitions = sb.with_org(truth).len();
    assert_eq!(sb.request_count(Endpoint::named("users_count")) as usize, partitions, "one count request per site and role");
    assert!(run.records("seat_counts").iter().any(|r| r["count"].as_i64().unwrap() > 0));
}

#[test]
fn counts_equal_the_holders_license_assignments_finds_per_site_and_role() {
    let sb = sandbox(300);
    let run = read_ok(&config_for(&sb), &catalog_of(&["license_assignments", "seat_counts"]), &json!([]));
    let (counts, holders) = (counts(&run), holders(&run));
    for (key, n) in &counts {
        assert_eq!(holders.get(key).cloned().unwrap_or(json!(0)), *n, "{key}");
    }
    assert!(holders.keys().all(|k| counts.contains_key(k)), "a count for every site and role with holders");
}

/// A page of `license_assignments`' search lost on the way (the sandbox's `drop-items` fault):
/// the counts no longer equal the holders read — what a report checking them sees.
#[test]
fn a_page_of_license_assignments_lost_makes_the_counts_and_the_holders_differ() {
    let drop = FaultRule { endpoint: Some(Endpoint::UsersSearch), when: FaultTrigger::Nth(vec![1]), action: FaultAction::DropItems };
    let sb = atlassian_sandbox::Sandbox::start(SandboxOptions { users: 300, api_key: SANDBOX_KEY.into(), faults: Faults { rules: vec![drop] }, ..SandboxOptions::default() }).unwrap();
    let run = read_ok(&config_for(&sb), &catalog_of(&["license_assignments", "seat_counts"]), &json!([]));
    let (counts, holders) = (counts(&run), holders(&run));
    let differ: Vec<&String> = counts.keys().filter(|k| holders.get(*k).cloned().unwrap_or(json!(0)) != counts[*k]).collect();
    assert_eq!(differ.len(), 1, "the partition whose page was lost: {differ:?}");
    assert_eq!(counts, sb.with_org(truth), "the counts are still the truth");
}

#[test]
fn incremental_reads_follow_seats_granted_revoked_and_sites_linked() {
    let sb = sandbox(300);
    SEAT_COUNTS.incremental_through(&sb, &[
        ("add_users", json!({"count": 3})),
        ("revoke_access", json!({"count": 2})),
        ("link_site", json!({"product": "jira-software", "users": 4})),
        ("remove_users", json!({"count": 5})),
    ]);
}

#[test]
fn a_read_killed_at_any_checkpoint_resumes_without_loss_or_repeat() {
    let sb = sandbox(100);
    let partitions = sb.with_org(truth).len();
    SEAT_COUNTS.killed_at_every_checkpoint(&sb, partitions);
}

#[test]
fn a_key_without_the_directory_scope_fails_seat_counts_alone() {
    SEAT_COUNTS.without_its_scope_fails_alone(&sandbox(100), &["workspaces"]);
}
