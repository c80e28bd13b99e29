//! The key alone: a config without `org_id` finds the organization from `GET /v1/orgs` when
//! the key lists exactly one; none (a key created with scopes) or several is a config error
//! that says where to find the ID.

use atlassian_sandbox::{Endpoint, Sandbox, SandboxOptions};
use serde_json::{json, Value};

use crate::harness::*;

fn start(opts: SandboxOptions) -> Sandbox {
    Sandbox::start(SandboxOptions { users: 60, api_key: SANDBOX_KEY.into(), ..opts }).expect("start sandbox")
}

/// The config with only the key (and the sandbox's base URL).
fn key_only(sb: &Sandbox) -> Value {
    json!({"api_key": SANDBOX_KEY, "base_url": sb.base_url()})
}

fn check(config: &Value) -> Run {
    let files = Files::new();
    run(&["check", "--config", &files.json("config.json", config)])
}

#[test]
fn check_with_the_key_alone_finds_the_one_organization_and_says_which() {
    let sb = start(SandboxOptions::default());
    let run = check(&key_only(&sb));
    assert_eq!(run.code, 0);
    let status = run.connection_status();
    assert_eq!(status.status, "SUCCEEDED", "{:?}", status.message);
    let msg = status.message.as_deref().unwrap();
    let name = sb.truth().name;
    assert!(msg.contains(&name) && msg.contains(&sb.org_id()) && msg.contains("found from the API key"), "{msg}");
    assert_eq!(sb.request_count(Endpoint::Orgs), 1);
    assert_eq!(sb.request_count(Endpoint::Org), 0, "the list proves the key: no second call for the org");
    assert_eq!(sb.total_requests(), 3 + optional_streams(), "the list, the users search, the workspaces, a probe per optional stream");
}

#[test]
fn a_read_with_the_key_alone_reads_the_one_organization() {
    let sb = start(SandboxOptions::default());
    let run = read_ok(&key_only(&sb), &catalog_of(&["users", "workspaces"]), &json!([]));
    assert_records_match_schemas(&run);
    assert_eq!(run.records("users").len(), 60);
    assert!(run.records("users").iter().chain(run.records("workspaces").iter()).all(|r| r["org_id"] == json!(sb.org_id())));
    let org = sb.org_id();
    assert!(run.logs().iter().any(|l| l.level == "INFO" && l.message.contains("org_id is not set") && l.message.contains(&org)), "says which");
    assert_eq!(sb.request_count(Endpoint::Orgs), 1);
}

#[test]
fn a_key_that_lists_no_organization_is_told_where_to_find_the_id() {
    let sb = start(SandboxOptions { orgs_list_empty: true, ..Default::default() });
    let run = check(&key_only(&sb));
    assert_eq!((run.code, run.connection_status().status.as_str()), (0, "FAILED"));
    let msg = run.connection_status().message.clone().unwrap();
    for part in ["GET /admin/v1/orgs", "lists no organization", "set 'org_id'", "admin.atlassian.com/o/"] {
        assert!(msg.contains(part), "{part:?} in {msg}");
    }
    let read = read_files(&key_only(&sb), &catalog_of(&["users"]), &json!([]));
    assert_eq!(read.code, 1);
    let err = read.single_error();
    assert_eq!(err.failure_type, "config_error");
    assert!(err.message.contains("set 'org_id'"), "{}", err.message);
    assert_eq!(sb.request_count(Endpoint::UsersSearch), 0, "nothing else is asked for");
}

#[test]
fn a_key_that_lists_several_organizations_over_pages_names_them_and_asks_for_one() {
    // 26 organizations: two pages of GET /v1/orgs, the second reached by its links.next URL.
    let sb = start(SandboxOptions { extra_orgs: 25, ..Default::default() });
    let run = check(&key_only(&sb));
    assert_eq!(run.connection_status().status, "FAILED");
    let msg = run.connection_status().message.clone().unwrap();
    assert!(msg.contains("lists 26 organizations") && msg.contains("set 'org_id'") && msg.contains("…"), "{msg}");
    assert_eq!(sb.request_count(Endpoint::Orgs), 2);
    // Naming the org reads it as before, without listing.
    let mut config = key_only(&sb);
    config["org_id"] = json!(sb.org_id());
    sb.reset_counts();
    let run = check(&config);
    assert_eq!(run.connection_status().status, "SUCCEEDED");
    assert_eq!(sb.request_count(Endpoint::Orgs), 0);
}
