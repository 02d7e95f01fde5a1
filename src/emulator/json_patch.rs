//! RFC 6902 JSON Patch with RFC 6901 pointers, as OpenMetadata (and DataHub's experimental aspect PATCH) apply it.
//!
//! The emulators need the exact failure modes a real server shows a careless client: `remove` of an array index
//! that does not exist, `add` past the end, a failed `test`. Patches are applied to a copy, so a failing
//! operation leaves the document untouched, as RFC 6902 §5 requires.

use serde_json::{Map, Value};

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PatchError {
    /// The body is not an array of operation objects, or an operation lacks a member.
    #[error("invalid JSON Patch: {0}")]
    Invalid(String),
    /// A pointer does not resolve where the operation needs it to.
    #[error("JSON Patch path {path:?} {problem}")]
    Path { path: String, problem: &'static str },
    /// A `test` operation did not match.
    #[error("JSON Patch test failed at {0:?}")]
    TestFailed(String),
}

/// Applies `patch` (an array of operations) to `doc`; all or nothing.
pub(crate) fn apply(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = patch.as_array().ok_or_else(|| PatchError::Invalid("the patch must be a JSON array".into()))?;
    let mut out = doc.clone();
    for op in ops {
        apply_one(&mut out, op)?;
    }
    Ok(out)
}

fn member<'a>(op: &'a Map<String, Value>, name: &str) -> Result<&'a Value, PatchError> {
    op.get(name).ok_or_else(|| PatchError::Invalid(format!("operation lacks {name:?}")))
}

fn str_member<'a>(op: &'a Map<String, Value>, name: &str) -> Result<&'a str, PatchError> {
    member(op, name)?.as_str().ok_or_else(|| PatchError::Invalid(format!("{name:?} must be a string")))
}

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), PatchError> {
    let op = op.as_object().ok_or_else(|| PatchError::Invalid("each operation must be an object".into()))?;
    let path = str_member(op, "path")?;
    match str_member(op, "op")? {
        "add" => add(doc, path, member(op, "value")?.clone()),
        "remove" => remove(doc, path).map(drop),
        "replace" => {
            let value = member(op, "value")?.clone();
            let target = resolve_mut(doc, path)?;
            *target = value;
            Ok(())
        }
        "move" => {
            let from = str_member(op, "from")?;
            if path.starts_with(from) && path[from.len()..].starts_with('/') {
                return Err(PatchError::Path { path: path.into(), problem: "is inside the moved value" });
            }
            let value = remove(doc, from)?;
            add(doc, path, value)
        }
        "copy" => {
            let value = resolve_mut(doc, str_member(op, "from")?)?.clone();
            add(doc, path, value)
        }
        "test" => {
            let expected = member(op, "value")?;
            if resolve_mut(doc, path)? == expected { Ok(()) } else { Err(PatchError::TestFailed(path.into())) }
        }
        other => Err(PatchError::Invalid(format!("unknown operation {other:?}"))),
    }
}

/// Splits a pointer into unescaped tokens.
fn tokens(path: &str) -> Result<Vec<String>, PatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or(PatchError::Path { path: path.into(), problem: "must be empty or start with '/'" })?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn index(token: &str, len: usize, path: &str, allow_end: bool) -> Result<usize, PatchError> {
    let valid =
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) && (token == "0" || !token.starts_with('0'));
    let bad = PatchError::Path { path: path.into(), problem: "has an array index that is out of range" };
    if !valid {
        return Err(bad);
    }
    let i: usize = token.parse().map_err(|_| bad.clone())?;
    if i < len || (allow_end && i == len) { Ok(i) } else { Err(bad) }
}

fn resolve_mut<'a>(doc: &'a mut Value, path: &str) -> Result<&'a mut Value, PatchError> {
    let mut current = doc;
    for token in tokens(path)? {
        current = match current {
            Value::Object(map) => {
                map.get_mut(&token).ok_or(PatchError::Path { path: path.into(), problem: "does not exist" })?
            }
            Value::Array(items) => {
                let i = index(&token, items.len(), path, false)?;
                &mut items[i]
            }
            _ => return Err(PatchError::Path { path: path.into(), problem: "goes through a scalar" }),
        };
    }
    Ok(current)
}

/// The parent container of a pointer and the last token.
fn parent_mut<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), PatchError> {
    let mut toks = tokens(path)?;
    let last = toks.pop().ok_or(PatchError::Path { path: path.into(), problem: "must not be the root here" })?;
    let parent_path: String = toks.iter().map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1"))).collect();
    Ok((resolve_mut(doc, &parent_path)?, last))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = parent_mut(doc, path)?;
    match parent {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let i = if last == "-" { items.len() } else { index(&last, items.len(), path, true)? };
            items.insert(i, value);
            Ok(())
        }
        _ => Err(PatchError::Path { path: path.into(), problem: "has a scalar parent" }),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, last) = parent_mut(doc, path)?;
    match parent {
        Value::Object(map) => {
            map.remove(&last).ok_or(PatchError::Path { path: path.into(), problem: "does not exist" })
        }
        Value::Array(items) => {
            let i = index(&last, items.len(), path, false)?;
            Ok(items.remove(i))
        }
        _ => Err(PatchError::Path { path: path.into(), problem: "has a scalar parent" }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn add_append_remove_replace() {
        let doc = json!({"teams": [{"id": "a"}], "displayName": "x"});
        let patch = json!([
            {"op": "add", "path": "/teams/-", "value": {"id": "b"}},
            {"op": "remove", "path": "/teams/0"},
            {"op": "replace", "path": "/displayName", "value": "y"},
            {"op": "add", "path": "/a~1b", "value": 1}
        ]);
        assert_eq!(apply(&doc, &patch).unwrap(), json!({"teams": [{"id": "b"}], "displayName": "y", "a/b": 1}));
    }

    #[test]
    fn failures_leave_document_untouched_and_name_the_path() {
        let doc = json!({"teams": []});
        let err = apply(&doc, &json!([{"op": "remove", "path": "/teams/0"}])).unwrap_err();
        assert!(matches!(err, PatchError::Path { ref path, .. } if path == "/teams/0"));
        assert!(apply(&doc, &json!([{"op": "replace", "path": "/missing", "value": 1}])).is_err());
        assert!(apply(&doc, &json!([{"op": "test", "path": "/teams", "value": [1]}])).is_err());
        assert!(apply(&doc, &json!({"op": "add"})).is_err());
        assert!(apply(&doc, &json!([{"op": "add", "path": "/teams/01", "value": 1}])).is_err());
    }

    #[test]
    fn move_and_copy() {
        let doc = json!({"a": {"b": 1}, "c": []});
        let patch = json!([{"op": "copy", "from": "/a/b", "path": "/c/0"}, {"op": "move", "from": "/a", "path": "/d"}]);
        assert_eq!(apply(&doc, &patch).unwrap(), json!({"c": [1], "d": {"b": 1}}));
    }
}
