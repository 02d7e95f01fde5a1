//! Reading and writing SCIM resource values by path, for the mapping engine.
//!
//! Reads pick values for native writes (with `select` rules for multi-valued attributes); writes
//! build the SCIM resource from native records, synthesising the element a filtered path names
//! (`emails[type eq "work"].value` → `{"type": "work", "value": …}`).

use serde_json::{Map, Value};

use crate::mapping::compile::ScimSource;
use crate::mapping::model::Select;
use crate::scim::filter::{self, AttrPath, CompValue, CompareOp, Filter};
use crate::scim::patch::PatchPath;
use crate::scim::schema::{AttributeDef, ResourceSchema};
use crate::scim::{Resource, ScimError, get_ci};

/// The object holding `attr` (the resource, or its extension object).
fn container<'a>(r: &'a Resource, attr: &AttrPath, schema: &ResourceSchema) -> Option<&'a Map<String, Value>> {
    match &attr.uri {
        Some(u) if !u.eq_ignore_ascii_case(&schema.core.id) => get_ci(r, u)?.as_object(),
        _ => Some(r),
    }
}

fn is_primary(v: &Value) -> bool {
    match v.get("primary") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Chooses one element per `select`.
fn choose<'a>(elements: &[&'a Value], select: &Select) -> Result<Option<&'a Value>, ScimError> {
    if let Some(p) = elements.iter().find(|e| is_primary(e)) {
        return Ok(Some(p));
    }
    match select {
        Select::PrimaryOrFirst => Ok(elements.first().copied()),
        Select::PrimaryOrOnly { error } => match elements.len() {
            0 => Ok(None),
            1 => Ok(Some(elements[0])),
            _ => Err(ScimError::invalid_value(error.clone())),
        },
    }
}

fn def_of<'a>(schema: &'a ResourceSchema, attr: &AttrPath) -> Option<&'a AttributeDef> {
    schema.top_attribute(attr.uri.as_deref(), &attr.name).map(|(_, def)| def)
}

fn sub_of(v: &Value, sub: Option<&str>) -> Value {
    match sub {
        None => v.clone(),
        Some(s) => v.as_object().and_then(|o| get_ci(o, s)).cloned().unwrap_or(Value::Null),
    }
}

/// The value a SCIM path designates in `r`: a scalar, an object, or (for multi-valued paths
/// without `select`) an array. Null when absent.
pub fn get(
    r: &Resource,
    src: &ScimSource,
    select: Option<&Select>,
    schema: &ResourceSchema,
) -> Result<Value, ScimError> {
    let (attr, filter, sub) = match &src.path {
        PatchPath::Attr(a) => (a, None, a.sub.as_deref()),
        PatchPath::Filtered { attr, filter, sub } => (attr, Some(filter), sub.as_deref()),
    };
    let Some(obj) = container(r, attr, schema) else { return Ok(Value::Null) };
    let Some(v) = get_ci(obj, &attr.name) else { return Ok(Value::Null) };
    let def = def_of(schema, attr);
    match v {
        Value::Array(items) => {
            let matching: Vec<&Value> = match (filter, def) {
                (Some(f), Some(d)) => items.iter().filter(|e| filter::matches_element(f, e, d)).collect(),
                (Some(_), None) => vec![],
                (None, _) => items.iter().collect(),
            };
            if let Some(sel) = select {
                return Ok(choose(&matching, sel)?.map(|e| sub_of(e, sub)).unwrap_or(Value::Null));
            }
            if filter.is_some() {
                return Ok(matching.first().map(|e| sub_of(e, sub)).unwrap_or(Value::Null));
            }
            let values: Vec<Value> = matching.iter().map(|e| sub_of(e, sub)).filter(|x| !x.is_null()).collect();
            Ok(if values.is_empty() { Value::Null } else { Value::Array(values) })
        }
        other => Ok(sub_of(other, sub)),
    }
}

/// The element a filter made of `attr eq literal` conjunctions describes, e.g.
/// `type eq "work" and primary eq true` → `{"type": "work", "primary": true}`.
pub fn synthesize(f: &Filter) -> Option<Map<String, Value>> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value } if path.uri.is_none() && path.sub.is_none() => {
            let v = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            let mut m = Map::new();
            m.insert(path.name.clone(), v);
            Some(m)
        }
        Filter::And(a, b) => {
            let mut m = synthesize(a)?;
            m.extend(synthesize(b)?);
            Some(m)
        }
        _ => None,
    }
}

/// Writes `value` at the SCIM path in `r` (used when reading native records back into SCIM).
/// Arrays written to a multi-valued `attr.sub` path fill element `i`'s `sub` with `value[i]`.
pub fn set(r: &mut Resource, src: &ScimSource, value: Value, schema: &ResourceSchema) {
    if value.is_null() {
        return;
    }
    let (attr, filter, sub) = match &src.path {
        PatchPath::Attr(a) => (a, None, a.sub.as_deref()),
        PatchPath::Filtered { attr, filter, sub } => (attr, Some(filter), sub.as_deref()),
    };
    let def = def_of(schema, attr);
    let canonical = def.map_or(attr.name.clone(), |d| d.name.clone());
    let holder: &mut Map<String, Value> = match &attr.uri {
        Some(u) if !u.eq_ignore_ascii_case(&schema.core.id) => {
            let key = schema.extension(u).map_or(u.clone(), |e| e.id.clone());
            let ext = r.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            match ext.as_object_mut() {
                Some(m) => m,
                None => return,
            }
        }
        _ => r,
    };
    let multi = def.is_some_and(|d| d.multi_valued);
    let canonical_sub = |s: &str| def.and_then(|d| d.sub_attribute(s)).map_or(s.to_owned(), |sd| sd.name.clone());
    if !multi {
        match sub {
            None => {
                holder.insert(canonical, value);
            }
            Some(s) => {
                let obj = holder.entry(canonical).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = obj {
                    o.insert(canonical_sub(s), value);
                }
            }
        }
        return;
    }
    let arr = holder.entry(canonical).or_insert_with(|| Value::Array(vec![]));
    if !arr.is_array() {
        *arr = Value::Array(vec![]);
    }
    let Some(items) = arr.as_array_mut() else { return };
    match (filter, sub) {
        (Some(f), sub) => {
            let pos = def.and_then(|d| items.iter().position(|e| filter::matches_element(f, e, d)));
            let idx = match pos {
                Some(i) => i,
                None => {
                    let Some(el) = synthesize(f) else { return };
                    items.push(Value::Object(el));
                    items.len() - 1
                }
            };
            match sub {
                Some(s) => {
                    if let Value::Object(o) = &mut items[idx] {
                        o.insert(canonical_sub(s), value);
                    }
                }
                None => {
                    if let (Value::Object(o), Value::Object(v)) = (&mut items[idx], value) {
                        o.extend(v);
                    }
                }
            }
        }
        (None, Some(s)) => {
            let values = match value {
                Value::Array(a) => a,
                one => vec![one],
            };
            let key = canonical_sub(s);
            for (i, v) in values.into_iter().enumerate() {
                if v.is_null() {
                    continue;
                }
                if i >= items.len() {
                    items.push(Value::Object(Map::new()));
                }
                if let Value::Object(o) = &mut items[i] {
                    o.insert(key.clone(), v);
                }
            }
        }
        (None, None) => match value {
            Value::Array(a) => *items = a,
            one => items.push(one),
        },
    }
    if items.is_empty() {
        holder.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::ResourceKind;

    fn src(s: &str) -> ScimSource {
        let path = PatchPath::parse(s).unwrap();
        ScimSource { multi: false, path, text: s.into(), kind: crate::mapping::expr::Kind::Any }
    }

    fn user(v: Value) -> Resource {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reads_plain_sub_filtered_extension_and_multi_values() {
        let s = ResourceSchema::rfc(ResourceKind::User);
        let r = user(json!({
            "userName": "a", "name": {"givenName": "Ann"},
            "emails": [{"type": "work", "value": "w@x"}, {"type": "home", "value": "h@x", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
        }));
        assert_eq!(get(&r, &src("userName"), None, &s).unwrap(), json!("a"));
        assert_eq!(get(&r, &src("name.givenName"), None, &s).unwrap(), json!("Ann"));
        assert_eq!(get(&r, &src("emails[type eq \"work\"].value"), None, &s).unwrap(), json!("w@x"));
        assert_eq!(get(&r, &src("emails.value"), None, &s).unwrap(), json!(["w@x", "h@x"]));
        assert_eq!(get(&r, &src("emails.value"), Some(&Select::PrimaryOrFirst), &s).unwrap(), json!("h@x"));
        assert_eq!(
            get(&r, &src("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None, &s).unwrap(),
            json!("R&D")
        );
        assert_eq!(get(&r, &src("nickName"), None, &s).unwrap(), Value::Null);
    }

    #[test]
    fn primary_or_only_rejects_ambiguity() {
        let s = ResourceSchema::rfc(ResourceKind::User);
        let sel = Select::PrimaryOrOnly { error: "pick one".into() };
        let two = user(json!({"emails": [{"value": "a@x"}, {"value": "b@x"}]}));
        assert_eq!(get(&two, &src("emails.value"), Some(&sel), &s).unwrap_err().detail, "pick one");
        let one = user(json!({"emails": [{"value": "a@x"}]}));
        assert_eq!(get(&one, &src("emails.value"), Some(&sel), &s).unwrap(), json!("a@x"));
        let primary = user(json!({"emails": [{"value": "a@x"}, {"value": "b@x", "primary": true}]}));
        assert_eq!(get(&primary, &src("emails.value"), Some(&sel), &s).unwrap(), json!("b@x"));
    }

    #[test]
    fn writes_synthesise_filtered_elements() {
        let s = ResourceSchema::rfc(ResourceKind::User);
        let mut r = Resource::new();
        set(&mut r, &src("emails[type eq \"work\" and primary eq true].value"), json!("w@x"), &s);
        set(&mut r, &src("name.familyName"), json!("Doe"), &s);
        set(&mut r, &src("roles.value"), json!(["Admin", "Reader"]), &s);
        set(&mut r, &src("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"), json!("m1"), &s);
        set(&mut r, &src("nickName"), Value::Null, &s);
        assert_eq!(
            Value::Object(r),
            json!({
                "emails": [{"type": "work", "primary": true, "value": "w@x"}],
                "name": {"familyName": "Doe"},
                "roles": [{"value": "Admin"}, {"value": "Reader"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}}
            })
        );
    }
}
