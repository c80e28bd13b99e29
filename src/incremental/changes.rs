//! Change detection, once for every stream that has it: a [`ChangeTracker`] keeps a store of
//! fingerprints ([`Fingerprints`]: per id, or per (account, product) pair), the time the last
//! complete pass began (`cursor`) and, mid-pass, where the pass stands. A pass observes each
//! record's fingerprint (emit it when new or changed), and finishing it gives the keys not
//! seen (deletion records).
//!
//! The state is `{version, cursor, <the store's field>, pass}`, the shape every such stream has
//! always written, so saved states keep loading.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{decode_state, parse_time, saved, PassPosition, Tracker};
use crate::time;

/// What a change-detection stream keeps per key: the fingerprint of its last record and,
/// mid-pass, whether this pass saw it.
pub trait Fingerprints: Default {
    /// The state version this store is written in.
    const VERSION: u32;
    /// An older version read as no state at all: the stream starts afresh (and says so).
    const STARTS_AFRESH: Option<u32> = None;
    /// The state field that holds the packed store.
    const FIELD: &'static str;
    /// What a record is keyed by.
    type Key<'k>;
    /// A key not seen in a pass, for its deletion record.
    type Gone;

    fn decode(packed: &str) -> Result<Self, String>;
    /// Merges what the store holds into key order, and writes it packed.
    fn encode(&mut self) -> String;
    /// Marks the key seen with this fingerprint; true when it is new or changed.
    fn observe(&mut self, key: Self::Key<'_>, fingerprint: u32) -> bool;
    /// A pass that saw part of the directory (only the managed accounts) keeps what it may
    /// merely not have seen.
    fn keep_invisible(&mut self);
    /// How many keys the store holds (what its state's size grows with).
    fn key_count(&self) -> usize;
    /// Ends the pass: the keys not seen, sorted, forgotten; the others unmarked.
    fn finish(&mut self) -> Vec<Self::Gone>;
}

/// The state as saved; the store's own field is among `rest`.
#[derive(Debug, Deserialize)]
struct SavedState {
    version: u32,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    pass: Option<PassPosition>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Change detection for one stream.
#[derive(Debug, Default)]
pub struct ChangeTracker<S> {
    store: S,
    cursor: Option<DateTime<Utc>>,
    resume: Option<PassPosition>,
    started_afresh: bool,
}

impl<S: Fingerprints> Tracker for ChangeTracker<S> {
    type Key<'k> = S::Key<'k>;
    type Gone = S::Gone;
    type Position = PassPosition;

    fn from_state(state: Option<&Value>, stream: &str) -> Result<Self, String> {
        let Some(value) = saved(state) else { return Ok(Self::default()) };
        if S::STARTS_AFRESH.is_some() && value.get("version").and_then(Value::as_u64) == S::STARTS_AFRESH.map(u64::from) {
            return Ok(ChangeTracker { started_afresh: true, ..Self::default() });
        }
        let s: SavedState = decode_state(value, stream, S::VERSION, |s: &SavedState| s.version)?;
        let packed = match s.rest.get(S::FIELD) {
            Some(Value::String(text)) => text,
            Some(other) => return Err(format!("unreadable {stream} state: '{}' is {other:.20}, not a string", S::FIELD)),
            None => return Err(format!("unreadable {stream} state: missing field `{}`", S::FIELD)),
        };
        Ok(ChangeTracker {
            store: S::decode(packed).map_err(|e| format!("{stream} state '{}' is corrupt: {e}", S::FIELD))?,
            cursor: parse_time(s.cursor.as_deref(), stream)?,
            resume: s.pass,
            started_afresh: false,
        })
    }

    fn pass_started(&self) -> Option<DateTime<Utc>> {
        self.cursor
    }

    fn resume(&self) -> Option<PassPosition> {
        self.resume.clone()
    }

    fn observe(&mut self, key: S::Key<'_>, fingerprint: u32) -> bool {
        self.store.observe(key, fingerprint)
    }

    fn checkpoint(&mut self, position: &PassPosition) -> Value {
        self.state(self.cursor, Some(position))
    }

    fn finish(&mut self) -> Vec<S::Gone> {
        self.store.finish()
    }

    fn final_state(&mut self, pass_started: DateTime<Utc>) -> Value {
        self.state(Some(pass_started), None)
    }

    fn key_count(&self) -> usize {
        self.store.key_count()
    }
}

impl<S: Fingerprints> ChangeTracker<S> {

    /// The saved state was of the older version this stream reads as none
    /// ([`Fingerprints::STARTS_AFRESH`]).
    pub fn started_afresh(&self) -> bool {
        self.started_afresh
    }

    /// See [`Fingerprints::keep_invisible`].
    pub fn keep_invisible(&mut self) {
        self.store.keep_invisible();
    }

    #[cfg(test)]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Built field by field from strings, so it cannot fail to serialize.
    fn state(&mut self, cursor: Option<DateTime<Utc>>, pass: Option<&PassPosition>) -> Value {
        let mut state = Map::new();
        state.insert("version".into(), S::VERSION.into());
        state.insert("cursor".into(), cursor.map(time::format).into());
        state.insert(S::FIELD.into(), self.store.encode().into());
        if let Some(p) = pass {
            state.insert("pass".into(), p.to_value());
        }
        Value::Object(state)
    }
}
