//! Native field paths: where a value sits in an application's JSON record.
//!
//! ```text
//! path    = segment *( "." segment )
//! segment = key                    ; an object member
//!         / key "[]"               ; an array: all elements (values, or objects when more follows)
//!         / key "[" key "=" text "]" ; the array element whose field equals text
//! key     = 1*( ALPHA / DIGIT / "_" / "-" / "$" / "@" ) / quoted string
//! ```
//!
//! The same path is used to write a value (building the create body, changing a record) and to read
//! it back, so most mappings state each field once.

use std::fmt;

use serde_json::{Map, Value};

/// One segment of a native path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    /// `key[]`
    Each(String),
    /// `key[field=value]`
    Where {
        key: String,
        field: String,
        value: String,
    },
}

/// A parsed native path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativePath {
    pub segments: Vec<Segment>,
}

/// A path that cannot be parsed; `offset` is a character offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PathError {
    pub offset: usize,
    pub message: String,
}

impl NativePath {
    pub fn parse(src: &str) -> Result<NativePath, PathError> {
        let chars: Vec<char> = src.chars().collect();
        let mut i = 0;
        let mut segments = vec![];
        let bad = |offset: usize, m: &str| PathError { offset, message: m.to_owned() };
        let key_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | '@');
        loop {
            let start = i;
            let key = if chars.get(i) == Some(&'"') {
                i += 1;
                let s = i;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(bad(start, "unterminated quoted key"));
                }
                let k: String = chars[s..i].iter().collect();
                i += 1;
                k
            } else {
                while i < chars.len() && key_char(chars[i]) {
                    i += 1;
                }
                chars[start..i].iter().collect()
            };
            if key.is_empty() {
                return Err(bad(start, "expected a field name"));
            }
            let seg = if chars.get(i) == Some(&'[') {
                let open = i;
                i += 1;
                if chars.get(i) == Some(&']') {
                    i += 1;
                    Segment::Each(key)
                } else {
                    let close = chars[i..].iter().position(|c| *c == ']').map(|p| p + i);
                    let Some(close) = close else { return Err(bad(open, "unclosed `[`")) };
                    let inner: String = chars[i..close].iter().collect();
                    let Some((field, value)) = inner.split_once('=') else {
                        return Err(bad(open, "expected `[]` or `[field=value]`"));
                    };
                    let (field, value) = (field.trim(), value.trim().trim_matches('"'));
                    if field.is_empty() || !field.chars().all(key_char) {
                        return Err(bad(open + 1, "expected a field name before `=`"));
                    }
                    i = close + 1;
                    Segment::Where { key, field: field.to_owned(), value: value.to_owned() }
                }
            } else {
                Segment::Key(key)
            };
            segments.push(seg);
            match chars.get(i) {
                None => break,
                Some('.') => i += 1,
                Some(c) => return Err(bad(i, &format!("unexpected `{c}`"))),
            }
        }
        Ok(NativePath { segments })
    }

    /// The top-level field this path writes.
    pub fn top_key(&self) -> &str {
        match &self.segments[0] {
            Segment::Key(k) | Segment::Each(k) | Segment::Where { key: k, .. } => k,
        }
    }

    /// Whether reading yields an array (the path has a `[]` segment).
    pub fn is_multi(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Each(_)))
    }

    /// Reads the value at this path; `[]` segments collect arrays; null when absent.
    pub fn get(&self, record: &Value) -> Value {
        get_in(&self.segments, record)
    }

    /// Writes `value` at this path, creating objects and array elements as needed. Null removes
    /// the field. Under a `[]` segment, `value` must be an array: element `i` receives `value[i]`;
    /// existing elements whose key field already holds a value are kept whole (so unrelated native
    /// fields of an element survive an update), and `element` fields are added to new elements.
    pub fn set(&self, record: &mut Value, value: Value, element: &Map<String, Value>) {
        set_in(&self.segments, record, value, element);
    }
}

impl fmt::Display for NativePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match s {
                Segment::Key(k) => f.write_str(k)?,
                Segment::Each(k) => write!(f, "{k}[]")?,
                Segment::Where { key, field, value } => write!(f, "{key}[{field}={value}]")?,
            }
        }
        Ok(())
    }
}

fn matches_where(el: &Value, field: &str, value: &str) -> bool {
    match el.get(field) {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(value),
        Some(other) => *other == value,
        None => false,
    }
}

fn get_in(segs: &[Segment], v: &Value) -> Value {
    let Some((first, rest)) = segs.split_first() else { return v.clone() };
    match first {
        Segment::Key(k) => v.get(k).map_or(Value::Null, |x| get_in(rest, x)),
        Segment::Each(k) => match v.get(k) {
            Some(Value::Array(a)) => {
                let items: Vec<Value> = a.iter().map(|e| get_in(rest, e)).filter(|x| !x.is_null()).collect();
                Value::Array(items)
            }
            _ => Value::Null,
        },
        Segment::Where { key, field, value } => match v.get(key) {
            Some(Value::Array(a)) => {
                a.iter().find(|e| matches_where(e, field, value)).map_or(Value::Null, |e| get_in(rest, e))
            }
            _ => Value::Null,
        },
    }
}

fn set_in(segs: &[Segment], target: &mut Value, value: Value, element: &Map<String, Value>) {
    let Some((first, rest)) = segs.split_first() else {
        *target = value;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(obj) = target else { return };
    match first {
        Segment::Key(k) if rest.is_empty() => {
            if value.is_null() {
                obj.remove(k);
            } else {
                obj.insert(k.clone(), value);
            }
        }
        Segment::Key(k) => {
            if value.is_null() && !obj.contains_key(k) {
                return;
            }
            let child = obj.entry(k.clone()).or_insert(Value::Null);
            set_in(rest, child, value, element);
        }
        Segment::Each(k) => {
            let values = match value {
                Value::Array(a) => a,
                Value::Null => vec![],
                one => vec![one],
            };
            if rest.is_empty() {
                obj.insert(k.clone(), Value::Array(values));
                return;
            }
            let old = match obj.remove(k) {
                Some(Value::Array(a)) => a,
                _ => vec![],
            };
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                let probe = {
                    let mut p = Value::Null;
                    set_in(rest, &mut p, v.clone(), &Map::new());
                    p
                };
                let keep = old.iter().find(|o| get_in(rest, o) == get_in(rest, &probe));
                match keep {
                    Some(o) => out.push(o.clone()),
                    None => {
                        let mut el = Value::Object(element.clone());
                        set_in(rest, &mut el, v, element);
                        out.push(el);
                    }
                }
            }
            obj.insert(k.clone(), Value::Array(out));
        }
        Segment::Where { key, field, value: want } => {
            let arr = obj.entry(key.clone()).or_insert_with(|| Value::Array(vec![]));
            if !arr.is_array() {
                *arr = Value::Array(vec![]);
            }
            let Value::Array(a) = arr else { return };
            let pos = a.iter().position(|e| matches_where(e, field, want));
            match (pos, value.is_null()) {
                (Some(p), true) => {
                    set_in(rest, &mut a[p], Value::Null, element);
                    let only_key =
                        a[p].as_object().is_some_and(|o| o.keys().all(|k| k == field || element.contains_key(k)));
                    if only_key {
                        a.remove(p);
                    }
                }
                (Some(p), false) => set_in(rest, &mut a[p], value, element),
                (None, true) => {}
                (None, false) => {
                    let mut el = Map::new();
                    el.extend(element.clone());
                    el.insert(field.clone(), Value::String(want.clone()));
                    let mut el = Value::Object(el);
                    set_in(rest, &mut el, value, element);
                    a.push(el);
                }
            }
            if a.is_empty() {
                obj.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn p(s: &str) -> NativePath {
        NativePath::parse(s).unwrap()
    }

    #[test]
    fn parses_and_displays() {
        for s in
            ["email", "a.b.c", "teams[]", "roles[].id", "phones[type=WORK].phoneNumber", "corpUserInfo.value.email"]
        {
            assert_eq!(p(s).to_string(), s);
        }
        assert_eq!(p("\"a.b\".c").segments[0], Segment::Key("a.b".into()));
        assert_eq!(NativePath::parse("a..b").unwrap_err().offset, 2);
        assert!(NativePath::parse("a[x]").is_err());
        assert!(NativePath::parse("a[").is_err());
        assert!(NativePath::parse("").is_err());
    }

    #[test]
    fn nested_keys_round_trip() {
        let mut doc = json!({});
        p("corpUserInfo.value.displayName").set(&mut doc, json!("Jane"), &Map::new());
        assert_eq!(doc, json!({"corpUserInfo": {"value": {"displayName": "Jane"}}}));
        assert_eq!(p("corpUserInfo.value.displayName").get(&doc), json!("Jane"));
        p("corpUserInfo.value.displayName").set(&mut doc, Value::Null, &Map::new());
        assert_eq!(doc, json!({"corpUserInfo": {"value": {}}}));
        assert_eq!(p("missing.x").get(&doc), Value::Null);
    }

    #[test]
    fn keyed_elements_are_found_or_created() {
        let mut doc = json!({"phones": [{"type": "MOBILE", "phoneNumber": "1"}]});
        let path = p("phones[type=WORK].phoneNumber");
        path.set(&mut doc, json!("2"), &Map::new());
        assert_eq!(doc["phones"][1], json!({"type": "WORK", "phoneNumber": "2"}));
        assert_eq!(path.get(&doc), json!("2"));
        path.set(&mut doc, json!("3"), &Map::new());
        assert_eq!(doc["phones"].as_array().unwrap().len(), 2);
        path.set(&mut doc, Value::Null, &Map::new());
        assert_eq!(doc, json!({"phones": [{"type": "MOBILE", "phoneNumber": "1"}]}));
    }

    #[test]
    fn arrays_of_objects_keep_existing_elements() {
        let mut doc = json!({"roles": [{"id": "r1", "type": "role", "name": "Steward"}]});
        let el: Map<String, Value> = json!({"type": "role"}).as_object().unwrap().clone();
        p("roles[].id").set(&mut doc, json!(["r1", "r2"]), &el);
        assert_eq!(
            doc["roles"],
            json!([{"id": "r1", "type": "role", "name": "Steward"}, {"type": "role", "id": "r2"}])
        );
        assert_eq!(p("roles[].id").get(&doc), json!(["r1", "r2"]));
        assert_eq!(p("roles[].name").get(&doc), json!(["Steward"]));
        p("roles[].id").set(&mut doc, json!([]), &el);
        assert_eq!(doc["roles"], json!([]));
        p("teams[]").set(&mut doc, json!(["a", "b"]), &Map::new());
        assert_eq!(p("teams[]").get(&doc), json!(["a", "b"]));
    }
}
