//! PATCH bodies (RFC 7644 §3.5.2): JSON-level rewrites, then parsing, then filter literal coercion.

use serde_json::{Map, Value};

use super::filter::coerce_filter_literals;
use super::keys::{KeyKind, canonicalize_key, classify, find_key};
use super::path::{self, PathHead};
use super::resource::shape_object;
use super::shape;
use crate::scim::filter::AttrPath;
use crate::scim::patch::{PatchPath, PatchRequest};
use crate::scim::schema::{AttrType, AttributeDef, Mutability, ResourceSchema};

/// The filters of parsed operations, with the string literals compared with boolean sub-attributes made
/// booleans (`roles[primary eq "True"].value` → `roles[primary eq true].value`).
pub fn coerce_patch_filters(schema: &ResourceSchema, mut request: PatchRequest) -> PatchRequest {
    for op in &mut request.operations {
        op.path = match op.path.take() {
            Some(PatchPath::Filtered { attr, filter, sub }) => {
                let context = schema.resolve(&AttrPath { sub: None, ..attr.clone() }).map(|r| r.def);
                let filter = coerce_filter_literals(filter, context, schema);
                Some(PatchPath::Filtered { attr, filter, sub })
            }
            other => other,
        };
    }
    request
}

/// The JSON-level rewrites of PATCH normalisation, before parsing: a PatchOp body in, a PatchOp body in
/// RFC 7644 shape out. Anything not recognised is passed through for the parser to judge.
pub fn normalize_patch_json(schema: &ResourceSchema, body: Value) -> Value {
    let Value::Object(mut top) = body else { return body };
    canonicalize_key(&mut top, "schemas");
    canonicalize_key(&mut top, "Operations");
    if let Some(Value::Array(ops)) = top.get_mut("Operations") {
        let mut out = Vec::with_capacity(ops.len());
        for op in std::mem::take(ops) {
            normalize_operation(schema, op, &mut out);
        }
        *ops = out;
    }
    Value::Object(top)
}

/// Rewrites one operation into zero or more RFC operations, appended to `out`.
fn normalize_operation(schema: &ResourceSchema, op: Value, out: &mut Vec<Value>) {
    let Value::Object(mut op) = op else {
        out.push(op);
        return;
    };
    for key in ["op", "path", "value"] {
        canonicalize_key(&mut op, key);
    }
    let kind = match op.get_mut("op") {
        Some(Value::String(s)) => {
            if let Some(k) = ["add", "replace", "remove"].into_iter().find(|k| k.eq_ignore_ascii_case(s)) {
                k.clone_into(s);
            }
            s.clone()
        }
        _ => String::new(),
    };
    if !op.contains_key("path") && (kind == "add" || kind == "replace") {
        match op.remove("value") {
            Some(Value::Object(value)) => split_no_path(schema, &kind, value, out),
            other => {
                if let Some(value) = other {
                    op.insert("value".to_owned(), value);
                }
                out.push(Value::Object(op));
            }
        }
        return;
    }
    with_path(schema, op, out);
}

/// An operation with a `path` (or a `remove` without one, which the parser rejects).
fn with_path(schema: &ResourceSchema, mut op: Map<String, Value>, out: &mut Vec<Value>) {
    let Some(Value::String(text)) = op.get("path") else {
        out.push(Value::Object(op));
        return;
    };
    let Some(mut head) = path::scan(text) else {
        out.push(Value::Object(op));
        return;
    };
    if let Some(qualified) = qualify(schema, &head, text) {
        head = path::scan(&qualified).unwrap_or(head);
        op.insert("path".to_owned(), Value::String(qualified));
    }
    let target = target_of(schema, &head);
    if let (Some(target), Some(value)) = (target, op.get_mut("value")) {
        *value = target.shape(std::mem::take(value));
    }
    if op.get("op").and_then(Value::as_str) == Some("remove")
        && let Some(Target::Attribute(def)) = target
        && let Some(removals) = removals_by_value(def, &op)
    {
        out.extend(removals);
        return;
    }
    out.push(Value::Object(op));
}

/// What a path's value is: a whole attribute, one element of a multi-valued attribute, or a
/// sub-attribute.
#[derive(Clone, Copy)]
enum Target<'s> {
    Attribute(&'s AttributeDef),
    Element(&'s AttributeDef),
}

impl Target<'_> {
    fn shape(self, v: Value) -> Value {
        match self {
            Target::Attribute(def) => shape::attribute(def, v),
            Target::Element(def) => match v {
                Value::Array(items) => Value::Array(items.into_iter().map(|e| shape::element(def, e)).collect()),
                v => shape::element(def, v),
            },
        }
    }
}

fn target_of<'s>(schema: &'s ResourceSchema, head: &PathHead) -> Option<Target<'s>> {
    let resolved = schema.resolve(&head.attr)?;
    if let Some(sub) = resolved.sub {
        return Some(Target::Attribute(sub));
    }
    match (&head.sub_after_filter, head.filtered) {
        (Some(sub), _) => resolved.def.sub_attribute(sub).map(Target::Attribute),
        (None, true) => Some(Target::Element(resolved.def)),
        (None, false) => Some(Target::Attribute(resolved.def)),
    }
}

/// `path` with the URN of the one extension defining its attribute, when the core schema does not
/// define it (Entra's `"path": "manager"`).
fn qualify(schema: &ResourceSchema, head: &PathHead, text: &str) -> Option<String> {
    if head.attr.uri.is_some() {
        return None;
    }
    let bare = AttrPath { uri: None, name: head.attr.name.clone(), sub: None };
    if schema.resolve(&bare).is_some() {
        return None;
    }
    let mut owners = schema.extensions.iter().filter(|(ext, _)| ext.attribute(&head.attr.name).is_some());
    match (owners.next(), owners.next()) {
        (Some((ext, _)), None) => Some(format!("{}:{text}", ext.id)),
        _ => None,
    }
}

/// Entra's default-mode member removal: `remove` on a multi-valued complex attribute with a list of
/// `{"value": …}` elements becomes one `remove` per element, by value filter. `None` when the value is
/// not such a list, so the operation is passed on as sent.
fn removals_by_value(def: &AttributeDef, op: &Map<String, Value>) -> Option<Vec<Value>> {
    if !def.multi_valued || def.ty != AttrType::Complex || def.sub_attribute("value").is_none() {
        return None;
    }
    let path = op.get("path")?.as_str()?;
    let elements = match op.get("value")? {
        Value::Array(items) => items.iter().collect::<Vec<_>>(),
        one @ Value::Object(_) => vec![one],
        _ => return None,
    };
    elements
        .into_iter()
        .map(|e| {
            let m = e.as_object()?;
            let v = m.get(&find_key(m, "value")?)?;
            if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                return None;
            }
            // A JSON scalar is also a SCIM filter literal (RFC 7644 §3.4.2.2 compValue).
            let literal = serde_json::to_string(v).ok()?;
            let mut removal = Map::new();
            removal.insert("op".to_owned(), Value::String("remove".to_owned()));
            removal.insert("path".to_owned(), Value::String(format!("{path}[value eq {literal}]")));
            Some(Value::Object(removal))
        })
        .collect()
}

/// A no-path `add`/`replace`: drops read-only keys, then splits attribute-path keys into one operation
/// each, or shapes the value as a partial resource when it has none.
fn split_no_path(schema: &ResourceSchema, kind: &str, mut value: Map<String, Value>, out: &mut Vec<Value>) {
    value.retain(|key, _| !is_read_only_key(schema, key));
    let has_path_keys =
        value.keys().any(|k| matches!(classify(schema, k), KeyKind::Dotted | KeyKind::Qualified { .. }));
    if !has_path_keys {
        shape_object(schema, &mut value);
        out.push(operation(kind, None, Value::Object(value)));
        return;
    }
    let mut entries: Vec<(String, Value)> = Vec::with_capacity(value.len());
    for (key, v) in value {
        match (classify(schema, &key), v) {
            // An extension object among path keys: one path per attribute in it.
            (KeyKind::Container(ext), Value::Object(inner)) => {
                let id = ext.id.clone();
                entries.extend(inner.into_iter().map(|(k, v)| (format!("{id}:{k}"), v)));
            }
            (_, v) => entries.push((key, v)),
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, v) in entries {
        let Value::Object(op) = operation(kind, Some(path), v) else { continue };
        with_path(schema, op, out);
    }
}

/// `schemas`, and keys naming a read-only attribute (`id`, `meta`, `groups`, …).
fn is_read_only_key(schema: &ResourceSchema, key: &str) -> bool {
    if key.eq_ignore_ascii_case("schemas") {
        return true;
    }
    let attr = match classify(schema, key) {
        KeyKind::Plain | KeyKind::Dotted | KeyKind::Qualified { .. } => path::scan(key).map(|h| h.attr),
        KeyKind::Container(_) => None,
    };
    attr.and_then(|a| schema.resolve(&AttrPath { sub: None, ..a }))
        .is_some_and(|r| r.def.mutability == Mutability::ReadOnly)
}

fn operation(kind: &str, path: Option<String>, value: Value) -> Value {
    let mut op = Map::new();
    op.insert("op".to_owned(), Value::String(kind.to_owned()));
    if let Some(path) = path {
        op.insert("path".to_owned(), Value::String(path));
    }
    op.insert("value".to_owned(), value);
    Value::Object(op)
}
