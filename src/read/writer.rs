//! The read's only emitter of RECORD, STATE and stream statuses, over the one stdout writer
//! ([`crate::protocol::Output`]).
//!
//! Records are written in units — a page of the users pass, a seat search — and a STATE can
//! only be made of a finished unit ([`Covered`]): so every record precedes the checkpoint that
//! covers it. Statuses follow the protocol: STARTED for every configured stream, RUNNING at its
//! first record, COMPLETE after its final STATE, INCOMPLETE for the unfinished ones when the
//! read fails.

use serde_json::Value;

use super::error::ReadError;
use crate::client::Pause;
use crate::json::WriteJson;
use crate::protocol::{error_chain, LogLevel, Output, StreamStatus};
use crate::streams::StreamId;

/// Per-stream bookkeeping for statuses and `sourceStats.recordCount`.
#[derive(Debug)]
struct Progress {
    stream: StreamId,
    running: bool,
    complete: bool,
    since_state: u64,
    total: u64,
}

pub struct Writer<'o> {
    out: &'o mut Output,
    /// The configured streams, in catalog order.
    streams: Vec<Progress>,
}

/// A unit of the read whose records have all been written, at `position` (where a resumed
/// read would go on). Only [`Unit::done`] makes one.
#[derive(Debug)]
pub struct Covered<P> {
    position: P,
}

impl<P> Covered<P> {
    /// Where a resumed read would go on.
    pub fn position(&self) -> &P {
        &self.position
    }
}

/// Records of one unit, written as they come; [`Unit::done`] closes it.
pub struct Unit<'w, 'o, P> {
    writer: &'w mut Writer<'o>,
    position: P,
}

impl<P> Unit<'_, '_, P> {
    /// Writes one record of `stream`, counted for `recordCount`; the first announces RUNNING.
    pub fn record<D: WriteJson>(&mut self, stream: StreamId, data: &D, emitted_at: i64) -> Result<(), ReadError> {
        let p = self.writer.progress(stream);
        debug_assert!(!p.complete, "a record of {} after its final state", stream.name());
        p.since_state += 1;
        p.total += 1;
        let first = !p.running;
        p.running = true;
        if first {
            self.writer.out.stream_status(stream.name(), StreamStatus::Running)?;
        }
        Ok(self.writer.out.record(stream.name(), data, emitted_at)?)
    }

    /// Every record of the unit is written.
    pub fn done(self) -> Covered<P> {
        Covered { position: self.position }
    }
}

impl<'o> Writer<'o> {
    pub fn new(out: &'o mut Output, configured: &[StreamId]) -> Self {
        let streams = configured.iter().map(|&stream| Progress { stream, running: false, complete: false, since_state: 0, total: 0 }).collect();
        Writer { out, streams }
    }

    fn progress(&mut self, stream: StreamId) -> &mut Progress {
        self.streams.iter_mut().find(|p| p.stream == stream).expect("only configured streams are written")
    }

    /// STARTED for every configured stream.
    pub fn started(&mut self) -> Result<(), ReadError> {
        for p in &self.streams {
            self.out.stream_status(p.stream.name(), StreamStatus::Started)?;
        }
        Ok(())
    }

    /// Opens a unit of records that ends at `position`.
    pub fn unit<P>(&mut self, position: P) -> Unit<'_, 'o, P> {
        Unit { writer: self, position }
    }

    /// A STATE for each stream `states` gives for the covered position; every record before it
    /// is written. Returns the size of their text (what spaces the next checkpoints).
    pub fn checkpoint<'c, P, I>(&mut self, covered: &'c Covered<P>, states: impl FnOnce(&'c P) -> I) -> Result<usize, ReadError>
    where
        I: IntoIterator<Item = (StreamId, Value)>,
    {
        let mut bytes = 0;
        for (stream, state) in states(&covered.position) {
            bytes += text_bytes(&state);
            self.state(stream, &state)?;
        }
        Ok(bytes)
    }

    fn state(&mut self, stream: StreamId, state: &Value) -> Result<(), ReadError> {
        let p = self.progress(stream);
        let count = std::mem::take(&mut p.since_state);
        Ok(self.out.state(stream.name(), state, count)?)
    }

    /// The stream's final STATE, then COMPLETE. Nothing of it may be written after.
    pub fn complete(&mut self, stream: StreamId, state: &Value) -> Result<(), ReadError> {
        self.state(stream, state)?;
        self.out.stream_status(stream.name(), StreamStatus::Complete)?;
        let p = self.progress(stream);
        p.complete = true;
        let line = format!("Stream '{}' complete: {} records", stream.name(), p.total);
        self.info(&line)
    }

    /// Records written so far for `stream`.
    pub fn total(&self, stream: StreamId) -> u64 {
        self.streams.iter().find(|p| p.stream == stream).map_or(0, |p| p.total)
    }

    pub fn info(&mut self, message: &str) -> Result<(), ReadError> {
        Ok(self.out.info(message)?)
    }

    pub fn warn(&mut self, message: &str) -> Result<(), ReadError> {
        Ok(self.out.log(LogLevel::Warn, message)?)
    }

    pub fn estimate(&mut self, stream: StreamId, rows: u64) -> Result<(), ReadError> {
        Ok(self.out.estimate(stream.name(), rows)?)
    }

    /// RUNNING with reason RATE_LIMITED, emitted at the moment the pause was decided and
    /// until its end: `quota_reset - emitted_at` is the wait the client chose.
    pub fn rate_limited(&mut self, stream: StreamId, pause: Pause) -> Result<(), ReadError> {
        Ok(self.out.rate_limited(stream.name(), pause.from_ms, pause.until_ms)?)
    }

    /// Ends a read that failed: INCOMPLETE for every stream not complete, then the ERROR trace.
    pub fn fail(&mut self, error: &ReadError) -> std::io::Result<()> {
        for p in self.streams.iter().filter(|p| !p.complete) {
            self.out.stream_status(p.stream.name(), StreamStatus::Incomplete)?;
        }
        let message = format!("{:#}", error.source);
        self.out.error_trace(&message, Some(&error_chain(&error.source)), error.failure_type, error.stream.map(StreamId::name))?;
        self.out.flush()
    }

    /// Ends one stream that failed while the read goes on: INCOMPLETE, then its ERROR trace.
    pub fn fail_stream(&mut self, error: &ReadError) -> Result<(), ReadError> {
        let stream = error.stream.expect("a stream that fails alone is named");
        let p = self.progress(stream);
        p.complete = true; // nothing more of it is written, and it is not marked again
        self.out.stream_status(stream.name(), StreamStatus::Incomplete)?;
        let message = format!("{:#}", error.source);
        self.out.error_trace(&message, Some(&error_chain(&error.source)), error.failure_type, Some(stream.name()))?;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The length of a state's text fields: nearly all of its size, without serializing it again.
fn text_bytes(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Object(o) => o.values().map(text_bytes).sum(),
        Value::Array(a) => a.iter().map(text_bytes).sum(),
        _ => 0,
    }
}
