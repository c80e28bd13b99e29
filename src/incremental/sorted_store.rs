//! A map kept as a sorted vector (no per-entry allocation, no hash table slack: a state of
//! 300,000 keys in a few MB) with a small hash map in front for keys not yet merged in. New
//! keys are merged once the front map reaches an eighth of the vector, in place, so the
//! memory stays close to the entries themselves and the sorted order is there when a state
//! is written.

use std::collections::HashMap;
use std::hash::Hash;

/// Keys merged in at least this many at a time.
const MIN_PENDING: usize = 1024;

#[derive(Debug)]
pub struct SortedStore<K, V> {
    sorted: Vec<(K, V)>,
    pending: HashMap<K, V>,
}

impl<K, V> Default for SortedStore<K, V> {
    fn default() -> Self {
        SortedStore { sorted: Vec::new(), pending: HashMap::new() }
    }
}

impl<K: Ord + Hash + Clone, V: Default> SortedStore<K, V> {
    /// From entries in any order; a repeated key keeps one of its values.
    pub fn from_entries(mut entries: Vec<(K, V)>) -> Self {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        entries.shrink_to_fit();
        SortedStore { sorted: entries, pending: HashMap::new() }
    }

    pub fn len(&self) -> usize {
        self.sorted.len() + self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self.sorted.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => Some(&mut self.sorted[i].1),
            Err(_) => self.pending.get_mut(key),
        }
    }

    /// Adds a key that [`Self::get_mut`] did not find.
    pub fn insert_new(&mut self, key: K, value: V) {
        self.pending.insert(key, value);
        if self.pending.len() >= MIN_PENDING.max(self.sorted.len() / 8) {
            self.merge();
        }
    }

    /// Every entry, in key order.
    pub fn entries(&mut self) -> &mut Vec<(K, V)> {
        self.merge();
        &mut self.sorted
    }

    /// Merges the front map into the vector from the back, moving each entry once.
    fn merge(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut new: Vec<(K, V)> = self.pending.drain().collect();
        new.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.pending.shrink_to(MIN_PENDING);
        let old_len = self.sorted.len();
        self.sorted.reserve_exact(new.len());
        let filler = new[0].0.clone();
        self.sorted.resize_with(old_len + new.len(), || (filler.clone(), V::default()));
        let mut old = old_len; // entries [0, old) not yet moved
        for slot in (0..self.sorted.len()).rev() {
            let take_new = match new.last() {
                None => break, // the rest of the old entries are in place
                Some(n) => old == 0 || n.0 > self.sorted[old - 1].0,
            };
            if take_new {
                self.sorted[slot] = new.pop().expect("checked");
            } else {
                old -= 1;
                self.sorted.swap(old, slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_sorted_and_found_through_merges() {
        let mut s: SortedStore<u32, u32> = SortedStore::from_entries(vec![(5, 50), (1, 10), (5, 51)]);
        assert_eq!(s.len(), 2);
        // An order that interleaves with what is there, enough to merge several times.
        let keys: Vec<u32> = (0..5000u32).map(|i| (i * 7919) % 5003).filter(|k| *k != 1 && *k != 5).collect();
        for (n, k) in keys.iter().enumerate() {
            assert!(s.get_mut(k).is_none(), "{k} is new");
            s.insert_new(*k, k * 10);
            assert_eq!(s.len(), n + 3);
            assert_eq!(s.get_mut(k).copied(), Some(k * 10));
        }
        *s.get_mut(&5).unwrap() += 1;
        let entries = s.entries();
        assert!(entries.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no repeats");
        assert!(entries.iter().all(|(k, v)| *v == k * 10 || (*k == 5 && *v >= 51)));
        assert_eq!(entries.len(), keys.len() + 2);
    }
}
