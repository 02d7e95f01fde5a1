//! Typed attribute values (RFC 7643 §2.3): a JSON value checked against an [`AttributeDef`] and
//! returned in canonical form.
//!
//! Shared by resource writes (POST/PUT) and PATCH so that both accept exactly the same values:
//! - sub-attribute names are matched case-insensitively and stored under the schema's spelling
//!   (RFC 7643 §2.1);
//! - unknown and read-only sub-attributes are dropped: a client may echo what it read, and
//!   RFC 7644 §3.3 says read-only values it sends are ignored;
//! - `null`, `[]` and `{}` mean "no value" (RFC 7643 §2.5) and come back as `None`;
//! - a single value given for a multi-valued attribute is wrapped in an array;
//! - a type mismatch is a 400 `invalidValue` whose detail names the attribute.

use serde_json::{Map, Value};

use crate::scim::ScimError;
use crate::scim::schema::{AttrType, AttributeDef, Mutability};

/// The attribute a value belongs to, as shown in error details: `emails`, `emails.value`,
/// `urn:…:enterprise:2.0:User:manager.value`. Built without allocating; formatted only on error.
#[derive(Debug, Clone, Copy)]
pub struct Label<'a> {
    /// The attribute, URN-qualified when it belongs to an extension.
    pub attr: &'a str,
    pub sub: Option<&'a str>,
}

// === impl Label ===

impl<'a> Label<'a> {
    pub fn new(attr: &'a str) -> Self {
        Label { attr, sub: None }
    }

    pub fn child(self, sub: &'a str) -> Self {
        Label { sub: Some(sub), ..self }
    }
}

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.attr)?;
        match self.sub {
            Some(s) => write!(f, ".{s}"),
            None => Ok(()),
        }
    }
}

/// The canonical form of a whole attribute value. Multi-valued attributes come back as a
/// non-empty array holding at most one element marked `primary`.
pub fn attribute(def: &AttributeDef, label: Label<'_>, v: Value) -> Result<Option<Value>, ScimError> {
    if !def.multi_valued {
        return element(def, label, v);
    }
    let items = match v {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        one => vec![one],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(item) = element(def, label, item)? {
            out.push(item);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if out.iter().filter(|e| is_primary(e)).count() > 1 {
        return Err(ScimError::invalid_value(format!("more than one `{label}` value is marked primary")));
    }
    Ok(Some(Value::Array(out)))
}

/// One value of `def`: one element when `def` is multi-valued, the whole value otherwise.
pub fn element(def: &AttributeDef, label: Label<'_>, v: Value) -> Result<Option<Value>, ScimError> {
    match (def.ty, v) {
        (_, Value::Null) => Ok(None),
        (AttrType::Complex, Value::Object(m)) => {
            let m = complex(def, label, m)?;
            Ok((!m.is_empty()).then_some(Value::Object(m)))
        }
        (AttrType::Complex, other) => Err(mismatch(def, label, &other)),
        (_, v) => scalar(def, label, v).map(Some),
    }
}

/// Whether an element carries `"primary": true`.
pub fn is_primary(element: &Value) -> bool {
    element.get("primary").and_then(Value::as_bool) == Some(true)
}

/// The canonical sub-attributes of a complex value.
fn complex(def: &AttributeDef, label: Label<'_>, m: Map<String, Value>) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    let mut seen: Vec<&str> = Vec::with_capacity(m.len());
    for (key, v) in m {
        let Some(sub) = def.sub_attribute(&key) else { continue };
        if seen.contains(&sub.name.as_str()) {
            return Err(ScimError::invalid_value(format!("`{}` is given more than once", label.child(&sub.name))));
        }
        seen.push(&sub.name);
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = attribute(sub, label.child(&sub.name), v)? {
            out.insert(sub.name.clone(), v);
        }
    }
    Ok(out)
}

fn scalar(def: &AttributeDef, label: Label<'_>, v: Value) -> Result<Value, ScimError> {
    let ok = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => v.is_string(),
        AttrType::Boolean => v.is_boolean(),
        AttrType::Decimal => v.is_number(),
        AttrType::Integer => v.is_i64() || v.is_u64(),
        AttrType::DateTime => v.as_str().is_some_and(is_date_time),
        AttrType::Complex => false,
    };
    if ok { Ok(v) } else { Err(mismatch(def, label, &v)) }
}

/// `xsd:dateTime` (RFC 7643 §2.3.5): an RFC 3339 timestamp, or one without a zone offset.
fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

fn mismatch(def: &AttributeDef, label: Label<'_>, got: &Value) -> ScimError {
    let expected = match def.ty {
        AttrType::String => "a string",
        AttrType::Reference => "a reference (string)",
        AttrType::Binary => "base64 binary (string)",
        AttrType::Boolean => "a boolean (true or false)",
        AttrType::Decimal => "a number",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "a dateTime such as 2024-05-01T12:00:00Z",
        AttrType::Complex => "an object of sub-attributes",
    };
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) if def.ty == AttrType::DateTime => "a string that is not a dateTime",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ScimError::invalid_value(format!("`{label}` must be {expected}, not {got}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::scim::ScimType;

    fn def(ty: &str, multi: bool) -> AttributeDef {
        serde_json::from_value(json!({ "name": "x", "type": ty, "multiValued": multi })).unwrap()
    }

    fn check(ty: &str, v: Value) -> Result<Option<Value>, ScimError> {
        attribute(&def(ty, false), Label::new("x"), v)
    }

    #[test]
    fn scalars_follow_their_type() {
        assert!(check("integer", json!(3)).is_ok());
        assert!(check("integer", json!(-3)).is_ok());
        assert!(check("integer", json!(3.5)).is_err());
        assert!(check("decimal", json!(3.5)).is_ok());
        assert!(check("decimal", json!("3.5")).is_err());
        assert!(check("boolean", json!("true")).is_err());
        assert!(check("reference", json!("https://x/Users/1")).is_ok());
        assert!(check("binary", json!("AAEC")).is_ok());
        for ok in ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123+02:00", "2024-05-01T12:00:00"] {
            assert_eq!(check("dateTime", json!(ok)).unwrap(), Some(json!(ok)), "{ok}");
        }
        for bad in ["2024-05-01", "yesterday", "2024-13-01T00:00:00Z"] {
            let e = check("dateTime", json!(bad)).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
            assert!(e.detail.contains("`x`") && e.detail.contains("dateTime"), "{}", e.detail);
        }
    }

    #[test]
    fn empty_values_are_none() {
        assert_eq!(check("string", Value::Null).unwrap(), None);
        assert_eq!(attribute(&def("string", true), Label::new("x"), json!([])).unwrap(), None);
        assert_eq!(attribute(&def("string", true), Label::new("x"), json!([null])).unwrap(), None);
        assert_eq!(attribute(&def("string", true), Label::new("x"), json!("a")).unwrap(), Some(json!(["a"])));
    }
}
