//! RFC 6901 JSON pointers, resolved with a description of where resolution stopped.
//!
//! Each reference token is a literal key: `/name.givenName` names a top-level key containing a dot, and
//! `/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber` a key containing colons. That
//! is plain RFC 6901, written down because SCIM attribute paths look similar and mean something else.

use serde_json::Value;

/// A pointer that is not RFC 6901 syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{pointer}` is not a JSON pointer: {reason}")]
pub struct PointerError {
    pointer: String,
    reason: &'static str,
}

/// Splits a pointer into unescaped reference tokens.
pub fn tokens(pointer: &str) -> Result<Vec<String>, PointerError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(PointerError { pointer: pointer.to_owned(), reason: "it must be empty or start with '/'" });
    };
    rest.split('/').map(|raw| unescape(raw).ok_or_else(|| bad_escape(pointer))).collect()
}

fn bad_escape(pointer: &str) -> PointerError {
    PointerError { pointer: pointer.to_owned(), reason: "'~' must be followed by '0' or '1'" }
}

fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Where a pointer led.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    /// The value at the pointer.
    Found(&'a Value),
    /// Resolution stopped: `at` is the deepest prefix that exists, `reason` says why the next token failed.
    Missing { at: String, reason: String },
}

/// Resolves `pointer` in `root`.
pub fn resolve<'a>(root: &'a Value, pointer: &str) -> Result<Resolved<'a>, PointerError> {
    let tokens = tokens(pointer)?;
    let mut current = root;
    let mut at = String::new();
    for token in &tokens {
        let next = match current {
            Value::Object(map) => map.get(token.as_str()),
            Value::Array(items) => array_index(token).and_then(|i| items.get(i)),
            _ => None,
        };
        let Some(next) = next else {
            let reason = match current {
                Value::Object(_) => format!("no key `{token}`"),
                Value::Array(items) => format!("no element `{token}` (array of {})", items.len()),
                other => format!("`{token}` cannot index {}", kind(other)),
            };
            return Ok(Resolved::Missing { at: if at.is_empty() { "/".into() } else { at }, reason });
        };
        at.push('/');
        at.push_str(&token.replace('~', "~0").replace('/', "~1"));
        current = next;
    }
    Ok(Resolved::Found(current))
}

/// RFC 6901 array index: `0` or digits without a leading zero.
fn array_index(token: &str) -> Option<usize> {
    let valid = token == "0" || (!token.starts_with('0') && !token.is_empty());
    if valid && token.bytes().all(|b| b.is_ascii_digit()) { token.parse().ok() } else { None }
}

/// A short name for the JSON type of a value, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dotted_and_urn_tokens_are_literal_keys() {
        let doc = json!({
            "name": {"givenName": "nested"},
            "name.givenName": "literal",
            "urn:x:User:employeeNumber": "7",
        });
        assert_eq!(resolve(&doc, "/name.givenName"), Ok(Resolved::Found(&json!("literal"))));
        assert_eq!(resolve(&doc, "/name/givenName"), Ok(Resolved::Found(&json!("nested"))));
        assert_eq!(resolve(&doc, "/urn:x:User:employeeNumber"), Ok(Resolved::Found(&json!("7"))));
        let without_literal = json!({"name": {"givenName": "nested"}});
        assert!(matches!(resolve(&without_literal, "/name.givenName"), Ok(Resolved::Missing { .. })));
    }

    #[test]
    fn escapes_indices_and_missing_paths() {
        let doc = json!({"a/b": 1, "m~n": 2, "list": [10, 20], "": 3});
        assert_eq!(resolve(&doc, "/a~1b"), Ok(Resolved::Found(&json!(1))));
        assert_eq!(resolve(&doc, "/m~0n"), Ok(Resolved::Found(&json!(2))));
        assert_eq!(resolve(&doc, "/list/1"), Ok(Resolved::Found(&json!(20))));
        assert_eq!(resolve(&doc, "/"), Ok(Resolved::Found(&json!(3))));
        assert_eq!(resolve(&doc, ""), Ok(Resolved::Found(&doc)));
        assert_eq!(
            resolve(&doc, "/list/01"),
            Ok(Resolved::Missing { at: "/list".into(), reason: "no element `01` (array of 2)".into() })
        );
        assert_eq!(
            resolve(&doc, "/list/2/x"),
            Ok(Resolved::Missing { at: "/list".into(), reason: "no element `2` (array of 2)".into() })
        );
        assert_eq!(
            resolve(&doc, "/a~1b/x"),
            Ok(Resolved::Missing { at: "/a~1b".into(), reason: "`x` cannot index a number".into() })
        );
        assert!(resolve(&doc, "a").is_err());
        assert!(resolve(&doc, "/x~2").is_err());
    }
}
