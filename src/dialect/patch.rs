//! PATCH bodies (RFC 7644 §3.5.2): JSON-level rewrites, then parsing, then filter literal coercion.

use serde_json::{Map, Value};

use super::filter::coerce_filter_literals;
use super::keys::{KeyKind, canonicalize_key, classify, find_key};
use super::resource::shape_object;
use super::shape;
use crate::scim::filter::AttrPath;
use crate::scim::patch::{PatchPath, PatchRequest};
use crate::scim::schema::{AttrType, AttributeDef, Mutability, ResourceSchema, SchemaDef};
use crate::scim::{ScimError, urn};

/// Normalises a PATCH body and parses it: [`normalize_patch_json`], then
/// [`PatchRequest::from_json`], then [`coerce_patch_filters`]. Errors are the PATCH parser's (400
/// `invalidSyntax`, `invalidPath`, `invalidFilter`, `noTarget`, …) for what stays invalid after the
/// rewrites.
///
/// A request whose every operation was rewritten away (Entra removing an empty list of members) is
/// an empty request: there is nothing to do, which is not an error.
pub fn normalize_patch(schema: &ResourceSchema, body: Value) -> Result<PatchRequest, ScimError> {
    let sent_operations = operation_count(&body);
    let body = normalize_patch_json(schema, body);
    if sent_operations > 0 && operation_count(&body) == 0 && lists_patch_op(&body) {
        return Ok(PatchRequest::default());
    }
    PatchRequest::from_json(&body).map(|request| coerce_patch_filters(schema, request))
}

/// The number of operations in `Operations` (any key case), 0 when there is no such array.
fn operation_count(body: &Value) -> usize {
    let Some(top) = body.as_object() else { return 0 };
    find_key(top, "Operations").and_then(|k| top.get(&k)).and_then(Value::as_array).map_or(0, Vec::len)
}

fn lists_patch_op(body: &Value) -> bool {
    body.get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn::PATCH_OP))))
}

/// The filters of parsed operations, with the string literals compared with boolean sub-attributes made
/// booleans (`roles[primary eq "True"].value` → `roles[primary eq true].value`).
pub fn coerce_patch_filters(schema: &ResourceSchema, mut request: PatchRequest) -> PatchRequest {
    for op in &mut request.operations {
        op.path = match op.path.take() {
            Some(PatchPath::Filtered { attr, filter, sub }) => {
                let context = schema.top_attribute(attr.uri.as_deref(), &attr.name).map(|(_, def)| def);
                let filter = coerce_filter_literals(filter, context, schema);
                Some(PatchPath::Filtered { attr, filter, sub })
            }
            other => other,
        };
    }
    request
}

/// The JSON-level rewrites of [`normalize_patch`], before parsing: a PatchOp body in, a PatchOp body in
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
    if let Some((ext, _)) = schema.extensions.iter().find(|(e, _)| e.id.eq_ignore_ascii_case(text.trim())) {
        whole_extension(schema, ext, op, out);
        return;
    }
    // Paths the parser rejects are passed on unchanged, for it to report.
    let Ok(mut parsed) = PatchPath::parse(text) else {
        out.push(Value::Object(op));
        return;
    };
    if let Some(qualified) = qualify(schema, &parsed, text)
        && let Ok(p) = PatchPath::parse(&qualified)
    {
        parsed = p;
        op.insert("path".to_owned(), Value::String(qualified));
    }
    let target = target_of(schema, &parsed);
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

fn target_of<'s>(schema: &'s ResourceSchema, path: &PatchPath) -> Option<Target<'s>> {
    match path {
        PatchPath::Attr(attr) => schema.resolve(attr).map(|r| Target::Attribute(r.sub.unwrap_or(r.def))),
        PatchPath::Filtered { attr, sub, .. } => {
            let def = schema.resolve(attr)?.def;
            match sub {
                Some(sub) => def.sub_attribute(sub).map(Target::Attribute),
                None => Some(Target::Element(def)),
            }
        }
    }
}

/// The attribute a path names, before any filter.
fn attr_of(path: &PatchPath) -> &AttrPath {
    match path {
        PatchPath::Attr(attr) | PatchPath::Filtered { attr, .. } => attr,
    }
}

/// `path` with the URN of the one extension defining its attribute, when the core schema does not
/// define it (Entra's `"path": "manager"`).
fn qualify(schema: &ResourceSchema, path: &PatchPath, text: &str) -> Option<String> {
    let attr = attr_of(path);
    if attr.uri.is_some() {
        return None;
    }
    let bare = AttrPath { uri: None, name: attr.name.clone(), sub: None };
    if schema.resolve(&bare).is_some() {
        return None;
    }
    let mut owners = schema.extensions.iter().filter(|(ext, _)| ext.attribute(&attr.name).is_some());
    match (owners.next(), owners.next()) {
        (Some((ext, _)), None) => Some(format!("{}:{}", ext.id, text.trim())),
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

/// An operation whose path is an extension's schema URN, i.e. the extension object as a whole:
/// `add`/`replace` become one operation per attribute in the value (a complex replace leaves the
/// sub-attributes it does not name unchanged, RFC 7644 §3.5.2.3), `remove` one per attribute.
fn whole_extension(schema: &ResourceSchema, ext: &SchemaDef, op: Map<String, Value>, out: &mut Vec<Value>) {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or_default().to_owned();
    match (kind.as_str(), op.get("value")) {
        ("add" | "replace", Some(Value::Object(value))) => {
            // Some clients serialise the extension with its own `schemas` list; it is no attribute.
            for (k, v) in value.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("schemas")) {
                if let Value::Object(o) = operation(&kind, Some(format!("{}:{k}", ext.id)), v.clone()) {
                    with_path(schema, o, out);
                }
            }
        }
        ("remove", None) => {
            for attr in &ext.attributes {
                let mut o = Map::new();
                o.insert("op".to_owned(), Value::String("remove".to_owned()));
                o.insert("path".to_owned(), Value::String(format!("{}:{}", ext.id, attr.name)));
                out.push(Value::Object(o));
            }
        }
        // Anything else is passed on for the parser to report.
        _ => out.push(Value::Object(op)),
    }
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
    if matches!(classify(schema, key), KeyKind::Container(_)) {
        return false;
    }
    let Ok(path) = PatchPath::parse(key) else { return false };
    let attr = attr_of(&path);
    schema.top_attribute(attr.uri.as_deref(), &attr.name).is_some_and(|(_, def)| def.mutability == Mutability::ReadOnly)
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
