//! `policies` through the binary: the organization's policies equal the sandbox's truth in both
//! modes through policies enabled, disabled, applied to a site and added; a type the connector
//! does not know is kept as it comes; over several pages (`meta.next`) a read killed at any
//! checkpoint loses and repeats nothing; a key without `read:policies:admin` fails it alone.

use std::collections::BTreeMap;

use atlassian_sandbox::{Org, WorkspaceStatus};
use serde_json::{json, Map, Value};

use crate::api_tokens::ms;
use crate::harness::*;
use crate::plain::Plain;

const POLICIES: Plain = Plain { stream: "policies", endpoint: "policies", scope: "read:policies:admin", truth, view };

fn truth(org: &Org) -> BTreeMap<String, Value> {
    org.policies
        .iter()
        .map(|p| {
            let resources: Vec<Value> = p.resources.iter().map(|(id, status)| json!({"id": id, "application_status": status})).collect();
            (p.id.clone(), json!([p.kind, p.name, p.status, p.created_at.timestamp_millis(), p.updated_at.timestamp_millis(), resources, p.rule]))
        })
        .collect()
}

fn view(r: &Map<String, Value>) -> Value {
    json!([r["type"], r["name"], r["status"], ms(&r["created_at"]), ms(&r["updated_at"]), r["resources"], r["rule"]])
}

#[test]
fn full_refresh_is_the_policies_of_every_type_a_paid_site_without_any() {
    let sb = sandbox(50);
    let run = POLICIES.full_refresh_equals_the_truth(&sb);
    let policies = run.records("policies");
    let types: Vec<&str> = policies.iter().map(|p| p["type"].as_str().unwrap()).collect();
    for kind in ["data-security", "ip-allowlist", "authentication", "ai-governance"] {
        assert!(types.contains(&kind), "{kind} among {types:?}: an unknown type kept as it comes");
    }
    assert!(policies.iter().any(|p| p["status"] == "enabled") && policies.iter().any(|p| p["status"] == "disabled"));
    let covered: Vec<&str> = policies.iter().flat_map(|p| p["resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap())).collect();
    let paid_without: Vec<String> = sb.with_org(|o| {
        o.workspaces
            .iter()
            .filter(|w| w.status == WorkspaceStatus::Online && w.entitlement.plan.as_deref().is_some_and(|p| p != "Free") && !covered.contains(&w.id.as_str()))
            .map(|w| w.name.clone())
            .collect()
    });
    assert!(!paid_without.is_empty(), "a paid site with no policy");
    assert!(policies.iter().any(|p| p["rule"].is_object()), "rules kept whole");
}

#[test]
fn incremental_reads_follow_policies_enabled_disabled_applied_and_added() {
    let sb = sandbox(50);
    POLICIES.incremental_through(&sb, &[
        ("enable_policy", json!({})),
        ("disable_policy", json!({})),
        ("apply_policy", json!({})),
        ("add_policy", json!({"type": "hipaa", "name": "HIPAA"})),
    ]);
}

#[test]
fn a_read_killed_at_any_checkpoint_resumes_without_loss_or_repeat() {
    let sb = sandbox(50);
    for _ in 0..19 {
        sb.mutate("add_policy", json!({})).unwrap();
    }
    POLICIES.killed_at_every_checkpoint(&sb, 3); // 25 policies, 10 a page
}

#[test]
fn a_key_without_the_policies_scope_fails_policies_alone() {
    POLICIES.without_its_scope_fails_alone(&sandbox(50), &["users", "workspaces"]);
}
