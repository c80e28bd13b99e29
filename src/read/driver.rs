//! The driver: every stream's lifecycle, once. A planned stream is opened (a frozen one is
//! complete at once, with its saved state), its records are written in units, each followed by
//! the checkpoint that covers it when one is due, and it is closed: a deletion record per key
//! its tracker found gone, its final STATE, COMPLETE. A stream that fails with a config error
//! (a key without its scope, a plan without the feature) fails alone: its ERROR trace is
//! written and the read goes on with the next one.
//!
//! How a stream's units are made is its kind's ([`super::paged`], [`super::partitioned`],
//! [`super::log`], the users pass); every kind reads through [`Run`].

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::cadence::Cadence;
use super::error::{ReadError, Unreadable};
use super::plan::Mode;
use super::sites::Sites;
use super::writer::Covered;
use super::Reader;
use crate::incremental::{PassPosition, Tracker};
use crate::json::RawJson;
use crate::protocol::{now_ms, FailureType};
use crate::streams::StreamId;
use crate::time;

/// What a stream's records may be joined to.
pub struct Context<'c> {
    pub org_id: &'c str,
    pub sites: &'c Sites,
}

/// The future of one stream's read.
pub type Reading<'r> = Pin<Box<dyn Future<Output = Result<(), ReadError>> + 'r>>;

/// A stream planned to be read on its own, after the sites and the users pass.
pub trait Driven {
    fn stream(&self) -> StreamId;
    /// Read, not frozen.
    fn is_read(&self) -> bool;
    fn read<'r>(self: Box<Self>, reader: &'r mut Reader<'_, '_>, ctx: &'r Context<'r>) -> Reading<'r>;
}

/// How a kind reads a stream from its mode.
pub type ReadFn<T> = for<'r, 'w, 'o> fn(&'r mut Reader<'w, 'o>, Mode<T>, &'r Context<'r>) -> Reading<'r>;

/// A stream read on its own: its mode, and its kind's read.
pub struct Alone<T> {
    pub stream: StreamId,
    pub mode: Mode<T>,
    pub read: ReadFn<T>,
}

impl<T> Driven for Alone<T> {
    fn stream(&self) -> StreamId {
        self.stream
    }

    fn is_read(&self) -> bool {
        self.mode.is_read()
    }

    fn read<'r>(self: Box<Self>, reader: &'r mut Reader<'_, '_>, ctx: &'r Context<'r>) -> Reading<'r> {
        (self.read)(reader, self.mode, ctx)
    }
}

/// Where an interrupted pass began, as its checkpoint saved it.
pub trait Began {
    fn began(&self) -> Option<DateTime<Utc>>;
}

impl Began for PassPosition {
    fn began(&self) -> Option<DateTime<Utc>> {
        time::parse_lenient(&self.started_at)
    }
}

impl Began for DateTime<Utc> {
    fn began(&self) -> Option<DateTime<Utc>> {
        Some(*self)
    }
}

impl Began for () {
    fn began(&self) -> Option<DateTime<Utc>> {
        None
    }
}

/// One stream being read: its tracker (none in full refresh) and when its pass began.
pub struct Run<T: Tracker> {
    pub stream: StreamId,
    pub tracker: Option<T>,
    /// Where the interrupted pass this read resumes stands.
    pub resume: Option<T::Position>,
    /// When this pass began (the interrupted one's time, when it resumes it).
    pub started: DateTime<Utc>,
    pub started_text: String,
    pub(super) cadence: Cadence,
}

impl<T: Tracker> Run<T> {
    /// The `observed_at` of records emitted at `emitted_at` (ms).
    pub fn stamp(&self, emitted_at: i64) -> String {
        stamp(emitted_at, self.started)
    }

    /// True in incremental mode.
    pub fn is_incremental(&self) -> bool {
        self.tracker.is_some()
    }
}

impl Reader<'_, '_> {
    /// Opens a stream's read. A frozen stream is complete at once with its saved state: `None`.
    /// `interval` is the checkpoint cadence's, in units.
    pub(super) fn open<T: Tracker>(&mut self, stream: StreamId, mode: Mode<T>, interval: u64) -> Result<Option<Run<T>>, ReadError>
    where
        T::Position: Began,
    {
        let tracker = match mode {
            Mode::Frozen(saved) => {
                self.writer.complete(stream, &saved)?;
                return Ok(None);
            }
            Mode::FullRefresh => None,
            Mode::Incremental(t) => Some(t),
        };
        let resume = tracker.as_ref().and_then(Tracker::resume);
        let started = resume.as_ref().and_then(Began::began).unwrap_or_else(Utc::now);
        Ok(Some(Run { stream, tracker, resume, started, started_text: time::format(started), cadence: Cadence::new(interval) }))
    }

    /// After a unit: the checkpoint at `position` when one is due (every unit's for a state
    /// that stays small, [`Cadence`]).
    pub(super) fn checkpoint_due<T: Tracker, P>(&mut self, run: &mut Run<T>, covered: &Covered<P>, position: impl FnOnce(&P) -> Option<T::Position>) -> Result<(), ReadError> {
        let Some(tracker) = run.tracker.as_mut() else { return Ok(()) };
        let Some(position) = position(covered.position()) else { return Ok(()) };
        let stream = run.stream;
        let entries = tracker.key_count();
        run.cadence.checkpoint(self.writer, Some(stream), entries, covered, |_| [(stream, tracker.checkpoint(&position))])
    }

    /// Closes a stream's read: in incremental mode, a deletion record per key its tracker
    /// finds gone (announced by `announce`, given how many; `deletion` writes one, given when
    /// it was observed gone) and the state after the pass; then the final STATE and COMPLETE.
    pub(super) fn close<T: Tracker>(
        &mut self,
        run: Run<T>,
        announce: impl FnOnce(usize) -> String,
        deletion: impl Fn(&T::Gone, &str, &mut Vec<u8>),
    ) -> Result<(), ReadError> {
        let Run { stream, tracker, started, .. } = run;
        let state = match tracker {
            Some(mut tracker) => {
                let gone = tracker.finish();
                self.emit_deletions(stream, &gone, announce, deletion, started)?;
                tracker.final_state(started)
            }
            None => json!({}),
        };
        self.writer.complete(stream, &state)
    }

    /// One deletion record per key of `gone`, announced in an INFO line.
    pub(super) fn emit_deletions<K>(
        &mut self,
        stream: StreamId,
        gone: &[K],
        announce: impl FnOnce(usize) -> String,
        deletion: impl Fn(&K, &str, &mut Vec<u8>),
        started: DateTime<Utc>,
    ) -> Result<(), ReadError> {
        if gone.is_empty() {
            return Ok(());
        }
        self.writer.info(&announce(gone.len()))?;
        let emitted_at = now_ms();
        let now = stamp(emitted_at, started);
        let mut unit = self.writer.unit(());
        let mut scratch = Vec::new();
        for key in gone {
            scratch.clear();
            deletion(key, &now, &mut scratch);
            unit.record(stream, &RawJson(&scratch), emitted_at)?;
        }
        unit.done();
        Ok(())
    }

    /// A stream's read that failed with a config error fails it alone: its ERROR trace is
    /// written and the read goes on (ending failed).
    pub(super) fn alone(&mut self, result: Result<(), ReadError>) -> Result<(), ReadError> {
        match result {
            Err(e) if e.failure_type == FailureType::ConfigError && e.stream.is_some() => {
                let name = e.stream.map_or("", StreamId::name);
                let e = if e.source.is::<Unreadable>() {
                    e
                } else {
                    ReadError { source: e.source.context(format!("{name} cannot be read (the other streams are read)")), ..e }
                };
                self.writer.fail_stream(&e)?;
                self.failed_alone = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// The `observed_at` of records emitted at `emitted_at` (ms), as RFC 3339 text.
pub(super) fn stamp(emitted_at: i64, fallback: DateTime<Utc>) -> String {
    time::format(DateTime::from_timestamp_millis(emitted_at).unwrap_or(fallback))
}
