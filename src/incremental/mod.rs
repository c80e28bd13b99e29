//! Incremental bookkeeping for the two streams read from the users search.
//!
//! The users search has no "changed since" filter and returns users in no cursor order, so:
//! - `users` is incremental by **change detection**: a 31-bit fingerprint per account; new or
//!   changed users are emitted, users gone from the directory get a deletion record.
//! - `user_activity` is incremental on `last_active` with a **lookback window**: activity is
//!   reported up to a day late, so records down to `cursor - lookback` are considered, and the
//!   fingerprints of those already emitted are remembered so none is emitted twice.
//!
//! A pass over the users search is one unit: cursors only advance when it completes. In
//! between, checkpoints keep the old cursor plus the resume position (`pass.next_page`) and what
//! this pass has already seen, so a restarted sync neither loses nor repeats records.

pub mod packed;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time;
use packed::SEEN_BIT;

const STATE_VERSION: u32 = 1;

/// Where an interrupted pass stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PassPosition {
    /// The users-search cursor of the next page to fetch.
    pub next_page: String,
    /// When the pass began (RFC 3339).
    pub started_at: String,
}

/// What both trackers can say about the pass before it starts.
pub trait PassTracker {
    /// The saved cursor lies in the future: the stream emits nothing and keeps its state.
    fn is_frozen(&self) -> bool;
    /// Where the interrupted pass of the saved state stands, if it was interrupted.
    fn resume_position(&self) -> Option<&PassPosition>;
}

macro_rules! impl_pass_tracker {
    ($t:ty) => {
        impl PassTracker for $t {
            fn is_frozen(&self) -> bool {
                self.frozen.is_some()
            }
            fn resume_position(&self) -> Option<&PassPosition> {
                self.resume.as_ref()
            }
        }
    };
}
impl_pass_tracker!(UsersTracker);
impl_pass_tracker!(ActivityTracker);

// ---------------------------------------------------------------------------------------------
// users

#[derive(Debug, Serialize, Deserialize)]
struct UsersState {
    version: u32,
    /// When the last complete pass began: the `observed_at` of its records.
    #[serde(default)]
    cursor: Option<String>,
    /// Packed account id → fingerprint (and, mid-pass, the seen flag).
    accounts: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pass: Option<PassPosition>,
}

/// Change detection for `users`.
#[derive(Debug)]
pub struct UsersTracker {
    accounts: HashMap<String, u32>,
    cursor: Option<DateTime<Utc>>,
    resume: Option<PassPosition>,
    /// The saved cursor lies in the future: emit nothing and keep the state as it was.
    frozen: Option<Value>,
}

/// A fingerprint of the record's content (without `observed_at`), 31 bits.
pub fn user_fingerprint(record_json: &[u8]) -> u32 {
    let h = packed::fnv1a(&[record_json]);
    ((h ^ (h >> 32)) as u32) & !SEEN_BIT
}

impl UsersTracker {
    pub fn from_state(state: Option<&Value>, now: DateTime<Utc>) -> Result<Self, String> {
        let mut t = UsersTracker { accounts: HashMap::new(), cursor: None, resume: None, frozen: None };
        let Some(value) = state.filter(|v| !is_empty_object(v)) else { return Ok(t) };
        let s: UsersState = serde_json::from_value(value.clone()).map_err(|e| format!("unreadable users state: {e}"))?;
        if s.version != STATE_VERSION {
            return Err(format!("users state has version {}, this connector reads version {STATE_VERSION}", s.version));
        }
        t.cursor = parse_cursor(s.cursor.as_deref(), "users")?;
        t.accounts = packed::decode_accounts(&s.accounts).map_err(|e| format!("users state 'accounts' is corrupt: {e}"))?;
        t.resume = s.pass;
        if t.cursor.is_some_and(|c| c > now) {
            t.frozen = Some(value.clone());
        }
        Ok(t)
    }

    /// Records the user as seen in this pass; true when it is new or changed (emit it).
    pub fn observe(&mut self, account_id: &str, fingerprint: u32) -> bool {
        if self.frozen.is_some() {
            return false;
        }
        let value = fingerprint | SEEN_BIT;
        match self.accounts.get_mut(account_id) {
            Some(old) => {
                let changed = (*old & !SEEN_BIT) != fingerprint;
                *old = value;
                changed
            }
            None => {
                self.accounts.insert(account_id.to_string(), value);
                true
            }
        }
    }

    /// The state to save mid-pass: the old cursor, what this pass saw, and where to resume.
    pub fn checkpoint(&self, position: &PassPosition) -> Value {
        if let Some(frozen) = &self.frozen {
            return frozen.clone();
        }
        self.state(self.cursor, Some(position.clone()))
    }

    /// Ends the pass: accounts not seen are returned (deleted) and forgotten.
    pub fn finish(&mut self) -> Vec<String> {
        if self.frozen.is_some() {
            return Vec::new();
        }
        let mut deleted: Vec<String> =
            self.accounts.iter().filter(|(_, v)| **v & SEEN_BIT == 0).map(|(k, _)| k.clone()).collect();
        deleted.sort_unstable();
        self.accounts.retain(|_, v| *v & SEEN_BIT != 0);
        for v in self.accounts.values_mut() {
            *v &= !SEEN_BIT;
        }
        deleted
    }

    /// The state after a complete pass that began at `pass_started`.
    pub fn final_state(&self, pass_started: DateTime<Utc>) -> Value {
        if let Some(frozen) = &self.frozen {
            return frozen.clone();
        }
        self.state(Some(pass_started), None)
    }

    fn state(&self, cursor: Option<DateTime<Utc>>, pass: Option<PassPosition>) -> Value {
        serde_json::to_value(UsersState {
            version: STATE_VERSION,
            cursor: cursor.map(time::format),
            accounts: packed::encode_accounts(&self.accounts),
            pass,
        })
        .expect("a users state serializes")
    }
}

// ---------------------------------------------------------------------------------------------
// user_activity

#[derive(Debug, Serialize, Deserialize)]
struct ActivityState {
    version: u32,
    /// The latest `last_active` of the last complete pass.
    #[serde(default)]
    cursor: Option<String>,
    /// Fingerprints of the records with `last_active >= cursor - lookback` (all emitted).
    #[serde(default)]
    window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pass: Option<ActivityPass>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ActivityPass {
    #[serde(flatten)]
    position: PassPosition,
    #[serde(default)]
    max_last_active: Option<String>,
    /// (fingerprint, last_active seconds) of the records this pass has seen in its window.
    seen: String,
}

/// Cursor, lookback window and de-duplication for `user_activity`.
#[derive(Debug)]
pub struct ActivityTracker {
    cursor: Option<DateTime<Utc>>,
    lookback: Duration,
    start_date: Option<DateTime<Utc>>,
    /// Records older than this are not considered.
    lower_bound: Option<DateTime<Utc>>,
    previous_window: HashSet<u64>,
    /// What this pass has seen at or after the lower bound: fingerprint → last_active (s).
    pass_seen: HashMap<u64, i64>,
    max_seen: Option<DateTime<Utc>>,
    resume: Option<PassPosition>,
    frozen: Option<Value>,
}

pub fn activity_fingerprint(account_id: &str, product_id: &str, last_active: &str) -> u64 {
    packed::fnv1a(&[account_id.as_bytes(), product_id.as_bytes(), last_active.as_bytes()])
}

impl ActivityTracker {
    pub fn from_state(
        state: Option<&Value>,
        lookback: Duration,
        start_date: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        let mut t = ActivityTracker {
            cursor: None,
            lookback,
            start_date,
            lower_bound: start_date,
            previous_window: HashSet::new(),
            pass_seen: HashMap::new(),
            max_seen: None,
            resume: None,
            frozen: None,
        };
        let Some(value) = state.filter(|v| !is_empty_object(v)) else { return Ok(t) };
        let s: ActivityState =
            serde_json::from_value(value.clone()).map_err(|e| format!("unreadable user_activity state: {e}"))?;
        if s.version != STATE_VERSION {
            return Err(format!("user_activity state has version {}, this connector reads version {STATE_VERSION}", s.version));
        }
        t.cursor = parse_cursor(s.cursor.as_deref(), "user_activity")?;
        if let Some(c) = t.cursor {
            let from_cursor = c - lookback;
            t.lower_bound = Some(start_date.map_or(from_cursor, |s| s.max(from_cursor)));
        }
        if !s.window.is_empty() {
            t.previous_window = packed::decode_u64s(&s.window)
                .map_err(|e| format!("user_activity state 'window' is corrupt: {e}"))?
                .into_iter()
                .collect();
        }
        if let Some(pass) = s.pass {
            t.max_seen = parse_cursor(pass.max_last_active.as_deref(), "user_activity")?;
            t.pass_seen = packed::decode_pairs(&pass.seen)
                .map_err(|e| format!("user_activity state 'pass.seen' is corrupt: {e}"))?
                .into_iter()
                .collect();
            t.resume = Some(pass.position);
        }
        if t.cursor.is_some_and(|c| c > now) {
            t.frozen = Some(value.clone());
        }
        Ok(t)
    }

    /// Records one activity entry; true when it is new to the destination (emit it).
    /// `last_active_text` is the record's normalized timestamp.
    pub fn observe(&mut self, account_id: &str, product_id: &str, last_active: Option<DateTime<Utc>>, last_active_text: Option<&str>) -> bool {
        if self.frozen.is_some() {
            return false;
        }
        // Without a time an entry cannot be placed on the cursor: only full refresh emits it.
        let (Some(t), Some(text)) = (last_active, last_active_text) else { return false };
        if self.lower_bound.is_some_and(|lb| t < lb) {
            return false;
        }
        self.max_seen = self.max_seen.max(Some(t));
        let fp = activity_fingerprint(account_id, product_id, text);
        if self.pass_seen.insert(fp, t.timestamp()).is_some() {
            return false; // already seen in this pass (a repeated user or a resumed page)
        }
        !self.previous_window.contains(&fp)
    }

    /// Drops what can no longer fall in the final window: it ends at or after `max_seen - lookback`.
    fn prune(&mut self) {
        if let Some(max) = self.max_seen {
            let keep_from = (max - self.lookback).timestamp();
            self.pass_seen.retain(|_, t| *t >= keep_from);
        }
    }

    pub fn checkpoint(&mut self, position: &PassPosition) -> Value {
        if let Some(frozen) = &self.frozen {
            return frozen.clone();
        }
        self.prune();
        let mut seen: Vec<(u64, i64)> = self.pass_seen.iter().map(|(k, v)| (*k, *v)).collect();
        let mut window: Vec<u64> = self.previous_window.iter().copied().collect();
        serde_json::to_value(ActivityState {
            version: STATE_VERSION,
            cursor: self.cursor.map(time::format),
            window: packed::encode_u64s(&mut window),
            pass: Some(ActivityPass {
                position: position.clone(),
                max_last_active: self.max_seen.map(time::format),
                seen: packed::encode_pairs(&mut seen),
            }),
        })
        .expect("an activity state serializes")
    }

    /// The state after a complete pass: the cursor advances to the latest activity seen.
    pub fn final_state(&mut self) -> Value {
        if let Some(frozen) = &self.frozen {
            return frozen.clone();
        }
        let cursor = self.cursor.max(self.max_seen);
        let mut window: Vec<u64> = match cursor {
            Some(c) => {
                let from = (c - self.lookback).timestamp();
                let from = self.start_date.map_or(from, |s| s.timestamp().max(from));
                self.pass_seen.iter().filter(|(_, t)| **t >= from).map(|(k, _)| *k).collect()
            }
            None => Vec::new(),
        };
        serde_json::to_value(ActivityState {
            version: STATE_VERSION,
            cursor: cursor.map(time::format),
            window: packed::encode_u64s(&mut window),
            pass: None,
        })
        .expect("an activity state serializes")
    }
}

/// `{}` is what a full refresh leaves behind: no incremental state yet.
fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.is_empty())
}

fn parse_cursor(text: Option<&str>, stream: &str) -> Result<Option<DateTime<Utc>>, String> {
    match text {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("{stream} state has a cursor that is not an RFC 3339 time: '{}'", s.chars().take(64).collect::<String>())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn users_emit_new_and_changed_then_deletions() {
        let now = t("2026-11-28T00:00:00Z");
        let mut a = UsersTracker::from_state(None, now).unwrap();
        assert!(a.observe("u1", 1) && a.observe("u2", 2));
        assert!(a.finish().is_empty());
        let state = a.final_state(now);

        let mut b = UsersTracker::from_state(Some(&state), now).unwrap();
        assert!(!b.observe("u1", 1), "unchanged");
        assert!(b.observe("u3", 3), "new");
        assert_eq!(b.finish(), vec!["u2".to_string()], "u2 disappeared");
        let state = b.final_state(now);

        let mut c = UsersTracker::from_state(Some(&state), now).unwrap();
        assert!(c.observe("u1", 9), "changed");
        assert!(!c.observe("u3", 3));
    }

    #[test]
    fn users_resume_keeps_seen_marks() {
        let now = t("2026-11-28T00:00:00Z");
        let mut a = UsersTracker::from_state(None, now).unwrap();
        a.observe("u1", 1);
        a.observe("u2", 2);
        a.finish();
        let done = a.final_state(now);
        let mut b = UsersTracker::from_state(Some(&done), now).unwrap();
        b.observe("u1", 1);
        let pos = PassPosition { next_page: "c2".into(), started_at: time::format(now) };
        let mid = b.checkpoint(&pos);
        // killed here; restarted from `mid`: u2 comes on the next page, u1 is not seen again
        let mut c = UsersTracker::from_state(Some(&mid), now).unwrap();
        assert_eq!(c.resume_position(), Some(&pos));
        assert!(!c.observe("u2", 2));
        assert!(c.finish().is_empty(), "u1 was seen before the kill: not deleted");
    }

    #[test]
    fn future_cursor_freezes_the_stream() {
        let now = t("2026-11-28T00:00:00Z");
        let state = serde_json::json!({"version": 1, "cursor": "2099-01-01T00:00:00Z", "accounts": packed::encode_accounts(&HashMap::new())});
        let mut u = UsersTracker::from_state(Some(&state), now).unwrap();
        assert!(u.is_frozen() && !u.observe("u1", 1));
        assert!(u.finish().is_empty());
        assert_eq!(u.final_state(now), state);
        let astate = serde_json::json!({"version": 1, "cursor": "2099-01-01T00:00:00Z", "window": ""});
        let mut a = ActivityTracker::from_state(Some(&astate), Duration::days(2), None, now).unwrap();
        assert!(!a.observe("u", "p", Some(now), Some("x")));
        assert_eq!(a.final_state(), astate);
    }

    #[test]
    fn activity_lookback_catches_late_records_once() {
        let now = t("2026-11-28T12:00:00Z");
        let lb = Duration::days(2);
        let mut a = ActivityTracker::from_state(None, lb, None, now).unwrap();
        let obs = |a: &mut ActivityTracker, acct: &str, ts: &str| a.observe(acct, "p", Some(t(ts)), Some(ts));
        assert!(obs(&mut a, "u1", "2026-11-28T10:00:00Z"));
        assert!(obs(&mut a, "u2", "2026-01-01T00:00:00Z"), "first sync emits old activity too");
        let s1 = a.final_state();
        assert_eq!(s1["cursor"], "2026-11-28T10:00:00Z");

        let mut b = ActivityTracker::from_state(Some(&s1), lb, None, now).unwrap();
        assert!(!obs(&mut b, "u1", "2026-11-28T10:00:00Z"), "already emitted");
        assert!(!obs(&mut b, "u2", "2026-01-01T00:00:00Z"), "below the window");
        assert!(obs(&mut b, "u3", "2026-11-28T02:00:00Z"), "reported late, inside the window");
        let s2 = b.final_state();
        let mut c = ActivityTracker::from_state(Some(&s2), lb, None, now).unwrap();
        assert!(!obs(&mut c, "u1", "2026-11-28T10:00:00Z"));
        assert!(!obs(&mut c, "u3", "2026-11-28T02:00:00Z"), "the late record is remembered");
        assert!(obs(&mut c, "u1", "2026-11-28T11:00:00Z"), "newer activity of a known key");
    }

    #[test]
    fn start_date_bounds_the_first_sync() {
        let now = t("2026-11-28T12:00:00Z");
        let mut a = ActivityTracker::from_state(None, Duration::days(2), Some(t("2026-06-01T00:00:00Z")), now).unwrap();
        assert!(!a.observe("u", "p", Some(t("2026-05-01T00:00:00Z")), Some("a")));
        assert!(a.observe("u", "q", Some(t("2026-07-01T00:00:00Z")), Some("b")));
    }

    #[test]
    fn unreadable_states_are_errors() {
        let now = Utc::now();
        for bad in [serde_json::json!({"version": 2, "accounts": ""}), serde_json::json!({"version": 1, "accounts": "%%"}), serde_json::json!({"version": 1, "cursor": "soon", "accounts": ""}), serde_json::json!([1])] {
            assert!(UsersTracker::from_state(Some(&bad), now).is_err(), "{bad}");
        }
        assert!(ActivityTracker::from_state(Some(&serde_json::json!({"version": 1, "window": "abc"})), Duration::days(2), None, now).is_err());
    }
}
