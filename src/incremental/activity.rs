//! Change detection per (account, product) pair (`user_activity`). The state keeps, for each account,
//! a 31-bit fingerprint of each of its activity records, keyed by product (the product ids are
//! listed once and numbered). A pass emits the pairs that are new or changed — whatever their
//! `last_active`, so a user added with old activity, a site linked with months of it, or
//! activity reported late all come through — and a deletion record for each pair it did not
//! see: a user removed or suspended, access revoked on a site, a site unlinked.

use std::collections::HashMap;

use super::account_key::AccountKey;
use super::changes::{ChangeTracker, Fingerprints};
use super::packed::{self, SEEN_BIT};
use super::sorted_store::SortedStore;

/// Change detection per (account, product) pair.
pub type PairTracker = ChangeTracker<PairFingerprints>;

/// Per (account, product number) pair, the fingerprint + the seen flag mid-pass; the product
/// ids are numbered in the order first seen.
#[derive(Debug, Default)]
pub struct PairFingerprints {
    products: Vec<String>,
    product_numbers: HashMap<String, u32>,
    pairs: SortedStore<(AccountKey, u32), u32>,
}

impl PairFingerprints {
    /// How many pairs the store holds.
    #[cfg(test)]
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }
}

impl Fingerprints for PairFingerprints {
    /// Version 1 (a cursor on `last_active` and a lookback window) is read as no state at all:
    /// the first sync after the upgrade emits every pair once more.
    const VERSION: u32 = 2;
    const STARTS_AFRESH: Option<u32> = Some(1);
    const FIELD: &'static str = "pairs";
    /// (account id, product id)
    type Key<'k> = (&'k str, &'k str);
    /// (account id, product id)
    type Gone = (String, String);

    fn decode(packed: &str) -> Result<Self, String> {
        let (products, pairs) = packed::decode_pairs(packed).map_err(|e| e.to_string())?;
        Ok(PairFingerprints {
            product_numbers: products.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect(),
            products,
            pairs: SortedStore::from_entries(pairs),
        })
    }

    fn encode(&mut self) -> String {
        packed::encode_pairs(&self.products, self.pairs.entries())
    }

    fn observe(&mut self, (account_id, product_id): (&str, &str), fingerprint: u32) -> bool {
        let product = match self.product_numbers.get(product_id) {
            Some(n) => *n,
            None => {
                let n = self.products.len() as u32;
                self.products.push(product_id.to_string());
                self.product_numbers.insert(product_id.to_string(), n);
                n
            }
        };
        let fingerprint = fingerprint & !SEEN_BIT;
        let key = (AccountKey::new(account_id), product);
        match self.pairs.get_mut(&key) {
            Some(value) => {
                let changed = *value & !SEEN_BIT != fingerprint;
                *value = fingerprint | SEEN_BIT;
                changed
            }
            None => {
                self.pairs.insert_new(key, fingerprint | SEEN_BIT);
                true
            }
        }
    }

    /// Keeps the pairs of accounts this pass did not see at all: with only the managed accounts
    /// visible, such an account may merely be invisible (an unmanaged user), not gone. An
    /// account with one pair seen was visible, so its other unseen pairs are gone.
    fn keep_invisible(&mut self) {
        for account in self.pairs.entries().chunk_by_mut(|a, b| a.0 .0 == b.0 .0) {
            if account.iter().all(|(_, value)| value & SEEN_BIT == 0) {
                for (_, value) in account.iter_mut() {
                    *value |= SEEN_BIT;
                }
            }
        }
    }

    fn key_count(&self) -> usize {
        self.pairs.len()
    }

    fn finish(&mut self) -> Vec<(String, String)> {
        let pairs = self.pairs.entries();
        let mut gone: Vec<(String, String)> = pairs
            .iter()
            .filter(|(_, value)| value & SEEN_BIT == 0)
            .map(|((account, product), _)| (account.to_string(), self.products[*product as usize].clone()))
            .collect();
        pairs.retain(|(_, value)| value & SEEN_BIT != 0);
        for (_, value) in pairs.iter_mut() {
            *value &= !SEEN_BIT;
        }
        gone.sort_unstable();
        gone
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::incremental::{PassPosition, Tracker};
    use crate::time;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn with_only_managed_accounts_visible_an_unseen_account_keeps_its_pairs() {
        let mut a = PairTracker::from_state(None, "user_activity").unwrap();
        a.observe(("managed", "jira"), 1);
        a.observe(("managed", "conf"), 2);
        a.observe(("unmanaged", "jira"), 3);
        a.finish();
        let s = a.final_state(t("2026-11-28T00:00:00Z"));
        let mut b = PairTracker::from_state(Some(&s), "user_activity").unwrap();
        assert!(!b.observe(("managed", "jira"), 1));
        b.keep_invisible();
        // The managed account was visible: its vanished pair is gone; the unmanaged one is kept.
        assert_eq!(b.finish(), vec![("managed".to_string(), "conf".to_string())]);
        assert_eq!(b.store().pairs(), 2);
    }

    #[test]
    fn new_and_changed_pairs_are_emitted_and_vanished_ones_deleted() {
        let now = t("2026-11-28T00:00:00Z");
        let mut a = PairTracker::from_state(None, "user_activity").unwrap();
        assert!(a.observe(("u1", "jira"), 1) && a.observe(("u1", "conf"), 2) && a.observe(("u2", "jira"), 3));
        assert!(a.finish().is_empty());
        let s1 = a.final_state(now);

        let mut b = PairTracker::from_state(Some(&s1), "user_activity").unwrap();
        assert_eq!(b.store().pairs(), 3);
        assert!(!b.observe(("u1", "jira"), 1), "unchanged");
        assert!(b.observe(("u1", "conf"), 9), "changed (later activity, a renamed site)");
        assert!(b.observe(("u3", "jira"), 4), "a user added with old activity is new to the state");
        // u2 was removed (or suspended, or lost access): its pair is gone.
        assert_eq!(b.finish(), vec![("u2".to_string(), "jira".to_string())]);
        let s2 = b.final_state(now);

        let mut c = PairTracker::from_state(Some(&s2), "user_activity").unwrap();
        assert!(!c.observe(("u1", "conf"), 9));
        assert!(!c.observe(("u3", "jira"), 4));
        // access to jira revoked for u1: only that pair goes.
        assert_eq!(c.finish(), vec![("u1".to_string(), "jira".to_string())]);
        assert_eq!(c.store().pairs(), 2);
    }

    #[test]
    fn a_resumed_pass_keeps_its_seen_marks() {
        let now = t("2026-11-28T00:00:00Z");
        let mut a = PairTracker::from_state(None, "user_activity").unwrap();
        a.observe(("u1", "jira"), 1);
        a.observe(("u2", "jira"), 2);
        a.finish();
        let done = a.final_state(now);
        let mut b = PairTracker::from_state(Some(&done), "user_activity").unwrap();
        b.observe(("u1", "jira"), 1);
        let pos = PassPosition { next_page: "c2".into(), started_at: time::format(now) };
        let mid = b.checkpoint(&pos);
        let mut c = PairTracker::from_state(Some(&mid), "user_activity").unwrap();
        assert_eq!(c.resume(), Some(pos));
        assert!(!c.observe(("u2", "jira"), 2));
        assert!(c.finish().is_empty(), "u1 was seen before the interruption: not deleted");
    }

    #[test]
    fn a_version_1_state_is_started_afresh_and_bad_states_are_errors() {
        let v1 = serde_json::json!({"version": 1, "cursor": "2026-11-01T00:00:00Z", "window": ""});
        let t1 = PairTracker::from_state(Some(&v1), "user_activity").unwrap();
        assert!(t1.started_afresh() && t1.store().pairs() == 0 && t1.pass_started().is_none());
        for bad in [serde_json::json!({"version": 2, "pairs": "%%"}), serde_json::json!({"version": 3, "pairs": ""}), serde_json::json!([])] {
            assert!(PairTracker::from_state(Some(&bad), "user_activity").is_err(), "{bad}");
        }
    }
}
