//! The mapping engine: a [`Target`] that serves SCIM by running a compiled mapping's native
//! calls through a [`Transport`].
//!
//! Each SCIM operation becomes a plan of native calls: reads first (the current record, the
//! current members when needed), then writes in the mapping's update style, then a read-back, so
//! that a SCIM success always reflects what the application holds. Any failed call fails the SCIM
//! request with a detail naming the step.

#[doc(hidden)]
pub mod bench_support;
pub mod calls;
mod convert;
mod forward;
mod lookup;
mod paging;
mod record_keys;
pub mod scim_value;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use calls::Transport;
use calls::{Runner, eval_error};
pub use convert::{decode_id, encode_id};
use lookup::{Lookups, Resolver};
use record_keys::RecordKeys;

use crate::mapping::compile::{CompiledMapping, FilterResultC, Resource};
use crate::mapping::expr;
use crate::mapping::model::{MemberMode, OtherFilters, UpdateStyle};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::patch::{PatchOpKind, PatchPath, PatchRequest};
use crate::scim::schema::ResourceSchema;
use crate::scim::{self, ResourceKind, SchemaModel, ScimError};
use crate::target::{ListPage, ListQuery, Patched, RequestCtx, Target};

/// A target served through a mapping file.
pub struct MappedTarget {
    runner: Runner,
    lookups: Lookups,
    listings: paging::ListingMemo,
    users: ResourceState,
    groups: ResourceState,
}

/// What the target keeps for one resource type: derived from its mapping once, at load, and
/// what it has learnt of the application since.
struct ResourceState {
    /// The fields of a native record kept when it is read to be turned into SCIM (see
    /// [`RecordKeys`]).
    read: RecordKeys,
    /// The same before a change.
    change: RecordKeys,
    /// A transform of a read names `vars`, so they are copied into the transforms' scope.
    reads_vars: bool,
    /// The application answered a forwarded PATCH with 405 or 501: it does not take PATCH, and
    /// later ones go straight to read-modify-write, without the refused call.
    forward_refused: AtomicBool,
}

impl ResourceState {
    fn of(res: &Resource) -> ResourceState {
        ResourceState {
            read: RecordKeys::of_reads(res),
            change: RecordKeys::of_changes(res),
            reads_vars: convert::reads_vars(res),
            forward_refused: AtomicBool::new(false),
        }
    }
}

/// What a SCIM write asks for.
enum Change<'a> {
    Patch(&'a PatchRequest),
    Replace(scim::Resource),
}

impl MappedTarget {
    pub fn new(mapping: Arc<CompiledMapping>, transport: Arc<dyn Transport>, base_url: String) -> Self {
        let runner = Runner { mapping, transport, base_url };
        let lookups = Lookups::new(&runner);
        let users = ResourceState::of(runner.mapping.resource(ResourceKind::User));
        let groups = ResourceState::of(runner.mapping.resource(ResourceKind::Group));
        MappedTarget { runner, lookups, listings: paging::ListingMemo::new(), users, groups }
    }

    pub fn mapping(&self) -> &Arc<CompiledMapping> {
        &self.runner.mapping
    }

    fn res(&self, kind: ResourceKind) -> &Resource {
        self.runner.mapping.resource(kind)
    }

    fn state(&self, kind: ResourceKind) -> &ResourceState {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    fn read_keys(&self, kind: ResourceKind) -> &RecordKeys {
        &self.state(kind).read
    }

    fn schema(&self, kind: ResourceKind) -> &ResourceSchema {
        self.runner.mapping.schemas.for_kind(kind)
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver { runner: &self.runner, lookups: &self.lookups }
    }

    fn not_found(kind: ResourceKind, id: &str) -> ScimError {
        ScimError::not_found(format!("{} \"{id}\" not found", kind.name()))
    }

    /// Reads the native record of `native_id` to be turned into SCIM: only the fields that
    /// conversion reads are kept (see [`RecordKeys`]); `None` when the application says 404.
    ///
    /// `with_members` tells the `get` steps whether the group's members will be read from this
    /// record, so that a mapping can leave a large member list out of reads that do not need it
    /// (always false for users).
    async fn read_record(
        &self,
        kind: ResourceKind,
        native_id: &str,
        with_members: bool,
    ) -> Result<Option<Value>, ScimError> {
        self.read_record_keeping(kind, native_id, with_members, self.read_keys(kind)).await
    }

    async fn read_record_keeping(
        &self,
        kind: ResourceKind,
        native_id: &str,
        with_members: bool,
        keys: &RecordKeys,
    ) -> Result<Option<Value>, ScimError> {
        let mut scope = self.runner.scope();
        scope.insert("id".into(), Value::String(native_id.to_owned()));
        scope.insert("with_members".into(), Value::Bool(with_members && kind == ResourceKind::Group));
        let steps = &self.res(kind).get;
        match self.runner.run_read("get", steps, &mut scope, &self.resolver(), keys).await {
            Ok(o) => Ok(o.last.filter(|v| !v.is_null()).map(|mut record| {
                attach_captures(&mut record, steps, &scope);
                record
            })),
            Err(e) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The SCIM resource of a native record, and the record back (see [`convert::to_scim`]).
    async fn to_scim(&self, kind: ResourceKind, record: Value) -> Result<(scim::Resource, Value), ScimError> {
        let vars = self.state(kind).reads_vars.then_some(&self.runner.mapping.vars);
        convert::to_scim(self.res(kind), self.schema(kind), vars, record, &self.resolver()).await
    }

    /// The SCIM member list of group `native_id` (record = the group's native record).
    async fn read_members(&self, native_id: &str, record: &Value) -> Result<Vec<Value>, ScimError> {
        let Some(m) = &self.res(ResourceKind::Group).members else { return Ok(vec![]) };
        let entries: Vec<Value> = match &m.call {
            None => m.records.query(record).into_iter().cloned().collect(),
            Some(call) => {
                let mut scope = self.runner.scope();
                scope.insert("id".into(), Value::String(native_id.to_owned()));
                let walk = paging::Walk { call, records: &m.records, total: None, paging: m.paging.as_ref() };
                paging::collect(&self.runner, &walk, &scope, usize::MAX, &self.resolver()).await?.0
            }
        };
        let enc = self.res(ResourceKind::User).id.encoding;
        Ok(entries
            .iter()
            .filter_map(|e| {
                let v = match m.value.first(e) {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                let mut o = Map::new();
                o.insert("value".into(), Value::String(encode_id(enc, &v)));
                if let Some(Value::String(d)) = m.display.as_ref().map(|d| d.first(e)) {
                    o.insert("display".into(), Value::String(d));
                }
                o.insert("type".into(), Value::String("User".into()));
                Some(Value::Object(o))
            })
            .collect())
    }

    /// The SCIM resource of a native record, with its members when asked (groups), and the
    /// record back.
    async fn full_resource(
        &self,
        kind: ResourceKind,
        native_id: &str,
        record: Value,
        members: bool,
    ) -> Result<(scim::Resource, Value), ScimError> {
        let (mut r, record) = self.to_scim(kind, record).await?;
        if members && kind == ResourceKind::Group && self.res(kind).members.is_some() {
            let ms = self.read_members(native_id, &record).await?;
            if !ms.is_empty() {
                r.insert("members".into(), Value::Array(ms));
            }
        }
        Ok((r, record))
    }

    /// The native id a SCIM id names; 404 for one that cannot be ours.
    fn native_of(&self, kind: ResourceKind, scim_id: &str) -> Result<String, ScimError> {
        convert::decode_id(self.res(kind).id.encoding, scim_id)
            .filter(|id| addressable(id))
            .ok_or_else(|| Self::not_found(kind, scim_id))
    }

    /// Refuses a group whose members include a value that is no user id of this target: it could
    /// not be written, and dropping it would report a change that did not happen.
    fn check_members(&self, r: &scim::Resource) -> Result<(), ScimError> {
        let enc = self.res(ResourceKind::User).id.encoding;
        let values = r.get("members").and_then(Value::as_array).into_iter().flatten();
        let foreign = values
            .filter_map(|m| m.get("value").and_then(Value::as_str))
            .find(|v| convert::decode_id(enc, v).is_none_or(|id| !addressable(&id)));
        match foreign {
            Some(v) => {
                Err(ScimError::invalid_value(format!("members: \"{v}\" is not the id of a user of this target")))
            }
            None => Ok(()),
        }
    }

    /// Native ids of the SCIM member values of a group resource.
    fn member_ids(&self, r: &scim::Resource) -> BTreeSet<String> {
        let enc = self.res(ResourceKind::User).id.encoding;
        r.get("members")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.get("value").and_then(Value::as_str))
                    .filter_map(|v| convert::decode_id(enc, v))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn write_members(
        &self,
        scope: &Map<String, Value>,
        added: Vec<String>,
        removed: Vec<String>,
        after: Option<Vec<String>>,
    ) -> Result<usize, ScimError> {
        let Some(m) = &self.res(ResourceKind::Group).members else {
            if added.is_empty() && removed.is_empty() {
                return Ok(0);
            }
            return Err(ScimError::invalid_path("this target does not manage group members"));
        };
        let mut done = 0;
        for (list, w, adding) in [(removed, &m.remove, false), (added, &m.add, true)] {
            if list.is_empty() {
                continue;
            }
            let mut s = scope.clone();
            if let Some(after) = &after {
                s.insert("members_after".into(), Value::from(after.clone()));
            }
            let items: Vec<Value> = list.into_iter().map(Value::String).collect();
            done += match w.mode {
                MemberMode::Batch => {
                    s.insert("members".into(), Value::Array(items));
                    self.runner.run_writes("members", &w.steps, &mut s, &self.resolver()).await.map_err(|mut e| {
                        if done > 0 {
                            e.detail = format!(
                                "{}; earlier member changes were applied, retrying the request is safe",
                                e.detail
                            );
                        }
                        e
                    })
                }
                MemberMode::Each => {
                    self.runner.run_each("members", &w.steps, &s, "member", items, &self.resolver()).await
                }
            }
            .map_err(|e| if adding { unknown_member(e) } else { e })?;
        }
        Ok(done)
    }

    async fn run_triggers(
        &self,
        kind: ResourceKind,
        scope: &Map<String, Value>,
        old: Option<&scim::Resource>,
        new: &scim::Resource,
        before_update: bool,
    ) -> Result<usize, ScimError> {
        let res = self.res(kind);
        let schema = self.schema(kind);
        let mut done = 0;
        for t in res.triggers.iter().filter(|t| t.before_update == before_update) {
            let src = crate::mapping::compile::ScimSource {
                path: t.attr.clone(),
                text: t.attr_text.clone(),
                multi: false,
                kind: expr::Kind::Any,
            };
            let now = scim_value::get(new, &src, None, schema)?;
            let fire = match (old, &t.equals) {
                (None, Some(eq)) => t.on_create && loose_eq(&now, eq),
                (None, None) => t.on_create && !now.is_null(),
                (Some(_), _) if !t.on_update => false,
                (Some(o), eq) => {
                    let was = scim_value::get(o, &src, None, schema)?;
                    match eq {
                        Some(eq) => loose_eq(&now, eq) && !loose_eq(&was, eq),
                        None => now != was,
                    }
                }
            };
            if fire {
                let mut s = scope.clone();
                s.insert("value".into(), now);
                // Named after the SCIM operation, so `errors` rules keyed on it apply.
                let op = if old.is_some() { "update" } else { "create" };
                let out = self.runner.run_writes(op, &t.steps, &mut s, &self.resolver()).await;
                done += out.map_err(|e| after_writes(e, done))?;
            }
        }
        Ok(done)
    }

    /// The resource and native record a change starts from; `members`: whether to read the
    /// member list for the record, and whether to put it in the resource.
    async fn read_before_change(
        &self,
        kind: ResourceKind,
        scim_id: &str,
        native_id: &str,
        (read_members, with_members): (bool, bool),
    ) -> Result<(scim::Resource, Value), ScimError> {
        let record = self
            .read_record_keeping(kind, native_id, read_members, &self.state(kind).change)
            .await?
            .ok_or_else(|| Self::not_found(kind, scim_id))?;
        self.full_resource(kind, native_id, record, with_members).await
    }

    async fn apply_change(&self, kind: ResourceKind, scim_id: &str, change: Change<'_>) -> Result<Patched, ScimError> {
        let res = self.res(kind);
        let schema = self.schema(kind);
        let native_id = self.native_of(kind, scim_id)?;
        if let Change::Patch(p) = &change
            && let Some(fwd) = &res.update.forward
            && !self.state(kind).forward_refused.load(Ordering::Relaxed)
            && let Some(described) = forward::describe(fwd, schema, scim_id, p)
            && let Some(done) = self.forward_patch(kind, scim_id, &native_id, &fwd.steps, described).await?
        {
            return Ok(done);
        }
        let fast = match &change {
            Change::Patch(p) if kind == ResourceKind::Group => {
                member_only_delta(p, &self.res(ResourceKind::User).id.encoding)
            }
            _ => None,
        };
        let needs_after = res.members.as_ref().is_some_and(|m| m.needs_after);
        let touches_members = match &change {
            Change::Patch(p) => p.operations.iter().any(|o| o.path.as_ref().is_none_or(is_members)),
            Change::Replace(_) => true,
        };
        let with_members = kind == ResourceKind::Group && touches_members && (fast.is_none() || needs_after);
        // A `put` update sends the whole record back, members included.
        let read_members = with_members || res.update.style == UpdateStyle::Put;
        let (old, record) = self.read_before_change(kind, scim_id, &native_id, (read_members, with_members)).await?;
        let new = match change {
            Change::Patch(_) if fast.is_some() => old.clone(),
            Change::Patch(p) => {
                let mut n = old.clone();
                scim::patch::apply(schema, &mut n, p)?;
                n
            }
            Change::Replace(mut n) => {
                n.insert("id".into(), Value::String(scim_id.to_owned()));
                n
            }
        };
        if kind == ResourceKind::Group && touches_members {
            self.check_members(&new)?;
        }
        // The scope owns the new resource and the record read before the change, which the steps
        // read as `scim` and `old`; the engine reads them there too (see `scope_new`).
        let mut scope = self.runner.scope();
        scope.insert("id".into(), Value::String(native_id.clone()));
        scope.insert("scim".into(), Value::Object(new));
        scope.insert("old".into(), record);
        let new = scope_new(&scope);
        let resolver = self.resolver();
        for a in res.attrs.iter().filter(|a| a.immutable) {
            let Some(src) = &a.scim else { continue };
            let before = scim_value::get(&old, src, a.select.as_ref(), schema)?;
            let after = scim_value::get(new, src, a.select.as_ref(), schema)?;
            // A change the application would not see (e.g. only the case of a key it lower-cases)
            // leaves the key as it is.
            if !before.is_null()
                && before != after
                && convert::native_value(a, &old, schema, &scope, &resolver).await?
                    != convert::native_value(a, new, schema, &scope, &resolver).await?
            {
                return Err(ScimError::mutability(format!("{} cannot be changed on this target", src.text)));
            }
        }
        let mut writes = self.run_triggers(kind, &scope, Some(&old), new, true).await?;
        // A `put` sends the whole record back: after a trigger has changed it, the record read
        // before would write the trigger's change back over.
        if writes > 0 && res.update.style == UpdateStyle::Put {
            let members = (read_members, with_members);
            let (_, fresh) = self
                .read_before_change(kind, scim_id, &native_id, members)
                .await
                .map_err(|e| after_writes(e, writes))?;
            scope.insert("old".into(), fresh);
        }
        let (new, record) = (scope_new(&scope), scope_old(&scope));
        let new_record = convert::update_record(res, record, &old, new, schema, &scope, &resolver).await?;
        let mut echoed: Option<Value> = None;
        if new_record != *record {
            let steps = &res.update.steps;
            let mut per_key = None;
            match res.update.style {
                UpdateStyle::JsonPatch => {
                    let patch = convert::json_patch(record, &new_record);
                    scope.insert("patch".into(), Value::Array(patch));
                }
                UpdateStyle::MergePatch => {
                    let c = convert::merge_changes(record, &new_record, res.update.clear_with.as_ref());
                    scope.insert("changes".into(), Value::Object(c));
                }
                UpdateStyle::Put => {}
                UpdateStyle::PerKey => per_key = Some(convert::merge_changes(record, &new_record, None)),
            }
            scope.insert("record".into(), new_record.clone());
            scope.insert("doc".into(), new_record);
            if let Some(changed) = per_key {
                for (k, v) in changed {
                    let mut s = scope.clone();
                    s.insert("key".into(), Value::String(k));
                    s.insert("value".into(), v);
                    writes += self
                        .runner
                        .run_writes("update", steps, &mut s, &resolver)
                        .await
                        .map_err(|e| after_writes(e, writes))?;
                }
            } else {
                // An echoed record is only turned into SCIM (see `confirmed`).
                let out = self
                    .runner
                    .run_read("update", steps, &mut scope, &resolver, self.read_keys(kind))
                    .await
                    .map_err(|e| after_writes(e, writes))?;
                writes += out.writes;
                echoed = out.last;
            }
        }
        let new = scope_new(&scope);
        let after =
            self.run_triggers(kind, &scope, Some(&old), new, false).await.map_err(|e| after_writes(e, writes))?;
        writes += after;
        if after > 0 {
            // The update's answer is the record before these triggers changed it.
            echoed = None;
        }
        if kind == ResourceKind::Group {
            let (added, removed, after) = match fast {
                Some((added, removed)) => {
                    let after = needs_after.then(|| {
                        let mut cur = self.member_ids(&old);
                        cur.retain(|m| !removed.contains(m));
                        cur.extend(added.iter().cloned());
                        cur.into_iter().collect()
                    });
                    (added, removed, after)
                }
                None if touches_members => {
                    let (o, n) = (self.member_ids(&old), self.member_ids(new));
                    let added: Vec<String> = n.difference(&o).cloned().collect();
                    let removed: Vec<String> = o.difference(&n).cloned().collect();
                    (added, removed, Some(n.into_iter().collect()))
                }
                None => (vec![], vec![], None),
            };
            self.write_members(&scope, added, removed, after).await.map_err(|e| after_writes(e, writes))?;
            return Ok(Patched::Applied);
        }
        // Prefer the application's own answer when it is the updated record; otherwise read back,
        // unless nothing was written (IdPs send many PATCHes that change nothing).
        let confirmed = match echoed {
            Some(v) if convert::native_id(res, &v).as_deref() == Some(native_id.as_str()) => v,
            _ if writes == 0 => scope.remove("old").unwrap_or(Value::Null),
            _ => self
                .read_record(kind, &native_id, false)
                .await
                .map_err(|e| after_writes(e, writes))?
                .ok_or_else(|| Self::not_found(kind, scim_id))?,
        };
        Ok(Patched::Resource(self.to_scim(kind, confirmed).await?.0))
    }

    /// Sends a PATCH's operations on through `update.forward_patch` (see `forward`). The answer is
    /// the new state when it is the record; otherwise the record is read back. `None` when the
    /// application refused the PATCH as a method it does not take (405, 501) before anything was
    /// written: the caller then reads, applies and writes back, as without `forward_patch`.
    async fn forward_patch(
        &self,
        kind: ResourceKind,
        scim_id: &str,
        native_id: &str,
        steps: &[crate::mapping::compile::Call],
        described: Vec<(&'static str, Value)>,
    ) -> Result<Option<Patched>, ScimError> {
        let mut scope = self.runner.scope();
        scope.insert("id".into(), Value::String(native_id.to_owned()));
        scope.extend(described.into_iter().map(|(k, v)| (k.to_owned(), v)));
        // A group's answer is not used (the service reads the group as its answer needs it), and
        // a SCIM service's can list every member: it is not parsed.
        let out = match kind {
            ResourceKind::User => {
                self.runner.run_read("update", steps, &mut scope, &self.resolver(), self.read_keys(kind)).await?
            }
            ResourceKind::Group => self.runner.run_unread("update", steps, &mut scope, &self.resolver()).await?,
        };
        if let Some(status) = out.unsupported {
            if !self.state(kind).forward_refused.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    resource = kind.name(),
                    status,
                    "the application refused a forwarded PATCH: this and later PATCHes are read, applied and \
                     written back; remove `update.forward_patch` from the mapping to skip the refused call"
                );
            }
            return Ok(None);
        }
        if kind == ResourceKind::Group {
            return Ok(Some(Patched::Applied));
        }
        let confirmed = match out.last {
            Some(v) if convert::native_id(self.res(kind), &v).as_deref() == Some(native_id) => v,
            _ => self
                .read_record(kind, native_id, false)
                .await
                .map_err(|e| after_writes(e, out.writes))?
                .ok_or_else(|| Self::not_found(kind, scim_id))?,
        };
        Ok(Some(Patched::Resource(self.to_scim(kind, confirmed).await?.0)))
    }

    /// Answers a query with a native filter translation, or `None` if no rule applies.
    async fn native_filter(
        &self,
        kind: ResourceKind,
        f: &Filter,
        with_members: bool,
    ) -> Result<Option<Vec<Value>>, ScimError> {
        let res = self.res(kind);
        if let Some(id) = id_equality(f) {
            let Some(native) = convert::decode_id(res.id.encoding, &id).filter(|n| addressable(n)) else {
                return Ok(Some(vec![]));
            };
            return Ok(Some(self.read_record(kind, &native, with_members).await?.into_iter().collect()));
        }
        let candidates = conjuncts(f);
        for rule in &res.filters {
            for c in &candidates {
                let value = match (&rule.attr, c) {
                    (None, _) => Value::Null,
                    (Some(attr), Filter::Compare { path, op, value }) if *op == rule.op && same_attr(path, attr) => {
                        match value {
                            CompValue::String(s) => Value::String(s.clone()),
                            CompValue::Number(n) => Value::Number(n.clone()),
                            CompValue::Bool(b) => Value::Bool(*b),
                            CompValue::Null => Value::Null,
                        }
                    }
                    _ => continue,
                };
                let mut scope = self.runner.scope();
                scope.insert("value".into(), value);
                scope.insert("filter".into(), Value::String(f.to_string()));
                scope.insert("with_members".into(), Value::Bool(with_members));
                // A rule reads one answer: as many records as one page of the listing.
                scope.insert("limit".into(), Value::from(res.list.paging.max_limit()));
                let resolver = self.resolver();
                let keys = self.read_keys(kind);
                let out = match &rule.result {
                    FilterResultC::Single => {
                        match self.runner.run_read("list", &rule.steps, &mut scope, &resolver, keys).await {
                            Ok(o) => o.last.filter(|v| !v.is_null() && !is_empty_object(v)).into_iter().collect(),
                            Err(e) if e.status == 404 => vec![],
                            Err(e) => return Err(e),
                        }
                    }
                    FilterResultC::Records(p) => {
                        let o = self.runner.run_read("list", &rule.steps, &mut scope, &resolver, keys).await?;
                        o.last.map(|j| p.query(&j).into_iter().cloned().collect()).unwrap_or_default()
                    }
                };
                // A record found by a lookup rule is read again through `get`, so that values the
                // `get` steps add (captures) are present and the read is uniform.
                let out = if self.res(kind).get.len() > 1 {
                    let mut full = Vec::with_capacity(out.len());
                    for r in out {
                        if let Some(id) = convert::native_id(self.res(kind), &r) {
                            full.extend(self.read_record(kind, &id, with_members).await?);
                        }
                    }
                    full
                } else {
                    out
                };
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}

/// The new SCIM resource a change moved into its scope as `scim`, so that the steps read it
/// without a copy.
fn scope_new(scope: &Map<String, Value>) -> &scim::Resource {
    static NONE: LazyLock<scim::Resource> = LazyLock::new(scim::Resource::new);
    match scope.get("scim") {
        Some(Value::Object(o)) => o,
        _ => &NONE,
    }
}

/// The record read before a change, moved into its scope as `old`.
fn scope_old(scope: &Map<String, Value>) -> &Value {
    scope.get("old").unwrap_or(&Value::Null)
}

/// The walk over a resource type's whole collection, as its `list` section describes it.
fn list_walk(res: &Resource) -> paging::Walk<'_> {
    paging::Walk {
        call: &res.list.call,
        records: &res.list.records,
        total: res.list.total.as_ref(),
        paging: Some(&res.list.paging),
    }
}

/// Adds values captured while reading a record under its `_` key, so attribute mappings can read
/// data that lives in other native resources (`$._.NAME`).
fn attach_captures(record: &mut Value, steps: &[crate::mapping::compile::Call], scope: &Map<String, Value>) {
    let names: Vec<&str> = steps.iter().flat_map(|c| c.capture.iter().map(|c| c.name.as_str())).collect();
    if names.is_empty() {
        return;
    }
    if let Value::Object(o) = record {
        let extra: Map<String, Value> =
            names.iter().filter_map(|n| scope.get(*n).map(|v| ((*n).to_owned(), v.clone()))).collect();
        o.insert("_".into(), Value::Object(extra));
    }
}

/// Whether a native id can be sent as a URL path segment: `.` and `..` would address another
/// resource (see [`calls::has_dot_segment`]), so they name no record.
fn addressable(id: &str) -> bool {
    id != "." && id != ".."
}

/// A member write the application answers with 404 names a user it does not have: the group was
/// read just before, so a 404 there is not the group's, and IdPs read 404 on a group PATCH as
/// "no such group".
fn unknown_member(e: ScimError) -> ScimError {
    if e.status != 404 || e.scim_type.is_some() {
        return e;
    }
    ScimError::invalid_value(format!("members: no such user in the application ({})", e.detail))
}

/// A failure after `writes` successful writes of the same request: the IdP must learn that part
/// of the change is applied and that sending the request again is safe (every step converges).
fn after_writes(mut e: ScimError, writes: usize) -> ScimError {
    if writes > 0 && !e.detail.contains(APPLIED) {
        e.detail = format!("{}; {APPLIED}", e.detail);
    }
    e
}

const APPLIED: &str = "earlier calls of this request were applied, retrying it is safe";

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.is_empty())
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    a == b || expr::to_text(a).eq_ignore_ascii_case(&expr::to_text(b)) && !a.is_null()
}

fn is_members(p: &PatchPath) -> bool {
    let a = match p {
        PatchPath::Attr(a) => a,
        PatchPath::Filtered { attr, .. } => attr,
    };
    a.name.eq_ignore_ascii_case("members")
        && a.uri.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(crate::scim::urn::GROUP))
}

/// For a PATCH made only of member additions and `members[value eq "x"]` removals: the native ids
/// added and removed, computed without reading the current member list.
fn member_only_delta(p: &PatchRequest, enc: &crate::mapping::model::IdEncoding) -> Option<(Vec<String>, Vec<String>)> {
    let (mut added, mut removed) = (vec![], vec![]);
    for op in &p.operations {
        match (&op.op, op.path.as_ref()?) {
            (PatchOpKind::Add, PatchPath::Attr(a)) if is_members(&PatchPath::Attr(a.clone())) && a.sub.is_none() => {
                let values = match op.value.as_ref()? {
                    Value::Array(a) => a.clone(),
                    one => vec![one.clone()],
                };
                for v in values {
                    let id = v.get("value")?.as_str()?;
                    let native = convert::decode_id(*enc, id)?;
                    removed.retain(|r| r != &native);
                    added.push(native);
                }
            }
            (PatchOpKind::Remove, p @ PatchPath::Filtered { filter, sub: None, .. }) if is_members(p) => {
                let Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(v) } = filter else {
                    return None;
                };
                if !path.name.eq_ignore_ascii_case("value") || path.sub.is_some() {
                    return None;
                }
                let native = convert::decode_id(*enc, v)?;
                added.retain(|a| a != &native);
                removed.push(native);
            }
            _ => return None,
        }
    }
    Some((added, removed))
}

/// `id eq "x"` (possibly inside an `and`): the id.
fn id_equality(f: &Filter) -> Option<String> {
    conjuncts(f).into_iter().find_map(|c| match c {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(v) }
            if path.name.eq_ignore_ascii_case("id") && path.sub.is_none() && path.uri.is_none() =>
        {
            Some(v.clone())
        }
        _ => None,
    })
}

fn conjuncts(f: &Filter) -> Vec<&Filter> {
    match f {
        Filter::And(a, b) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        other => vec![other],
    }
}

fn same_attr(a: &AttrPath, b: &AttrPath) -> bool {
    a.name.eq_ignore_ascii_case(&b.name)
        && a.sub.as_deref().map(str::to_ascii_lowercase) == b.sub.as_deref().map(str::to_ascii_lowercase)
        && a.uri.as_deref().map(str::to_ascii_lowercase) == b.uri.as_deref().map(str::to_ascii_lowercase)
}

#[async_trait]
impl Target for MappedTarget {
    fn schemas(&self) -> &SchemaModel {
        &self.runner.mapping.schemas
    }

    async fn create(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        resource: scim::Resource,
    ) -> Result<scim::Resource, ScimError> {
        let res = self.res(kind);
        let schema = self.schema(kind);
        if kind == ResourceKind::Group {
            self.check_members(&resource)?;
        }
        self.listings.forget_total(kind).await;
        let resolver = self.resolver();
        let mut scope = self.runner.scope();
        scope.insert("scim".into(), Value::Object(resource.clone()));
        if let Some(t) = &res.id.template {
            let id = expr::render(t, &scope, &resolver, &|s| s.to_owned()).await.map_err(|e| eval_error("id", e))?;
            scope.insert("id".into(), Value::String(id));
        }
        let doc = convert::create_doc(res, &resource, schema, &scope, &resolver).await?;
        scope.insert("doc".into(), doc);
        // The answer gives the new id (and captures), and is the record when a step says it is
        // complete: read as a record, not whole.
        let out = self.runner.run_read("create", &res.create, &mut scope, &resolver, self.read_keys(kind)).await?;
        let native_id = match scope.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => out.last.as_ref().and_then(|r| convert::native_id(res, r)).ok_or_else(|| {
                ScimError::bad_gateway(format!("the application's create answer has no id at {}", res.id.read.as_str()))
            })?,
        };
        // Only the record of the id just assigned; an answer naming another cannot stand for it.
        let answered =
            out.last.filter(|r| out.complete && convert::native_id(res, r).as_deref() == Some(native_id.as_str()));
        scope.insert("id".into(), Value::String(native_id.clone()));
        let partial = |mut e: ScimError| {
            e.detail = format!(
                "{}; the {} was created (id {native_id}) but is incomplete, retrying is safe",
                e.detail,
                kind.name()
            );
            e
        };
        let mut changed_since = self.run_triggers(kind, &scope, None, &resource, true).await.map_err(partial)?;
        changed_since += self.run_triggers(kind, &scope, None, &resource, false).await.map_err(partial)?;
        if kind == ResourceKind::Group {
            let members: Vec<String> = self.member_ids(&resource).into_iter().collect();
            if !members.is_empty() {
                self.write_members(&scope, members.clone(), vec![], Some(members)).await.map_err(partial)?;
                changed_since += 1;
            }
        }
        let record = match answered {
            Some(record) if changed_since == 0 => record,
            _ => self.read_record(kind, &native_id, true).await.map_err(partial)?.ok_or_else(|| {
                ScimError::bad_gateway(format!("the application does not find the {} it just created", kind.name()))
            })?,
        };
        Ok(self.full_resource(kind, &native_id, record, true).await?.0)
    }

    async fn get_without_members(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
    ) -> Result<scim::Resource, ScimError> {
        let native_id = self.native_of(kind, id)?;
        let record = self.read_record(kind, &native_id, false).await?.ok_or_else(|| Self::not_found(kind, id))?;
        Ok(self.full_resource(kind, &native_id, record, false).await?.0)
    }

    async fn get(&self, _ctx: &RequestCtx, kind: ResourceKind, id: &str) -> Result<scim::Resource, ScimError> {
        let native_id = self.native_of(kind, id)?;
        let record = self.read_record(kind, &native_id, true).await?.ok_or_else(|| Self::not_found(kind, id))?;
        Ok(self.full_resource(kind, &native_id, record, true).await?.0)
    }

    async fn list(&self, _ctx: &RequestCtx, kind: ResourceKind, query: &ListQuery) -> Result<ListPage, ScimError> {
        let res = self.res(kind);
        let schema = self.schema(kind);
        let skip = query.start_index.saturating_sub(1);
        let resolver = self.resolver();
        let with_members = query.with_members && kind == ResourceKind::Group;
        let records = match &query.filter {
            None => {
                let walk = list_walk(res);
                let (records, total) = paging::page(
                    &self.runner,
                    &walk,
                    skip,
                    query.count,
                    &resolver,
                    &self.listings,
                    kind,
                    res.list.max_scan,
                )
                .await?;
                let mut resources = Vec::with_capacity(records.len());
                // When `get` needs more than one call (values kept in other native resources,
                // such as Collibra's external ids), a listed record is read again through it, as
                // records found by a filter rule are.
                let reread = res.get.len() > 1;
                for r in records {
                    let id = convert::native_id(res, &r).unwrap_or_default();
                    let full = if reread { self.read_record(kind, &id, with_members).await? } else { None };
                    resources.push(self.full_resource(kind, &id, full.unwrap_or(r), with_members).await?.0);
                }
                return Ok(ListPage { total_results: total, resources });
            }
            Some(f) => match self.native_filter(kind, f, with_members).await? {
                Some(r) => r,
                None if res.other_filters == OtherFilters::Reject => {
                    return Err(ScimError::invalid_filter(format!("this target cannot answer the filter `{f}`")));
                }
                None => {
                    let walk = list_walk(res);
                    let (all, _) =
                        paging::collect(&self.runner, &walk, &self.runner.scope(), res.list.max_scan + 1, &resolver)
                            .await?;
                    if all.len() > res.list.max_scan {
                        return Err(ScimError::too_many(format!(
                            "the filter needs more than {} records scanned; use a filter this target translates",
                            res.list.max_scan
                        )));
                    }
                    all
                }
            },
        };
        let filter = query.filter.as_ref();
        let mut matched = vec![];
        for r in records {
            // The record is kept only when its members are read after the filter.
            let (scim, r) = self.to_scim(kind, r).await?;
            let kept = with_members.then_some(r);
            if filter.is_none_or(|f| scim::filter::matches(f, &scim, schema)) {
                matched.push((kept, scim));
            }
        }
        let total = matched.len();
        let mut resources = vec![];
        for (r, mut scim) in matched.into_iter().skip(skip).take(query.count) {
            if let Some(r) = r.as_ref().filter(|_| with_members) {
                let id = convert::native_id(res, r).unwrap_or_default();
                let ms = self.read_members(&id, r).await?;
                if !ms.is_empty() {
                    scim.insert("members".into(), Value::Array(ms));
                }
            }
            resources.push(scim);
        }
        Ok(ListPage { total_results: total, resources })
    }

    async fn replace(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
        resource: scim::Resource,
    ) -> Result<scim::Resource, ScimError> {
        match self.apply_change(kind, id, Change::Replace(resource)).await? {
            Patched::Resource(r) => Ok(r),
            Patched::Applied => self.get(_ctx, kind, id).await,
        }
    }

    async fn patch(
        &self,
        _ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
        patch: &PatchRequest,
    ) -> Result<Patched, ScimError> {
        self.apply_change(kind, id, Change::Patch(patch)).await
    }

    async fn delete(&self, _ctx: &RequestCtx, kind: ResourceKind, id: &str) -> Result<(), ScimError> {
        let native_id = self.native_of(kind, id)?;
        let mut scope = self.runner.scope();
        scope.insert("id".into(), Value::String(native_id.clone()));
        if kind == ResourceKind::Group && self.res(kind).members.as_ref().is_some_and(|m| m.clear_on_delete) {
            let record = self.read_record(kind, &native_id, true).await?.ok_or_else(|| Self::not_found(kind, id))?;
            let current: Vec<String> = self
                .read_members(&native_id, &record)
                .await?
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .filter_map(|v| convert::decode_id(self.res(ResourceKind::User).id.encoding, v))
                .collect();
            self.write_members(&scope, vec![], current, Some(vec![])).await?;
        }
        let deleted = self.runner.run_writes("delete", &self.res(kind).delete, &mut scope, &self.resolver()).await;
        self.listings.forget_total(kind).await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.status == 404 => Err(Self::not_found(kind, id)),
            Err(e) => Err(e),
        }
    }
}
