//! Resource bodies of POST and PUT, and the attribute objects of no-path PATCH values.

use serde_json::{Map, Value};

use super::keys::{KeyKind, Scope, canonicalize_key, classify, find_key, insert_ci, is_urn};
use super::shape;
use crate::scim::schema::{AttrType, ResourceSchema};

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

/// Moves `urn:…:attr[.sub]` keys to the top level (core schema) or into their extension's object.
fn hoist_qualified(schema: &ResourceSchema, obj: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut moved = Vec::new();
    for (key, value) in obj {
        match classify(schema, &key) {
            KeyKind::Qualified { scope, rest } => {
                let rest = rest.to_owned();
                moved.push((key, scope, rest, value));
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    for (key, scope, rest, value) in moved {
        match scope {
            Scope::Core(_) => insert_ci(&mut out, &rest, value),
            Scope::Extension(ext) => match container_mut(&mut out, &ext.id) {
                Some(container) => insert_ci(container, &rest, value),
                // The extension key holds something that is not an object: leave both for the core.
                None => {
                    out.insert(key, value);
                }
            },
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
    let dotted: Vec<String> = obj.keys().filter(|k| k.contains('.') && !is_urn(k)).cloned().collect();
    for key in dotted {
        let Some((attr, sub)) = key.split_once('.') else { continue };
        let Some(def) = scope.attribute(attr) else { continue };
        if def.ty != AttrType::Complex || def.multi_valued || sub.is_empty() || sub.contains('.') {
            continue;
        }
        let target = find_key(obj, attr).unwrap_or_else(|| def.name.clone());
        if obj.get(&target).is_some_and(|v| !v.is_null() && !v.is_object()) {
            continue;
        }
        let Some(value) = obj.remove(&key) else { continue };
        if let Some(container) = container_mut(obj, &target) {
            insert_ci(container, sub, value);
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
    for item in std::mem::take(list) {
        let known = match &item {
            Value::String(uri) => schema.schema_urns().find(|u| u.eq_ignore_ascii_case(uri)).map(str::to_owned),
            // Not a URI at all: the core rejects it with a precise message.
            _ => {
                kept.push(item);
                continue;
            }
        };
        if let Some(uri) = known.filter(|u| !kept.iter().any(|k| k.as_str() == Some(u))) {
            kept.push(Value::String(uri));
        }
    }
    for uri in carried {
        if !kept.iter().any(|k| k.as_str() == Some(&uri)) {
            kept.push(Value::String(uri));
        }
    }
    *list = kept;
}
