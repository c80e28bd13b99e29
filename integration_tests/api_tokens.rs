//! `api_tokens` through the binary: the managed accounts' API tokens equal the sandbox's truth
//! in both modes through tokens created, used and revoked; over several pages a read killed
//! at any checkpoint loses and repeats nothing; only `pageSize` and `cursor` are ever sent (the
//! API answers any other parameter 500); the integration users' tokens are there; no secret is
//! written; a key without `read:tokens:admin` fails this stream alone.

use std::collections::BTreeMap;

use atlassian_sandbox::{Endpoint, Org};
use serde_json::{json, Map, Value};

use crate::harness::*;
use crate::plain::Plain;

const API_TOKENS: Plain = Plain { stream: "api_tokens", endpoint: "api_tokens", scope: "read:tokens:admin", truth, view };

/// A timestamp as epoch milliseconds (the sandbox writes milliseconds; the record may drop `.000`).
pub fn ms(v: &Value) -> Value {
    v.as_str().map_or(Value::Null, |s| json!(chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339").timestamp_millis()))
}

fn at(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| json!(t.timestamp_millis()))
}

fn truth(org: &Org) -> BTreeMap<String, Value> {
    org.api_tokens
        .iter()
        .map(|t| {
            let owner = org.user(&t.account_id);
            let (name, email) = (owner.map(|u| json!(u.name)).unwrap_or(Value::Null), owner.and_then(|u| u.email.clone()).map_or(Value::Null, |e| json!(e)));
            (t.id.clone(), json!([t.label, t.status, at(Some(t.created_at)), at(t.expires_at), at(t.last_active_at), t.account_id, name, email, t.scopes]))
        })
        .collect()
}

fn view(r: &Map<String, Value>) -> Value {
    json!([r["label"], r["status"], ms(&r["created_at"]), ms(&r["expires_at"]), ms(&r["last_active_at"]), r["account_id"], r["owner_name"], r["owner_email"], r["scopes"]])
}

/// Only the fields the schema declares are written: nothing the API might add (a secret) leaks.
fn assert_only_declared_fields(run: &Run) {
    let schema: Value = serde_json::from_str(include_str!("../schemas/api_tokens.json")).unwrap();
    let declared = schema["properties"].as_object().unwrap();
    for r in run.records("api_tokens") {
        for k in r.keys() {
            assert!(declared.contains_key(k), "an undeclared field {k}");
        }
    }
}

#[test]
fn full_refresh_is_the_tokens_integration_users_included_over_several_pages() {
    let sb = sandbox(1000);
    let run = API_TOKENS.full_refresh_equals_the_truth(&sb);
    assert_only_declared_fields(&run);
    let tokens = sb.with_org(|o| o.api_tokens.len());
    assert!(tokens > 50, "{tokens} tokens: more than one page of 50");
    assert_eq!(sb.request_count(Endpoint::named("api_tokens")) as usize, tokens.div_ceil(50), "one request a page: no 500 was retried");
    // The integration users: seat holders without product activity whose token was used lately.
    let integration: Vec<String> = sb.with_org(|o| {
        let lately = o.now - chrono::Duration::days(7);
        o.api_tokens
            .iter()
            .filter(|t| t.last_active_at.is_some_and(|a| a > lately) && o.user(&t.account_id).is_some_and(|u| u.access_billable() && u.product_access.is_empty()))
            .map(|t| t.id.clone())
            .collect()
    });
    assert!(!integration.is_empty(), "the sandbox has integration users");
    let records = run.records("api_tokens");
    for id in &integration {
        assert!(records.iter().any(|r| r["id"] == id.as_str() && r["last_active_at"].is_string()), "{id}: an integration user's token, used lately, is read");
    }
    assert!(records.iter().any(|r| r["last_active_at"].is_null()), "some never used");
    assert!(records.iter().any(|r| r["status"] == "EXPIRED"), "some expired");
}

#[test]
fn only_page_size_and_cursor_are_sent() {
    // The api-access lists answer any other query parameter 500: a 500 would be retried (more
    // requests than pages) and then fail the read.
    let sb = sandbox(1000);
    let run = read_ok(&API_TOKENS.config(&sb), &API_TOKENS.catalog(false), &json!([]));
    let pages = sb.with_org(|o| o.api_tokens.len()).div_ceil(50);
    assert_eq!(run.statuses("api_tokens").last(), Some(&"COMPLETE"));
    assert_eq!(sb.request_count(Endpoint::named("api_tokens")) as usize, pages, "no request refused and retried");
    assert!(!run.stdout.contains("ADMIN-500") && !run.stdout.contains("500 Internal"), "no 500 reported");
}

#[test]
fn incremental_reads_follow_tokens_created_used_and_revoked() {
    let sb = sandbox(300);
    let owner = sb.with_org(|o| o.users.iter().find(|u| u.is_managed()).unwrap().account_id.clone());
    API_TOKENS.incremental_through(&sb, &[
        ("create_api_token", json!({"account_id": owner, "label": "new integration"})),
        ("use_api_token", json!({})),
        ("revoke_api_token", json!({})),
        ("create_api_token", json!({})),
    ]);
}

#[test]
fn a_read_killed_at_any_checkpoint_resumes_without_loss_or_repeat() {
    let sb = sandbox(200);
    let have = sb.with_org(|o| o.api_tokens.len());
    for _ in have..120 {
        sb.mutate("create_api_token", json!({})).unwrap();
    }
    API_TOKENS.killed_at_every_checkpoint(&sb, 3); // 120 tokens (or more), 50 a page
}

#[test]
fn a_key_without_the_tokens_scope_fails_api_tokens_alone() {
    API_TOKENS.without_its_scope_fails_alone(&sandbox(200), &["users", "workspaces"]);
}
