//! Value shapes by schema type: the rules shared by resource bodies and PATCH values.
//!
//! Each function takes the definition of what the value is meant to be and returns the value in RFC
//! 7643 shape where a known IdP variant is recognised, or unchanged otherwise (the core then judges it).
//! Recursion follows the schema, never the input, so work is bounded by the value's size.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::keys::{find_key, insert_ci};
use crate::scim::schema::{AttrType, AttributeDef};

/// A whole attribute value: an array of elements when the attribute is multi-valued.
pub(crate) fn attribute(def: &AttributeDef, v: Value) -> Value {
    if !def.multi_valued {
        return single(def, v);
    }
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(|e| element(def, e)).collect()),
        // A lone element where a list belongs: shape it, and leave the list question to the core.
        other => element(def, other),
    }
}

/// One element of a multi-valued attribute.
pub(crate) fn element(def: &AttributeDef, v: Value) -> Value {
    match def.ty {
        AttrType::Complex => complex(def, v),
        ty => scalar(ty, v),
    }
}

/// The value of a single-valued attribute or sub-attribute.
fn single(def: &AttributeDef, v: Value) -> Value {
    match def.ty {
        AttrType::Complex => complex(def, unwrap_element(v)),
        ty => scalar(ty, unwrap_simple(v)),
    }
}

/// A simple value of type `ty`: `"True"`/`"False"` (any case) for a boolean becomes a boolean.
fn scalar(ty: AttrType, v: Value) -> Value {
    match (ty, v) {
        (AttrType::Boolean, Value::String(s)) => match parse_bool(&s) {
            Some(b) => Value::Bool(b),
            None => Value::String(s),
        },
        (_, v) => v,
    }
}

/// `true`/`false` in any case, as Entra writes booleans it sends as strings.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A complex value: a scalar becomes `{"value": scalar}` where the attribute has `value`; JSON text in
/// `value` is expanded; `displayName` is read as `display`; sub-attributes are shaped by their types.
fn complex(def: &AttributeDef, v: Value) -> Value {
    let mut obj = match v {
        Value::Object(m) => m,
        v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => match def.sub_attribute("value") {
            Some(sub) => Map::from_iter([(sub.name.clone(), v)]),
            None => return v,
        },
        other => return other,
    };
    expand_json_text(def, &mut obj);
    display_name_as_display(def, &mut obj);
    for (key, value) in obj.iter_mut() {
        if let Some(sub) = def.sub_attribute(key) {
            *value = attribute(sub, std::mem::take(value));
        }
    }
    Value::Object(obj)
}

/// `[x]` → `x` for a single-valued complex attribute (Entra's manager, tutorial Example 5).
fn unwrap_element(v: Value) -> Value {
    match v {
        Value::Array(mut items) if items.len() == 1 && !items[0].is_array() => items.pop().unwrap_or(Value::Null),
        other => other,
    }
}

/// `[x]` or `[{"value": x}]` (optionally with `"$ref": null`) → `x` for a single-valued simple
/// attribute, the shape of Microsoft's old SCIM library. Only scalars are unwrapped, so the rule
/// applies once.
fn unwrap_simple(v: Value) -> Value {
    let Value::Array(mut items) = v else { return v };
    if items.len() != 1 {
        return Value::Array(items);
    }
    let inner = match &items[0] {
        Value::Object(m) => {
            let only_value_and_null_ref = m
                .iter()
                .all(|(k, v)| k.eq_ignore_ascii_case("value") || (k.eq_ignore_ascii_case("$ref") && v.is_null()));
            match find_key(m, "value").and_then(|k| m.get(&k)) {
                Some(x) if only_value_and_null_ref && is_scalar(x) => Some(x.clone()),
                _ => None,
            }
        }
        x if is_scalar(x) => items.pop(),
        _ => None,
    };
    inner.unwrap_or(Value::Array(items))
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Replaces the object by the one its `value` encodes as JSON text, keeping its other keys where the
/// encoded object lacks them (Entra's string-encoded roles, §1.6/§1.8).
///
/// Only an encoded object with a scalar `value` is taken, so a second pass finds nothing to expand.
fn expand_json_text(def: &AttributeDef, obj: &mut Map<String, Value>) {
    if def.sub_attribute("value").is_none_or(|s| s.ty == AttrType::Complex) {
        return;
    }
    let Some(key) = find_key(obj, "value") else { return };
    let Some(Value::String(text)) = obj.get(&key) else { return };
    if !text.trim_start().starts_with('{') {
        return;
    }
    let Ok(mut decoded) = serde_json::from_str::<Map<String, Value>>(text) else { return };
    let inner_is_plain = find_key(&decoded, "value")
        .and_then(|k| decoded.get(&k))
        .is_some_and(|v| is_scalar(v) && !v.as_str().is_some_and(|s| s.trim_start().starts_with('{')));
    if !inner_is_plain {
        return;
    }
    obj.remove(&key);
    let encoded: HashSet<String> = decoded.keys().map(|k| k.to_ascii_lowercase()).collect();
    for (k, v) in std::mem::take(obj) {
        if !encoded.contains(&k.to_ascii_lowercase()) {
            decoded.insert(k, v);
        }
    }
    *obj = decoded;
}

/// `displayName` → `display` where the attribute has `display` and no `displayName` sub-attribute and the
/// object does not carry both.
fn display_name_as_display(def: &AttributeDef, obj: &mut Map<String, Value>) {
    let Some(display) = def.sub_attribute("display") else { return };
    if def.sub_attribute("displayName").is_some() || find_key(obj, "display").is_some() {
        return;
    }
    if let Some(v) = find_key(obj, "displayName").and_then(|k| obj.remove(&k)) {
        insert_ci(obj, &display.name, v);
    }
}
