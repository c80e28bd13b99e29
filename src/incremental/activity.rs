//! `user_activity`: a cursor on `last_active` with a lookback window. Records down to
//! `cursor - lookback` are considered (activity is reported up to a day late); the
//! fingerprints of those already emitted are remembered, so none is emitted twice.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::packed;
use super::{decode_state, parse_time, saved, PassPosition, STATE_VERSION};
use crate::time;

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
}

pub fn activity_fingerprint(account_id: &str, product_id: &str, last_active: &str) -> u64 {
    packed::fnv1a(&[account_id.as_bytes(), product_id.as_bytes(), last_active.as_bytes()])
}

impl ActivityTracker {
    pub fn from_state(state: Option<&Value>, lookback: Duration, start_date: Option<DateTime<Utc>>) -> Result<Self, String> {
        let mut t = ActivityTracker {
            cursor: None,
            lookback,
            start_date,
            lower_bound: start_date,
            previous_window: HashSet::new(),
            pass_seen: HashMap::new(),
            max_seen: None,
            resume: None,
        };
        let Some(value) = saved(state) else { return Ok(t) };
        let s: ActivityState = decode_state(value, "user_activity", |s: &ActivityState| s.version)?;
        t.cursor = parse_time(s.cursor.as_deref(), "user_activity")?;
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
            t.max_seen = parse_time(pass.max_last_active.as_deref(), "user_activity")?;
            t.pass_seen = packed::decode_pairs(&pass.seen)
                .map_err(|e| format!("user_activity state 'pass.seen' is corrupt: {e}"))?
                .into_iter()
                .collect();
            t.resume = Some(pass.position);
        }
        Ok(t)
    }

    /// The latest `last_active` of the last complete pass.
    pub fn cursor(&self) -> Option<DateTime<Utc>> {
        self.cursor
    }

    /// Where the interrupted pass of the saved state stands, if it was interrupted.
    pub fn resume_position(&self) -> Option<&PassPosition> {
        self.resume.as_ref()
    }

    /// Records one activity entry; true when it is new to the destination (emit it).
    /// `last_active` is the record's time and its normalized text.
    pub fn observe(&mut self, account_id: &str, product_id: &str, last_active: Option<(DateTime<Utc>, &str)>) -> bool {
        // Without a time an entry cannot be placed on the cursor: only full refresh emits it.
        let Some((t, text)) = last_active else { return false };
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

    /// Forgets what can no longer fall in the final window: it ends at or after
    /// `max_seen - lookback`. Keeps memory and checkpoints small; called before each one.
    pub fn prune(&mut self) {
        if let Some(max) = self.max_seen {
            let keep_from = (max - self.lookback).timestamp();
            self.pass_seen.retain(|_, t| *t >= keep_from);
        }
    }

    /// The state to save mid-pass: the old cursor and window, what this pass saw, where to resume.
    pub fn checkpoint(&self, position: &PassPosition) -> Value {
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
    pub fn final_state(&self) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn activity_lookback_catches_late_records_once() {
        let lb = Duration::days(2);
        let mut a = ActivityTracker::from_state(None, lb, None).unwrap();
        let obs = |a: &mut ActivityTracker, acct: &str, ts: &str| a.observe(acct, "p", Some((t(ts), ts)));
        assert!(obs(&mut a, "u1", "2026-11-28T10:00:00Z"));
        assert!(obs(&mut a, "u2", "2026-01-01T00:00:00Z"), "first sync emits old activity too");
        let s1 = a.final_state();
        assert_eq!(s1["cursor"], "2026-11-28T10:00:00Z");

        let mut b = ActivityTracker::from_state(Some(&s1), lb, None).unwrap();
        assert!(!obs(&mut b, "u1", "2026-11-28T10:00:00Z"), "already emitted");
        assert!(!obs(&mut b, "u2", "2026-01-01T00:00:00Z"), "below the window");
        assert!(obs(&mut b, "u3", "2026-11-28T02:00:00Z"), "reported late, inside the window");
        let s2 = b.final_state();
        let mut c = ActivityTracker::from_state(Some(&s2), lb, None).unwrap();
        assert!(!obs(&mut c, "u1", "2026-11-28T10:00:00Z"));
        assert!(!obs(&mut c, "u3", "2026-11-28T02:00:00Z"), "the late record is remembered");
        assert!(obs(&mut c, "u1", "2026-11-28T11:00:00Z"), "newer activity of a known key");
    }

    #[test]
    fn start_date_bounds_the_first_sync() {
        let mut a = ActivityTracker::from_state(None, Duration::days(2), Some(t("2026-06-01T00:00:00Z"))).unwrap();
        assert!(!a.observe("u", "p", Some((t("2026-05-01T00:00:00Z"), "a"))));
        assert!(a.observe("u", "q", Some((t("2026-07-01T00:00:00Z"), "b"))));
    }

    #[test]
    fn unreadable_states_are_errors() {
        let lb = Duration::days(2);
        for bad in [serde_json::json!({"version": 1, "window": "abc"}), serde_json::json!({"version": 3}), serde_json::json!([])] {
            assert!(ActivityTracker::from_state(Some(&bad), lb, None).is_err(), "{bad}");
        }
    }
}
