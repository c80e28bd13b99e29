//! Partitioned change detection: one search per partition (`license_assignments`: a site and a billable role).
//!
//! Seats are read with one paged, filtered users search per site and billable role
//! (`resourceIds: [site]`, `roleIds: [role]`). Incremental sync is **change detection**, like
//! `users`: the state keeps, per (site, role) search, the set of account ids that held the seat
//! (packed with [`packed::encode_ids`], 12–16 bytes an id before base64). A sync emits the seats
//! that are new and a deletion record (`_ab_cdc_deleted_at`) for each seat that is gone.
//!
//! A search is one unit: when it completes, its new set replaces the old one in the state and
//! the search is marked `done`; a STATE may follow any search (after each one while the state
//! is small, see `read::cadence`), so a sync killed at any point resumes with the searches not
//! done at its last checkpoint, and nothing checkpointed is emitted again. The sets are kept
//! packed, as the state writes them: only the search being completed is decoded.
//! Seats of a (site, role) no longer searched at the end of a sync (the site was removed, went
//! offline or became a sandbox) are deleted too.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::account_key::AccountKey;
use super::packed;
use super::{decode_state, parse_time, saved, Tracker, STATE_VERSION};
use crate::time;

#[derive(Debug, Deserialize)]
struct LicensesState {
    version: u32,
    /// When the last complete sync began: the `observed_at` of its records.
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    searches: Vec<SearchState>,
    /// Set while a sync is in progress: when it began.
    #[serde(default)]
    pass: Option<PassState>,
}

#[derive(Debug, Deserialize)]
struct SearchState {
    workspace_id: String,
    role: String,
    /// The account ids holding `role` on the site, packed ([`packed::encode_ids`]).
    accounts: String,
    /// This search already completed in the interrupted sync.
    #[serde(default)]
    done: bool,
}

#[derive(Debug, Deserialize)]
struct PassState {
    started_at: String,
}

type SearchKey = (String, String);

/// The accounts of one search as the state writes them (packed), and how many.
#[derive(Debug, Default)]
struct Holders {
    packed: String,
    count: usize,
}

impl Holders {
    fn decode(&self) -> Vec<AccountKey> {
        let mut ids = packed::decode_ids(&self.packed).expect("checked when loaded, or written here");
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Change detection per partition (a site and a role: `license_assignments`).
#[derive(Debug, Default)]
pub struct PartitionTracker {
    cursor: Option<DateTime<Utc>>,
    /// (site, role) → the accounts holding it: as of the last state, replaced as searches
    /// complete. Kept packed: only the search being completed is decoded.
    sets: BTreeMap<SearchKey, Holders>,
    /// The searches completed in this sync (or in the interrupted one it resumes).
    done: BTreeSet<SearchKey>,
    /// When the interrupted sync began, if this one resumes it.
    resumed_from: Option<DateTime<Utc>>,
}

/// What one search changed.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl Tracker for PartitionTracker {
    /// Partitions are judged whole ([`PartitionTracker::complete_search`]).
    type Key<'k> = ();
    /// (workspace id, role, account id)
    type Gone = (String, String, String);
    /// When the pass began: which searches are done, the tracker holds.
    type Position = DateTime<Utc>;

    fn from_state(state: Option<&Value>, stream: &str) -> Result<Self, String> {
        let mut t = PartitionTracker::default();
        let Some(value) = saved(state) else { return Ok(t) };
        let s: LicensesState = decode_state(value, stream, STATE_VERSION, |s: &LicensesState| s.version)?;
        t.cursor = parse_time(s.cursor.as_deref(), stream)?;
        for search in s.searches {
            let ids = packed::decode_ids(&search.accounts).map_err(|e| {
                format!("{stream} state: the accounts of {} / {} are corrupt: {e}", search.workspace_id, search.role)
            })?;
            let key = (search.workspace_id, search.role);
            if search.done && s.pass.is_some() {
                t.done.insert(key.clone());
            }
            t.sets.insert(key, Holders { packed: search.accounts, count: ids.len() });
        }
        if let Some(pass) = s.pass {
            t.resumed_from = parse_time(Some(&pass.started_at), stream)?;
        }
        Ok(t)
    }

    /// When the last complete sync began.
    fn pass_started(&self) -> Option<DateTime<Utc>> {
        self.cursor
    }

    /// When the interrupted sync this one resumes began.
    fn resume(&self) -> Option<DateTime<Utc>> {
        self.resumed_from
    }

    fn observe(&mut self, _: (), _: u32) -> bool {
        true
    }

    /// The state to save after a search: the old cursor, every set, which searches are done.
    fn checkpoint(&mut self, started_at: &DateTime<Utc>) -> Value {
        self.state(self.cursor, Some(*started_at))
    }

    /// Ends the sync: the seats of every (site, role) not searched in it are gone. Returns
    /// them as (workspace id, role, account id), sorted, and forgets them.
    fn finish(&mut self) -> Vec<(String, String, String)> {
        let stale: Vec<SearchKey> = self.sets.keys().filter(|k| !self.done.contains(*k)).cloned().collect();
        let mut gone = Vec::new();
        for key in stale {
            if let Some(holders) = self.sets.remove(&key) {
                let mut ids: Vec<String> = holders.decode().iter().map(ToString::to_string).collect();
                ids.sort_unstable();
                gone.extend(ids.into_iter().map(|a| (key.0.clone(), key.1.clone(), a)));
            }
        }
        self.done.clear();
        gone
    }

    /// The state after a complete sync that began at `started_at`.
    fn final_state(&mut self, started_at: DateTime<Utc>) -> Value {
        self.state(Some(started_at), None)
    }

    /// The seats the state holds (what its size grows with).
    fn key_count(&self) -> usize {
        self.sets.values().map(|h| h.count).sum()
    }
}

impl PartitionTracker {
    /// True when this search completed before the interruption: it is not run again.
    pub fn is_done(&self, workspace_id: &str, role: &str) -> bool {
        self.done.contains(&(workspace_id.to_string(), role.to_string()))
    }

    /// Ends one search: its accounts replace the saved ones; returns the seats new since the
    /// last sync and the seats gone (sorted).
    pub fn complete_search(&mut self, workspace_id: &str, role: &str, found: HashSet<AccountKey>) -> Changes {
        let key = (workspace_id.to_string(), role.to_string());
        let old = self.sets.remove(&key).map(|h| h.decode()).unwrap_or_default();
        let mut found: Vec<AccountKey> = found.into_iter().collect();
        found.sort_unstable();
        let mut changes = Changes::default();
        let (mut i, mut j) = (0, 0);
        loop {
            match (old.get(i), found.get(j)) {
                (Some(x), Some(y)) if x == y => (i, j) = (i + 1, j + 1),
                (Some(x), y) if y.is_none_or(|y| x < y) => {
                    changes.removed.push(x.to_string());
                    i += 1;
                }
                (_, Some(y)) => {
                    changes.added.push(y.to_string());
                    j += 1;
                }
                (_, None) => break,
            }
        }
        changes.added.sort_unstable();
        changes.removed.sort_unstable();
        self.sets.insert(key.clone(), Holders { packed: packed::encode_ids(&found), count: found.len() });
        self.done.insert(key);
        changes
    }

    /// Built field by field from strings, so it cannot fail to serialize (the shape of
    /// [`LicensesState`], which reads it).
    fn state(&self, cursor: Option<DateTime<Utc>>, pass: Option<DateTime<Utc>>) -> Value {
        let searches: Vec<Value> = self
            .sets
            .iter()
            .map(|(key, holders)| {
                let mut search = json!({
                    "workspace_id": key.0,
                    "role": key.1,
                    "accounts": holders.packed,
                });
                if pass.is_some() && self.done.contains(key) {
                    search["done"] = true.into();
                }
                search
            })
            .collect();
        let mut state = json!({"version": STATE_VERSION, "cursor": cursor.map(time::format), "searches": searches});
        if let Some(p) = pass {
            state["pass"] = json!({"started_at": time::format(p)});
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn set(ids: &[&str]) -> HashSet<AccountKey> {
        ids.iter().map(|s| AccountKey::new(s)).collect()
    }

    #[test]
    fn new_seats_then_changes_then_removed_sites() {
        let now = t("2026-11-28T00:00:00Z");
        let mut a = PartitionTracker::from_state(None, "license_assignments").unwrap();
        let c = a.complete_search("s1", "atlassian/user", set(&["u1", "u2"]));
        assert_eq!(c.added, ["u1", "u2"]);
        a.complete_search("s2", "atlassian/admin", set(&["u9"]));
        assert!(a.finish().is_empty());
        let state = a.final_state(now);

        let mut b = PartitionTracker::from_state(Some(&state), "license_assignments").unwrap();
        let c = b.complete_search("s1", "atlassian/user", set(&["u1", "u3"]));
        assert_eq!(c, Changes { added: vec!["u3".into()], removed: vec!["u2".into()] });
        // s2 was not searched this time (gone or offline): its seats are deleted.
        assert_eq!(b.finish(), vec![("s2".to_string(), "atlassian/admin".to_string(), "u9".to_string())]);
        let state = b.final_state(now);
        let mut c = PartitionTracker::from_state(Some(&state), "license_assignments").unwrap();
        assert_eq!(c.complete_search("s1", "atlassian/user", set(&["u1", "u3"])), Changes::default());
        assert!(c.finish().is_empty());
    }

    #[test]
    fn a_checkpoint_resumes_after_the_done_searches() {
        let now = t("2026-11-28T00:00:00Z");
        let mut a = PartitionTracker::from_state(None, "license_assignments").unwrap();
        a.complete_search("s1", "atlassian/user", set(&["u1"]));
        a.complete_search("s2", "atlassian/user", set(&["u2"]));
        a.finish();
        let done = a.final_state(now);
        let mut b = PartitionTracker::from_state(Some(&done), "license_assignments").unwrap();
        assert!(!b.is_done("s1", "atlassian/user"), "a complete state has no done searches");
        b.complete_search("s1", "atlassian/user", set(&["u1", "u5"]));
        let started = t("2026-11-28T01:00:00Z");
        let mid = b.checkpoint(&started);
        // killed here: the resumed sync skips s1, searches s2, and deletes nothing it should keep
        let mut c = PartitionTracker::from_state(Some(&mid), "license_assignments").unwrap();
        assert_eq!(c.resume(), Some(started));
        assert!(c.is_done("s1", "atlassian/user") && !c.is_done("s2", "atlassian/user"));
        assert_eq!(c.complete_search("s2", "atlassian/user", set(&["u2"])), Changes::default());
        assert!(c.finish().is_empty(), "s1 was done before the kill: its seats stay");
        let end = c.final_state(started);
        let d = PartitionTracker::from_state(Some(&end), "license_assignments").unwrap();
        let mut want: Vec<AccountKey> = set(&["u1", "u5"]).into_iter().collect();
        want.sort();
        assert_eq!(d.sets[&("s1".to_string(), "atlassian/user".to_string())].decode(), want);
        assert!(end.get("pass").is_none());
    }

    #[test]
    fn bad_states_are_errors() {
        let future = serde_json::json!({"version": 1, "cursor": "2099-01-01T00:00:00Z"});
        assert_eq!(PartitionTracker::from_state(Some(&future), "license_assignments").unwrap().pass_started(), Some(t("2099-01-01T00:00:00Z")), "the plan judges it");
        let bad = [
            serde_json::json!({"version": 2}),
            serde_json::json!({"version": 1, "cursor": "soon"}),
            serde_json::json!({"version": 1, "searches": [{"workspace_id": "s", "role": "r", "accounts": "%%"}]}),
            serde_json::json!({"version": 1, "searches": "x"}),
            serde_json::json!([1]),
        ];
        for b in bad {
            assert!(PartitionTracker::from_state(Some(&b), "license_assignments").is_err(), "{b}");
        }
        assert!(PartitionTracker::from_state(Some(&serde_json::json!({})), "license_assignments").unwrap().sets.is_empty());
    }
}
