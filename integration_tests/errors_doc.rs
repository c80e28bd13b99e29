//! docs/errors.md quotes only messages the binary really prints.
//!
//! Each case below makes the binary fail in one way (a bad config, catalog or state, or an API
//! that misbehaves on purpose) and keeps the message of its ERROR trace. Each row of the
//! documentation's tables quotes fragments in backticks: alternatives are separated by ` / `,
//! and the fragments of one alternative (separated by ` … `) must appear, in order, in one
//! message. Every alternative must match a message printed here, and every message printed
//! here must be matched by a row: the table and the binary cannot drift apart.

use std::net::TcpListener;

use atlassian_sandbox::{Endpoint, FaultAction, FaultRule, FaultTrigger, Faults, Sandbox, SandboxOptions};
use serde_json::{json, Value};

use crate::harness::*;

/// What a user of the binary reads when `read` fails in one way.
struct Case {
    what: &'static str,
    message: String,
}

/// A sandbox whose `endpoint` misbehaves as `action` says (`--fault` syntax: `ACTION[:WHEN]`).
fn failing_sandbox(endpoint: Endpoint, action: &str) -> Sandbox {
    let (action, when) = action.rsplit_once(':').filter(|(_, w)| !w.starts_with('/')).unwrap_or((action, "always"));
    let when: FaultTrigger = when.parse().unwrap_or_else(|e| panic!("fault trigger {when}: {e}"));
    let action: FaultAction = action.parse().unwrap_or_else(|e| panic!("fault {action}: {e}"));
    let rule = FaultRule { endpoint: Some(endpoint), when, action };
    Sandbox::start(SandboxOptions { users: 30, api_key: SANDBOX_KEY.into(), faults: Faults { rules: vec![rule] }, ..SandboxOptions::default() })
        .expect("start sandbox")
}

/// The message of the ERROR trace of a `read` of `streams` with this config and state.
fn read_error(config: &Value, streams: &[&str], state: Value) -> String {
    let run = read_files(config, &catalog_of(streams), &state);
    assert_eq!(run.code, 1, "the read should fail: {config}\n{}", run.stdout);
    run.single_error().message.clone()
}

fn with(base: &Value, extra: Value) -> Value {
    let mut config = base.clone();
    for (k, v) in extra.as_object().expect("an object") {
        config[k] = v.clone();
    }
    config
}

fn api_case(what: &'static str, endpoint: Endpoint, action: &str, extra: Value) -> Case {
    let sb = failing_sandbox(endpoint, action);
    let config = with(&config_for(&sb), extra);
    let streams: &[&str] = if endpoint == Endpoint::UsersSearch { &["users"] } else { &["workspaces"] };
    Case { what, message: read_error(&config, streams, json!([])) }
}

fn cases() -> Vec<Case> {
    let sb = sandbox(30);
    let good = config_for(&sb);
    let workspaces = ["workspaces"];
    let files = Files::new();
    let bad_state = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"version": 1, "accounts": "%%"}}}]);
    let mut incremental_users = catalog_of(&["users"]);
    incremental_users["streams"][0]["sync_mode"] = json!("incremental");
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let fast = json!({"max_retries": 0});
    let mut cases = vec![
        Case { what: "a required field is missing", message: read_error(&json!({"org_id": "o"}), &workspaces, json!([])) },
        Case { what: "a field breaks the spec", message: read_error(&with(&good, json!({"page_size": 500})), &workspaces, json!([])) },
        Case { what: "a key pasted with a line break", message: read_error(&with(&good, json!({"api_key": "abc\ndef"})), &workspaces, json!([])) },
        Case { what: "plain http to a remote host", message: read_error(&with(&good, json!({"base_url": "http://example.com"})), &workspaces, json!([])) },
        Case {
            what: "a missing config file",
            message: run(&["read", "--config", "/nonexistent/config.json", "--catalog", &files.json("c.json", &catalog_of(&workspaces))]).single_error().message.clone(),
        },
        Case {
            what: "a config file that is not JSON",
            message: run(&["read", "--config", &files.write("bad.json", "{\"api_key\": "), "--catalog", &files.json("c2.json", &catalog_of(&workspaces))])
                .single_error()
                .message
                .clone(),
        },
        Case {
            what: "an unknown stream in the catalog",
            message: run(&["read", "--config", &files.json("good.json", &good), "--catalog", &files.json("c3.json", &json!({"streams": [{"stream": {"name": "jira_issues"}, "sync_mode": "full_refresh"}]}))])
                .single_error()
                .message
                .clone(),
        },
        Case { what: "a state file that is not a list of state messages", message: read_error(&good, &workspaces, json!({})) },
        Case { what: "a saved state this connector cannot use", message: read_files(&good, &incremental_users, &bad_state).single_error().message.clone() },
        Case { what: "a wrong key", message: read_error(&with(&good, json!({"api_key": WRONG_KEY})), &workspaces, json!([])) },
        Case { what: "a wrong org id", message: read_error(&with(&good, json!({"org_id": "no-such-org"})), &workspaces, json!([])) },
        Case { what: "an unreachable host", message: read_error(&with(&good, json!({"base_url": format!("http://127.0.0.1:{closed_port}"), "max_retries": 0})), &workspaces, json!([])) },
        api_case("a missing scope", Endpoint::Workspaces, "403", json!({})),
        api_case("a rate limit longer than the wait budget", Endpoint::Workspaces, "429,reset-in=2h,reset-precision=s", json!({})),
        api_case("server errors that persist", Endpoint::Workspaces, "503", json!({"max_retries": 1})),
        api_case("timeouts that persist", Endpoint::Workspaces, "delay=3s", json!({"request_timeout_seconds": 1, "max_retries": 0})),
        api_case("connections dropped", Endpoint::Workspaces, "reset", fast.clone()),
        api_case("truncated bodies", Endpoint::Workspaces, "truncate", fast.clone()),
        api_case("bodies that are not JSON", Endpoint::Workspaces, "malformed", fast.clone()),
        api_case("JSON of an unexpected shape", Endpoint::Workspaces, "wrong-shape", fast.clone()),
        api_case("a redirect to another host", Endpoint::Workspaces, "redirect=http://elsewhere.example/", json!({})),
        api_case("a repeated page cursor", Endpoint::UsersSearch, "repeat-cursor:nth=3", json!({"page_size": 5})),
        api_case("another 4xx", Endpoint::Workspaces, "400", json!({})),
    ];
    // A base_url with a path after the API root: nothing is there.
    let wrong_base = Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), ..Default::default() }).expect("start sandbox");
    let mut config = config_for(&wrong_base);
    config["base_url"] = json!(format!("{}/not-the-api", wrong_base.base_url()));
    cases.push(Case { what: "a base_url that is not the API root", message: read_error(&config, &workspaces, json!([])) });
    // The key alone (no org_id): it lists no organization, or several; a list's next-page
    // link without a cursor.
    let key_only = |opts: SandboxOptions| {
        let sb = Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), ..opts }).expect("start sandbox");
        read_error(&json!({"api_key": SANDBOX_KEY, "base_url": sb.base_url()}), &workspaces, json!([]))
    };
    cases.push(Case { what: "a key that lists no organization", message: key_only(SandboxOptions { orgs_list_empty: true, ..Default::default() }) });
    cases.push(Case { what: "a key that lists several organizations", message: key_only(SandboxOptions { extra_orgs: 2, ..Default::default() }) });
    let cursorless = FaultAction::NextLink("https://api.atlassian.com/admin/v1/orgs?page=2".into());
    let faults = Faults { rules: vec![FaultRule { endpoint: Some(Endpoint::Orgs), when: FaultTrigger::Always, action: cursorless }] };
    cases.push(Case { what: "a next-page link without a cursor", message: key_only(SandboxOptions { faults, ..Default::default() }) });
    // A key that may not search the directory: the managed accounts are read, not the seats.
    let refused = Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), directory_forbidden: true, ..Default::default() })
        .expect("start sandbox");
    let seats = read_error(&config_for(&refused), &["users", "license_assignments"], json!([]));
    cases.push(Case { what: "seats with a key that may not search the directory", message: seats });
    let no_groups = Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), groups_forbidden: true, ..Default::default() })
        .expect("start sandbox");
    let groups = read_error(&config_for(&no_groups), &["workspaces", "groups"], json!([]));
    cases.push(Case { what: "groups with a key without the groups scope", message: groups });
    let no_domains = Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), ..Default::default() }).expect("start sandbox");
    no_domains.forbid_scope("read:domains:admin").expect("a known scope");
    let domains = read_error(&config_for(&no_domains), &["workspaces", "domains"], json!([]));
    cases.push(Case { what: "domains with a key without the domains scope", message: domains });
    for (stream, scope) in [("api_tokens", "read:tokens:admin"), ("service_accounts", "read:service-accounts:admin"), ("seat_counts", "read:directories:admin"), ("api_keys", "read:keys:admin"), ("policies", "read:policies:admin")] {
        let no_scope = Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), ..Default::default() }).expect("start sandbox");
        no_scope.forbid_scope(scope).expect("a known scope");
        let message = read_error(&config_for(&no_scope), &["workspaces", stream], json!([]));
        cases.push(Case { what: "a plain stream with a key without its scope", message });
    }
    let not_enabled = failing_sandbox(Endpoint::named("service_accounts"), "404");
    let message = read_error(&config_for(&not_enabled), &["workspaces", "service_accounts"], json!([]));
    cases.push(Case { what: "service accounts not enabled for the organization", message });
    for access in [atlassian_sandbox::EventsAccess::Forbidden, atlassian_sandbox::EventsAccess::Empty] {
        let no_guard = Sandbox::start(SandboxOptions { users: 10, api_key: SANDBOX_KEY.into(), events_access: access, ..Default::default() })
            .expect("start sandbox");
        let events = read_error(&config_for(&no_guard), &["workspaces", "audit_events"], json!([]));
        cases.push(Case { what: "audit_events without Atlassian Guard or the events scope", message: events });
    }
    // A server that keeps sending empty pages, each with a new cursor, cannot be set up with the
    // sandbox's faults (a fixed body repeats its cursor): the message is the error's own text.
    let empty = source_atlassian_admin::client::ApiError::EmptyPages { endpoint: source_atlassian_admin::client::endpoints::WORKSPACES, pages: 20 };
    cases.push(Case { what: "endless empty pages", message: empty.to_string() });
    cases
}

/// True when `fragments` occur in `message` in this order.
fn matches(message: &str, fragments: &[String]) -> bool {
    let mut rest = message;
    for f in fragments {
        match rest.find(f.as_str()) {
            Some(at) => rest = &rest[at + f.len()..],
            None => return false,
        }
    }
    true
}

/// The first cell of every row of the tables under "message contains".
fn documented_rows() -> Vec<String> {
    let doc = std::fs::read_to_string(project_dir().join("docs/errors.md")).expect("read docs/errors.md");
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in doc.lines() {
        if line.starts_with("| message contains") {
            in_table = true;
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if in_table && !line.starts_with("|---") {
            rows.push(line.trim_start_matches('|').split(" | ").next().unwrap_or_default().trim().to_string());
        }
    }
    rows
}

/// Backticked fragments in order, e.g. "`a` … `b` / `c`" → [["a", "b"], ["c"]].
fn parse_cell(cell: &str) -> Vec<Vec<String>> {
    cell.split(" / ")
        .map(|alt| alt.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
        .filter(|alt| !alt.is_empty())
        .collect()
}

#[test]
fn every_message_in_docs_errors_md_is_one_the_binary_prints() {
    let rows = documented_rows();
    assert!(rows.len() >= 15, "the tables of docs/errors.md were not found: {rows:?}");
    let cases = cases();
    for case in &cases {
        for secret in SECRETS {
            assert!(!case.message.contains(secret), "{}: the message shows a key", case.what);
        }
    }
    let mut unmatched_docs = Vec::new();
    for row in &rows {
        for alt in parse_cell(row) {
            if !cases.iter().any(|c| matches(&c.message, &alt)) {
                unmatched_docs.push(format!("{alt:?} (row {row:?})"));
            }
        }
    }
    let undocumented: Vec<String> = cases
        .iter()
        .filter(|c| !rows.iter().any(|row| parse_cell(row).iter().any(|alt| matches(&c.message, alt))))
        .map(|c| format!("{}: {:?}", c.what, c.message))
        .collect();
    assert!(
        unmatched_docs.is_empty() && undocumented.is_empty(),
        "docs/errors.md quotes text no message contains:\n{}\n\nmessages docs/errors.md does not cover:\n{}\n\nall messages:\n{}",
        unmatched_docs.join("\n"),
        undocumented.join("\n"),
        cases.iter().map(|c| format!("{}: {}", c.what, c.message)).collect::<Vec<_>>().join("\n")
    );
}

/// Many machines set RUST_BACKTRACE=1: an ERROR trace still carries the error and its causes,
/// never a stack trace or the connector's source paths.
#[test]
fn error_traces_carry_no_backtrace_even_with_rust_backtrace_set() {
    let sb = failing_sandbox(Endpoint::Workspaces, "503");
    let files = Files::new();
    let config = files.json("config.json", &with(&config_for(&sb), json!({"max_retries": 0})));
    let catalog = files.json("catalog.json", &catalog_of(&["workspaces"]));
    for env in [[("RUST_BACKTRACE", "1"), ("RUST_LIB_BACKTRACE", "1")], [("RUST_BACKTRACE", "full"), ("RUST_LIB_BACKTRACE", "full")]] {
        let run = run_with_env(&["read", "--config", &config, "--catalog", &catalog], &env);
        assert_eq!(run.code, 1);
        let err = run.single_error();
        let internal = err.internal_message.as_deref().expect("an internal message");
        assert!(internal.contains("answered 503 (server error)"), "{internal}");
        for trace_text in ["backtrace", ".rs:", "/src/", "at /", "0: "] {
            assert!(!internal.contains(trace_text) && !err.message.contains(trace_text), "{trace_text:?} in {internal:?}");
        }
        assert!(internal.lines().count() <= 3, "the error and its causes only: {internal}");
    }
}
