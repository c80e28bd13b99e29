//! `groups` through the binary against the sandbox: the records equal the sandbox's truth
//! (members counted, the roles each group grants per site joined to the workspaces), over
//! several pages; incremental reads emit exactly the groups that changed and a deletion for
//! each group removed, also when killed at any checkpoint; a key without `read:groups:admin`
//! fails this stream alone.

use std::borrow::Cow;
use std::collections::BTreeMap;

use atlassian_sandbox::{Endpoint, Group, Org, Sandbox, SandboxOptions, SiteRole};
use serde_json::{json, Value};

use crate::harness::*;

const STREAM: &str = "groups";

fn catalog(mode: &str) -> Value {
    let dest = if mode == "incremental" { "append_dedup" } else { "overwrite" };
    json!({"streams": [
        {"stream": {"name": STREAM, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
         "sync_mode": mode, "destination_sync_mode": dest}
    ]})
}

/// A sandbox with `extra` more groups than the generated nine, so the search pages (20 a page).
fn start(users: usize, extra: usize, opts: SandboxOptions) -> Sandbox {
    let sb = Sandbox::start(SandboxOptions { users, api_key: SANDBOX_KEY.into(), ..opts }).expect("start sandbox");
    sb.with_org_mut(|org| {
        for k in 0..extra {
            org.groups.push(Group {
                id: format!("{k:08x}-0000-4000-8000-00000000beef"),
                name: format!("team-{k}"),
                description: (k % 2 == 0).then(|| format!("Team {k}")),
                managed_by: Cow::Borrowed("admins"),
                external_synced: false,
                grants: Vec::new(),
            });
        }
    });
    sb
}

/// A group as the truth has it, in the record's terms: name, description, members, and per
/// site (workspace id) the roles granted, sorted.
type GroupView = (Option<String>, Option<String>, i64, BTreeMap<String, Vec<String>>);

fn truth(org: &Org) -> BTreeMap<String, GroupView> {
    (0..org.groups.len())
        .map(|g| {
            let group = &org.groups[g];
            let mut sites: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for r in &group.grants {
                sites.entry(org.workspaces[r.workspace].id.clone()).or_default().push(r.role_id.to_string());
            }
            sites.values_mut().for_each(|roles| roles.sort());
            (group.id.clone(), (Some(group.name.clone()), group.description.clone(), org.group_members(g) as i64, sites))
        })
        .collect()
}

fn view_of(r: &serde_json::Map<String, Value>) -> GroupView {
    let text = |k: &str| r[k].as_str().map(str::to_string);
    let mut sites: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in r["role_assignments"].as_array().expect("role_assignments") {
        assert_eq!(a["workspace_id"], a["resource_id"], "the site is a known workspace: {a}");
        assert!(a["workspace_name"].is_string(), "{a}");
        let mut roles: Vec<String> = a["roles"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        roles.sort();
        let billable = roles.iter().any(|role| role == "atlassian/user" || role == "atlassian/admin");
        assert_eq!(a["billable"], billable, "{a}");
        sites.insert(a["workspace_id"].as_str().unwrap().to_string(), roles);
    }
    assert_eq!(r["resource_count"], sites.len() as i64, "{r:?}");
    let billable: Vec<&str> = r["billable_workspace_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let want: Vec<&str> = r["role_assignments"].as_array().unwrap().iter().filter(|a| a["billable"] == true).map(|a| a["workspace_id"].as_str().unwrap()).collect();
    assert_eq!(billable, want, "{r:?}");
    (text("name"), text("description"), r["user_count"].as_i64().expect("user_count"), sites)
}

/// What a destination in append + dedup mode holds after these runs, in order: the latest
/// record per group id, minus the groups whose latest record is a deletion.
fn deduplicated(runs: &[&[Message]]) -> BTreeMap<String, GroupView> {
    let mut latest: BTreeMap<String, Option<GroupView>> = BTreeMap::new();
    for messages in runs {
        for r in records_of(messages) {
            let id = r["id"].as_str().unwrap().to_string();
            let view = (!r["_ab_cdc_deleted_at"].is_string()).then(|| view_of(r));
            latest.insert(id, view);
        }
    }
    latest.into_iter().filter_map(|(id, v)| v.map(|v| (id, v))).collect()
}

/// The `groups` records among `messages`.
fn records_of(messages: &[Message]) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
    messages.iter().filter_map(|m| match m {
        Message::Record { record } if record.stream == STREAM => Some(&record.data),
        _ => None,
    })
}

fn ids(run: &Run) -> (Vec<String>, Vec<String>) {
    let (mut live, mut gone) = (Vec::new(), Vec::new());
    for r in run.records(STREAM) {
        let id = r["id"].as_str().unwrap().to_string();
        if r["_ab_cdc_deleted_at"].is_string() { gone.push(id) } else { live.push(id) }
    }
    live.sort();
    gone.sort();
    (live, gone)
}

#[test]
fn full_refresh_equals_the_sandbox_truth_over_several_pages() {
    let sb = start(120, 40, SandboxOptions::default());
    let run = read_ok(&config_for(&sb), &catalog("full_refresh"), &json!([]));
    assert_records_match_schemas(&run);
    let org = sb.truth();
    let read: BTreeMap<String, GroupView> = run.records(STREAM).iter().map(|r| (r["id"].as_str().unwrap().to_string(), view_of(r))).collect();
    assert_eq!(run.records(STREAM).len(), org.groups.len(), "each group once");
    assert_eq!(read, truth(&org));
    assert_eq!(sb.request_count(Endpoint::GroupsSearch), 3, "49 groups, 20 a page");
    let granting = org.groups.iter().enumerate().filter(|(g, _)| org.group_resources(*g) > 0).count();
    assert!(granting > 0);
    assert_eq!(sb.request_count(Endpoint::GroupRoleAssignments), granting as u64, "role assignments only for groups that grant roles");
    // Seats granted through a group are seats: every member holds what the group grants.
    for (g, group) in org.groups.iter().enumerate() {
        for u in org.users.iter().filter(|u| u.groups.contains(&g)) {
            assert!(group.grants.iter().all(|r| u.site_roles.contains(r)), "{} lacks a role of {}", u.account_id, group.name);
        }
    }
    assert_eq!(run.statuses(STREAM), ["STARTED", "RUNNING", "COMPLETE"]);
}

#[test]
fn incremental_reads_emit_what_changed_and_delete_what_is_gone() {
    let sb = start(150, 30, SandboxOptions::default());
    let cfg = config_for(&sb);
    let first = read_ok(&cfg, &catalog("incremental"), &json!([]));
    assert_eq!(deduplicated(&[&first.messages]), truth(&sb.truth()));
    let second = read_ok(&cfg, &catalog("incremental"), &state_after(&first.messages));
    assert_eq!(ids(&second), (vec![], vec![]), "nothing changed: nothing emitted");

    // Renamed, removed, added; a role granted through a group; a member added to another.
    let org = sb.truth();
    let renamed = org.groups[10].id.clone();
    let removed = org.groups.iter().position(|g| g.id.starts_with("00000003")).unwrap();
    let removed_id = org.groups[removed].id.clone();
    let joined = org.groups.iter().position(|g| g.name == "marketing").unwrap();
    let granted = org.groups.iter().position(|g| g.name == "engineering").unwrap();
    let outsider = org.users.iter().position(|u| !u.groups.contains(&joined)).unwrap();
    sb.with_org_mut(|org| {
        org.groups[10].name = "renamed".into();
        org.groups[granted].grants.push(SiteRole { workspace: 3, role_id: "atlassian/user".into() });
        org.grant_group_roles(granted);
        org.users[outsider].groups.push(joined);
        org.remove_group(removed);
        org.groups.push(Group {
            id: "ffffffff-0000-4000-8000-00000000cafe".into(),
            name: "new".into(),
            description: None,
            managed_by: Cow::Borrowed("external"),
            external_synced: true,
            grants: Vec::new(),
        });
    });
    let org = sb.truth();
    let third = read_ok(&cfg, &catalog("incremental"), &state_after(&second.messages));
    let mut changed = vec![renamed, org.groups.iter().find(|g| g.name == "marketing").unwrap().id.clone()];
    changed.push(org.groups.iter().find(|g| g.name == "engineering").unwrap().id.clone());
    changed.push("ffffffff-0000-4000-8000-00000000cafe".into());
    changed.sort();
    assert_eq!(ids(&third), (changed, vec![removed_id]));
    assert_eq!(deduplicated(&[&first.messages, &second.messages, &third.messages]), truth(&org));
}

#[test]
fn a_read_killed_at_any_checkpoint_resumes_without_loss_or_repeat() {
    let sb = start(100, 60, SandboxOptions::default());
    let cfg = config_for(&sb);
    let whole = read_ok(&cfg, &catalog("incremental"), &json!([]));
    let pages = sb.request_count(Endpoint::GroupsSearch) as usize;
    assert_eq!(pages, 4, "69 groups, 20 a page");
    for kill_after in 1..pages {
        let (killed, _) = read_and_stop(&cfg, &catalog("incremental"), &json!([]), STREAM, kill_after, None);
        let resumed = read_ok(&cfg, &catalog("incremental"), &state_after(&killed));
        let total = records_of(&killed).count() + resumed.records(STREAM).len();
        assert_eq!(total, whole.records(STREAM).len(), "killed after checkpoint {kill_after}: each group once");
        assert_eq!(deduplicated(&[&killed, &resumed.messages]), truth(&sb.truth()));
        assert!(ids(&resumed).1.is_empty(), "nothing deleted");
    }
}

#[test]
fn a_key_without_the_groups_scope_fails_groups_alone() {
    let sb = start(80, 0, SandboxOptions { groups_forbidden: true, ..Default::default() });
    let run = read_files(&config_for(&sb), &catalog_of(&["users", "workspaces", "license_assignments", "groups"]), &json!([]));
    assert_eq!(run.code, 1, "the sync failed, honestly");
    for stream in ["users", "workspaces", "license_assignments"] {
        assert_eq!(run.statuses(stream).last(), Some(&"COMPLETE"), "{stream} is read normally");
    }
    assert_eq!(run.statuses(STREAM).last(), Some(&"INCOMPLETE"));
    assert!(run.records(STREAM).is_empty());
    assert_eq!(run.records("users").len(), 80);
    let err = run.single_error();
    assert_eq!(err.failure_type, "config_error");
    assert_eq!(err.stream_descriptor.as_ref().map(|d| d.name.as_str()), Some(STREAM));
    assert!(err.message.contains("groups/search") && err.message.contains("read:groups:admin"), "{}", err.message);
    assert_eq!(sb.request_count(Endpoint::GroupsSearch), 1, "a 403 is not retried");
}
