//! When a checkpoint is due. A change-detection state holds every key, so writing it after
//! every page would make a sync's output grow with the square of the organization's size.
//! A small state is written every `checkpoint_interval_pages` pages; a larger one when it has
//! doubled since the last checkpoint (a first read: the states written add up to about twice
//! the final one) or when a minute has passed (the most work a kill can lose).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::error::ReadError;
use super::writer::{Covered, Writer};
use crate::streams::StreamId;

/// Up to this size a state is written every `checkpoint_interval_pages` pages.
const SMALL_STATE_BYTES: usize = 64 * 1024;
/// A larger state is written at least this often.
const MAX_WORK_AT_RISK: Duration = Duration::from_secs(60);

/// The checkpoint cadence of one pass (a users pass, a paged stream, the licence searches).
#[derive(Debug)]
pub(super) struct Cadence {
    interval: u64,
    pages_since: u64,
    last_bytes: usize,
    last_entries: usize,
    last_at: Instant,
    /// The large-state cadence was explained (once a read is enough).
    announced: bool,
}

impl Cadence {
    pub(super) fn new(interval: u64) -> Self {
        Cadence { interval: interval.max(1), pages_since: 0, last_bytes: 0, last_entries: 0, last_at: Instant::now(), announced: false }
    }

    /// A page (or a search) was written, its tracker now holding `entries` keys: is a
    /// checkpoint due?
    fn due(&mut self, entries: usize) -> bool {
        self.pages_since += 1;
        self.pages_since >= self.interval
            && (self.last_bytes <= SMALL_STATE_BYTES || entries >= self.last_entries.saturating_mul(2) || self.last_at.elapsed() >= MAX_WORK_AT_RISK)
    }

    /// A checkpoint of `bytes` was written, its tracker holding `entries` keys. Returns, the
    /// first time the state outgrows a small one, the LOG line that explains the cadence.
    fn written(&mut self, bytes: usize, entries: usize) -> Option<String> {
        (self.pages_since, self.last_bytes, self.last_entries, self.last_at) = (0, bytes, entries, Instant::now());
        if bytes <= SMALL_STATE_BYTES || self.announced {
            return None;
        }
        self.announced = true;
        Some(format!(
            "The incremental state is {:.1} MB: from now on it is checkpointed when it has doubled or {} s have passed, to keep the output small",
            bytes as f64 / 1e6,
            MAX_WORK_AT_RISK.as_secs()
        ))
    }
}

impl Cadence {
    /// After a unit: the checkpoint of `states` if one is due (the tracker holding `entries`
    /// keys), and the LOG line when the large-state cadence begins, named after `stream`.
    pub(super) fn checkpoint<'c, P, I>(
        &mut self,
        writer: &mut Writer<'_>,
        stream: Option<StreamId>,
        entries: usize,
        covered: &'c Covered<P>,
        states: impl FnOnce(&'c P) -> I,
    ) -> Result<(), ReadError>
    where
        I: IntoIterator<Item = (StreamId, Value)>,
    {
        if !self.due(entries) {
            return Ok(());
        }
        let bytes = writer.checkpoint(covered, states)?;
        match (self.written(bytes, entries), stream) {
            (Some(line), Some(stream)) => writer.info(&format!("{}: {line}", stream.name())),
            (Some(line), None) => writer.info(&line),
            (None, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_state_is_written_every_interval() {
        let mut c = Cadence::new(2);
        assert!(!c.due(10));
        assert!(c.due(10));
        assert_eq!(c.written(1000, 10), None);
        assert!(!c.due(10) && c.due(10));
    }

    #[test]
    fn a_large_state_waits_until_it_has_doubled() {
        let mut c = Cadence::new(1);
        assert!(c.due(1000));
        assert!(c.written(SMALL_STATE_BYTES + 1, 1000).is_some_and(|line| line.contains("doubled")));
        assert!(!c.due(1000), "unchanged, and no minute has passed");
        assert!(!c.due(1999));
        assert!(c.due(2000));
        assert_eq!(c.written(2 * SMALL_STATE_BYTES, 2000), None, "explained once");
    }

    #[test]
    fn a_large_state_is_written_once_a_minute_has_passed() {
        let mut c = Cadence::new(1);
        c.written(SMALL_STATE_BYTES + 1, 1000);
        c.last_at = Instant::now().checked_sub(MAX_WORK_AT_RISK).expect("the clock has run a minute");
        assert!(c.due(1000));
    }
}
