//! spec, check and discover as a platform runs them, and every bad input's message and exit code.

use serde_json::json;

use crate::harness::*;

#[test]
fn spec_is_one_message_and_matches_snapshot() {
    let run = run(&["spec"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.messages.len(), 1);
    let Message::Spec { spec } = &run.messages[0] else { panic!("not a SPEC: {}", run.stdout) };
    assert_eq!(spec["connectionSpecification"]["properties"]["api_key"]["airbyte_secret"], json!(true));
    insta::assert_json_snapshot!("spec", spec);
}

#[test]
fn discover_offers_every_registered_stream_and_matches_snapshot() {
    let files = Files::new();
    let cfg = files.json("config.json", &json!({"api_key": SANDBOX_KEY, "org_id": "o"}));
    let run = run(&["discover", "--config", &cfg]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let Message::Catalog { catalog } = &run.messages[0] else { panic!("not a CATALOG") };
    let names: Vec<&str> = catalog.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["users", "user_activity", "workspaces", "license_assignments", "groups", "domains", "api_tokens", "service_accounts", "seat_counts", "api_keys", "policies", "audit_events"]);
    for s in &catalog.streams {
        let props = s.json_schema["properties"].as_object().unwrap();
        for key in s.source_defined_primary_key.iter().flatten() {
            assert!(props.contains_key(key), "{}: primary key {key} not in schema", s.name);
        }
        for key in s.default_cursor_field.iter().flatten() {
            assert!(props.contains_key(key), "{}: cursor {key} not in schema", s.name);
        }
        let incremental = s.supported_sync_modes.iter().any(|m| m == "incremental");
        assert_eq!(incremental, s.name != "workspaces");
        assert_eq!(s.source_defined_cursor, incremental.then_some(true));
        assert_eq!(s.is_resumable, incremental);
    }
    insta::assert_json_snapshot!("catalog", serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()["catalog"]);
}

#[test]
fn check_succeeds_against_the_sandbox_with_one_call_per_probe() {
    let sb = sandbox(50);
    let files = Files::new();
    let cfg = files.json("config.json", &config_for(&sb));
    let run = run(&["check", "--config", &cfg]);
    assert_eq!(run.code, 0);
    let status = run.connection_status();
    assert_eq!(status.status, "SUCCEEDED", "{:?}", status.message);
    // The org, the users search, the workspaces; and one probe per optional stream.
    assert_eq!(sb.total_requests(), 3 + optional_streams());
    let msg = status.message.as_deref().unwrap();
    for s in source_atlassian_admin::streams::ALL.iter().map(|e| e.id.info()).filter(|s| s.optional.is_some()) {
        assert!(msg.contains(&format!("{} is readable", s.name)), "{msg}");
    }
}

#[test]
fn check_with_a_wrong_key_says_how_to_get_a_new_one() {
    let sb = sandbox(10);
    let files = Files::new();
    let mut cfg = config_for(&sb);
    cfg["api_key"] = json!(WRONG_KEY);
    let run = run(&["check", "--config", &files.json("c.json", &cfg)]);
    assert_eq!(run.code, 0);
    let status = run.connection_status();
    assert_eq!(status.status, "FAILED");
    let msg = status.message.as_deref().unwrap();
    assert!(msg.contains("401") && msg.contains("API keys"), "{msg}");
}

#[test]
fn check_with_a_wrong_org_names_org_id() {
    let sb = sandbox(10);
    let files = Files::new();
    let mut cfg = config_for(&sb);
    cfg["org_id"] = json!("not-my-org");
    let run = run(&["check", "--config", &files.json("c.json", &cfg)]);
    assert_eq!(run.code, 0);
    let status = run.connection_status();
    assert_eq!(status.status, "FAILED");
    let msg = status.message.as_deref().unwrap();
    assert!(msg.contains("ADMIN-404-2") && msg.contains("org_id"), "{msg}");
}

#[test]
fn check_reports_bad_configs_as_failed_naming_the_field() {
    let files = Files::new();
    let cases = [
        (json!({"org_id": "o"}), "api_key"),
        // org_id may be left out (the key finds it), but not left blank.
        (json!({"api_key": SANDBOX_KEY, "org_id": ""}), "org_id"),
        (json!({"api_key": SANDBOX_KEY, "org_id": "o", "start_date": "last week"}), "start_date"),
        (json!({"api_key": SANDBOX_KEY, "org_id": "o", "base_url": "http://api.example.com"}), "base_url"),
        (json!({"api_key": SANDBOX_KEY, "org_id": "o", "page_size": 0}), "page_size"),
    ];
    for (cfg, field) in cases {
        let run = run(&["check", "--config", &files.json("c.json", &cfg)]);
        assert_eq!(run.code, 0);
        let status = run.connection_status();
        assert_eq!(status.status, "FAILED");
        assert!(status.message.as_deref().unwrap().contains(field), "{cfg}: {:?}", status.message);
    }
}

#[test]
fn missing_or_malformed_config_files_are_config_errors() {
    let files = Files::new();
    let malformed = files.write("bad.json", "{\"api_key\": ");
    let missing = files.dir.path().join("nope.json").to_string_lossy().into_owned();
    let catalog = sample("configured_catalog.json").to_string_lossy().into_owned();
    for cfg in [&malformed, &missing] {
        for args in [vec!["discover", "--config", cfg], vec!["read", "--config", cfg, "--catalog", &catalog]] {
            let run = run(&args);
            assert_eq!(run.code, 1, "{args:?}");
            let err = run.single_error();
            assert_eq!(err.failure_type, "config_error");
            assert!(err.message.contains("config file"), "{}", err.message);
        }
        let run = run(&["check", "--config", cfg]);
        assert_eq!((run.code, run.connection_status().status.as_str()), (0, "FAILED"));
    }
}

#[test]
fn a_secret_in_a_bad_config_is_never_echoed() {
    let files = Files::new();
    // api_key of the wrong type: the validator would normally quote the value.
    let cfg = files.json("c.json", &json!({"api_key": [SANDBOX_KEY], "org_id": "o"}));
    let run = run(&["discover", "--config", &cfg]);
    assert_eq!(run.code, 1);
    assert!(run.single_error().message.contains("api_key"));
}

#[test]
fn unknown_flags_are_ignored_and_usage_errors_exit_2() {
    let run = run(&["spec", "--debug"]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("ignoring unknown flag --debug"));
    let output = std::process::Command::new(BIN).args(["read"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "usage errors go to stderr only");
}

#[test]
fn check_against_an_unreachable_host_fails_clearly() {
    let files = Files::new();
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = json!({"api_key": SANDBOX_KEY, "org_id": "o", "base_url": format!("http://127.0.0.1:{port}")});
    let run = run(&["check", "--config", &files.json("c.json", &cfg)]);
    assert_eq!(run.code, 0);
    let status = run.connection_status();
    assert_eq!(status.status, "FAILED");
    assert!(status.message.as_deref().unwrap().contains("could not be reached"), "{:?}", status.message);
}
