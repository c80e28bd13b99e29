//! `service_accounts` through the binary: the org's service accounts equal the sandbox's truth
//! in both modes through accounts added and removed; over several pages a read killed at any
//! checkpoint loses and repeats nothing; each account's `atlassian_id` is a user of the users
//! stream with the same email; an organization the experimental API is not enabled for (a 404)
//! fails this stream alone, and so does a key without `read:service-accounts:admin`.

use std::collections::BTreeMap;

use atlassian_sandbox::{Endpoint, FaultAction, FaultRule, FaultTrigger, Faults, Org, SandboxOptions};
use serde_json::{json, Map, Value};

use crate::api_tokens::ms;
use crate::harness::*;
use crate::plain::Plain;

const SERVICE_ACCOUNTS: Plain = Plain { stream: "service_accounts", endpoint: "service_accounts", scope: "read:service-accounts:admin", truth, view };

fn truth(org: &Org) -> BTreeMap<String, Value> {
    org.service_accounts
        .iter()
        .map(|a| {
            let user = org.user(&a.account_id);
            let (name, email) = (user.map(|u| json!(u.name)).unwrap_or(Value::Null), user.and_then(|u| u.email.clone()).map_or(Value::Null, |e| json!(e)));
            (a.id.clone(), json!([a.account_id, email, name, a.status, a.created_by, a.description, a.updated_at.timestamp_millis()]))
        })
        .collect()
}

fn view(r: &Map<String, Value>) -> Value {
    json!([r["atlassian_id"], r["email"], r["display_name"], r["status"], r["created_by"], r["description"], ms(&r["updated_at"])])
}

#[test]
fn full_refresh_is_the_service_accounts_each_a_user_with_the_same_email() {
    let sb = sandbox(1000);
    let run = SERVICE_ACCOUNTS.full_refresh_equals_the_truth(&sb);
    let n = run.records("service_accounts").len();
    assert!(n > 10, "{n} service accounts: more than one page of 10");
    assert_eq!(sb.request_count(Endpoint::named("service_accounts")) as usize, n.div_ceil(10), "one request a page: no 500 was retried");
    let users = read_ok(&config_for(&sb), &catalog_of(&["users"]), &json!([]));
    let users = users.records("users");
    for a in run.records("service_accounts") {
        let email = a["email"].as_str().unwrap();
        assert!(email.ends_with("@serviceaccount.atlassian.com"), "{email}");
        assert!(users.iter().any(|u| u["account_id"] == a["atlassian_id"] && u["email"] == email), "{}: a user with the same email", a["atlassian_id"]);
    }
    let seated = sb.with_org(|o| o.service_accounts.iter().filter(|a| o.user(&a.account_id).is_some_and(|u| u.access_billable())).count());
    assert!(seated >= 2, "{seated} service accounts hold a seat");
}

#[test]
fn incremental_reads_follow_service_accounts_added_and_removed() {
    let sb = sandbox(1000);
    SERVICE_ACCOUNTS.incremental_through(&sb, &[
        ("add_service_account", json!({"name": "svc-deploy"})),
        ("remove_service_account", json!({})),
        ("add_service_account", json!({})),
    ]);
}

#[test]
fn a_read_killed_at_any_checkpoint_resumes_without_loss_or_repeat() {
    let sb = sandbox(300);
    let have = sb.with_org(|o| o.service_accounts.len());
    for _ in have..25 {
        sb.mutate("add_service_account", json!({})).unwrap();
    }
    SERVICE_ACCOUNTS.killed_at_every_checkpoint(&sb, 3); // 25 accounts, 10 a page
}

#[test]
fn a_key_without_the_service_accounts_scope_fails_service_accounts_alone() {
    SERVICE_ACCOUNTS.without_its_scope_fails_alone(&sandbox(200), &["users", "workspaces"]);
}

/// The API is experimental: an organization it is not enabled for answers 404. That fails this
/// stream alone, the message naming the scope and that the API may not be enabled.
#[test]
fn a_404_means_the_api_is_not_enabled_and_fails_service_accounts_alone() {
    let not_found = FaultAction::Respond { status: 404, body: json!({"errors": [{"status": "404", "code": "ADMIN-404-1", "title": "Not Found"}]}), headers: vec![] };
    let faults = Faults { rules: vec![FaultRule { endpoint: Some(Endpoint::named("service_accounts")), when: FaultTrigger::Always, action: not_found }] };
    let sb = atlassian_sandbox::Sandbox::start(SandboxOptions { users: 50, api_key: SANDBOX_KEY.into(), faults, ..SandboxOptions::default() }).unwrap();
    let run = read_files(&config_for(&sb), &catalog_of(&["workspaces", "service_accounts"]), &json!([]));
    assert_eq!(run.code, 1);
    assert_eq!(run.statuses("workspaces").last(), Some(&"COMPLETE"));
    assert_eq!(run.statuses("service_accounts").last(), Some(&"INCOMPLETE"));
    let err = run.single_error();
    assert_eq!(err.failure_type, "config_error");
    assert!(err.message.starts_with("service_accounts cannot be read (the other streams are read)"), "{}", err.message);
    assert!(err.message.contains("'read:service-accounts:admin'") && err.message.contains("experimental"), "{}", err.message);
    assert_eq!(sb.request_count(Endpoint::named("service_accounts")), 1, "a 404 is not retried");
}
