//! Airbyte protocol messages a source emits, and the one buffered writer to stdout.
//!
//! Every byte the connector puts on stdout goes through [`Output`]: one JSON message per line.
//! Records are serialized straight into the buffer (no intermediate `Value`), and the buffer is
//! flushed after every STATE so a platform sees each checkpoint together with the records before it.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::json::{self, WriteJson};

/// The failure types of an ERROR trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureType {
    ConfigError,
    TransientError,
    SystemError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StreamStatus {
    Started,
    Running,
    Complete,
    Incomplete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConnectionStatus {
    Succeeded,
    Failed,
}

/// Milliseconds since the Unix epoch, as the protocol's `emitted_at` wants them.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An error and its causes, one per line, for an ERROR trace's `internal_message`. Never the
/// `Debug` form: with `RUST_BACKTRACE` set it carries a stack trace with source paths.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        text.push_str("\ncaused by: ");
        text.push_str(&cause.to_string());
    }
    text
}

/// A STATE message, borrowing its state (the shape `json!` gave it, key order included).
#[derive(Serialize)]
struct StateMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    state: StreamState<'a>,
}

#[derive(Serialize)]
struct StreamState<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    stream: StateStream<'a>,
    #[serde(rename = "sourceStats")]
    source_stats: SourceStats,
}

#[derive(Serialize)]
struct StateStream<'a> {
    stream_descriptor: Descriptor<'a>,
    stream_state: &'a Value,
}

#[derive(Serialize)]
struct Descriptor<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct SourceStats {
    #[serde(rename = "recordCount")]
    record_count: f64,
}

/// Bytes buffered before they are written out.
const BUFFER_BYTES: usize = 64 * 1024;

/// The single writer of stdout. Lines are buffered, and written out when the buffer is full
/// and at each flush.
pub struct Output<W: Write = io::StdoutLock<'static>> {
    buf: Vec<u8>,
    out: W,
}

impl Output {
    pub fn stdout() -> Self {
        Output::new(io::stdout().lock())
    }
}

impl<W: Write> Output<W> {
    pub fn new(out: W) -> Self {
        Output { buf: Vec::with_capacity(BUFFER_BYTES + 4096), out }
    }

    fn line<T: Serialize>(&mut self, msg: &T) -> io::Result<()> {
        let start = self.buf.len();
        if let Err(e) = serde_json::to_writer(&mut self.buf, msg) {
            self.buf.truncate(start);
            return Err(io::Error::other(e));
        }
        self.end_line()
    }

    fn end_line(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        if self.buf.len() >= BUFFER_BYTES {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }

    pub fn spec(&mut self, spec: &Value) -> io::Result<()> {
        self.line(&serde_json::json!({"type": "SPEC", "spec": spec}))
    }

    pub fn catalog(&mut self, streams: &[Value]) -> io::Result<()> {
        self.line(&serde_json::json!({"type": "CATALOG", "catalog": {"streams": streams}}))
    }

    pub fn connection_status(&mut self, status: ConnectionStatus, message: Option<&str>) -> io::Result<()> {
        let mut cs = serde_json::json!({"status": status});
        if let Some(m) = message {
            cs["message"] = Value::from(m);
        }
        self.line(&serde_json::json!({"type": "CONNECTION_STATUS", "connectionStatus": cs}))
    }

    /// A RECORD; `data` writes itself straight into the output buffer (see [`crate::json`]).
    pub fn record<D: WriteJson>(&mut self, stream: &str, data: &D, emitted_at: i64) -> io::Result<()> {
        self.buf.extend_from_slice(br#"{"type":"RECORD","record":{"stream":"#);
        json::write_str(&mut self.buf, stream);
        self.buf.extend_from_slice(br#","data":"#);
        data.write_json(&mut self.buf);
        self.buf.extend_from_slice(br#","emitted_at":"#);
        emitted_at.write_json(&mut self.buf);
        self.buf.extend_from_slice(b"}}");
        self.end_line()
    }

    /// A per-stream STATE; `record_count` counts this stream's records since its previous STATE.
    /// Written straight to the output, not through the buffer: a large state is not copied.
    pub fn state(&mut self, stream: &str, stream_state: &Value, record_count: u64) -> io::Result<()> {
        let message = StateMessage {
            kind: "STATE",
            state: StreamState {
                kind: "STREAM",
                stream: StateStream { stream_descriptor: Descriptor { name: stream }, stream_state },
                source_stats: SourceStats { record_count: record_count as f64 },
            },
        };
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        serde_json::to_writer(&mut self.out, &message).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    pub fn log(&mut self, level: LogLevel, message: &str) -> io::Result<()> {
        self.line(&serde_json::json!({"type": "LOG", "log": {"level": level, "message": message}}))
    }

    pub fn info(&mut self, message: &str) -> io::Result<()> {
        self.log(LogLevel::Info, message)
    }

    pub fn stream_status(&mut self, stream: &str, status: StreamStatus) -> io::Result<()> {
        self.line(&serde_json::json!({
            "type": "TRACE",
            "trace": {
                "type": "STREAM_STATUS",
                "emitted_at": now_ms() as f64,
                "stream_status": {"stream_descriptor": {"name": stream}, "status": status}
            }
        }))
    }

    /// RUNNING with reason RATE_LIMITED: the stream waits for its quota to reset at `quota_reset_ms`.
    pub fn rate_limited(&mut self, stream: &str, emitted_at_ms: i64, quota_reset_ms: i64) -> io::Result<()> {
        self.line(&serde_json::json!({
            "type": "TRACE",
            "trace": {
                "type": "STREAM_STATUS",
                "emitted_at": emitted_at_ms as f64,
                "stream_status": {
                    "stream_descriptor": {"name": stream},
                    "status": StreamStatus::Running,
                    "reasons": [{"type": "RATE_LIMITED", "rate_limited": {"quota_reset": quota_reset_ms}}]
                }
            }
        }))
    }

    /// An ESTIMATE of how many records a stream will produce.
    pub fn estimate(&mut self, stream: &str, rows: u64) -> io::Result<()> {
        self.line(&serde_json::json!({
            "type": "TRACE",
            "trace": {
                "type": "ESTIMATE",
                "emitted_at": now_ms() as f64,
                "estimate": {"name": stream, "type": "STREAM", "row_estimate": rows}
            }
        }))
    }

    /// An ERROR trace. `message` is for a person; `internal_message` for the developer.
    pub fn error_trace(
        &mut self,
        message: &str,
        internal_message: Option<&str>,
        failure_type: FailureType,
        stream: Option<&str>,
    ) -> io::Result<()> {
        let mut error = serde_json::json!({"message": message, "failure_type": failure_type});
        if let Some(internal) = internal_message {
            error["internal_message"] = Value::from(internal);
        }
        if let Some(name) = stream {
            error["stream_descriptor"] = serde_json::json!({"name": name});
        }
        self.line(&serde_json::json!({
            "type": "TRACE",
            "trace": {"type": "ERROR", "emitted_at": now_ms() as f64, "error": error}
        }))?;
        self.flush()
    }
}

impl<W: Write> Drop for Output<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
