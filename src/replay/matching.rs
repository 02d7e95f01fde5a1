//! Subset matching of JSON documents, as the corpus defines `body_contains` and `body_not_contains`.
//!
//! `contains(expected, actual)`: objects match when every expected key is present with a matching value;
//! arrays when every expected element matches *some* actual element (order-insensitive, extra elements
//! allowed); scalars when equal (numbers compared by value, so `1` equals `1.0`). Keys are compared
//! case-sensitively: servers should emit the canonical RFC spelling, and a case-insensitive match would
//! hide that they do not.
//!
//! Both functions return the first difference found, with the JSON pointer where it sits, so a failure
//! names one concrete thing to fix.

use serde_json::Value;

/// The first place where a document differs from an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// JSON pointer into the actual document (`/` for the root).
    pub path: String,
    /// What was expected there, for people.
    pub expected: String,
    /// What was found there, for people.
    pub actual: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {}: expected {}, got {}", self.path, self.expected, self.actual)
    }
}

/// Longest rendering of a JSON value inside a message.
const EXCERPT_CHARS: usize = 240;

/// Compact JSON, cut at a character boundary to keep messages readable.
pub fn excerpt(value: &Value) -> String {
    truncate(&value.to_string(), EXCERPT_CHARS)
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Checks that `actual` contains `expected` (recursive subset match).
pub fn contains(expected: &Value, actual: &Value) -> Result<(), Difference> {
    contains_at(expected, actual, &mut String::new())
}

/// Checks that `actual` contains none of the structures in `unwanted`.
///
/// Objects recurse key by key (an absent key contains nothing); for an array, no actual element may match
/// an unwanted element; a scalar must differ.
pub fn not_contains(unwanted: &Value, actual: &Value) -> Result<(), Difference> {
    not_contains_at(unwanted, actual, &mut String::new())
}

fn display_path(path: &str) -> String {
    if path.is_empty() { "/".to_owned() } else { path.to_owned() }
}

fn push_token(path: &mut String, token: &str) -> usize {
    let len = path.len();
    path.push('/');
    path.push_str(&token.replace('~', "~0").replace('/', "~1"));
    len
}

fn contains_at(expected: &Value, actual: &Value, path: &mut String) -> Result<(), Difference> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, want_value) in want {
                let len = push_token(path, key);
                let Some(have_value) = have.get(key) else {
                    return Err(Difference {
                        path: display_path(path),
                        expected: excerpt(want_value),
                        actual: "no such key".to_owned(),
                    });
                };
                contains_at(want_value, have_value, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(have)) => {
            for want_item in want {
                if !have.iter().any(|have_item| contains(want_item, have_item).is_ok()) {
                    return Err(Difference {
                        path: display_path(path),
                        expected: format!("an element matching {}", excerpt(want_item)),
                        actual: excerpt(actual),
                    });
                }
            }
            Ok(())
        }
        (Value::Object(_) | Value::Array(_), _) => {
            Err(Difference { path: display_path(path), expected: excerpt(expected), actual: excerpt(actual) })
        }
        _ if scalar_eq(expected, actual) => Ok(()),
        _ => Err(Difference { path: display_path(path), expected: excerpt(expected), actual: excerpt(actual) }),
    }
}

fn not_contains_at(unwanted: &Value, actual: &Value, path: &mut String) -> Result<(), Difference> {
    match (unwanted, actual) {
        (Value::Object(unwanted), Value::Object(have)) => {
            for (key, unwanted_value) in unwanted {
                if let Some(have_value) = have.get(key) {
                    let len = push_token(path, key);
                    not_contains_at(unwanted_value, have_value, path)?;
                    path.truncate(len);
                }
            }
            Ok(())
        }
        (Value::Array(unwanted), Value::Array(have)) => {
            for unwanted_item in unwanted {
                if let Some(found) = have.iter().find(|have_item| contains(unwanted_item, have_item).is_ok()) {
                    return Err(Difference {
                        path: display_path(path),
                        expected: format!("no element matching {}", excerpt(unwanted_item)),
                        actual: format!("element {}", excerpt(found)),
                    });
                }
            }
            Ok(())
        }
        // A structure of another shape cannot contain the unwanted one.
        (Value::Object(_) | Value::Array(_), _) => Ok(()),
        _ if scalar_eq(unwanted, actual) => Err(Difference {
            path: display_path(path),
            expected: format!("anything but {}", excerpt(unwanted)),
            actual: excerpt(actual),
        }),
        _ => Ok(()),
    }
}

/// Scalar equality with numbers compared by value.
pub fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y)
            }
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;
