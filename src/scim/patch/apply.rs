//! The PATCH applier: RFC 7644 §3.5.2.1–3 over a JSON resource, driven by the schema.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use super::index::{MultiIndex, compact};
use super::request::in_operation;
use super::{PatchOpKind, PatchOperation, PatchOutcome, PatchPath, PatchRequest};
use crate::scim::filter::{self, AttrPath, CompValue, CompareOp, Filter};
use crate::scim::resource::value::{self, Label, is_primary};
use crate::scim::schema::{AttrHome, AttrType, AttributeDef, Mutability, ResourceSchema};
use crate::scim::{Resource, ScimError, get_ci};

/// Applies `req` to `resource`, all or nothing: on error `resource` is left exactly as it was
/// (RFC 7644 §3.5.2: "a PATCH request, regardless of the number of operations, SHALL be treated as
/// atomic").
///
/// Semantics, by target:
/// - **no `path`**: `value` is an object whose keys are attribute names, extension URNs holding an
///   object of that extension's attributes, or attribute paths (`name.givenName`,
///   `urn:…:User:manager`); each key is applied as if it were the operation's path. `schemas` is
///   ignored (it is derived from the extensions present), `id`/`meta` and other read-only
///   attributes are ignored when they equal the current value, and unknown keys are ignored as in
///   POST bodies. A `null` under `replace` removes the attribute.
/// - **single-valued attribute**: `add` and `replace` set it; a complex value is merged into the
///   current one, sub-attribute by sub-attribute ("sub-attributes that are not specified in the
///   value parameter are left unchanged", §3.5.2.3). `remove` unassigns it.
/// - **multi-valued attribute**: `add` appends the elements that are not already there (§3.5.2.1:
///   adding an existing value changes nothing); elements of `members`, whose `value` is immutable,
///   are references, so one with the same `value` is the same member. `replace` replaces the whole
///   set; `remove` unassigns it, or with a `value` removes just the listed elements.
/// - **`attr[filter]` and `attr[filter].sub`**: `add`/`replace` merge into (or set `sub` on) every
///   matching element, `remove` removes the matching elements (or their `sub`); a `remove` that
///   matches nothing succeeds. When an `add` or `replace` matches nothing and the filter is made only
///   of `eq` comparisons joined by `and` (`emails[type eq "work"].value`,
///   `roles[primary eq true].value`), a new element is created from the filter's values and the
///   operation's value, as Microsoft Entra expects; RFC 7644 §3.5.2.3 would answer `noTarget`, which
///   makes Entra's updates fail. Other unmatched filters are 400 `noTarget`.
/// - **`attr.sub` on a multi-valued attribute** addresses the sub-attribute of every element.
///
/// Rules that hold throughout:
/// - at most one element of a multi-valued attribute is `primary`: when an operation marks an
///   element primary, the others get `primary: false`; an operation that would itself mark two
///   elements primary is rejected with 400 `invalidValue`, since there is no way to tell which one
///   is meant;
/// - read-only attributes (`id`, `meta`, `groups`, `members.display`) cannot be targeted (400
///   `mutability`); read-only sub-attributes inside a value are dropped, as in POST bodies;
/// - immutable attributes and sub-attributes may be set when unassigned, not changed or removed
///   (400 `mutability`, §3.5.2);
/// - removing a required attribute (`userName`, `displayName`) is 400 `mutability`: §3.5.2.2 says
///   "if an attribute is removed or becomes unassigned and is defined as a required attribute or a
///   read-only attribute, the server SHALL return … a "scimType" error code of "mutability"";
/// - values are checked against the attribute's type and stored under the schema's spelling of
///   every name; a path naming an attribute the schema does not define is 400 `invalidPath`;
/// - complex values and arrays left empty by a removal are removed.
pub fn apply(schema: &ResourceSchema, resource: &mut Resource, req: &PatchRequest) -> Result<PatchOutcome, ScimError> {
    let mut run = Applier { schema, res: resource.clone(), indexes: HashMap::new(), touched: BTreeSet::new() };
    for (i, op) in req.operations.iter().enumerate() {
        run.operation(op).map_err(|e| in_operation(e, i))?;
    }
    let (after, touched) = run.finish();
    let changed =
        touched.into_iter().filter(|k| k.lookup(resource) != k.lookup(&after)).map(AttrKey::qualified_name).collect();
    *resource = after;
    Ok(PatchOutcome { changed })
}

/// Where an attribute lives: top level, or inside an extension object. Names are the schema's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct AttrKey<'s> {
    ext: Option<&'s str>,
    name: &'s str,
}

/// A resolved operation target.
struct Target<'s> {
    key: AttrKey<'s>,
    def: &'s AttributeDef,
    /// The qualified name, for error details.
    shown: String,
}

/// Which elements of a multi-valued attribute an operation addresses.
#[derive(Clone, Copy)]
enum Select<'f> {
    All,
    Filter(&'f Filter),
}

struct Applier<'s> {
    schema: &'s ResourceSchema,
    /// The working copy.
    res: Resource,
    indexes: HashMap<AttrKey<'s>, MultiIndex>,
    /// Attributes written to; compared with the original at the end.
    touched: BTreeSet<AttrKey<'s>>,
}

// === impl AttrKey ===

impl<'s> AttrKey<'s> {
    fn qualified_name(self) -> String {
        match self.ext {
            Some(urn) => format!("{urn}:{}", self.name),
            None => self.name.to_owned(),
        }
    }

    fn lookup(self, res: &Resource) -> Option<&Value> {
        let container = match self.ext {
            None => res,
            Some(urn) => get_ci(res, urn)?.as_object()?,
        };
        get_ci(container, self.name)
    }
}

// === impl Target ===

impl<'s> Target<'s> {
    fn new(ext: Option<&'s str>, def: &'s AttributeDef) -> Self {
        let key = AttrKey { ext, name: &def.name };
        Target { key, def, shown: key.qualified_name() }
    }

    fn label(&self) -> Label<'_> {
        Label::new(&self.shown)
    }

    fn guard_immutable(&self, old: Option<&Value>, new: Option<&Value>) -> Result<(), ScimError> {
        if self.def.mutability == Mutability::Immutable && old.is_some() && old != new {
            return Err(immutable(self.label()));
        }
        Ok(())
    }
}

// === impl Applier ===

impl<'s> Applier<'s> {
    fn operation(&mut self, op: &PatchOperation) -> Result<(), ScimError> {
        match (&op.path, op.op) {
            (None, PatchOpKind::Remove) => Err(ScimError::no_target("a remove operation needs a `path`")),
            (None, kind) => self.no_path(kind, required_value(op.op, op.value.as_ref())?),
            (Some(path), PatchOpKind::Remove) => self.with_path(PatchOpKind::Remove, path, op.value.as_ref()),
            (Some(path), kind) => self.with_path(kind, path, Some(required_value(kind, op.value.as_ref())?)),
        }
    }

    fn finish(mut self) -> (Resource, BTreeSet<AttrKey<'s>>) {
        let keys: Vec<AttrKey<'s>> = self.indexes.keys().copied().collect();
        for key in keys {
            self.settle(key);
        }
        (self.res, self.touched)
    }

    // --- paths ---

    fn with_path(&mut self, kind: PatchOpKind, path: &PatchPath, value: Option<&Value>) -> Result<(), ScimError> {
        let t = self.resolve(path)?;
        if t.def.mutability == Mutability::ReadOnly {
            return Err(read_only(t.label()));
        }
        match path {
            PatchPath::Attr(AttrPath { sub: None, .. }) => self.whole(kind, &t, value),
            PatchPath::Attr(AttrPath { sub: Some(sub), .. }) => {
                let sub = sub_attribute(&t, sub, path)?;
                if t.def.multi_valued {
                    self.elements(kind, &t, Select::All, Some(sub), value, path)
                } else {
                    self.single_sub(kind, &t, sub, value)
                }
            }
            PatchPath::Filtered { filter, sub, .. } => {
                if !t.def.multi_valued {
                    return Err(ScimError::invalid_path(format!(
                        "`{path}`: a value filter needs a multi-valued attribute and `{}` is single-valued",
                        t.shown
                    )));
                }
                check_filter(filter, t.def, path)?;
                let sub = sub.as_deref().map(|s| sub_attribute(&t, s, path)).transpose()?;
                self.elements(kind, &t, Select::Filter(filter), sub, value, path)
            }
        }
    }

    fn resolve(&self, path: &PatchPath) -> Result<Target<'s>, ScimError> {
        let attr = path.attr();
        let base = AttrPath { uri: attr.uri.clone(), name: attr.name.clone(), sub: None };
        let schema: &'s ResourceSchema = self.schema;
        let r = schema.resolve(&base).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "`{path}`: the {} schema has no attribute `{}`",
                schema.kind.name(),
                base_name(attr)
            ))
        })?;
        let ext = match r.home {
            AttrHome::Core => None,
            AttrHome::Extension(urn) => Some(urn),
        };
        Ok(Target::new(ext, r.def))
    }

    // --- no path ---

    fn no_path(&mut self, kind: PatchOpKind, value: &Value) -> Result<(), ScimError> {
        let Value::Object(entries) = value else {
            return Err(ScimError::invalid_value(format!(
                "`{kind}` without `path` needs an object of attributes as its `value`"
            )));
        };
        for (key, v) in entries {
            self.no_path_entry(kind, key, v)?;
        }
        Ok(())
    }

    fn no_path_entry(&mut self, kind: PatchOpKind, key: &str, v: &Value) -> Result<(), ScimError> {
        let schema: &'s ResourceSchema = self.schema;
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(());
        }
        if let Some(def) = schema.core_attribute(key) {
            return self.no_path_attr(kind, Target::new(None, def), v);
        }
        if key.eq_ignore_ascii_case(&schema.core.id) {
            return match v {
                Value::Object(inner) => inner.iter().try_for_each(|(k, v)| match schema.core_attribute(k) {
                    Some(def) => self.no_path_attr(kind, Target::new(None, def), v),
                    None => Ok(()),
                }),
                _ => Err(ScimError::invalid_value(format!("`{}` must be an object of attributes", schema.core.id))),
            };
        }
        if let Some(ext) = schema.extension(key) {
            return match v {
                Value::Object(inner) => inner.iter().try_for_each(|(k, v)| match ext.attribute(k) {
                    Some(def) => self.no_path_attr(kind, Target::new(Some(&ext.id), def), v),
                    None => Ok(()),
                }),
                Value::Null if kind == PatchOpKind::Replace => {
                    ext.attributes.iter().try_for_each(|def| self.remove_whole(&Target::new(Some(&ext.id), def)))
                }
                Value::Null => Ok(()),
                _ => Err(ScimError::invalid_value(format!("`{}` must be an object of extension attributes", ext.id))),
            };
        }
        // A dotted or URN-qualified key is an attribute path (Entra sends `name.givenName` keys).
        if let Ok(path) = PatchPath::parse(key)
            && self.resolve(&path).is_ok()
        {
            return match (kind, v) {
                (PatchOpKind::Replace, Value::Null) => self.with_path(PatchOpKind::Remove, &path, None),
                (_, Value::Null) => Ok(()),
                (kind, v) => self.with_path(kind, &path, Some(v)),
            };
        }
        Ok(())
    }

    fn no_path_attr(&mut self, kind: PatchOpKind, t: Target<'s>, v: &Value) -> Result<(), ScimError> {
        if t.def.mutability == Mutability::ReadOnly {
            return if echoes(t.key.lookup(&self.res), v) { Ok(()) } else { Err(read_only(t.label())) };
        }
        match (kind, v) {
            (PatchOpKind::Replace, Value::Null) => self.remove_whole(&t),
            (_, Value::Null) => Ok(()),
            (kind, v) => self.whole(kind, &t, Some(v)),
        }
    }

    // --- whole attributes ---

    fn whole(&mut self, kind: PatchOpKind, t: &Target<'s>, value: Option<&Value>) -> Result<(), ScimError> {
        let v = match (kind, value) {
            (PatchOpKind::Remove, Some(listed)) if t.def.multi_valued => return self.remove_listed(t, listed),
            (PatchOpKind::Remove, _) => return self.remove_whole(t),
            (kind, v) => required_value(kind, v)?,
        };
        let new = value::attribute(t.def, t.label(), v.clone())?;
        match (kind, new) {
            (PatchOpKind::Replace, None) => self.remove_whole(t),
            (_, None) => Ok(()),
            (PatchOpKind::Add, Some(Value::Array(items))) => self.merge(t, items),
            (_, Some(Value::Object(subs))) => {
                let old = self.take(t.key);
                let mut merged = match old.clone() {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                for (name, v) in subs {
                    canonicalize_key(&mut merged, &name);
                    if let Some(sub) = t.def.sub_attribute(&name) {
                        guard_sub(sub, t.label(), merged.get(&name), &v)?;
                    }
                    merged.insert(name, v);
                }
                let merged = Value::Object(merged);
                t.guard_immutable(old.as_ref(), Some(&merged))?;
                self.put(t.key, Some(merged));
                Ok(())
            }
            (_, Some(new)) => {
                self.settle(t.key);
                let old = self.take(t.key);
                t.guard_immutable(old.as_ref(), Some(&new))?;
                self.put(t.key, Some(new));
                Ok(())
            }
        }
    }

    /// `add` of elements to a multi-valued attribute, through the attribute's index.
    fn merge(&mut self, t: &Target<'s>, items: Vec<Value>) -> Result<(), ScimError> {
        let had_value = t.key.lookup(&self.res).is_some();
        let Some(arr) = array_slot(&mut self.res, t.key, true) else {
            return Err(ScimError::internal(format!("`{}` could not be created", t.shown)));
        };
        let ix = self.indexes.entry(t.key).or_insert_with(|| MultiIndex::build(t.def, arr));
        let mut fresh_primary = None;
        for item in items {
            if ix.contains(arr, &item) {
                continue;
            }
            if had_value && t.def.mutability == Mutability::Immutable {
                return Err(immutable(t.label()));
            }
            let primary = is_primary(&item);
            let pos = ix.push(arr, item);
            if primary {
                fresh_primary = Some(pos);
            }
            self.touched.insert(t.key);
        }
        if let Some(pos) = fresh_primary {
            ix.clear_primaries_except(arr, pos);
        }
        Ok(())
    }

    fn remove_whole(&mut self, t: &Target<'s>) -> Result<(), ScimError> {
        self.settle(t.key);
        if t.key.lookup(&self.res).is_none() {
            return Ok(());
        }
        if t.def.required {
            return Err(ScimError::mutability(format!("`{}` is required and cannot be removed", t.shown)));
        }
        if t.def.mutability == Mutability::Immutable {
            return Err(immutable(t.label()));
        }
        self.put(t.key, None);
        Ok(())
    }

    /// `remove` on a multi-valued attribute with a `value`: removes the listed elements.
    fn remove_listed(&mut self, t: &Target<'s>, listed: &Value) -> Result<(), ScimError> {
        let Some(Value::Array(listed)) = value::attribute(t.def, t.label(), listed.clone())? else {
            return Ok(());
        };
        self.settle(t.key);
        let mut items = self.take_items(t.key);
        let ix = MultiIndex::build(t.def, &items);
        let gone: Vec<usize> = listed.iter().flat_map(|e| ix.positions_of(&items, e)).collect();
        let gone: HashSet<usize> = gone.into_iter().collect();
        retain_positions(&mut items, |i| !gone.contains(&i));
        self.put_items(t.key, items);
        Ok(())
    }

    // --- sub-attributes of a single-valued complex attribute ---

    fn single_sub(
        &mut self,
        kind: PatchOpKind,
        t: &Target<'s>,
        sub: &'s AttributeDef,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if kind == PatchOpKind::Remove {
            return self.remove_single_sub(t, sub);
        }
        let label = t.label().child(&sub.name);
        let Some(v) = value::attribute(sub, label, required_value(kind, value)?.clone())? else {
            return if kind == PatchOpKind::Replace { self.remove_single_sub(t, sub) } else { Ok(()) };
        };
        let old = self.take(t.key);
        let mut obj = match old.clone() {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        canonicalize_key(&mut obj, &sub.name);
        guard_sub(sub, t.label(), obj.get(&sub.name), &v)?;
        obj.insert(sub.name.clone(), v);
        let new = Value::Object(obj);
        t.guard_immutable(old.as_ref(), Some(&new))?;
        self.put(t.key, Some(new));
        Ok(())
    }

    fn remove_single_sub(&mut self, t: &Target<'s>, sub: &AttributeDef) -> Result<(), ScimError> {
        let Some(old) = self.take(t.key) else { return Ok(()) };
        let Value::Object(mut obj) = old else {
            self.put(t.key, Some(old));
            return Ok(());
        };
        canonicalize_key(&mut obj, &sub.name);
        if obj.contains_key(&sub.name) {
            guard_sub_removal(sub, t.label())?;
            if t.def.mutability == Mutability::Immutable {
                return Err(immutable(t.label()));
            }
            obj.remove(&sub.name);
        }
        if obj.is_empty() && t.def.required {
            return Err(ScimError::mutability(format!("`{}` is required and cannot be removed", t.shown)));
        }
        self.put(t.key, (!obj.is_empty()).then_some(Value::Object(obj)));
        Ok(())
    }

    // --- elements of multi-valued attributes ---

    fn elements(
        &mut self,
        kind: PatchOpKind,
        t: &Target<'s>,
        select: Select<'_>,
        sub: Option<&'s AttributeDef>,
        value: Option<&Value>,
        path: &PatchPath,
    ) -> Result<(), ScimError> {
        if kind == PatchOpKind::Remove
            && sub.is_none()
            && let Select::Filter(f) = select
            && let Some(literal) = value_eq_literal(f)
            && self.remove_by_value(t, f, literal)
        {
            return Ok(());
        }
        self.settle(t.key);
        let mut items = self.take_items(t.key);
        let matched: Vec<usize> = match select {
            Select::All => (0..items.len()).collect(),
            Select::Filter(f) => {
                items.iter().enumerate().filter(|(_, e)| filter::matches_element(f, e, t.def)).map(|(i, _)| i).collect()
            }
        };
        match kind {
            PatchOpKind::Remove => remove_in(&mut items, t, &matched, sub)?,
            kind => write_in(kind, &mut items, t, select, &matched, sub, required_value(kind, value)?, path)?,
        }
        self.put_items(t.key, items);
        Ok(())
    }

    /// `remove attr[value eq "…"]` through the index: candidates by `value`, confirmed by the
    /// filter. Returns false when the attribute cannot be served this way.
    fn remove_by_value(&mut self, t: &Target<'s>, f: &Filter, literal: &str) -> bool {
        let by_value =
            t.def.ty == AttrType::Complex && t.def.sub_attribute("value").is_some_and(|v| v.ty == AttrType::String);
        if !by_value {
            return false;
        }
        if t.key.lookup(&self.res).is_none() {
            return true;
        }
        let Some(arr) = array_slot(&mut self.res, t.key, false) else { return false };
        let ix = self.indexes.entry(t.key).or_insert_with(|| MultiIndex::build(t.def, arr));
        let hits: Vec<usize> =
            ix.value_candidates(literal).into_iter().filter(|&p| filter::matches_element(f, &arr[p], t.def)).collect();
        if !hits.is_empty() {
            ix.remove(arr, &hits);
            self.touched.insert(t.key);
        }
        true
    }

    // --- storage ---

    /// Compacts an indexed attribute and forgets its index, so it can be read as plain JSON.
    fn settle(&mut self, key: AttrKey<'s>) {
        let Some(ix) = self.indexes.remove(&key) else { return };
        if !ix.has_tombstones() {
            return;
        }
        if let Some(Value::Array(mut items)) = self.take(key) {
            compact(&mut items);
            self.put_items(key, items);
        }
    }

    fn take(&mut self, key: AttrKey<'s>) -> Option<Value> {
        let container = container(&mut self.res, key.ext, false)?;
        canonicalize_key(container, key.name);
        container.remove(key.name)
    }

    /// The elements of a multi-valued attribute, taken out (a stored single value counts as one).
    fn take_items(&mut self, key: AttrKey<'s>) -> Vec<Value> {
        match self.take(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(one) => vec![one],
        }
    }

    fn put(&mut self, key: AttrKey<'s>, v: Option<Value>) {
        self.touched.insert(key);
        match v {
            Some(v) => {
                if let Some(c) = container(&mut self.res, key.ext, true) {
                    c.insert(key.name.to_owned(), v);
                }
            }
            None => {
                let _ = self.take(key);
                if let Some(urn) = key.ext
                    && self.res.get(urn).and_then(Value::as_object).is_some_and(Map::is_empty)
                {
                    self.res.remove(urn);
                }
            }
        }
    }

    fn put_items(&mut self, key: AttrKey<'s>, items: Vec<Value>) {
        self.put(key, (!items.is_empty()).then_some(Value::Array(items)));
    }
}

/// `remove` on the selected elements: whole elements, or their `sub`.
fn remove_in(
    items: &mut Vec<Value>,
    t: &Target<'_>,
    matched: &[usize],
    sub: Option<&AttributeDef>,
) -> Result<(), ScimError> {
    let Some(sub) = sub else {
        let matched: HashSet<usize> = matched.iter().copied().collect();
        retain_positions(items, |i| !matched.contains(&i));
        return Ok(());
    };
    for &i in matched {
        let Some(element) = items[i].as_object_mut() else { continue };
        canonicalize_key(element, &sub.name);
        if element.contains_key(&sub.name) {
            guard_sub_removal(sub, t.label())?;
            element.remove(&sub.name);
        }
    }
    items.retain(|e| !matches!(e, Value::Object(m) if m.is_empty()));
    Ok(())
}

/// `add`/`replace` on the selected elements, creating one from the filter when none matched and the
/// filter allows it. Then keeps a single `primary`.
#[allow(clippy::too_many_arguments)]
fn write_in(
    kind: PatchOpKind,
    items: &mut Vec<Value>,
    t: &Target<'_>,
    select: Select<'_>,
    matched: &[usize],
    sub: Option<&AttributeDef>,
    value: &Value,
    path: &PatchPath,
) -> Result<(), ScimError> {
    let was_primary: HashSet<usize> = matched.iter().copied().filter(|&i| is_primary(&items[i])).collect();
    let (written, marks_primary) = match sub {
        Some(sub) => {
            let label = t.label().child(&sub.name);
            let Some(v) = value::attribute(sub, label, value.clone())? else {
                return if kind == PatchOpKind::Replace { remove_in(items, t, matched, Some(sub)) } else { Ok(()) };
            };
            let marks_primary = sub.name == "primary" && v == Value::Bool(true);
            if matched.is_empty() {
                let mut element = synthesized(select, t.def, path)?;
                element.insert(sub.name.clone(), v);
                (vec![push_element(items, t, element)?], marks_primary)
            } else {
                for &i in matched {
                    if let Some(element) = items[i].as_object_mut() {
                        canonicalize_key(element, &sub.name);
                        guard_sub(sub, t.label(), element.get(&sub.name), &v)?;
                        element.insert(sub.name.clone(), v.clone());
                    }
                }
                (matched.to_vec(), marks_primary)
            }
        }
        None => {
            let Some(v) = value::element(t.def, t.label(), value.clone())? else { return Ok(()) };
            let marks_primary = is_primary(&v);
            match (v, matched.is_empty()) {
                (Value::Object(fields), true) => {
                    let mut element = synthesized(select, t.def, path)?;
                    element.extend(fields);
                    (vec![push_element(items, t, element)?], marks_primary)
                }
                (Value::Object(fields), false) => {
                    for &i in matched {
                        if let Some(element) = items[i].as_object_mut() {
                            for (name, v) in &fields {
                                canonicalize_key(element, name);
                                if let Some(sub) = t.def.sub_attribute(name) {
                                    guard_sub(sub, t.label(), element.get(name), v)?;
                                }
                                element.insert(name.clone(), v.clone());
                            }
                        }
                    }
                    (matched.to_vec(), marks_primary)
                }
                (scalar, true) if kind == PatchOpKind::Add => {
                    if !items.contains(&scalar) {
                        items.push(scalar);
                    }
                    (vec![], false)
                }
                (_, true) => return Err(no_match(path)),
                (scalar, false) => {
                    for &i in matched {
                        items[i] = scalar.clone();
                    }
                    (matched.to_vec(), false)
                }
            }
        }
    };
    let fresh: Vec<usize> = written
        .into_iter()
        .filter(|&i| is_primary(&items[i]) && (marks_primary || !was_primary.contains(&i)))
        .collect();
    match fresh.as_slice() {
        [] => Ok(()),
        [keep] => {
            for (i, element) in items.iter_mut().enumerate() {
                if i != *keep
                    && is_primary(element)
                    && let Some(element) = element.as_object_mut()
                {
                    element.insert("primary".to_owned(), Value::Bool(false));
                }
            }
            Ok(())
        }
        many => Err(ScimError::invalid_value(format!(
            "`{path}` would mark {} `{}` values primary; at most one may be",
            many.len(),
            t.shown
        ))),
    }
}

/// The element to create when a filter matched nothing, or 400 `noTarget`.
fn synthesized(select: Select<'_>, def: &AttributeDef, path: &PatchPath) -> Result<Map<String, Value>, ScimError> {
    match select {
        Select::Filter(f) => synthesize(f, def).ok_or_else(|| no_match(path)),
        Select::All => Err(no_match(path)),
    }
}

/// The element an `eq`-only filter describes: `type eq "work" and primary eq true` gives
/// `{"type": "work", "primary": true}`. `None` when the filter uses anything else or contradicts
/// itself.
fn synthesize(f: &Filter, def: &AttributeDef) -> Option<Map<String, Value>> {
    fn eq_terms<'f>(f: &'f Filter, out: &mut Vec<(&'f AttrPath, &'f CompValue)>) -> bool {
        match f {
            Filter::And(a, b) => eq_terms(a, out) && eq_terms(b, out),
            Filter::Compare { path, op: CompareOp::Eq, value } if path.uri.is_none() && path.sub.is_none() => {
                out.push((path, value));
                true
            }
            _ => false,
        }
    }
    if def.ty != AttrType::Complex {
        return None;
    }
    let mut terms = Vec::new();
    if !eq_terms(f, &mut terms) {
        return None;
    }
    let mut element = Map::new();
    for (path, literal) in terms {
        let sub = def.sub_attribute(&path.name)?;
        let v = match literal {
            CompValue::Null => return None,
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::String(s) => Value::String(s.clone()),
        };
        match element.get(&sub.name) {
            Some(existing) if *existing != v => return None,
            _ => {
                element.insert(sub.name.clone(), v);
            }
        }
    }
    Some(element)
}

/// Type-checks a created element and appends it; returns its position.
fn push_element(items: &mut Vec<Value>, t: &Target<'_>, element: Map<String, Value>) -> Result<usize, ScimError> {
    match value::element(t.def, t.label(), Value::Object(element))? {
        Some(element) => {
            items.push(element);
            Ok(items.len() - 1)
        }
        None => Err(ScimError::invalid_value(format!("`{}`: the new value is empty", t.shown))),
    }
}

/// The string of a `value eq "…"` filter: the shape of member removals.
fn value_eq_literal(f: &Filter) -> Option<&str> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(s) }
            if path.uri.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(s)
        }
        _ => None,
    }
}

/// Checks that a value filter names only sub-attributes of `def` (`value` for simple
/// multi-valued attributes); value filters cannot nest.
fn check_filter(f: &Filter, def: &AttributeDef, path: &PatchPath) -> Result<(), ScimError> {
    let known = |p: &AttrPath| {
        p.uri.is_none()
            && p.sub.is_none()
            && if def.ty == AttrType::Complex {
                def.sub_attribute(&p.name).is_some()
            } else {
                p.name.eq_ignore_ascii_case("value")
            }
    };
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_filter(a, def, path)?;
            check_filter(b, def, path)
        }
        Filter::Not(a) => check_filter(a, def, path),
        Filter::Compare { path: p, .. } | Filter::Present(p) if known(p) => Ok(()),
        Filter::Compare { path: p, .. } | Filter::Present(p) => Err(ScimError::invalid_filter(format!(
            "`{path}`: `{}` is not a sub-attribute of `{}`",
            base_name(p),
            def.name
        ))),
        Filter::ValuePath { .. } => Err(ScimError::invalid_filter(format!("`{path}`: value filters cannot be nested"))),
    }
}

fn sub_attribute<'s>(t: &Target<'s>, name: &str, path: &PatchPath) -> Result<&'s AttributeDef, ScimError> {
    let sub = t
        .def
        .sub_attribute(name)
        .ok_or_else(|| ScimError::invalid_path(format!("`{path}`: `{}` has no sub-attribute `{name}`", t.shown)))?;
    if sub.mutability == Mutability::ReadOnly {
        return Err(read_only(t.label().child(&sub.name)));
    }
    Ok(sub)
}

/// An immutable sub-attribute may be set when unassigned, not changed.
fn guard_sub(sub: &AttributeDef, parent: Label<'_>, old: Option<&Value>, new: &Value) -> Result<(), ScimError> {
    if sub.mutability == Mutability::Immutable && old.is_some_and(|o| o != new) {
        return Err(immutable(parent.child(&sub.name)));
    }
    Ok(())
}

fn guard_sub_removal(sub: &AttributeDef, parent: Label<'_>) -> Result<(), ScimError> {
    if sub.required {
        return Err(ScimError::mutability(format!("`{}` is required and cannot be removed", parent.child(&sub.name))));
    }
    if sub.mutability == Mutability::Immutable {
        return Err(immutable(parent.child(&sub.name)));
    }
    Ok(())
}

/// Whether a read-only value sent in a no-path operation just repeats the current one (clients echo
/// `id` and `meta` they read). For objects, every sub-attribute sent must equal the current one.
fn echoes(current: Option<&Value>, sent: &Value) -> bool {
    match (current, sent) {
        (Some(Value::Object(cur)), Value::Object(sent)) => {
            sent.iter().all(|(k, v)| v.is_null() || get_ci(cur, k).is_some_and(|c| c == v))
        }
        (Some(cur), sent) => cur == sent,
        (None, sent) => sent.is_null(),
    }
}

fn required_value(kind: PatchOpKind, value: Option<&Value>) -> Result<&Value, ScimError> {
    value.filter(|v| !v.is_null()).ok_or_else(|| ScimError::invalid_value(format!("`{kind}` needs a `value`")))
}

fn read_only(label: Label<'_>) -> ScimError {
    ScimError::mutability(format!("`{label}` is read-only"))
}

fn immutable(label: Label<'_>) -> ScimError {
    ScimError::mutability(format!("`{label}` is immutable: it can be set once, not changed or removed"))
}

fn no_match(path: &PatchPath) -> ScimError {
    ScimError::no_target(format!("`{path}` matches no value"))
}

fn base_name(p: &AttrPath) -> String {
    match &p.uri {
        Some(uri) => format!("{uri}:{}", p.name),
        None => p.name.clone(),
    }
}

fn retain_positions(items: &mut Vec<Value>, keep: impl Fn(usize) -> bool) {
    let mut i = 0;
    items.retain(|_| {
        let k = keep(i);
        i += 1;
        k
    });
}

/// Renames a key spelled in another case to `canonical`.
fn canonicalize_key(m: &mut Map<String, Value>, canonical: &str) {
    if m.contains_key(canonical) {
        return;
    }
    if let Some(k) = m.keys().find(|k| k.eq_ignore_ascii_case(canonical)).cloned()
        && let Some(v) = m.remove(&k)
    {
        m.insert(canonical.to_owned(), v);
    }
}

/// The object holding an attribute: the resource, or its extension object.
fn container<'r>(res: &'r mut Resource, ext: Option<&str>, create: bool) -> Option<&'r mut Map<String, Value>> {
    let Some(urn) = ext else { return Some(res) };
    canonicalize_key(res, urn);
    if create {
        let slot = res.entry(urn.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
    }
    res.get_mut(urn)?.as_object_mut()
}

/// The array of a multi-valued attribute, in place. With `create`, an absent attribute becomes `[]`
/// and a stored single value becomes a one-element array.
fn array_slot<'r>(res: &'r mut Resource, key: AttrKey<'_>, create: bool) -> Option<&'r mut Vec<Value>> {
    let c = container(res, key.ext, create)?;
    canonicalize_key(c, key.name);
    if create {
        let slot = c.entry(key.name.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
        if !slot.is_array() {
            let one = std::mem::take(slot);
            *slot = Value::Array(if one.is_null() { vec![] } else { vec![one] });
        }
    }
    c.get_mut(key.name)?.as_array_mut()
}
