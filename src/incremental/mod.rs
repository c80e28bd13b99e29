//! Incremental bookkeeping: a tracker per incremental stream reads its saved state, judges
//! each record of a pass, and writes the checkpoints and the final state ([`Tracker`], one
//! contract for every kind). The plan ([`crate::read::plan`]) loads them once; a stream whose
//! last pass began in the future (a clock set back) is not given a tracker at all (it emits
//! nothing and keeps its state), so trackers never check for that. The kinds:
//! - **change detection by key** ([`changes::ChangeTracker`] over a store of fingerprints:
//!   [`by_id::ById`] per id, [`activity::PairFingerprints`] per (account, product) pair): a
//!   list with no "changed since" filter, read whole each pass; new or changed records are
//!   emitted, a key not seen gets a deletion record;
//! - **partitioned change detection** ([`licenses::PartitionTracker`]): one search per
//!   partition (a site and a role), each a unit whose set of keys replaces the saved one;
//! - **an API log cursor** ([`events::LogCursorTracker`]): an append-only log read through the
//!   API's own cursor, each entry once; never frozen by a clock (its times are the API's).
//!
//! A pass is one unit: cursors only advance when it completes. In between, checkpoints keep the
//! old cursor plus where the pass stands and what it has already seen, so a restarted sync
//! neither loses nor repeats records.

pub mod account_key;
pub mod activity;
pub mod by_id;
pub mod changes;
pub mod events;
pub mod licenses;
pub mod packed;
pub mod sorted_store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use events::LogCursorTracker;
pub use licenses::PartitionTracker;

/// A fingerprint of a record's content (written without `observed_at`), 31 bits: the top bit
/// of a stored value marks "seen in this pass".
pub fn record_fingerprint(record_json: &[u8]) -> u32 {
    let h = packed::fnv1a(&[record_json]);
    ((h ^ (h >> 32)) as u32) & !packed::SEEN_BIT
}

/// What the read asks of every incremental stream's tracker, whatever its kind.
pub trait Tracker: Sized {
    /// What a record is judged by.
    type Key<'k>;
    /// A key gone at the end of a pass: its deletion record's.
    type Gone;
    /// Where a pass stands, as a checkpoint saves it.
    type Position: Clone;

    /// Loads the tracker from `stream`'s saved state (`None`, or `{}`, is no state yet); an
    /// unusable state is an error naming the stream.
    fn from_state(state: Option<&Value>, stream: &str) -> Result<Self, String>;
    /// When the last complete pass began, by this machine's clock: one in the future freezes
    /// the stream. `None` for a log read by the API's cursor, which no clock freezes.
    fn pass_started(&self) -> Option<DateTime<Utc>>;
    /// Where the interrupted pass of the saved state stands, if it was interrupted.
    fn resume(&self) -> Option<Self::Position>;
    /// Takes a record into the pass: true when it is to be emitted (new, changed, or not
    /// emitted before).
    fn observe(&mut self, key: Self::Key<'_>, fingerprint: u32) -> bool;
    /// The state to save mid-pass, at `position`.
    fn checkpoint(&mut self, position: &Self::Position) -> Value;
    /// Ends the pass: the keys gone (sorted), forgotten.
    fn finish(&mut self) -> Vec<Self::Gone>;
    /// The state after a complete pass that began at `started`.
    fn final_state(&mut self, started: DateTime<Utc>) -> Value;
    /// How many keys the state holds (what its size grows with).
    fn key_count(&self) -> usize;
}

/// The state version of `users` and `license_assignments`.
const STATE_VERSION: u32 = 1;

/// Where an interrupted pass stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PassPosition {
    /// The users-search cursor of the next page to fetch.
    pub next_page: String,
    /// When the pass began (RFC 3339).
    pub started_at: String,
}

impl PassPosition {
    /// As a state writes it, built from its strings (it cannot fail to serialize).
    pub fn to_value(&self) -> Value {
        serde_json::json!({"next_page": self.next_page, "started_at": self.started_at})
    }
}

/// A saved state: `None`, or `{}` (what a full refresh leaves behind), is no state yet.
fn saved(state: Option<&Value>) -> Option<&Value> {
    state.filter(|v| !v.as_object().is_some_and(|o| o.is_empty()))
}

/// A saved state's fields as `S`, after checking it is a JSON object of state version `expected`.
fn decode_state<S: serde::de::DeserializeOwned>(value: &Value, stream: &str, expected: u32, version: impl Fn(&S) -> u32) -> Result<S, String> {
    if !value.is_object() {
        return Err(format!("unreadable {stream} state: not a JSON object"));
    }
    let s: S = S::deserialize(value).map_err(|e| format!("unreadable {stream} state: {e}"))?;
    match version(&s) {
        v if v == expected => Ok(s),
        v => Err(format!("{stream} state has version {v}, this connector reads version {expected}")),
    }
}

/// A time a state holds (a cursor, when a pass began), which must be RFC 3339.
fn parse_time(text: Option<&str>, stream: &str) -> Result<Option<DateTime<Utc>>, String> {
    match text {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("{stream} state has a time that is not RFC 3339: '{}'", s.chars().take(64).collect::<String>())),
    }
}
