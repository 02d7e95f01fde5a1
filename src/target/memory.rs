//! The `memory` target: users and groups held in process, lost on restart.
//!
//! For trying the gateway and for tests, not for production. Lookups by `id`, `userName`,
//! `externalId` and group `displayName` are indexed, so equality filters and reads stay
//! O(1) as the store grows; other filters scan in creation order. The indexes are sharded (see
//! [`ShardedMap`]) so that no single insert rehashes all of them under the write lock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::sharded::ShardedMap;
use super::{ListPage, ListQuery, Patched, RequestCtx, Target};
use crate::scim::filter::{self, AttrPath, CompValue, CompareOp, Filter};
use crate::scim::patch::{self, PatchRequest};
use crate::scim::{Resource, ResourceKind, SchemaModel, ScimError};

/// In-process store for both resource types.
pub struct MemoryTarget {
    schemas: SchemaModel,
    store: RwLock<Store>,
}

#[derive(Default)]
struct Store {
    seq: u64,
    users: Collection,
    groups: Collection,
    /// member id → ids of the groups listing it.
    member_of: ShardedMap<BTreeSet<String>>,
}

#[derive(Default)]
struct Collection {
    by_id: ShardedMap<Entry>,
    /// Creation order, for stable paging.
    order: BTreeMap<u64, String>,
    /// Lower-cased `userName` (users) or `displayName` (groups) → ids.
    by_name: ShardedMap<BTreeSet<String>>,
    /// `externalId` (case-exact) → ids.
    by_external_id: ShardedMap<BTreeSet<String>>,
}

struct Entry {
    seq: u64,
    resource: Resource,
}

/// Which attribute names a resource in its collection's `by_name` index.
fn name_attr(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "userName",
        ResourceKind::Group => "displayName",
    }
}

fn str_attr<'a>(r: &'a Resource, name: &str) -> Option<&'a str> {
    r.get(name).and_then(Value::as_str)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Collection {
    fn index(&mut self, kind: ResourceKind, id: &str, r: &Resource) {
        if let Some(n) = str_attr(r, name_attr(kind)) {
            self.by_name.entry(n.to_lowercase()).or_default().insert(id.to_owned());
        }
        if let Some(x) = str_attr(r, "externalId") {
            self.by_external_id.entry(x.to_owned()).or_default().insert(id.to_owned());
        }
    }

    fn unindex(&mut self, kind: ResourceKind, id: &str, r: &Resource) {
        fn drop_from(map: &mut ShardedMap<BTreeSet<String>>, key: &str, id: &str) {
            if let Some(set) = map.get_mut(key) {
                set.remove(id);
                if set.is_empty() {
                    map.remove(key);
                }
            }
        }
        if let Some(n) = str_attr(r, name_attr(kind)) {
            drop_from(&mut self.by_name, &n.to_lowercase(), id);
        }
        if let Some(x) = str_attr(r, "externalId") {
            drop_from(&mut self.by_external_id, x, id);
        }
    }

    /// Ids that may match `f`, from an index, or `None` when `f` needs a scan.
    fn candidates(&self, kind: ResourceKind, f: &Filter) -> Option<BTreeSet<String>> {
        match f {
            Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(v) } if is_top_level(path, kind) => {
                let name = path.name.as_str();
                if name.eq_ignore_ascii_case("id") {
                    Some(self.by_id.contains_key(v).then(|| v.clone()).into_iter().collect())
                } else if name.eq_ignore_ascii_case(name_attr(kind)) {
                    Some(self.by_name.get(&v.to_lowercase()).cloned().unwrap_or_default())
                } else if name.eq_ignore_ascii_case("externalId") {
                    Some(self.by_external_id.get(v).cloned().unwrap_or_default())
                } else {
                    None
                }
            }
            Filter::And(a, b) => match (self.candidates(kind, a), self.candidates(kind, b)) {
                (Some(x), Some(y)) => Some(x.intersection(&y).cloned().collect()),
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => None,
            },
            Filter::Or(a, b) => {
                let (x, y) = (self.candidates(kind, a)?, self.candidates(kind, b)?);
                Some(x.union(&y).cloned().collect())
            }
            _ => None,
        }
    }
}

/// Whether `path` names a top-level attribute of `kind` (no sub-attribute; core URN allowed).
fn is_top_level(path: &AttrPath, kind: ResourceKind) -> bool {
    path.sub.is_none() && path.uri.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(kind.core_schema()))
}

impl Default for MemoryTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTarget {
    pub fn new() -> Self {
        MemoryTarget { schemas: SchemaModel::rfc(), store: RwLock::new(Store::default()) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store {
    fn coll(&self, kind: ResourceKind) -> &Collection {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    fn coll_mut(&mut self, kind: ResourceKind) -> &mut Collection {
        match kind {
            ResourceKind::User => &mut self.users,
            ResourceKind::Group => &mut self.groups,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// 409 when another user already has this `userName` (case-insensitive, RFC 7643 §4.1.1).
    fn check_unique(&self, kind: ResourceKind, r: &Resource, except: Option<&str>) -> Result<(), ScimError> {
        if kind != ResourceKind::User {
            return Ok(());
        }
        let Some(name) = str_attr(r, "userName") else { return Ok(()) };
        let clash = self
            .users
            .by_name
            .get(&name.to_lowercase())
            .is_some_and(|ids| ids.iter().any(|i| Some(i.as_str()) != except));
        if clash {
            return Err(ScimError::uniqueness(format!("a user with userName \"{name}\" already exists")));
        }
        Ok(())
    }

    /// Member ids of a group resource.
    fn member_ids(r: &Resource) -> BTreeSet<String> {
        r.get("members")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|m| m.get("value").and_then(Value::as_str)).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Rejects members that are neither a user nor a group, and a group containing itself.
    fn check_members(&self, group_id: &str, r: &Resource) -> Result<(), ScimError> {
        for m in Self::member_ids(r) {
            if m == group_id {
                return Err(ScimError::invalid_value("a group cannot be a member of itself"));
            }
            if !self.users.by_id.contains_key(&m) && !self.groups.by_id.contains_key(&m) {
                return Err(ScimError::invalid_value(format!("member \"{m}\" is not an existing user or group")));
            }
        }
        Ok(())
    }

    /// Keeps only `value` (and `type`) of each member; `display` is derived on read.
    fn clean_members(r: &mut Resource) {
        if let Some(Value::Array(members)) = r.get_mut("members") {
            let mut seen = BTreeSet::new();
            members.retain(|m| m.get("value").and_then(Value::as_str).is_some_and(|v| seen.insert(v.to_owned())));
            for m in members.iter_mut() {
                if let Value::Object(o) = m {
                    o.retain(|k, _| k == "value" || k == "type");
                }
            }
            if members.is_empty() {
                r.remove("members");
            }
        }
    }

    fn set_membership(&mut self, group_id: &str, before: &BTreeSet<String>, after: &BTreeSet<String>) {
        for gone in before.difference(after) {
            if let Some(set) = self.member_of.get_mut(gone) {
                set.remove(group_id);
                if set.is_empty() {
                    self.member_of.remove(gone);
                }
            }
        }
        for added in after.difference(before) {
            self.member_of.entry(added.clone()).or_default().insert(group_id.to_owned());
        }
    }

    /// Removes `member` from every group that lists it (the member was deleted).
    fn drop_member_everywhere(&mut self, member: &str) {
        let Some(groups) = self.member_of.remove(member) else { return };
        for gid in groups {
            if let Some(e) = self.groups.by_id.get_mut(&gid)
                && let Some(Value::Array(ms)) = e.resource.get_mut("members")
            {
                ms.retain(|m| m.get("value").and_then(Value::as_str) != Some(member));
                if ms.is_empty() {
                    e.resource.remove("members");
                }
            }
        }
    }

    /// The resource as returned: derived `display` of members and `groups` of users.
    fn render(&self, kind: ResourceKind, e: &Entry, with_members: bool) -> Resource {
        let mut r = e.resource.clone();
        match kind {
            ResourceKind::Group if with_members => {
                if let Some(Value::Array(ms)) = r.get_mut("members") {
                    for m in ms.iter_mut() {
                        let Some(id) = m.get("value").and_then(Value::as_str).map(str::to_owned) else { continue };
                        let (display, ty) = if let Some(u) = self.users.by_id.get(&id) {
                            (str_attr(&u.resource, "displayName").or(str_attr(&u.resource, "userName")), "User")
                        } else if let Some(g) = self.groups.by_id.get(&id) {
                            (str_attr(&g.resource, "displayName"), "Group")
                        } else {
                            (None, "User")
                        };
                        if let Some(d) = display {
                            m["display"] = json!(d);
                        }
                        m["type"] = json!(ty);
                    }
                }
            }
            ResourceKind::Group => {
                r.remove("members");
            }
            ResourceKind::User => {
                let id = str_attr(&r, "id").unwrap_or_default().to_owned();
                if let Some(gids) = self.member_of.get(&id) {
                    let groups: Vec<Value> = gids
                        .iter()
                        .filter_map(|g| self.groups.by_id.get(g))
                        .map(|g| {
                            let mut v = json!({"value": str_attr(&g.resource, "id"), "type": "direct"});
                            if let Some(d) = str_attr(&g.resource, "displayName") {
                                v["display"] = json!(d);
                            }
                            v
                        })
                        .collect();
                    if !groups.is_empty() {
                        r.insert("groups".into(), Value::Array(groups));
                    }
                }
            }
        }
        r
    }

    /// Stores `r` under `id`, stamping `meta`, updating indexes and membership.
    fn put(&mut self, kind: ResourceKind, id: &str, mut r: Resource, created: Option<(u64, Value)>) -> Resource {
        let stamp = now();
        let (seq, created_at) = created.unwrap_or_else(|| (self.next_seq(), json!(stamp)));
        let version = self.next_seq();
        r.insert("id".into(), json!(id));
        r.insert(
            "meta".into(),
            json!({"resourceType": kind.name(), "created": created_at, "lastModified": stamp, "version": format!("W/\"{version}\"")}),
        );
        if kind == ResourceKind::Group {
            Self::clean_members(&mut r);
        }
        r.remove("groups");
        let coll = self.coll_mut(kind);
        if let Some(old) = coll.by_id.remove(id) {
            coll.unindex(kind, id, &old.resource);
        }
        coll.index(kind, id, &r);
        coll.order.insert(seq, id.to_owned());
        coll.by_id.insert(id.to_owned(), Entry { seq, resource: r });
        let entry = &self.coll(kind).by_id[id];
        self.render(kind, entry, true)
    }
}

#[async_trait]
impl Target for MemoryTarget {
    fn schemas(&self) -> &SchemaModel {
        &self.schemas
    }

    async fn create(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        mut resource: Resource,
    ) -> Result<Resource, ScimError> {
        let mut store = self.write();
        store.check_unique(kind, &resource, None)?;
        let id = uuid::Uuid::new_v4().to_string();
        if kind == ResourceKind::Group {
            store.check_members(&id, &resource)?;
        }
        resource.remove("password");
        let members = Store::member_ids(&resource);
        let out = store.put(kind, &id, resource, None);
        store.set_membership(&id, &BTreeSet::new(), &members);
        Ok(if kind == ResourceKind::Group { store.render(kind, &store.groups.by_id[&id], true) } else { out })
    }

    async fn get(&self, _ctx: &RequestCtx, kind: ResourceKind, id: &str) -> Result<Resource, ScimError> {
        let store = self.read();
        let e = store.coll(kind).by_id.get(id).ok_or_else(|| not_found(kind, id))?;
        Ok(store.render(kind, e, true))
    }

    async fn get_without_members(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Resource, ScimError> {
        let store = self.read();
        let e = store.coll(kind).by_id.get(id).ok_or_else(|| not_found(kind, id))?;
        Ok(store.render(kind, e, false))
    }

    async fn list(&self, _ctx: &RequestCtx, kind: ResourceKind, query: &ListQuery) -> Result<ListPage, ScimError> {
        let store = self.read();
        let coll = store.coll(kind);
        let schema = self.schemas.for_kind(kind);
        let matches = |e: &Entry| query.filter.as_ref().is_none_or(|f| filter::matches(f, &e.resource, schema));
        let skip = query.start_index.saturating_sub(1);
        let mut total = 0usize;
        let mut resources = Vec::new();
        let mut take = |e: &Entry| {
            if matches(e) {
                if total >= skip && resources.len() < query.count {
                    resources.push(store.render(kind, e, query.with_members));
                }
                total += 1;
            }
        };
        match query.filter.as_ref().and_then(|f| coll.candidates(kind, f)) {
            Some(ids) => {
                let mut entries: Vec<&Entry> = ids.iter().filter_map(|i| coll.by_id.get(i)).collect();
                entries.sort_by_key(|e| e.seq);
                entries.into_iter().for_each(&mut take);
            }
            None => coll.order.values().filter_map(|i| coll.by_id.get(i)).for_each(&mut take),
        }
        Ok(ListPage { total_results: total, resources })
    }

    async fn replace(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
        mut resource: Resource,
    ) -> Result<Resource, ScimError> {
        let mut store = self.write();
        let (seq, created, before) = {
            let e = store.coll(kind).by_id.get(id).ok_or_else(|| not_found(kind, id))?;
            (
                e.seq,
                e.resource.get("meta").and_then(|m| m.get("created")).cloned().unwrap_or(Value::Null),
                Store::member_ids(&e.resource),
            )
        };
        store.check_unique(kind, &resource, Some(id))?;
        if kind == ResourceKind::Group {
            store.check_members(id, &resource)?;
        }
        resource.remove("password");
        let after = Store::member_ids(&resource);
        store.put(kind, id, resource, Some((seq, created)));
        store.set_membership(id, &before, &after);
        let e = &store.coll(kind).by_id[id];
        Ok(store.render(kind, e, true))
    }

    async fn patch(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
        request: &PatchRequest,
    ) -> Result<Patched, ScimError> {
        let mut store = self.write();
        let (seq, mut resource) = {
            let e = store.coll(kind).by_id.get(id).ok_or_else(|| not_found(kind, id))?;
            (e.seq, e.resource.clone())
        };
        let created = resource.get("meta").and_then(|m| m.get("created")).cloned().unwrap_or(Value::Null);
        let before = Store::member_ids(&resource);
        let outcome = patch::apply(self.schemas.for_kind(kind), &mut resource, request)?;
        if outcome.changed.is_empty() {
            let e = &store.coll(kind).by_id[id];
            return Ok(Patched::Resource(store.render(kind, e, true)));
        }
        store.check_unique(kind, &resource, Some(id))?;
        if kind == ResourceKind::Group {
            store.check_members(id, &resource)?;
        }
        resource.remove("password");
        let after = Store::member_ids(&resource);
        store.put(kind, id, resource, Some((seq, created)));
        store.set_membership(id, &before, &after);
        let e = &store.coll(kind).by_id[id];
        Ok(Patched::Resource(store.render(kind, e, true)))
    }

    async fn delete(&self, _ctx: &RequestCtx, kind: ResourceKind, id: &str) -> Result<(), ScimError> {
        let mut store = self.write();
        let coll = store.coll_mut(kind);
        let e = coll.by_id.remove(id).ok_or_else(|| not_found(kind, id))?;
        coll.unindex(kind, id, &e.resource);
        coll.order.remove(&e.seq);
        if kind == ResourceKind::Group {
            let before = Store::member_ids(&e.resource);
            store.set_membership(id, &before, &BTreeSet::new());
        }
        store.drop_member_everywhere(id);
        Ok(())
    }
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} \"{}\" not found", kind.name(), id))
}
