//! A hash map split into shards, so that growing it never rehashes everything at once.
//!
//! A `HashMap` doubles when full and moves every entry in that one insert. Under the memory
//! target's write lock, past 200,000 users that single insert held every request up for a
//! third of a second. Here each shard grows on its own, so one insert moves at most a
//! sixty-fourth of the entries, while lookups stay O(1) (an ordered map costs a few string
//! comparisons per level on every read instead).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;
use std::ops::Index;

/// A power of two: the shard is the hash's top bits.
const SHARDS: usize = 64;

pub(crate) struct ShardedMap<V> {
    shards: Vec<HashMap<String, V>>,
}

impl<V> Default for ShardedMap<V> {
    fn default() -> Self {
        ShardedMap { shards: (0..SHARDS).map(|_| HashMap::new()).collect() }
    }
}

/// Picks the shard only, so it needs to spread keys, not resist chosen ones: each shard hashes
/// its keys again with the standard, seeded hasher. foldhash's fixed-seed fast hash runs on every
/// lookup at a few instructions per word; its top bits mix all of the key.
fn shard_of(key: &str) -> usize {
    let h = foldhash::fast::FixedState::default().hash_one(key);
    (h >> (64 - SHARDS.trailing_zeros())) as usize
}

impl<V> ShardedMap<V> {
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.shards[shard_of(key)].get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.shards[shard_of(key)].get_mut(key)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.shards[shard_of(key)].contains_key(key)
    }

    pub(crate) fn insert(&mut self, key: String, value: V) -> Option<V> {
        self.shards[shard_of(&key)].insert(key, value)
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        self.shards[shard_of(key)].remove(key)
    }

    pub(crate) fn entry(&mut self, key: String) -> Entry<'_, String, V> {
        self.shards[shard_of(&key)].entry(key)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }
}

impl<V, Q: Borrow<str> + ?Sized> Index<&Q> for ShardedMap<V> {
    type Output = V;

    /// Panics when the key is absent, as `HashMap`'s index does.
    fn index(&self, key: &Q) -> &V {
        self.get(key.borrow()).expect("key present in the sharded map")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_one_map() {
        let mut m = ShardedMap::default();
        assert_eq!(m.insert("a".to_owned(), 1), None);
        assert_eq!(m.insert("a".to_owned(), 2), Some(1));
        *m.entry("b".to_owned()).or_insert(0) += 5;
        *m.entry("b".to_owned()).or_insert(0) += 5;
        assert_eq!(m.get("b"), Some(&10));
        assert_eq!(m["a"], 2);
        assert!(m.contains_key("a") && !m.contains_key("c"));
        if let Some(v) = m.get_mut("a") {
            *v = 3;
        }
        assert_eq!(m.remove("a"), Some(3));
        assert_eq!(m.remove("a"), None);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn spreads_keys_so_no_shard_holds_most_of_them() {
        let mut m = ShardedMap::default();
        for i in 0..64_000 {
            m.insert(format!("user-{i}@example.com"), i);
        }
        assert_eq!(m.len(), 64_000);
        let largest = m.shards.iter().map(HashMap::len).max().unwrap_or(0);
        // An even spread puts 1,000 in each; a resize then moves a few thousand entries at most.
        assert!(largest < 1_500, "largest shard holds {largest}");
        assert!(m.shards.iter().all(|s| !s.is_empty()));
    }
}
