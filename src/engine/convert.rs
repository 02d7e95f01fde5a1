//! Native record ↔ SCIM resource conversion, driven by the compiled attribute mappings.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::calls::eval_error;
use super::scim_value;
use crate::mapping::compile::{Attr, ReadC, Resource};
use crate::mapping::expr::{self, LookupResolver};
use crate::mapping::model::IdEncoding;
use crate::scim::schema::ResourceSchema;
use crate::scim::{self, ScimError};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// SCIM id of a native id.
pub fn encode_id(enc: IdEncoding, native: &str) -> String {
    match enc {
        IdEncoding::Plain => native.to_owned(),
        IdEncoding::Base64url => B64.encode(native),
    }
}

/// Native id of a SCIM id; `None` when the SCIM id cannot be one of ours (→ 404).
pub fn decode_id(enc: IdEncoding, scim: &str) -> Option<String> {
    match enc {
        IdEncoding::Plain => Some(scim.to_owned()),
        IdEncoding::Base64url => String::from_utf8(B64.decode(scim.trim_end_matches('=')).ok()?).ok(),
    }
}

/// The native id in a record, as text.
pub fn native_id(res: &Resource, record: &Value) -> Option<String> {
    match res.id.read.first(record) {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a transform of `res`'s reads names `vars`: [`to_scim`] needs them only then.
pub fn reads_vars(res: &Resource) -> bool {
    let steps = res.attrs.iter().flat_map(|a| &a.to_scim);
    steps.flat_map(|s| s.transform.vars()).any(|v| v.root() == "vars")
}

/// Converts one native record into a SCIM resource (without `members`), and gives the record
/// back. `vars` are the mapping's, given when a transform reads them (see [`reads_vars`]).
///
/// The record is also the transforms' `record` in their scope: it is moved there and back rather
/// than copied on every read.
pub async fn to_scim(
    res: &Resource,
    schema: &ResourceSchema,
    vars: Option<&Map<String, Value>>,
    record: Value,
    lookups: &dyn LookupResolver,
) -> Result<(scim::Resource, Value), ScimError> {
    let mut scope = Map::new();
    if let Some(vars) = vars {
        scope.insert("vars".into(), Value::Object(vars.clone()));
    }
    scope.insert("record".into(), record);
    let record = scope.get("record").unwrap_or(&Value::Null);
    let mut out = scim::Resource::new();
    let Some(id) = native_id(res, record) else {
        return Err(ScimError::bad_gateway(format!("the application's record has no id at {}", res.id.read.as_str())));
    };
    out.insert("id".into(), Value::String(encode_id(res.id.encoding, &id)));
    for a in &res.attrs {
        let Some(src) = &a.scim else { continue };
        let raw = match &a.read {
            ReadC::None => continue,
            ReadC::Native(p) => p.get(record),
            ReadC::JsonPath(p) if p.is_multi() => p.all(record),
            ReadC::JsonPath(p) => p.first(record),
        };
        let v = apply_transforms(&a.to_scim, raw, src.multi, &scope, lookups)
            .await
            .map_err(|e| eval_error(&src.text, e))?;
        let v = match v {
            Value::Array(a) if a.is_empty() => Value::Null,
            Value::String(s) if s.is_empty() => Value::Null,
            other => other,
        };
        scim_value::set(&mut out, src, v, schema);
    }
    Ok((out, scope.remove("record").unwrap_or(Value::Null)))
}

/// The native value an attribute mapping writes for `scim` (null when absent).
pub async fn native_value(
    a: &Attr,
    resource: &scim::Resource,
    schema: &ResourceSchema,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
) -> Result<Value, ScimError> {
    let context = a.scim.as_ref().map_or("computed value", |s| s.text.as_str());
    let raw = match (&a.scim, &a.value, &a.from) {
        (Some(src), _, _) => scim_value::get(resource, src, a.select.as_ref(), schema)?,
        (None, Some(v), _) => return Ok(v.clone()),
        (None, None, Some(e)) => expr::eval(e, scope, lookups).await.map_err(|e| eval_error(context, e))?,
        (None, None, None) => Value::Null,
    };
    apply_transforms(&a.to_native, raw, a.scim.as_ref().is_some_and(|s| s.multi), scope, lookups)
        .await
        .map_err(|e| eval_error(context, e))
}

/// Applies transforms; for a multi-valued source, transforms that do not take an array apply to
/// each element (so `lookup("role")` maps every role name).
pub async fn apply_transforms(
    steps: &[expr::Step],
    mut v: Value,
    multi: bool,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
) -> Result<Value, expr::EvalError> {
    for s in steps {
        let per_element = multi && s.transform.signature().0 != expr::Kind::Array;
        v = match v {
            Value::Array(items) if per_element => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    let x = expr::apply(&s.transform, i, scope, lookups).await?;
                    if !x.is_null() {
                        out.push(x);
                    }
                }
                Value::Array(out)
            }
            other => expr::apply(&s.transform, other, scope, lookups).await?,
        };
    }
    Ok(v)
}

/// The native document a create sends: every attribute's create shape.
pub async fn create_doc(
    res: &Resource,
    resource: &scim::Resource,
    schema: &ResourceSchema,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
) -> Result<Value, ScimError> {
    let mut doc = Value::Object(Map::new());
    for a in &res.attrs {
        let Some(path) = &a.create else { continue };
        if path.segments.is_empty() {
            continue;
        }
        let v = native_value(a, resource, schema, scope, lookups).await?;
        if !v.is_null() {
            path.set(&mut doc, v, &a.element);
        }
    }
    Ok(doc)
}

/// Applies the update shape of every attribute whose SCIM value changed between `old` and `new`
/// to a copy of the native `record`. Computed and constant fields are refreshed only where their
/// top-level field is otherwise changed. Returns the new record.
pub async fn update_record(
    res: &Resource,
    record: &Value,
    old: &scim::Resource,
    new: &scim::Resource,
    schema: &ResourceSchema,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
) -> Result<Value, ScimError> {
    let mut out = record.clone();
    let mut touched: Vec<String> = vec![];
    for a in &res.attrs {
        let (Some(path), Some(src)) = (&a.update, &a.scim) else { continue };
        if path.segments.is_empty() {
            continue;
        }
        let before = scim_value::get(old, src, a.select.as_ref(), schema).unwrap_or(Value::Null);
        let after = scim_value::get(new, src, a.select.as_ref(), schema)?;
        if before == after {
            continue;
        }
        let v = native_value(a, new, schema, scope, lookups).await?;
        path.set(&mut out, v, &a.element);
        touched.push(path.top_key().to_owned());
    }
    for a in &res.attrs {
        let (Some(path), None) = (&a.update, &a.scim) else { continue };
        if path.segments.is_empty() || !touched.iter().any(|t| t == path.top_key()) {
            continue;
        }
        let v = native_value(a, new, schema, scope, lookups).await?;
        path.set(&mut out, v, &a.element);
    }
    Ok(out)
}

/// A member name as a JSON Pointer token (RFC 6901): `~` and `/` escaped.
pub(super) fn escape_pointer(k: &str) -> Cow<'_, str> {
    if k.contains(['~', '/']) { Cow::Owned(k.replace('~', "~0").replace('/', "~1")) } else { Cow::Borrowed(k) }
}

/// RFC 6902 operations turning `old` into `new`; objects are compared member by member, arrays and
/// scalars are replaced whole. Pointers are built only for members that differ: a record has
/// dozens of members and an update changes a few.
pub fn json_patch(old: &Value, new: &Value) -> Vec<Value> {
    fn pointer(prefix: &str, k: &str) -> String {
        format!("{prefix}/{}", escape_pointer(k))
    }
    fn walk(prefix: &str, old: &Value, new: &Value, out: &mut Vec<Value>) {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, va) in a {
                    match b.get(k) {
                        None => out.push(serde_json::json!({"op": "remove", "path": pointer(prefix, k)})),
                        Some(vb) if vb != va => walk(&pointer(prefix, k), va, vb, out),
                        Some(_) => {}
                    }
                }
                for (k, vb) in b {
                    if !a.contains_key(k) {
                        out.push(serde_json::json!({"op": "add", "path": pointer(prefix, k), "value": vb}));
                    }
                }
            }
            _ if old != new => out.push(serde_json::json!({"op": "replace", "path": prefix, "value": new})),
            _ => {}
        }
    }
    let mut out = vec![];
    walk("", old, new, &mut out);
    out
}

/// The top-level fields that differ, with their new values (`clear_with` for removed ones).
pub fn merge_changes(old: &Value, new: &Value, clear_with: Option<&Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else { return out };
    for (k, vb) in b {
        if a.get(k) != Some(vb) {
            out.insert(k.clone(), vb.clone());
        }
    }
    for (k, va) in a {
        if !b.contains_key(k) {
            let cleared = match va {
                Value::Array(_) => Value::Array(vec![]),
                Value::Object(_) => Value::Object(Map::new()),
                _ => clear_with.cloned().unwrap_or(Value::Null),
            };
            out.insert(k.clone(), cleared);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_round_trip() {
        let urn = "urn:li:corpuser:jane/doe?x";
        let s = encode_id(IdEncoding::Base64url, urn);
        assert!(!s.contains(['/', '?', '=', '+']));
        assert_eq!(decode_id(IdEncoding::Base64url, &s).as_deref(), Some(urn));
        assert_eq!(decode_id(IdEncoding::Base64url, "!!"), None);
        assert_eq!(decode_id(IdEncoding::Plain, "x"), Some("x".into()));
    }

    #[test]
    fn json_patch_diffs_objects_and_replaces_arrays() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1], "gone": true, "x/y": 1, "m~/n": 0});
        let new = json!({"a": 1, "b": {"c": 5, "d": 3}, "e": [1, 2], "added": "v", "x/y": 2});
        let ops = json_patch(&old, &new);
        assert_eq!(
            ops,
            vec![
                json!({"op": "replace", "path": "/b/c", "value": 5}),
                json!({"op": "replace", "path": "/e", "value": [1, 2]}),
                json!({"op": "remove", "path": "/gone"}),
                json!({"op": "remove", "path": "/m~0~1n"}),
                json!({"op": "replace", "path": "/x~1y", "value": 2}),
                json!({"op": "add", "path": "/added", "value": "v"}),
            ]
        );
        assert!(json_patch(&old, &old).is_empty());
    }

    #[test]
    fn merge_changes_uses_clear_value() {
        let c = merge_changes(&json!({"a": 1, "b": 2}), &json!({"a": 3}), Some(&json!("")));
        assert_eq!(Value::Object(c), json!({"a": 3, "b": ""}));
    }
}
