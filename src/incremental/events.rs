//! An append-only log read in processing order through the API's cursor (the audit log,
//! [`LogCursorTracker`]). The state keeps the cursor after the last page (the last non-null
//! `next`: the API returns one on the last page to poll with), the highest `processed_at`
//! emitted, and the ids emitted in the last [`OVERLAP`] before it.
//!
//! Exactly once: a sync continues from the saved cursor. A page re-read (a cursor saved
//! before its last page, when the API ends with a null `next`) or a restart without a cursor
//! (the API rejected it) brings back events already emitted: at each (re)start a boundary is
//! taken — every event processed before the overlap was emitted, and so were the overlap's
//! ids — and an event behind it is a repeat. Events after the boundary are emitted, in
//! whatever order they come. A restart without a cursor reads `from` the boundary minus
//! [`LATE_MARGIN`]: whether `from` filters on `processedAt` or on `time` is undocumented, and
//! an event can be processed long after it happened.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{decode_state, saved, Tracker};
use crate::time;

/// Ids emitted this long before the newest are kept, to tell a repeat from a new event.
pub const OVERLAP: Duration = Duration::minutes(5);
/// How far before the boundary a restart without a cursor reads.
pub const LATE_MARGIN: Duration = Duration::days(2);
/// At most this many overlap ids are kept (older whole timestamps are dropped first).
const MAX_RECENT: usize = 10_000;
const VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsState {
    version: u32,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    newest_processed_at: Option<String>,
    /// Every event processed before this was emitted.
    #[serde(default)]
    overlap_from: Option<String>,
    /// The ids emitted from `overlap_from` on.
    #[serde(default)]
    overlap_ids: Vec<String>,
}

/// What is behind the boundary of a (re)start: emitted already.
#[derive(Debug, Default)]
struct Boundary {
    before: Option<DateTime<Utc>>,
    ids: HashSet<String>,
}

/// Where the log is read from, and what was emitted.
#[derive(Debug, Default)]
pub struct LogCursorTracker {
    cursor: Option<String>,
    newest: Option<DateTime<Utc>>,
    /// (processed_at, id) of the events emitted within [`OVERLAP`] of `newest`, oldest first.
    recent: VecDeque<(DateTime<Utc>, String)>,
    /// Every event processed before this was emitted (the overlap was trimmed past it).
    overlap_from: Option<DateTime<Utc>>,
    boundary: Boundary,
}

fn parse(text: &str, stream: &str, field: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{stream} state: '{field}' is not an RFC 3339 time"))
}

impl Tracker for LogCursorTracker {
    /// An entry's id and when the API processed it.
    type Key<'k> = (&'k str, Option<DateTime<Utc>>);
    /// Nothing leaves a log.
    type Gone = std::convert::Infallible;
    /// The cursor is the tracker's own ([`Self::page_read`]).
    type Position = ();

    fn from_state(state: Option<&Value>, stream: &str) -> Result<Self, String> {
        let Some(value) = saved(state) else { return Ok(Self::default()) };
        let s: EventsState = decode_state(value, stream, VERSION, |s: &EventsState| s.version)?;
        let newest = s.newest_processed_at.as_deref().map(|t| parse(t, stream, "newest_processed_at")).transpose()?;
        let overlap_from = s.overlap_from.as_deref().map(|t| parse(t, stream, "overlap_from")).transpose()?;
        let recent = s.overlap_ids.iter().map(|id| (overlap_from.or(newest).unwrap_or_default(), id.clone())).collect();
        let mut t = LogCursorTracker { cursor: s.cursor.filter(|c| !c.is_empty()), newest, recent, overlap_from, boundary: Boundary::default() };
        t.restart();
        Ok(t)
    }

    /// Never: the newest time it holds is the API's `processed_at`, and an API clock ahead of
    /// this machine's must not freeze the log.
    fn pass_started(&self) -> Option<DateTime<Utc>> {
        None
    }

    fn resume(&self) -> Option<()> {
        None
    }

    /// An entry is emitted unless this (re)start's boundary says it was before.
    fn observe(&mut self, (id, processed_at): (&str, Option<DateTime<Utc>>), _: u32) -> bool {
        if self.is_repeat(id, processed_at) {
            return false;
        }
        self.emitted(id, processed_at);
        true
    }

    fn checkpoint(&mut self, _: &()) -> Value {
        self.state()
    }

    fn finish(&mut self) -> Vec<std::convert::Infallible> {
        Vec::new()
    }

    fn final_state(&mut self, _: DateTime<Utc>) -> Value {
        self.state()
    }

    fn key_count(&self) -> usize {
        self.recent.len()
    }
}

impl LogCursorTracker {
    /// The newest `processed_at` emitted.
    pub fn newest(&self) -> Option<DateTime<Utc>> {
        self.newest
    }

    /// The API cursor to continue from.
    pub fn api_cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Where a read without a cursor starts, if anything was emitted before.
    pub fn restart_from(&self) -> Option<DateTime<Utc>> {
        self.boundary.before.or(self.newest).map(|t| t - LATE_MARGIN)
    }

    /// Every event processed before this was emitted: the oldest overlap id's time, else where
    /// the overlap was trimmed to, else the newest.
    fn overlap_start(&self) -> Option<DateTime<Utc>> {
        self.recent.front().map(|(t, _)| *t).or(self.overlap_from).or(self.newest)
    }

    /// The saved cursor was refused: from now on the log is read from [`Self::restart_from`],
    /// and what was emitted up to here is the boundary.
    pub fn cursor_rejected(&mut self) {
        self.cursor = None;
        self.restart();
    }

    fn restart(&mut self) {
        self.boundary = Boundary { before: self.overlap_start(), ids: self.recent.iter().map(|(_, id)| id.clone()).collect() };
    }

    /// True when the event was emitted before this (re)start: processed before the boundary,
    /// or one of its overlap's ids.
    pub fn is_repeat(&self, id: &str, processed_at: Option<DateTime<Utc>>) -> bool {
        let behind = match (processed_at, self.boundary.before) {
            (Some(at), Some(before)) => at < before,
            _ => false,
        };
        behind || self.boundary.ids.contains(id)
    }

    /// An event was emitted.
    pub fn emitted(&mut self, id: &str, processed_at: Option<DateTime<Utc>>) {
        let Some(at) = processed_at else { return };
        if self.newest.is_none_or(|n| at > n) {
            self.newest = Some(at);
        }
        let newest = self.newest.expect("set");
        self.recent.push_back((at, id.to_string()));
        // Kept in order: an event processed out of order sorts into place.
        let mut i = self.recent.len() - 1;
        while i > 0 && self.recent[i - 1].0 > self.recent[i].0 {
            self.recent.swap(i - 1, i);
            i -= 1;
        }
        while self.recent.front().is_some_and(|(t, _)| *t < newest - OVERLAP) || self.recent.len() > MAX_RECENT {
            let (t, _) = self.recent.pop_front().expect("non-empty");
            // Trimmed past a whole timestamp: everything before the next one was emitted.
            while self.recent.front().is_some_and(|(u, _)| *u == t) {
                self.recent.pop_front();
            }
            self.overlap_from = self.recent.front().map(|(u, _)| *u).or(Some(newest));
        }
    }

    /// A page was read: its `next` cursor, when it has one, is where to continue.
    pub fn page_read(&mut self, next: Option<&str>) {
        if let Some(next) = next.filter(|n| !n.is_empty()) {
            self.cursor = Some(next.to_string());
        }
    }

    /// The state: written after every page, and at the end.
    pub fn state(&self) -> Value {
        json!({
            "version": VERSION,
            "cursor": self.cursor,
            "newest_processed_at": self.newest.map(time::format),
            "overlap_from": self.overlap_start().map(time::format),
            "overlap_ids": self.recent.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_resumed_read_skips_what_it_emitted_and_nothing_else() {
        let mut a = LogCursorTracker::from_state(None, "audit_events").unwrap();
        assert!(!a.is_repeat("e1", Some(t("2026-11-01T00:00:00Z"))));
        for (id, at) in [("e1", "2026-11-01T00:00:00Z"), ("e2", "2026-11-01T00:10:00Z"), ("e3", "2026-11-01T00:12:00Z"), ("e4", "2026-11-01T00:12:00Z")] {
            a.emitted(id, Some(t(at)));
        }
        a.page_read(Some("c1"));
        a.page_read(None); // a null `next` keeps the last cursor
        let b = LogCursorTracker::from_state(Some(&a.state()), "audit_events").unwrap();
        assert_eq!(b.api_cursor(), Some("c1"));
        assert_eq!(b.newest(), Some(t("2026-11-01T00:12:00Z")));
        // e1 is older than the overlap; e2..e4 are in it by id; e5 at the same time is new.
        assert!(b.is_repeat("e1", Some(t("2026-11-01T00:00:00Z"))));
        assert!(b.is_repeat("e3", Some(t("2026-11-01T00:12:00Z"))));
        assert!(!b.is_repeat("e5", Some(t("2026-11-01T00:12:00Z"))));
        assert!(!b.is_repeat("e6", Some(t("2026-11-01T00:11:00Z"))), "processed inside the overlap, not emitted");
        assert_eq!(b.restart_from(), Some(t("2026-11-01T00:10:00Z") - LATE_MARGIN));
    }

    #[test]
    fn a_rejected_cursor_moves_the_boundary_to_what_this_sync_emitted() {
        let mut a = LogCursorTracker::from_state(None, "audit_events").unwrap();
        a.emitted("e1", Some(t("2026-11-01T00:00:00Z")));
        a.page_read(Some("c1"));
        a.cursor_rejected();
        assert_eq!(a.api_cursor(), None);
        assert!(a.is_repeat("e1", Some(t("2026-11-01T00:00:00Z"))));
        assert!(!a.is_repeat("e2", Some(t("2026-11-01T00:00:00Z"))));
    }

    #[test]
    fn the_overlap_is_bounded() {
        let mut a = LogCursorTracker::from_state(None, "audit_events").unwrap();
        let start = t("2026-11-01T00:00:00Z");
        for i in 0..(MAX_RECENT as i64 + 500) {
            a.emitted(&format!("e{i}"), Some(start + Duration::milliseconds(i)));
        }
        let state = a.state();
        assert!(state["overlap_ids"].as_array().unwrap().len() <= MAX_RECENT);
        let b = LogCursorTracker::from_state(Some(&state), "audit_events").unwrap();
        assert!(b.is_repeat("e3", Some(start + Duration::milliseconds(3))), "trimmed, but before the overlap");
        assert!(b.is_repeat(&format!("e{}", MAX_RECENT + 499), Some(start + Duration::milliseconds(MAX_RECENT as i64 + 499))));
    }

    #[test]
    fn unreadable_states_are_errors() {
        for bad in [json!({"version": 2}), json!({"version": 1, "newest_processed_at": "soon"}), json!({"version": 1, "surprise": 1}), json!([])] {
            assert!(LogCursorTracker::from_state(Some(&bad), "audit_events").is_err(), "{bad}");
        }
    }
}
