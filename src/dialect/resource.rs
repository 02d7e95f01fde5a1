//! Resource bodies of POST and PUT, and the attribute objects of no-path PATCH values.

use serde_json::{Map, Value};

use super::keys::{KeyKind, Scope, canonicalize_key, classify, find_key, is_urn, merge_ci};
use super::shape;
use crate::scim::schema::{AttrType, AttributeDef, ResourceSchema, SchemaDef};

/// Rewrites a POST or PUT body into RFC 7643 shape; see the module docs for the rules. A body that is
/// not an object is returned unchanged for the core to reject.
pub fn normalize_resource(schema: &ResourceSchema, body: Value) -> Value {
    let Value::Object(obj) = body else { return body };
    let mut out = hoist_qualified(schema, obj);
    shape_object(schema, &mut out);
    fix_schemas(schema, &mut out);
    Value::Object(out)
}

/// Settles dotted keys into their complex attributes and shapes every known attribute's value, at the
/// top level and inside extension objects.
pub(crate) fn shape_object(schema: &ResourceSchema, obj: &mut Map<String, Value>) {
    settle_dotted(Scope::Core(schema), obj);
    shape_scope(Scope::Core(schema), obj);
    for (ext, _) in &schema.extensions {
        let Some(key) = find_key(obj, &ext.id) else { continue };
        if let Some(Value::Object(container)) = obj.get_mut(&key) {
            settle_dotted(Scope::Extension(ext), container);
            shape_scope(Scope::Extension(ext), container);
        }
    }
}

/// A key to move into an extension object: the key as sent, the path within the extension, the value.
type Moved = (String, String, Value);

/// Moves `urn:…:attr[.sub]` keys to the top level (core schema) or into their extension's object.
fn hoist_qualified(schema: &ResourceSchema, obj: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut to_core = Vec::new();
    let mut to_extension: Vec<(&SchemaDef, Vec<Moved>)> = Vec::new();
    for (key, value) in obj {
        match classify(schema, &key) {
            KeyKind::Qualified { scope: Scope::Core(_), rest } => to_core.push((rest.to_owned(), value)),
            KeyKind::Qualified { scope: Scope::Extension(ext), rest } => {
                let rest = rest.to_owned();
                match to_extension.iter_mut().find(|(e, _)| std::ptr::eq(*e, ext)) {
                    Some((_, moves)) => moves.push((key, rest, value)),
                    None => to_extension.push((ext, vec![(key, rest, value)])),
                }
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    merge_ci(&mut out, to_core);
    for (ext, moves) in to_extension {
        match container_mut(&mut out, &ext.id) {
            Some(container) => merge_ci(container, moves.into_iter().map(|(_, rest, value)| (rest, value))),
            // The extension key holds something that is not an object: leave both for the core.
            None => out.extend(moves.into_iter().map(|(key, _, value)| (key, value))),
        }
    }
    out
}

/// The object under `key`, created when absent or null.
fn container_mut<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Map<String, Value>> {
    let key = find_key(map, key).unwrap_or_else(|| key.to_owned());
    let slot = map.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Moves `attr.sub` keys into the single-valued complex attribute `attr`. Keys naming anything else
/// (an unknown or multi-valued attribute, or an `attr` holding a non-object) are left for the core.
fn settle_dotted(scope: Scope<'_>, obj: &mut Map<String, Value>) {
    // Grouped by attribute, so each attribute's object is looked up once; the schema bounds the groups.
    let mut groups: Vec<(&AttributeDef, Vec<(String, String)>)> = Vec::new();
    for key in obj.keys().filter(|k| k.contains('.') && !is_urn(k)) {
        let Some((attr, sub)) = key.split_once('.') else { continue };
        let Some(def) = scope.attribute(attr) else { continue };
        if def.ty != AttrType::Complex || def.multi_valued || sub.is_empty() || sub.contains('.') {
            continue;
        }
        let entry = (key.clone(), sub.to_owned());
        match groups.iter_mut().find(|(d, _)| std::ptr::eq(*d, def)) {
            Some((_, keys)) => keys.push(entry),
            None => groups.push((def, vec![entry])),
        }
    }
    for (def, keys) in groups {
        let target = find_key(obj, &def.name).unwrap_or_else(|| def.name.clone());
        if obj.get(&target).is_some_and(|v| !v.is_null() && !v.is_object()) {
            continue;
        }
        let subs: Vec<(String, Value)> =
            keys.into_iter().filter_map(|(key, sub)| obj.remove(&key).map(|v| (sub, v))).collect();
        if let Some(container) = container_mut(obj, &target) {
            merge_ci(container, subs);
        }
    }
}

fn shape_scope(scope: Scope<'_>, obj: &mut Map<String, Value>) {
    for (key, value) in obj.iter_mut() {
        if let Some(def) = scope.attribute(key) {
            *value = shape::attribute(def, std::mem::take(value));
        }
    }
}

/// Keeps the resource's own schema URNs (canonically spelled, once each) and lists the extensions whose
/// objects the body carries.
fn fix_schemas(schema: &ResourceSchema, obj: &mut Map<String, Value>) {
    canonicalize_key(obj, "schemas");
    let carried: Vec<String> = schema
        .extensions
        .iter()
        .filter(|(ext, _)| find_key(obj, &ext.id).and_then(|k| obj.get(&k)).is_some_and(Value::is_object))
        .map(|(ext, _)| ext.id.clone())
        .collect();
    let Some(Value::Array(list)) = obj.get_mut("schemas") else { return };
    let mut kept: Vec<Value> = Vec::with_capacity(list.len() + carried.len());
    // The resource's URNs already kept: a handful, however long the list.
    let mut listed: Vec<&str> = Vec::new();
    for item in std::mem::take(list) {
        let Value::String(uri) = &item else {
            // Not a URI at all: the core rejects it with a precise message.
            kept.push(item);
            continue;
        };
        if let Some(known) = schema.schema_urns().find(|u| u.eq_ignore_ascii_case(uri))
            && !listed.contains(&known)
        {
            listed.push(known);
            kept.push(Value::String(known.to_owned()));
        }
    }
    for uri in carried {
        if !listed.contains(&uri.as_str()) {
            kept.push(Value::String(uri));
        }
    }
    *list = kept;
}
