//! An index over the elements of one multi-valued attribute while a PATCH runs.
//!
//! A group sync may send tens of thousands of `add members` and `remove members[value eq "…"]`
//! operations in one request. Scanning the member list for each of them is quadratic, so the applier
//! keeps, per attribute, hash buckets by element identity and by `value`, and removes elements by
//! leaving a `null` tombstone in place. The applier compacts the array (and drops the index) before
//! any operation that reads the attribute another way, and at the end of the request.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};

use serde_json::Value;

use crate::scim::resource::value::is_primary;
use crate::scim::schema::{AttrType, AttributeDef, Mutability};

pub(super) struct MultiIndex {
    /// Elements whose `value` is immutable are references (group `members`): two elements with the
    /// same `value` are the same member, whatever else they carry.
    by_reference: bool,
    /// Whether `value` compares case-sensitively (the sub-attribute's `caseExact`).
    value_case_exact: bool,
    /// Identity hash → positions.
    identity: HashMap<u64, Vec<usize>>,
    /// Folded `value` → positions; for complex elements with a string `value` sub-attribute.
    by_value: Option<HashMap<String, Vec<usize>>>,
    primaries: BTreeSet<usize>,
    tombstones: usize,
    /// Randomly keyed, so that crafted values cannot pile up in one bucket.
    hasher: RandomState,
}

// === impl MultiIndex ===

impl MultiIndex {
    pub(super) fn build(def: &AttributeDef, items: &[Value]) -> Self {
        let value_def = (def.ty == AttrType::Complex).then(|| def.sub_attribute("value")).flatten();
        let mut ix = MultiIndex {
            by_reference: value_def.is_some_and(|v| v.mutability == Mutability::Immutable),
            value_case_exact: value_def.is_some_and(AttributeDef::is_case_exact),
            identity: HashMap::with_capacity(items.len()),
            by_value: value_def.filter(|v| v.ty == AttrType::String).map(|_| HashMap::with_capacity(items.len())),
            primaries: BTreeSet::new(),
            tombstones: 0,
            hasher: RandomState::new(),
        };
        for (pos, item) in items.iter().enumerate() {
            if item.is_null() {
                ix.tombstones += 1;
            } else {
                ix.register(item, pos);
            }
        }
        ix
    }

    pub(super) fn has_tombstones(&self) -> bool {
        self.tombstones > 0
    }

    /// Whether an element the same as `candidate` is already present.
    pub(super) fn contains(&self, items: &[Value], candidate: &Value) -> bool {
        self.identity
            .get(&self.identity_key(candidate))
            .is_some_and(|bucket| bucket.iter().any(|&p| self.same(&items[p], candidate)))
    }

    /// Positions of the elements that are the same as `candidate`.
    pub(super) fn positions_of(&self, items: &[Value], candidate: &Value) -> Vec<usize> {
        self.identity
            .get(&self.identity_key(candidate))
            .map(|bucket| bucket.iter().copied().filter(|&p| self.same(&items[p], candidate)).collect())
            .unwrap_or_default()
    }

    /// Appends `element` and returns its position.
    pub(super) fn push(&mut self, items: &mut Vec<Value>, element: Value) -> usize {
        let pos = items.len();
        self.register(&element, pos);
        items.push(element);
        pos
    }

    /// Positions whose `value` may equal `literal` (a superset: callers confirm with the filter).
    pub(super) fn value_candidates(&self, literal: &str) -> Vec<usize> {
        let key = fold(literal, self.value_case_exact);
        self.by_value.as_ref().and_then(|m| m.get(&key)).cloned().unwrap_or_default()
    }

    /// Replaces the elements at `positions` with tombstones.
    pub(super) fn remove(&mut self, items: &mut [Value], positions: &[usize]) {
        let gone: HashSet<usize> = positions.iter().copied().collect();
        let mut value_keys = HashSet::new();
        for &pos in &gone {
            let key = self.identity_key(&items[pos]);
            if let Some(bucket) = self.identity.get_mut(&key) {
                bucket.retain(|&p| p != pos);
            }
            if let Some(v) = self.value_of(&items[pos]) {
                value_keys.insert(v);
            }
            self.primaries.remove(&pos);
            items[pos] = Value::Null;
            self.tombstones += 1;
        }
        if let Some(by_value) = &mut self.by_value {
            for key in value_keys {
                if let Some(bucket) = by_value.get_mut(&key) {
                    bucket.retain(|p| !gone.contains(p));
                }
            }
        }
    }

    /// Sets `primary` to false on every element but the one at `keep`.
    pub(super) fn clear_primaries_except(&mut self, items: &mut [Value], keep: usize) {
        let others: Vec<usize> = self.primaries.iter().copied().filter(|&p| p != keep).collect();
        for pos in others {
            let key = self.identity_key(&items[pos]);
            if let Some(bucket) = self.identity.get_mut(&key) {
                bucket.retain(|&p| p != pos);
            }
            if let Some(element) = items[pos].as_object_mut() {
                element.insert("primary".to_owned(), Value::Bool(false));
            }
            let key = self.identity_key(&items[pos]);
            self.identity.entry(key).or_default().push(pos);
            self.primaries.remove(&pos);
        }
    }

    fn register(&mut self, item: &Value, pos: usize) {
        self.identity.entry(self.identity_key(item)).or_default().push(pos);
        if let Some(v) = self.value_of(item)
            && let Some(by_value) = &mut self.by_value
        {
            by_value.entry(v).or_default().push(pos);
        }
        if is_primary(item) {
            self.primaries.insert(pos);
        }
    }

    fn value_of(&self, item: &Value) -> Option<String> {
        item.get("value").and_then(Value::as_str).map(|s| fold(s, self.value_case_exact))
    }

    fn identity_key(&self, item: &Value) -> u64 {
        let mut h = self.hasher.build_hasher();
        match self.by_reference.then(|| self.value_of(item)).flatten() {
            Some(v) => {
                0u8.hash(&mut h);
                v.hash(&mut h);
            }
            None => {
                1u8.hash(&mut h);
                hash_value(&self.hasher, item, &mut h);
            }
        }
        h.finish()
    }

    fn same(&self, a: &Value, b: &Value) -> bool {
        if self.by_reference
            && let (Some(x), Some(y)) = (self.value_of(a), self.value_of(b))
        {
            return x == y;
        }
        a == b
    }
}

/// Drops tombstones.
pub(super) fn compact(items: &mut Vec<Value>) {
    items.retain(|v| !v.is_null());
}

fn fold(s: &str, case_exact: bool) -> String {
    if case_exact { s.to_owned() } else { s.to_lowercase() }
}

/// A structural hash consistent with `Value`'s `==`: object members are combined independently of
/// their order.
fn hash_value<H: Hasher>(keys: &RandomState, v: &Value, h: &mut H) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => {
            1u8.hash(h);
            b.hash(h);
        }
        Value::Number(n) => {
            2u8.hash(h);
            n.hash(h);
        }
        Value::String(s) => {
            3u8.hash(h);
            s.hash(h);
        }
        Value::Array(items) => {
            4u8.hash(h);
            items.len().hash(h);
            for item in items {
                hash_value(keys, item, h);
            }
        }
        Value::Object(m) => {
            5u8.hash(h);
            m.len().hash(h);
            let mut sum = 0u64;
            for (k, v) in m {
                let mut eh = keys.build_hasher();
                k.hash(&mut eh);
                hash_value(keys, v, &mut eh);
                sum = sum.wrapping_add(eh.finish());
            }
            sum.hash(h);
        }
    }
}
