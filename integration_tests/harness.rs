//! Running the connector binary and decoding its output strictly.
// Every field is decoded so the wire format is pinned; not every test reads every field.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use atlassian_sandbox::{Sandbox, SandboxOptions};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_source-atlassian-admin");

pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The official Airbyte schemas, vendored (see its README for source, version and licence).
pub fn airbyte_schemas_dir() -> PathBuf {
    project_dir().join("integration_tests/schemas/airbyte")
}

/// The official schema of an AirbyteMessage.
fn protocol_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let path = airbyte_schemas_dir().join("airbyte_protocol.json");
        let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read protocol schema")).unwrap();
        schema["$ref"] = json!("#/definitions/AirbyteMessage");
        jsonschema::validator_for(&schema).expect("protocol schema compiles")
    })
}

// ---- strict test-side message types: any field the connector adds or renames fails decoding.

#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Message {
    #[serde(rename = "RECORD")]
    Record { record: Record },
    #[serde(rename = "STATE")]
    State { state: State },
    #[serde(rename = "LOG")]
    Log { log: Log },
    #[serde(rename = "TRACE")]
    Trace { trace: Trace },
    #[serde(rename = "SPEC")]
    Spec { spec: Value },
    #[serde(rename = "CATALOG")]
    Catalog { catalog: Catalog },
    #[serde(rename = "CONNECTION_STATUS")]
    ConnectionStatus {
        #[serde(rename = "connectionStatus")]
        connection_status: ConnectionStatus,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub stream: String,
    pub data: Map<String, Value>,
    pub emitted_at: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    #[serde(rename = "type")]
    pub kind: String,
    pub stream: StreamState,
    #[serde(rename = "sourceStats")]
    pub source_stats: SourceStats,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamState {
    pub stream_descriptor: Descriptor,
    pub stream_state: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceStats {
    #[serde(rename = "recordCount")]
    pub record_count: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub level: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Trace {
    #[serde(rename = "ERROR")]
    Error { emitted_at: f64, error: ErrorTrace },
    #[serde(rename = "STREAM_STATUS")]
    StreamStatus { emitted_at: f64, stream_status: StreamStatusTrace },
    #[serde(rename = "ESTIMATE")]
    Estimate { emitted_at: f64, estimate: Value },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorTrace {
    pub message: String,
    #[serde(default)]
    pub internal_message: Option<String>,
    pub failure_type: String,
    #[serde(default)]
    pub stream_descriptor: Option<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamStatusTrace {
    pub stream_descriptor: Descriptor,
    pub status: String,
    #[serde(default)]
    pub reasons: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub streams: Vec<CatalogStream>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogStream {
    pub name: String,
    pub json_schema: Value,
    pub supported_sync_modes: Vec<String>,
    #[serde(default)]
    pub source_defined_cursor: Option<bool>,
    #[serde(default)]
    pub default_cursor_field: Option<Vec<String>>,
    pub source_defined_primary_key: Vec<Vec<String>>,
    pub is_resumable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionStatus {
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// One finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub messages: Vec<Message>,
}

impl Run {
    pub fn records(&self, stream: &str) -> Vec<&Map<String, Value>> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                Message::Record { record } if record.stream == stream => Some(&record.data),
                _ => None,
            })
            .collect()
    }

    pub fn states(&self) -> Vec<&State> {
        self.messages.iter().filter_map(|m| if let Message::State { state } = m { Some(state) } else { None }).collect()
    }

    pub fn statuses(&self, stream: &str) -> Vec<&str> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                Message::Trace { trace: Trace::StreamStatus { stream_status, .. } } if stream_status.stream_descriptor.name == stream => {
                    Some(stream_status.status.as_str())
                }
                _ => None,
            })
            .collect()
    }

    pub fn errors(&self) -> Vec<&ErrorTrace> {
        self.messages
            .iter()
            .filter_map(|m| if let Message::Trace { trace: Trace::Error { error, .. } } = m { Some(error) } else { None })
            .collect()
    }

    pub fn logs(&self) -> Vec<&Log> {
        self.messages.iter().filter_map(|m| if let Message::Log { log } = m { Some(log) } else { None }).collect()
    }

    pub fn connection_status(&self) -> &ConnectionStatus {
        let all: Vec<_> = self
            .messages
            .iter()
            .filter_map(|m| if let Message::ConnectionStatus { connection_status } = m { Some(connection_status) } else { None })
            .collect();
        assert_eq!(all.len(), 1, "exactly one CONNECTION_STATUS expected:\n{}", self.stdout);
        all[0]
    }

    /// The single ERROR trace of a failed run.
    pub fn single_error(&self) -> &ErrorTrace {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "exactly one ERROR trace expected:\n{}", self.stdout);
        errors[0]
    }
}

/// Secrets that must never appear in any output; every run is checked against all of them.
pub const SECRETS: &[&str] = &[SANDBOX_KEY, WRONG_KEY];
pub const SANDBOX_KEY: &str = "sbx-key-test-5d41402abc4b2a76b9719d911017c592";
pub const WRONG_KEY: &str = "wrong-key-7215ee9c7d9dc229d2921a40e899ec5f";

/// Runs the binary with `args`, validating every stdout line against the protocol schema and
/// the strict types, and checking that no secret leaked to stdout or stderr.
/// A run still going after this long is a hang, whatever the machine's load: killed, and the
/// test fails. (Tests assert counts and outcomes; this is not a speed check.)
const HANG_AFTER: Duration = Duration::from_secs(300);

pub fn run(args: &[&str]) -> Run {
    run_with_env(args, &[])
}

/// [`run`] with extra environment variables.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = output_unless_hung(Command::new(BIN).args(args).envs(env.iter().copied()), args);
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    for secret in SECRETS {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "a secret leaked into the output of {args:?}");
    }
    let messages = decode(&stdout);
    Run { code: output.status.code().unwrap_or(-1), stdout, stderr, messages }
}

/// `command`'s output; panics (after killing it) if it runs longer than [`HANG_AFTER`].
fn output_unless_hung(command: &mut Command, args: &[&str]) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run connector binary");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the connector") {
            break status;
        }
        if started.elapsed() > HANG_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the connector hung: {args:?} still running after {HANG_AFTER:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    std::process::Output { status, stdout: stdout.join().expect("stdout reader"), stderr: stderr.join().expect("stderr reader") }
}

/// Runs `read` with the given config, catalog and state (written to temporary files).
pub fn read_files(config: &Value, catalog: &Value, state: &Value) -> Run {
    let files = Files::new();
    run(&[
        "read",
        "--config",
        &files.json("config.json", config),
        "--catalog",
        &files.json("catalog.json", catalog),
        "--state",
        &files.json("state.json", state),
    ])
}

/// [`read_files`], asserting that the read succeeded.
pub fn read_ok(config: &Value, catalog: &Value, state: &Value) -> Run {
    let run = read_files(config, catalog, state);
    assert_eq!(run.code, 0, "read failed: {:?}\n{}", run.errors(), run.stderr);
    run
}

/// Reads until the `stop_after`-th STATE of `stream`, then stops the connector: with SIGKILL
/// (`signal` None: the messages received up to then), or with `kill -SIGNAL` (`"TERM"`,
/// `"INT"`: the connector may still write, and everything up to its exit is returned). Returns
/// the messages a platform received and the exit code.
pub fn read_and_stop(
    config: &Value,
    catalog: &Value,
    state: &Value,
    stream: &str,
    stop_after: usize,
    signal: Option<&str>,
) -> (Vec<Message>, Option<i32>) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let files = Files::new();
    let args = [
        "read".to_string(),
        "--config".into(),
        files.json("c.json", config),
        "--catalog".into(),
        files.json("k.json", catalog),
        "--state".into(),
        files.json("s.json", state),
    ];
    let mut child = Command::new(BIN).args(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("run connector binary");
    let mut lines = String::new();
    let mut states = 0;
    let state_of = format!("\"name\":\"{stream}\"");
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.expect("stdout is UTF-8");
        let is_state = line.starts_with("{\"type\":\"STATE\"") && line.contains(&state_of);
        lines.push_str(&line);
        lines.push('\n');
        if is_state {
            states += 1;
            if states == stop_after {
                match signal {
                    None => {
                        child.kill().expect("SIGKILL");
                        break;
                    }
                    Some(sig) => {
                        let sent = Command::new("kill").args([format!("-{sig}"), child.id().to_string()]).status().expect("kill");
                        assert!(sent.success(), "kill -{sig}");
                    }
                }
            }
        }
    }
    let status = child.wait().expect("wait for the connector");
    assert!(states >= stop_after, "the read ended before checkpoint {stop_after}");
    for secret in SECRETS {
        assert!(!lines.contains(secret));
    }
    (decode(&lines), status.code())
}

/// Decodes stdout lines: each must be a valid AirbyteMessage and decode into the strict types.
pub fn decode(stdout: &str) -> Vec<Message> {
    let mut messages = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("stdout line {i} is not JSON ({e}): {line}"));
        let errors: Vec<String> = protocol_validator().iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "stdout line {i} is not a valid AirbyteMessage: {errors:?}\n{line}");
        let msg: Message = serde_json::from_value(value).unwrap_or_else(|e| panic!("line {i} does not decode strictly ({e}): {line}"));
        messages.push(msg);
    }
    messages
}

/// The state file a platform would pass to the next read: the last STATE of each stream.
pub fn state_after(messages: &[Message]) -> Value {
    state_after_from(&json!([]), messages)
}

/// The state a platform keeps after a read that started from `previous`: each stream's last
/// STATE of the read, or its previous state when the read wrote none for it (a read killed
/// before it reached the stream).
pub fn state_after_from(previous: &Value, messages: &[Message]) -> Value {
    let mut last: Vec<(String, Value)> = previous
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (s["stream"]["stream_descriptor"]["name"].as_str().unwrap_or_default().to_string(), s.clone()))
        .collect();
    for m in messages {
        if let Message::State { state } = m {
            let name = state.stream.stream_descriptor.name.clone();
            let entry = json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": state.stream.stream_state}});
            match last.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = entry,
                None => last.push((name, entry)),
            }
        }
    }
    Value::Array(last.into_iter().map(|(_, v)| v).collect())
}

/// A temporary directory holding the files a run reads.
pub struct Files {
    pub dir: tempfile::TempDir,
}

impl Files {
    pub fn new() -> Self {
        Files { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn write(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("write file");
        path.to_string_lossy().into_owned()
    }

    pub fn json(&self, name: &str, value: &Value) -> String {
        self.write(name, &serde_json::to_string_pretty(value).unwrap())
    }
}

/// How many streams `check` probes: those a key or plan may not reach.
pub fn optional_streams() -> u64 {
    source_atlassian_admin::streams::ALL.iter().filter(|e| e.id.info().optional.is_some()).count() as u64
}

pub fn sandbox(users: usize) -> Sandbox {
    Sandbox::start(SandboxOptions { users, api_key: SANDBOX_KEY.into(), ..SandboxOptions::default() }).expect("start sandbox")
}

pub fn config_for(sb: &Sandbox) -> Value {
    json!({"api_key": SANDBOX_KEY, "org_id": sb.org_id(), "base_url": sb.base_url()})
}

pub fn catalog_of(streams: &[&str]) -> Value {
    let all: Value = serde_json::from_str(&std::fs::read_to_string(sample("configured_catalog.json")).unwrap()).unwrap();
    let picked: Vec<Value> = all["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| streams.contains(&s["stream"]["name"].as_str().unwrap()))
        .cloned()
        .collect();
    json!({"streams": picked})
}

pub fn sample(name: &str) -> PathBuf {
    project_dir().join("integration_tests/sample_files").join(name)
}

/// Validates each record against its stream's declared schema, and that it declares every field.
/// Every record of the run against its stream's schema: valid, and no field it does not declare.
pub fn assert_records_match_schemas(run: &Run) {
    let mut streams: Vec<&str> = run.messages.iter().filter_map(|m| match m {
        Message::Record { record } => Some(record.stream.as_str()),
        _ => None,
    }).collect();
    streams.sort_unstable();
    streams.dedup();
    for stream in streams {
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(project_dir().join(format!("schemas/{stream}.json"))).unwrap(),
        )
        .unwrap();
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
        let props = schema["properties"].as_object().unwrap();
        for rec in run.records(stream) {
            let v = Value::Object(rec.clone());
            let errs: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errs.is_empty(), "{stream} record violates its schema: {errs:?}\n{v}");
            for key in rec.keys() {
                assert!(props.contains_key(key), "{stream} record has undeclared field {key}");
            }
        }
    }
}
