//! Compiled JSONPath (RFC 9535) for reading native answers.
//!
//! Paths are parsed once at load. Simple paths (`$.a.b`, `$.data[*].id`, `$.items[0]`), which are
//! nearly all of them, run on a small allocation-free walker; anything else (filters, recursive
//! descent, slices) runs on `jsonpath-rust`'s evaluator.

use jsonpath_rust::parser::model::JpQuery;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Wildcard,
}

/// A JSONPath compiled at load time.
#[derive(Debug, Clone)]
pub struct JsonPath {
    source: String,
    simple: Option<Vec<Step>>,
    full: JpQuery,
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// A JSONPath that does not parse; the message comes from the parser.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid JSONPath: {0}")]
pub struct JsonPathError(pub String);

fn parse_simple(src: &str) -> Option<Vec<Step>> {
    let rest = src.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'*') {
                    out.push(Step::Wildcard);
                    i += 1;
                    continue;
                }
                let s = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-' || chars[i] == '$')
                {
                    i += 1;
                }
                if s == i || chars.get(s).is_some_and(|c| *c == '-') {
                    return None;
                }
                out.push(Step::Key(chars[s..i].iter().collect()));
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']')? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                if inner == "*" {
                    out.push(Step::Wildcard);
                } else if let Ok(n) = inner.parse::<usize>() {
                    out.push(Step::Index(n));
                } else if let Some(k) = inner.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')) {
                    if k.contains(['\\', '\'']) {
                        return None;
                    }
                    out.push(Step::Key(k.to_owned()));
                } else {
                    return None;
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn walk<'a>(steps: &[Step], v: &'a Value, out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    match (first, v) {
        (Step::Key(k), Value::Object(o)) => {
            if let Some(x) = o.get(k) {
                walk(rest, x, out);
            }
        }
        (Step::Index(n), Value::Array(a)) => {
            if let Some(x) = a.get(*n) {
                walk(rest, x, out);
            }
        }
        (Step::Wildcard, Value::Array(a)) => a.iter().for_each(|x| walk(rest, x, out)),
        (Step::Wildcard, Value::Object(o)) => o.values().for_each(|x| walk(rest, x, out)),
        _ => {}
    }
}

impl JsonPath {
    pub fn parse(src: &str) -> Result<JsonPath, JsonPathError> {
        let full = jsonpath_rust::parser::parse_json_path(src).map_err(|e| JsonPathError(e.to_string()))?;
        Ok(JsonPath { source: src.to_owned(), simple: parse_simple(src), full })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether this is `$`, the whole document (decided when compiled).
    pub fn is_root(&self) -> bool {
        self.simple.as_ref().is_some_and(Vec::is_empty)
    }

    /// The top-level key every match lies under (`a` in `$.a.b[*]`); `None` when matches can lie
    /// anywhere (`$`, `$[*]`, filters, recursive descent).
    pub fn top_key(&self) -> Option<&str> {
        match self.simple.as_deref()?.first()? {
            Step::Key(k) => Some(k),
            Step::Index(_) | Step::Wildcard => None,
        }
    }

    /// Every match, in document order.
    pub fn query<'a>(&self, v: &'a Value) -> Vec<&'a Value> {
        match &self.simple {
            Some(steps) => {
                let mut out = vec![];
                walk(steps, v, &mut out);
                out
            }
            None => jsonpath_rust::query::js_path_process(&self.full, v)
                .map(|refs| refs.into_iter().map(|r| r.val()).collect())
                .unwrap_or_default(),
        }
    }

    /// The first match, or null.
    pub fn first(&self, v: &Value) -> Value {
        self.query(v).into_iter().next().cloned().unwrap_or(Value::Null)
    }

    /// All matches as an array.
    pub fn all(&self, v: &Value) -> Value {
        Value::Array(self.query(v).into_iter().cloned().collect())
    }

    /// Whether the path can select several values (wildcards, filters).
    pub fn is_multi(&self) -> bool {
        match &self.simple {
            Some(steps) => steps.contains(&Step::Wildcard),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn only_the_bare_dollar_is_the_root() {
        assert!(super::JsonPath::parse("$").unwrap().is_root());
        for other in ["$.a", "$[0]", "$..a", "$.*"] {
            assert!(!super::JsonPath::parse(other).unwrap().is_root(), "{other}");
        }
    }

    use super::*;

    #[test]
    fn simple_and_full_paths_agree() {
        let doc = json!({"data": [{"id": 1, "tags": ["a"]}, {"id": 2}], "paging": {"after": "c2"}, "a-b": 3});
        for (src, want) in [
            ("$.data[*].id", json!([1, 2])),
            ("$.paging.after", json!(["c2"])),
            ("$.data[1].id", json!([2])),
            ("$['a-b']", json!([3])),
            ("$.nope", json!([])),
            ("$.data[?@.id > 1].id", json!([2])),
            ("$..id", json!([1, 2])),
        ] {
            let p = JsonPath::parse(src).unwrap();
            assert_eq!(p.all(&doc), want, "{src}");
            let full: Vec<Value> = jsonpath_rust::query::js_path_process(&p.full, &doc)
                .unwrap()
                .into_iter()
                .map(|r| r.val().clone())
                .collect();
            assert_eq!(Value::Array(full), want, "{src} (reference evaluator)");
        }
        assert!(JsonPath::parse("$.data[").is_err());
        assert!(JsonPath::parse("data").is_err());
        assert_eq!(JsonPath::parse("$.paging.after").unwrap().first(&doc), json!("c2"));
        assert!(JsonPath::parse("$.data[*]").unwrap().is_multi());
    }
}
