//! Managed accounts (`GET /v1/orgs/{orgId}/users`) as a source: the same records as the other
//! sources, in bulk for managed users with per-user requests only for the rest, within the
//! request budget; and the whole pass when the key may not use the users search.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use atlassian_sandbox::{Endpoint, FaultAction, FaultRule, FaultTrigger, Faults, ProductAccessMode, Sandbox, SandboxOptions};
use serde_json::{json, Map, Value};

use crate::harness::*;

const PASS: &[&str] = &["users", "user_activity"];

fn start(users: usize, opts: SandboxOptions) -> Sandbox {
    Sandbox::start(SandboxOptions { users, api_key: SANDBOX_KEY.into(), seed: 7, ..opts }).expect("start sandbox")
}

fn read_with(sb: &Sandbox, source: &str, streams: &[&str]) -> Run {
    let mut config = config_for(sb);
    config["activity_source"] = json!(source);
    config["max_concurrency"] = json!(4);
    read_files(&config, &catalog_of(streams), &json!([]))
}

fn logs(run: &Run, level: &str) -> Vec<String> {
    run.logs().into_iter().filter(|l| l.level == level).map(|l| l.message.clone()).collect()
}

/// Records by key, without `observed_at`; for the users v1 gives only a date (their
/// last-active-dates `last_active_timestamp` is missing), `last_active` cut to the date.
fn by_key(run: &Run, stream: &str, date_only: &BTreeSet<String>) -> BTreeMap<String, Map<String, Value>> {
    run.records(stream)
        .into_iter()
        .map(|r| {
            let mut r = r.clone();
            r.remove("observed_at");
            let account = r["account_id"].as_str().unwrap().to_string();
            if date_only.contains(&account) {
                if let Some(day) = r["last_active"].as_str().map(|t| t[..10].to_string()) {
                    r.insert("last_active".into(), json!(day));
                }
            }
            let key = match r.get("product_id") {
                Some(product) => format!("{account} {}", product.as_str().unwrap()),
                None => account,
            };
            (key, r)
        })
        .collect()
}

#[test]
fn every_source_gives_the_same_records() {
    let supported = start(400, SandboxOptions::default());
    let omitted = start(400, SandboxOptions { product_access_mode: ProductAccessMode::Omitted, ..Default::default() });
    let truth = supported.truth();
    let date_only: BTreeSet<String> = truth.users.iter().filter(|u| u.quirks.omit_v1_timestamp).map(|u| u.account_id.clone()).collect();
    let billable: BTreeMap<String, Value> =
        truth.users.iter().map(|u| (u.account_id.clone(), if u.is_managed() { json!(u.access_billable()) } else { Value::Null })).collect();
    let runs = [
        ("bulk", read_with(&supported, "bulk", PASS)),
        ("per_user", read_with(&supported, "per_user", PASS)),
        ("managed_accounts", read_with(&supported, "managed_accounts", PASS)),
        ("auto, no productAccess", read_with(&omitted, "auto", PASS)),
    ];
    let (_, reference) = &runs[0];
    assert_eq!(reference.code, 0);
    let want_activity = by_key(reference, "user_activity", &date_only);
    let want_users = by_key(reference, "users", &date_only);
    assert_eq!(want_users.len(), 400);
    assert!(want_activity.len() > 800, "{} activity records", want_activity.len());
    for (source, run) in &runs {
        assert_eq!(run.code, 0, "{source}: {:?}", run.errors());
        assert_records_match_schemas(run);
        assert_eq!(by_key(run, "user_activity", &date_only), want_activity, "{source}: user_activity");
        let mut users = by_key(run, "users", &date_only);
        for (account, u) in users.iter_mut() {
            let from_list = source.starts_with("managed") || source.starts_with("auto");
            let want = if from_list { billable[account].clone() } else { Value::Null };
            assert_eq!(u.remove("access_billable"), Some(want), "{source}: access_billable of {account}");
        }
        let mut reference_users = want_users.clone();
        reference_users.values_mut().for_each(|u| {
            u.remove("access_billable");
        });
        assert_eq!(users, reference_users, "{source}: users");
    }
    let described = |run: &Run| logs(run, "INFO").into_iter().find(|l| l.starts_with("Activity source:")).unwrap();
    assert!(described(&runs[2].1).contains("managed accounts in bulk"), "{}", described(&runs[2].1));
    assert!(described(&runs[3].1).contains("returned no productAccess; reading the managed accounts"), "{}", described(&runs[3].1));
}

#[test]
fn auto_without_product_access_reads_managed_accounts_in_bulk_and_the_rest_per_user_within_budget() {
    let sb = start(1000, SandboxOptions { product_access_mode: ProductAccessMode::Omitted, ..Default::default() });
    let truth = sb.truth();
    let run = read_with(&sb, "auto", &["users", "user_activity", "workspaces"]);
    assert_eq!(run.code, 0, "{:?}", run.errors());
    let managed = truth.users.iter().filter(|u| u.is_managed()).count() as u64;
    // One last-active-dates request per unmanaged user (pages of 10 entries), none for the others.
    let per_user: u64 = truth.users.iter().filter(|u| !u.is_managed()).map(|u| u.product_access.len().max(1).div_ceil(10) as u64).sum();
    assert!(managed > 600 && per_user > 200, "a mix: {managed} managed, {per_user} per-user calls");
    assert_eq!(sb.request_count(Endpoint::UsersSearch), 10);
    assert_eq!(sb.request_count(Endpoint::ManagedUsers), managed.div_ceil(50));
    assert_eq!(sb.request_count(Endpoint::LastActiveDates), per_user, "only the users the list does not cover");
    assert_eq!(sb.request_count(Endpoint::Workspaces), 1);
    let budget = 1000u64.div_ceil(100) + managed.div_ceil(50) + per_user + 1 + 3;
    assert!(sb.total_requests() <= budget, "{} requests, budget {budget}", sb.total_requests());
    assert_eq!(run.records("users").len(), 1000);
    let activity: usize = truth.users.iter().map(|u| u.product_access.len()).sum();
    assert_eq!(run.records("user_activity").len(), activity);
}

#[test]
fn managed_accounts_the_key_may_not_read_fail_when_asked_for_and_fall_back_in_auto() {
    let refused = FaultRule { endpoint: Some(Endpoint::ManagedUsers), when: FaultTrigger::Always, action: "403".parse::<FaultAction>().unwrap() };
    let faults = Faults { rules: vec![refused] };
    let sb = start(150, SandboxOptions { product_access_mode: ProductAccessMode::Omitted, faults, ..Default::default() });
    let run = read_with(&sb, "managed_accounts", PASS);
    assert_eq!(run.code, 1);
    let err = run.single_error();
    assert_eq!(err.failure_type, "config_error");
    assert!(err.message.contains("GET /admin/v1/orgs/{orgId}/users answered 403") && err.message.contains("read:accounts:admin"), "{}", err.message);
    sb.reset_counts();
    let run = read_with(&sb, "auto", PASS);
    assert_eq!(run.code, 0, "{:?}", run.errors());
    let info = logs(&run, "INFO").into_iter().find(|l| l.starts_with("Activity source:")).unwrap();
    assert!(info.contains("the managed accounts cannot serve") && info.contains("read:accounts:admin") && info.contains("one last-active-dates request per user"), "{info}");
    assert!(sb.request_count(Endpoint::LastActiveDates) >= 150, "every user per-user");
}

#[test]
fn a_key_that_may_not_search_the_directory_reads_the_managed_accounts_and_their_activity() {
    let full = start(300, SandboxOptions::default());
    let sb = start(300, SandboxOptions { directory_forbidden: true, ..Default::default() });
    let truth = sb.truth();
    let managed: BTreeMap<&str, &atlassian_sandbox::User> = truth.users.iter().filter(|u| u.is_managed()).map(|u| (u.account_id.as_str(), u)).collect();
    let run = read_with(&sb, "auto", &["users", "user_activity", "workspaces", "license_assignments", "domains"]);
    // license_assignments needs the search: a config error naming the scope; it fails alone,
    // and the stream after it is read.
    assert_eq!(run.code, 1);
    let err = run.single_error();
    assert_eq!((err.failure_type.as_str(), err.stream_descriptor.as_ref().map(|d| d.name.as_str())), ("config_error", Some("license_assignments")));
    assert!(err.message.contains("license_assignments cannot be read") && err.message.contains("'read:directories:admin'"), "{}", err.message);
    assert!(err.message.starts_with("license_assignments cannot be read: it needs the users search"), "{}", err.message);
    for s in ["users", "user_activity", "workspaces", "domains"] {
        assert_eq!(run.statuses(s).last(), Some(&"COMPLETE"), "{s}");
    }
    assert!(!run.records("domains").is_empty(), "domains read after license_assignments failed");
    assert_eq!(run.statuses("license_assignments").last(), Some(&"INCOMPLETE"));
    assert_records_match_schemas(&run);
    // The WARN says what is missing and which scope gives the rest.
    let warns = logs(&run, "WARN");
    assert!(
        warns.iter().any(|w| w.contains("Only managed accounts are read") && w.contains("403") && w.contains("'read:directories:admin'")),
        "{warns:#?}"
    );
    // The pass's summary names what it read.
    let summary = logs(&run, "INFO").into_iter().find(|l| l.contains(" done: ")).expect("the pass's summary line");
    assert!(summary.starts_with("Managed accounts (the users search is refused) done: "), "{summary}");
    // users: the managed accounts, from the v1 fields; the v2-only fields null.
    let users = run.records("users");
    assert_eq!(users.len(), managed.len());
    for u in &users {
        let m = managed[u["account_id"].as_str().unwrap()];
        assert_eq!(u["name"], json!(m.name));
        assert_eq!(u["email"], json!(m.email));
        assert_eq!(u["account_status"], json!(m.account_status.as_str()));
        assert_eq!(u["access_billable"], json!(m.access_billable()));
        assert_eq!(u["last_active"].as_str().is_some(), m.last_active().is_some());
        for null in ["status", "membership_status", "added_to_org", "claim_status", "groups", "platform_roles", "resource_count", "mfa_enabled"] {
            assert!(u[null].is_null(), "{null} of {}", u["account_id"]);
        }
    }
    // user_activity: exactly the full read's records of the managed users.
    let reference = read_with(&full, "bulk", &["user_activity"]);
    let no_quirks = BTreeSet::new();
    let want: BTreeMap<String, Map<String, Value>> = by_key(&reference, "user_activity", &no_quirks)
        .into_iter()
        .filter(|(_, r)| managed.contains_key(r["account_id"].as_str().unwrap()))
        .collect();
    assert_eq!(by_key(&run, "user_activity", &no_quirks), want);
    assert_eq!(sb.request_count(Endpoint::ManagedUsers), (managed.len() as u64).div_ceil(50));
    assert_eq!(sb.request_count(Endpoint::LastActiveDates), 0, "the managed accounts carry their activity");
    assert_eq!(sb.request_count(Endpoint::UsersSearch), 1, "refused once");
    // The estimate is the list's total.
    let estimate = run.messages.iter().find_map(|m| match m {
        Message::Trace { trace: Trace::Estimate { estimate, .. } } if estimate["name"] == "users" => estimate["row_estimate"].as_u64(),
        _ => None,
    });
    assert_eq!(estimate, Some(managed.len() as u64));
}

#[test]
fn a_sync_that_sees_only_managed_accounts_deletes_no_one() {
    let sb = start(200, SandboxOptions::default());
    let mut catalog = catalog_of(&["users", "user_activity", "workspaces"]);
    for s in catalog["streams"].as_array_mut().unwrap() {
        if s["stream"]["name"] != "workspaces" {
            s["sync_mode"] = json!("incremental");
        }
    }
    let config = config_for(&sb);
    let first = read_ok(&config, &catalog, &json!([]));
    assert_eq!(first.records("users").len(), 200);
    assert!(!first.records("user_activity").is_empty());
    sb.set_directory_forbidden(true);
    let second = read_ok(&config, &catalog, &state_after(&first.messages));
    for stream in ["users", "user_activity"] {
        let deleted: Vec<_> = second.records(stream).into_iter().filter(|r| !r["_ab_cdc_deleted_at"].is_null()).collect();
        assert!(deleted.is_empty(), "{stream}: unmanaged users are invisible, not gone: {} deletions", deleted.len());
    }
    // Back to a key that sees everyone: the unmanaged users were kept, so they are not new.
    sb.set_directory_forbidden(false);
    let third = read_ok(&config, &catalog, &state_after(&second.messages));
    let unmanaged: BTreeSet<String> = sb.truth().users.iter().filter(|u| !u.is_managed()).map(|u| u.account_id.clone()).collect();
    for stream in ["users", "user_activity"] {
        let again = third.records(stream).iter().filter(|r| unmanaged.contains(r["account_id"].as_str().unwrap())).count();
        assert_eq!(again, 0, "{stream}: unchanged unmanaged users were kept, so not emitted again");
    }
}

#[test]
fn check_with_a_key_that_may_not_search_the_directory_says_only_managed_accounts_are_visible() {
    let sb = start(40, SandboxOptions { directory_forbidden: true, ..Default::default() });
    let files = Files::new();
    let run = run(&["check", "--config", &files.json("config.json", &config_for(&sb))]);
    let status = run.connection_status();
    assert_eq!(status.status, "SUCCEEDED", "{:?}", status.message);
    let msg = status.message.as_deref().unwrap();
    assert!(msg.contains("only managed accounts") && msg.contains("'read:directories:admin'") && msg.contains("license_assignments"), "{msg}");
    assert_eq!(sb.request_count(Endpoint::ManagedUsers), 1);
}

/// Behind a reverse proxy (`base_url` the proxy), the list's `links.next` names the upstream's
/// origin: its cursor is taken and asked of `base_url`; the link itself is never followed.
#[test]
fn a_next_page_link_on_another_origin_gives_its_cursor_and_is_never_followed() {
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let rule = FaultRule { endpoint: Some(Endpoint::ManagedUsers), when: FaultTrigger::Always, action: FaultAction::NextLinkOrigin(upstream) };
    let sb = start(300, SandboxOptions { directory_forbidden: true, faults: Faults { rules: vec![rule] }, ..Default::default() });
    let run = read_with(&sb, "auto", PASS);
    assert_eq!(run.code, 0, "{:?}", run.errors());
    let managed = sb.truth().users.iter().filter(|u| u.is_managed()).count();
    assert!(managed > 50, "several pages of managed accounts: {managed}");
    assert_eq!(run.records("users").len(), managed, "every managed account, through the cursors of the links");
    assert!(listener.accept().is_err(), "nothing was sent to the link's origin");
}

/// A reverse proxy that passes bytes through unchanged, as one in front of the API would:
/// its address is `base_url`, and the bodies (their `links.next` too) name the upstream.
/// Returns the proxy's URL and how many connections it relayed.
fn relay_to(upstream: &str) -> (String, Arc<AtomicU64>) {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let relayed = Arc::new(AtomicU64::new(0));
    let count = relayed.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Write);
                })
            };
            pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
            pipe(server, client);
        }
    });
    (url, relayed)
}

/// Through a relay, the managed accounts' next links name the upstream (the sandbox), not
/// `base_url`: every page is read by its cursor, and every request goes through the relay.
#[test]
fn a_read_through_a_reverse_proxy_reads_every_managed_account() {
    let sb = start(300, SandboxOptions { directory_forbidden: true, ..Default::default() });
    let (proxy, relayed) = relay_to(&sb.base_url());
    let mut config = config_for(&sb);
    config["base_url"] = json!(proxy);
    config["activity_source"] = json!("managed_accounts");
    let read = read_files(&config, &catalog_of(PASS), &json!([]));
    assert_eq!(read.code, 0, "{:?}", read.errors());
    let managed = sb.truth().users.iter().filter(|u| u.is_managed()).count();
    assert!(sb.request_count(Endpoint::ManagedUsers) > 2, "several pages of managed accounts");
    assert_eq!(read.records("users").len(), managed, "every managed account");
    assert!(relayed.load(Ordering::SeqCst) > 0, "the requests went through the relay");
    let files = Files::new();
    let checked = run(&["check", "--config", &files.json("config.json", &config)]);
    assert_eq!(checked.code, 0);
    assert_eq!(checked.connection_status().status, "SUCCEEDED", "{:?}", checked.connection_status().message);
}

#[test]
fn a_next_page_link_without_a_cursor_is_a_malformed_page() {
    let link = "http://127.0.0.1:9/admin/v1/orgs/x/users?page=2".to_string();
    let rule = FaultRule { endpoint: Some(Endpoint::ManagedUsers), when: FaultTrigger::FirstN(1), action: FaultAction::NextLink(link) };
    let sb = start(300, SandboxOptions { directory_forbidden: true, faults: Faults { rules: vec![rule] }, ..Default::default() });
    let run = read_with(&sb, "auto", PASS);
    assert_eq!(run.code, 1);
    let err = run.single_error();
    assert_eq!(err.failure_type, "system_error");
    assert!(err.message.contains("GET /admin/v1/orgs/{orgId}/users returned a malformed page: its next-page link has no cursor parameter"), "{}", err.message);
    assert!(!err.message.contains("base_url"), "no host advice for a malformed page: {}", err.message);
}
