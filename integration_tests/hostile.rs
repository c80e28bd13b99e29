//! Hostile input: arbitrary bytes and adversarial JSON (deep nesting, huge strings, wrong
//! types) for the config, the catalog, the state and the API's responses. Each must give an
//! error — never a panic, a hang or unbounded memory. The parsers are driven directly with
//! many generated cases, and the real binary with fewer, since only it can show that no input
//! makes the process itself panic.


use atlassian_sandbox::{Endpoint, FaultAction, FaultTrigger, Faults};
use proptest::prelude::*;
use serde_json::{json, Value};
use source_atlassian_admin::catalog::ConfiguredCatalog;
use source_atlassian_admin::client::error::ErrorBody;
use source_atlassian_admin::client::models::{ApiWorkspace, OrgResponse, Page, UserPage};
use source_atlassian_admin::config::Config;
use source_atlassian_admin::state::StateInput;

use crate::harness::*;

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{0,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `valid` with the field at `pointer` replaced by `v` (or left alone if the path is absent).
fn with(mut valid: Value, pointer: &str, v: Value) -> Value {
    if let Some(slot) = valid.pointer_mut(pointer) {
        *slot = v;
    }
    valid
}

fn valid_config() -> Value {
    json!({"api_key": SANDBOX_KEY, "org_id": "org", "directory_id": "-", "start_date": "2024-01-01T00:00:00Z", "page_size": 50,
        "lookback_window_days": 2, "checkpoint_interval_pages": 1, "request_timeout_seconds": 5, "max_retries": 1,
        "max_rate_limit_wait_seconds": 5, "base_url": "http://127.0.0.1:9"})
}

const CONFIG_FIELDS: &[&str] = &[
    "", "/api_key", "/org_id", "/directory_id", "/start_date", "/page_size", "/lookback_window_days",
    "/checkpoint_interval_pages", "/request_timeout_seconds", "/max_retries", "/max_rate_limit_wait_seconds", "/base_url",
];

fn valid_catalog() -> Value {
    catalog_of(&["users", "user_activity", "workspaces"])
}

const CATALOG_FIELDS: &[&str] = &[
    "", "/streams", "/streams/0", "/streams/0/stream", "/streams/0/stream/name", "/streams/0/sync_mode",
    "/streams/0/destination_sync_mode", "/streams/0/cursor_field", "/streams/0/primary_key", "/streams/1/stream/json_schema",
];

fn valid_state() -> Value {
    json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"cursor": "2024-01-01T00:00:00Z"}}}])
}

const STATE_FIELDS: &[&str] = &["", "/0", "/0/type", "/0/stream", "/0/stream/stream_descriptor", "/0/stream/stream_descriptor/name", "/0/stream/stream_state"];

/// Text that stresses a parser: deep nesting, a huge string, or broken syntax.
fn adversarial_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..200_000).prop_map(|n| "[".repeat(n)),
        (1usize..50_000).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        (1usize..50_000).prop_map(|n| format!("{}null{}", "{\"a\":".repeat(n), "}".repeat(n))),
        (0usize..4_000_000).prop_map(|n| format!("{{\"api_key\": \"{}\", \"streams\": \"{}\"}}", "k".repeat(n), "s".repeat(n / 4))),
        "\\PC{0,200}",
        prop::collection::vec(any::<u8>(), 0..512).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn config_never_panics_on_any_value(v in json_value()) {
        let _ = Config::from_value(&v);
    }

    #[test]
    fn config_with_a_field_of_the_wrong_type_is_an_error_naming_no_secret(i in 0..CONFIG_FIELDS.len(), v in json_value()) {
        let cfg = with(valid_config(), CONFIG_FIELDS[i], v);
        if let Err(e) = Config::from_value(&cfg) {
            prop_assert!(!e.to_string().contains(SANDBOX_KEY));
        }
    }

    #[test]
    fn catalog_and_state_never_panic(text in adversarial_text(), i in 0..CATALOG_FIELDS.len(), j in 0..STATE_FIELDS.len(), v in json_value()) {
        let _ = ConfiguredCatalog::from_json(&text);
        let _ = StateInput::from_json(&text);
        let _ = ConfiguredCatalog::from_json(&with(valid_catalog(), CATALOG_FIELDS[i], v.clone()).to_string());
        let _ = StateInput::from_json(&with(valid_state(), STATE_FIELDS[j], v).to_string());
    }

    #[test]
    fn api_responses_of_any_shape_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..2048), v in json_value(), text in adversarial_text()) {
        for body in [bytes.clone(), v.to_string().into_bytes(), json!({"data": [v.clone()], "links": {"next": v.clone()}}).to_string().into_bytes(), text.into_bytes()] {
            if let Ok(text) = String::from_utf8(body.clone()) {
                let _ = UserPage::parse(text);
            }
            let _ = serde_json::from_slice::<Page<ApiWorkspace>>(&body);
            let _ = serde_json::from_slice::<OrgResponse>(&body);
            let parsed = ErrorBody::parse(&body);
            prop_assert!(parsed.text.as_ref().is_none_or(|t| t.chars().count() <= 300));
        }
    }
}

/// Runs the binary and checks it ended cleanly: exit 0 or 1 with protocol messages only (the
/// harness validates every line and fails a run that hangs), no panic.
fn assert_clean_failure(args: &[&str]) -> Run {
    let run = run(args);
    assert!(!run.stderr.contains("panicked"), "the binary panicked: {}", run.stderr);
    assert!(run.code == 0 || run.code == 1, "exit {}: {}", run.code, run.stderr);
    run
}

proptest! {
    // Each case starts a process: fewer cases, same generators.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_binary_fails_cleanly_on_any_config_catalog_or_state(
        text in adversarial_text(),
        i in 0..CATALOG_FIELDS.len(),
        j in 0..STATE_FIELDS.len(),
        k in 0..CONFIG_FIELDS.len(),
        v in json_value(),
    ) {
        let files = Files::new();
        let bad_cfg = files.json("bad_cfg.json", &with(valid_config(), CONFIG_FIELDS[k], v.clone()));
        let raw = files.write("raw.json", &text);
        let cat = files.json("cat.json", &with(valid_catalog(), CATALOG_FIELDS[i], v.clone()));
        let state = files.json("state.json", &with(valid_state(), STATE_FIELDS[j], v));
        let good_cat = files.json("good_cat.json", &valid_catalog());
        for cfg in [&raw, &bad_cfg] {
            assert_clean_failure(&["check", "--config", cfg]);
            assert_clean_failure(&["discover", "--config", cfg]);
        }
        // The base_url is a closed port: whatever gets past validation fails at the network.
        let cfg = files.json("fast.json", &json!({"api_key": SANDBOX_KEY, "org_id": "o", "base_url": "http://127.0.0.1:9", "max_retries": 0}));
        for (c, s) in [(&raw, None), (&cat, None), (&good_cat, Some(&raw)), (&good_cat, Some(&state))] {
            let mut args = vec!["read", "--config", &cfg, "--catalog", c];
            if let Some(s) = s {
                args.extend(["--state", s]);
            }
            // An empty catalog is a valid, empty read: exit 0 is as clean as exit 1.
            assert_clean_failure(&args);
        }
    }
}

#[test]
fn hostile_api_responses_through_the_binary_are_errors_not_panics() {
    let sb = sandbox(20);
    let huge = "x".repeat(5_000_000);
    let cases: Vec<(FaultAction, &str)> = vec![
        (FaultAction::RespondRaw { status: 200, body: "[".repeat(1_000_000).into_bytes() }, "system_error"),
        (FaultAction::RespondRaw { status: 200, body: format!("{}{}", "{\"data\":".repeat(100_000), "[]").into_bytes() }, "system_error"),
        (FaultAction::Respond { status: 200, body: json!({"data": [{"id": 5}]}), headers: vec![] }, "system_error"),
        (FaultAction::Respond { status: 200, body: json!({"data": [{"id": "w", "attributes": {"name": 7, "capacity": "many"}}]}), headers: vec![] }, "system_error"),
        (FaultAction::Respond { status: 200, body: json!({"data": null}), headers: vec![] }, "system_error"),
        (FaultAction::Respond { status: 500, body: json!({"errors": huge.clone()}), headers: vec![("Retry-After".into(), "NaN".into())] }, "transient_error"),
        (FaultAction::Respond { status: 418, body: json!({"errors": [{"code": huge.clone(), "title": [1, 2]}]}), headers: vec![] }, "system_error"),
        (FaultAction::RespondRaw { status: 200, body: vec![0xff, 0xfe, 0x00, 0x01] }, "system_error"),
    ];
    // The workspaces list and the users-search pages are parsed by different types: both
    // meet every case.
    let endpoints = [
        (Endpoint::Workspaces, "workspaces", "POST /admin/v2/orgs/{orgId}/workspaces"),
        (Endpoint::UsersSearch, "users", "POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search"),
    ];
    for (endpoint, stream, name) in endpoints {
        for (action, failure_type) in cases.clone() {
            sb.set_faults(Faults::one(Some(endpoint), FaultTrigger::Always, action));
            let files = Files::new();
            let mut cfg = config_for(&sb);
            cfg["max_retries"] = json!(1);
            let cfg = files.json("c.json", &cfg);
            let cat = files.json("cat.json", &catalog_of(&[stream]));
            let run = assert_clean_failure(&["read", "--config", &cfg, "--catalog", &cat]);
            assert_eq!(run.code, 1, "{}", run.stdout);
            let err = run.single_error();
            assert_eq!(err.failure_type, failure_type, "{stream}: {}", err.message);
            assert!(err.message.contains(name), "{}", err.message);
            assert!(err.message.len() < 2000, "messages stay short: {} bytes", err.message.len());
        }
    }
    sb.set_faults(Faults::default());
    // A huge but well-formed string is data, not an attack: it is read.
    let body = json!({"data": [{"id": "w1", "attributes": {"name": huge}}], "links": {}});
    sb.set_faults(Faults::one(Some(Endpoint::Workspaces), FaultTrigger::Always, FaultAction::Respond { status: 200, body, headers: vec![] }));
    let files = Files::new();
    let run = assert_clean_failure(&[
        "read", "--config", &files.json("c.json", &config_for(&sb)), "--catalog", &files.json("cat.json", &catalog_of(&["workspaces"])),
    ]);
    assert_eq!(run.code, 0);
    assert_eq!(run.records("workspaces")[0]["name"].as_str().map(str::len), Some(5_000_000));

    let body = json!({"data": [{"accountId": "a1", "name": huge, "email": "\"quoted\"\n"}], "links": {"next": null}});
    sb.set_faults(Faults::one(Some(Endpoint::UsersSearch), FaultTrigger::Always, FaultAction::Respond { status: 200, body, headers: vec![] }));
    let run = assert_clean_failure(&[
        "read", "--config", &files.json("c.json", &config_for(&sb)), "--catalog", &files.json("cat.json", &catalog_of(&["users"])),
    ]);
    assert_eq!(run.code, 0);
    let users = run.records("users");
    assert_eq!(users[0]["name"].as_str().map(str::len), Some(5_000_000));
    assert_eq!(users[0]["email"], json!("\"quoted\"\n"));
}
