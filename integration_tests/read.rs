//! Full-refresh reads compared with the sandbox's own truth, and reads that must fail loudly.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::harness::*;

/// (account_id, product_id, last_active, site_url, workspace_name)
type ActivityRow = (String, String, Option<DateTime<Utc>>, String, String);

fn ts(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().map(|s| DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&Utc))
}

fn full_read(sb: &atlassian_sandbox::Sandbox, streams: &[&str]) -> Run {
    let files = Files::new();
    let cfg = files.json("config.json", &config_for(sb));
    let cat = files.json("catalog.json", &catalog_of(streams));
    let state = files.write("state.json", "[]");
    run(&["read", "--config", &cfg, "--catalog", &cat, "--state", &state])
}

#[test]
fn full_read_of_1000_users_equals_the_sandbox_truth() {
    let sb = sandbox(1000);
    let truth = sb.truth();
    let run = full_read(&sb, &["users", "user_activity", "workspaces"]);
    assert_eq!(run.code, 0, "stderr: {}\nstdout tail: {}", run.stderr, &run.stdout[run.stdout.len().saturating_sub(2000)..]);
    assert!(run.errors().is_empty());
    assert_records_match_schemas(&run);

    // workspaces: exactly the sandbox's, field by field.
    let ws = run.records("workspaces");
    assert_eq!(ws.len(), truth.workspaces.len());
    let ws_by_id: BTreeMap<&str, &Map<String, Value>> = ws.iter().map(|r| (r["id"].as_str().unwrap(), *r)).collect();
    for w in &truth.workspaces {
        let r = ws_by_id.get(w.id.as_str()).unwrap_or_else(|| panic!("workspace {} missing", w.id));
        assert_eq!(r["org_id"], json!(truth.id));
        assert_eq!(r["name"], json!(w.name));
        assert_eq!(r["type_key"], json!(w.type_key));
        assert_eq!(r["type"], json!(w.product_type));
        assert_eq!(r["status"], json!(w.status.as_str()));
        assert_eq!(r["host_url"], json!(w.host_url));
        let capacity = if w.omit_capacity { None } else { w.capacity };
        assert_eq!(r["capacity"], json!(capacity), "{}", w.id);
        assert_eq!(r["usage"], json!(w.usage));
        assert_eq!(r["plan"], json!(w.entitlement.plan));
        assert_eq!(r["plan_key"], json!(w.entitlement.plan_key));
        assert_eq!(r["sandbox_type"], json!(w.sandbox_type));
        assert_eq!(ts(&r["created_at"]), Some(w.created_at));
        assert_eq!(r["realm"], json!(w.realm));
        assert_eq!(r["regions"], json!(w.regions));
        assert_eq!(r["labels"], json!(w.labels));
    }

    // users: one record per user, with the documented fields.
    let users = run.records("users");
    assert_eq!(users.len(), truth.users.len());
    let by_id: BTreeMap<&str, &Map<String, Value>> = users.iter().map(|r| (r["account_id"].as_str().unwrap(), *r)).collect();
    assert_eq!(by_id.len(), truth.users.len(), "account ids are unique");
    for u in &truth.users {
        let r = by_id.get(u.account_id.as_str()).unwrap_or_else(|| panic!("user {} missing", u.account_id));
        assert_eq!(r["org_id"], json!(truth.id));
        assert_eq!(r["status"], json!(u.status.as_str()));
        assert_eq!(r["account_status"], json!(u.account_status.as_str()));
        assert_eq!(r["membership_status"], json!(u.membership_status.as_str()));
        assert_eq!(r["claim_status"], json!(u.claim_status.as_str()));
        assert_eq!(r["name"], json!(u.name));
        assert_eq!(r["email"], json!(u.email));
        assert_eq!(r["nickname"], json!(u.nickname));
        assert_eq!(r["job_title"], json!(u.job_title));
        assert_eq!(r["mfa_enabled"], json!(u.mfa_enabled));
        assert_eq!(r["for_deletion"], json!(u.for_deletion));
        assert_eq!(ts(&r["added_to_org"]), u.added_to_org);
        assert_eq!(ts(&r["deactivated_on"]), u.deactivated_on);
        assert_eq!(ts(&r["last_active"]), u.last_active(), "last_active of {}", u.account_id);
        assert_eq!(r["platform_roles"], json!(u.platform_roles));
        assert_eq!(r["resource_count"], json!(u.resource_count()));
        let groups: Vec<&str> = r["groups"].as_array().map(|g| g.iter().map(|g| g["id"].as_str().unwrap()).collect()).unwrap_or_default();
        let want: Vec<&str> = u.groups.iter().map(|g| truth.groups[*g].id.as_str()).collect();
        assert_eq!(groups, want, "groups of {}", u.account_id);
    }

    // user_activity: exactly one record per (user, product instance), joined to its site.
    let activity = run.records("user_activity");
    let got: BTreeSet<ActivityRow> = activity
        .iter()
        .map(|r| {
            (
                r["account_id"].as_str().unwrap().to_string(),
                r["product_id"].as_str().unwrap().to_string(),
                ts(&r["last_active"]),
                r["site_url"].to_string(),
                r["workspace_name"].to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), activity.len(), "primary keys are unique");
    let want: BTreeSet<ActivityRow> = truth
        .users
        .iter()
        .flat_map(|u| {
            u.product_access.iter().map(|p| {
                let w = &truth.workspaces[p.workspace];
                (u.account_id.clone(), w.id.clone(), Some(p.last_active), json!(w.host_url).to_string(), json!(w.name).to_string())
            })
        })
        .collect();
    assert_eq!(got, want);
    assert!(activity.len() > truth.users.len() / 2, "the sandbox org has plenty of activity");

    // Protocol: statuses in order and one STATE per stream with the right count.
    for (stream, n) in [("users", users.len()), ("user_activity", activity.len()), ("workspaces", ws.len())] {
        assert_eq!(run.statuses(stream), ["STARTED", "RUNNING", "COMPLETE"], "{stream}");
        let states: Vec<_> = run.states().into_iter().filter(|s| s.stream.stream_descriptor.name == stream).collect();
        let counted: f64 = states.iter().map(|s| s.source_stats.record_count).sum();
        assert_eq!(counted, n as f64, "{stream} recordCount");
        assert!(states.iter().all(|s| s.kind == "STREAM"));
    }
}

#[test]
fn bulk_read_uses_one_request_per_page() {
    let sb = sandbox(1000);
    let truth = sb.truth();
    let run = full_read(&sb, &["users", "user_activity", "workspaces"]);
    assert_eq!(run.code, 0);
    let users_pages = truth.users.len().div_ceil(100) as u64;
    let ws_pages = truth.workspaces.len().div_ceil(1000) as u64;
    assert_eq!(sb.request_count(atlassian_sandbox::Endpoint::UsersSearch), users_pages);
    assert_eq!(sb.request_count(atlassian_sandbox::Endpoint::Workspaces), ws_pages);
    assert_eq!(sb.request_count(atlassian_sandbox::Endpoint::UsersCount), 1, "one count, for the estimate");
    assert_eq!(sb.request_count(atlassian_sandbox::Endpoint::LastActiveDates), 0, "bulk: no per-user calls");
    // The budget: ceil(users / page size) + ceil(workspaces / 1000) + 2.
    assert!(sb.total_requests() <= users_pages + ws_pages + 2, "{}", sb.total_requests());

    // The pass's summary (the same words as its progress lines) counts what happened.
    // Records are counted per stream of the pass (workspaces have their own line).
    let expected = format!(
        "Users search done: {users_pages} pages, {} users (100 %); records emitted: users {}, user_activity {}; {} requests, 0.0 s waiting for the rate limit in ",
        truth.users.len(),
        run.records("users").len(),
        run.records("user_activity").len(),
        sb.total_requests()
    );
    let logs = run.logs();
    assert!(logs.iter().any(|l| l.level == "INFO" && l.message.starts_with(&expected)), "no {expected:?} in {logs:#?}");
}

#[test]
fn only_the_configured_streams_are_read() {
    let sb = sandbox(200);
    let run = full_read(&sb, &["workspaces"]);
    assert_eq!(run.code, 0);
    assert!(run.records("users").is_empty() && run.records("user_activity").is_empty());
    assert_eq!(run.records("workspaces").len(), sb.truth().workspaces.len());
    assert_eq!(sb.request_count(atlassian_sandbox::Endpoint::UsersSearch), 0, "no users pages for workspaces alone");
    assert!(run.statuses("users").is_empty());

    let sb = sandbox(200);
    let run = full_read(&sb, &["users"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.records("users").len(), 200);
    assert_eq!(sb.request_count(atlassian_sandbox::Endpoint::Workspaces), 0, "no workspaces for users alone");
}

#[test]
fn a_catalog_with_an_unknown_stream_is_a_config_error() {
    let sb = sandbox(10);
    let files = Files::new();
    let cfg = files.json("c.json", &config_for(&sb));
    let cat = files.json("cat.json", &json!({"streams": [{"stream": {"name": "jira_issues", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}));
    let run = run(&["read", "--config", &cfg, "--catalog", &cat]);
    assert_eq!(run.code, 1);
    let err = run.single_error();
    assert_eq!(err.failure_type, "config_error");
    assert!(err.message.contains("'jira_issues'"), "{}", err.message);
    assert_eq!(sb.total_requests(), 0, "no request before every input is valid");
}

#[test]
fn malformed_catalog_and_state_files_are_config_errors() {
    let sb = sandbox(10);
    let files = Files::new();
    let cfg = files.json("c.json", &config_for(&sb));
    let good_cat = files.json("cat.json", &catalog_of(&["users"]));
    let bad_cat = files.write("bad_cat.json", "{\"streams\": 5}");
    let bad_state = files.write("bad_state.json", "{not json");
    for args in [
        vec!["read", "--config", &cfg, "--catalog", &bad_cat],
        vec!["read", "--config", &cfg, "--catalog", &good_cat, "--state", &bad_state],
    ] {
        let run = run(&args);
        assert_eq!(run.code, 1, "{args:?}");
        let err = run.single_error();
        assert_eq!(err.failure_type, "config_error");
        assert!(err.message.contains("catalog") || err.message.contains("state"), "{}", err.message);
    }
    assert_eq!(sb.total_requests(), 0);
}

#[test]
fn read_with_a_wrong_key_fails_with_a_config_error_and_incomplete_streams() {
    let sb = sandbox(10);
    let files = Files::new();
    let mut cfg = config_for(&sb);
    cfg["api_key"] = json!(WRONG_KEY);
    let run = run(&["read", "--config", &files.json("c.json", &cfg), "--catalog", &files.json("cat.json", &catalog_of(&["users", "workspaces"]))]);
    assert_eq!(run.code, 1);
    let err = run.single_error();
    assert_eq!(err.failure_type, "config_error");
    assert!(err.message.contains("401"), "{}", err.message);
    assert!(run.records("users").is_empty());
    assert_eq!(run.statuses("users"), ["STARTED", "INCOMPLETE"]);
    assert_eq!(run.statuses("workspaces"), ["STARTED", "INCOMPLETE"]);
}

#[test]
fn read_with_a_wrong_org_names_org_id() {
    let sb = sandbox(10);
    let files = Files::new();
    let mut cfg = config_for(&sb);
    cfg["org_id"] = json!("someone-elses-org");
    let run = run(&["read", "--config", &files.json("c.json", &cfg), "--catalog", &files.json("cat.json", &catalog_of(&["users"]))]);
    assert_eq!(run.code, 1);
    let err = run.single_error();
    assert_eq!(err.failure_type, "config_error");
    assert!(err.message.contains("org_id"), "{}", err.message);
    assert_eq!(err.stream_descriptor.as_ref().map(|d| d.name.as_str()), Some("users"));
}

/// The official schema types `meta.total` and `counts.resources` as any integer: `-1` reads as
/// "no estimate", never a failed read (it used to fail with "invalid value: integer `-1`").
#[test]
fn negative_estimates_never_fail_a_read() {
    let sb = atlassian_sandbox::Sandbox::start(atlassian_sandbox::SandboxOptions {
        users: 120,
        api_key: SANDBOX_KEY.into(),
        negative_estimates: true,
        ..Default::default()
    })
    .unwrap();
    let run = full_read(&sb, &["users", "user_activity", "workspaces"]);
    assert_eq!(run.code, 0, "{:?}", run.errors());
    assert_records_match_schemas(&run);
    let users = run.records("users");
    assert_eq!(users.len(), 120);
    assert!(users.iter().all(|u| u["resource_count"].is_null()), "a count of -1 is no count");
    assert_eq!(run.records("workspaces").len(), sb.truth().workspaces.len());
}
