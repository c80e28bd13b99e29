//! Incremental bookkeeping: one tracker per incremental stream, each reading its saved state
//! and writing the next one ([`Tracker`]). The plan ([`crate::read::plan`]) loads them once; a
//! stream whose saved cursor lies in the future is not given a tracker at all (it emits
//! nothing and keeps its state), so trackers never check for that.
//!
//! The users search has no "changed since" filter and returns users in no cursor order, so:
//! Change detection is one generic tracker ([`changes::ChangeTracker`]) over a store of
//! fingerprints per stream:
//! - `users` is incremental by **change detection** ([`by_id::UsersTracker`]): a 31-bit
//!   fingerprint per account; new or changed users are emitted, users gone from the directory
//!   get a deletion record.
//! - `user_activity` is incremental by **change detection per (user, site) pair**
//!   ([`activity::ActivityTracker`]): a cursor on `last_active` cannot see records that appear
//!   with old timestamps (a user added, a site linked, activity reported late), so every pair
//!   is fingerprinted; new or changed pairs are emitted, vanished ones deleted.
//! - `license_assignments` is change detection per (site, role) search
//!   ([`licenses::LicenseTracker`]).
//! - `audit_events` is an append-only log read through the API's cursor, each event once
//!   ([`events::EventsTracker`]).
//!
//! A pass over the users search is one unit: cursors only advance when it completes. In
//! between, checkpoints keep the old cursor plus the resume position (`pass.next_page`) and what
//! this pass has already seen, so a restarted sync neither loses nor repeats records.

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

use crate::streams::StreamId;

pub use activity::ActivityTracker;
pub use events::EventsTracker;
pub use licenses::LicenseTracker;
pub use by_id::{GroupsTracker, UsersTracker};

/// A fingerprint of a record's content (written without `observed_at`), 31 bits: the top bit
/// of a stored value marks "seen in this pass".
pub fn record_fingerprint(record_json: &[u8]) -> u32 {
    let h = packed::fnv1a(&[record_json]);
    ((h ^ (h >> 32)) as u32) & !packed::SEEN_BIT
}

/// What the plan asks of every incremental stream's tracker.
pub trait Tracker: Sized {
    const STREAM: StreamId;
    /// Loads the tracker from the stream's saved state (`None`, or `{}`, is no state yet); an
    /// unusable state is an error naming the stream.
    fn from_state(state: Option<&Value>) -> Result<Self, String>;
    /// When the last complete pass began (a cursor in the future freezes the stream).
    fn cursor(&self) -> Option<DateTime<Utc>>;
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
