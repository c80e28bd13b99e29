//! `domains` through the binary: the org's claimed domains equal the sandbox's truth in both
//! modes through domains added, verified and removed; over several pages a read killed at any
//! checkpoint loses and repeats nothing; a 404 on the list is no domain; a key without
//! `read:domains:admin` fails this stream alone.

use std::collections::BTreeMap;

use atlassian_sandbox::{Endpoint, FaultAction, FaultRule, FaultTrigger, Faults, Org, SandboxOptions};
use serde_json::{json, Map, Value};

use crate::harness::*;
use crate::plain::Plain;

const DOMAINS: Plain = Plain { stream: "domains", endpoint: "domains", scope: "read:domains:admin", truth, view };

fn truth(org: &Org) -> BTreeMap<String, Value> {
    org.domains.iter().map(|d| (d.id.clone(), json!([d.name, d.claim_type, d.status, d.status == "verified"]))).collect()
}

fn view(r: &Map<String, Value>) -> Value {
    json!([r["name"], r["claim_type"], r["claim_status"], r["verified"]])
}

#[test]
fn full_refresh_is_the_orgs_domains_two_verified_one_not() {
    let sb = sandbox(30);
    let run = DOMAINS.full_refresh_equals_the_truth(&sb);
    let verified: Vec<bool> = run.records("domains").iter().map(|r| r["verified"].as_bool().unwrap()).collect();
    assert_eq!((verified.iter().filter(|v| **v).count(), verified.len()), (2, 3), "two verified, one claimed only");
}

#[test]
fn incremental_reads_follow_domains_added_verified_and_removed() {
    let sb = sandbox(30);
    DOMAINS.incremental_through(&sb, &[
        ("add_domain", json!({"name": "partner.example.net"})),
        ("verify_domain", json!({})),
        ("remove_domain", json!({"name": "contractors.example"})),
        ("add_domain", json!({})),
    ]);
}

#[test]
fn a_read_killed_at_any_checkpoint_resumes_without_loss_or_repeat() {
    let sb = sandbox(20);
    for _ in 0..45 {
        sb.mutate("add_domain", json!({})).unwrap();
    }
    DOMAINS.killed_at_every_checkpoint(&sb, 3); // 48 domains, 20 a page
}

#[test]
fn a_key_without_the_domains_scope_fails_domains_alone() {
    DOMAINS.without_its_scope_fails_alone(&sandbox(20), &["users", "workspaces"]);
}

/// Atlassian may answer 404 for an organization that has claimed no domain: no domain, not a
/// wrong base_url.
#[test]
fn a_404_on_the_list_is_no_domain() {
    let faults = Faults { rules: vec![FaultRule { endpoint: Some(Endpoint::named("domains")), when: FaultTrigger::Always, action: FaultAction::Respond { status: 404, body: json!({"errors": [{"status": "404", "code": "ADMIN-404-3", "title": "Not Found"}]}), headers: vec![] } }] };
    let sb = atlassian_sandbox::Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), faults, ..SandboxOptions::default() }).unwrap();
    let run = read_ok(&config_for(&sb), &DOMAINS.catalog(true), &json!([]));
    assert!(run.records("domains").is_empty());
    assert_eq!(run.statuses("domains"), ["STARTED", "COMPLETE"]);
}
