//! Point checks (`expect.checks`): one operation on the value a JSON pointer selects.

use serde_json::Value;

use super::corpus::{Check, CheckOp};
use super::matching::{Difference, excerpt};
use super::pointer::{self, Resolved, kind};

/// Evaluates one check against a response body.
pub fn evaluate(check: &Check, body: &Value) -> Result<(), Difference> {
    let found = match pointer::resolve(body, &check.pointer) {
        Ok(Resolved::Found(value)) if !value.is_null() => Some(value),
        Ok(Resolved::Found(_)) => None,
        Ok(Resolved::Missing { .. }) => None,
        Err(err) => return Err(corpus_error(check, &err.to_string())),
    };
    let fail = |expected: String, actual: String| Difference { path: check.pointer.clone(), expected, actual };
    let describe = |value: Option<&Value>| value.map_or_else(|| "absent".to_owned(), excerpt);
    match check.op {
        CheckOp::Present => match found {
            Some(_) => Ok(()),
            None => Err(fail("a value".into(), describe(missing(body, check)))),
        },
        CheckOp::Absent => match found {
            None => Ok(()),
            Some(value) => Err(fail("no value".into(), excerpt(value))),
        },
        CheckOp::IsNumber => match found {
            Some(Value::Number(_)) => Ok(()),
            other => Err(fail("a JSON number".into(), describe_kind(other))),
        },
        CheckOp::IsBoolean => match found {
            Some(Value::Bool(_)) => Ok(()),
            other => Err(fail("a JSON boolean".into(), describe_kind(other))),
        },
        CheckOp::Gte => {
            let Some(bound) = check.value.as_ref().and_then(Value::as_f64) else {
                return Err(corpus_error(check, "`gte` needs a numeric value"));
            };
            match found.and_then(Value::as_f64) {
                Some(n) if n >= bound => Ok(()),
                _ => Err(fail(format!("a number >= {bound}"), describe(found))),
            }
        }
        CheckOp::LenEq | CheckOp::LenLte => {
            let Some(bound) = check.value.as_ref().and_then(Value::as_u64) else {
                return Err(corpus_error(check, "length checks need a non-negative integer value"));
            };
            let len = array_len(found).map_err(|actual| fail("an array".into(), actual))?;
            let ok = if check.op == CheckOp::LenEq { len as u64 == bound } else { len as u64 <= bound };
            let relation = if check.op == CheckOp::LenEq { "exactly" } else { "at most" };
            if ok { Ok(()) } else { Err(fail(format!("{relation} {bound} elements"), format!("{len} elements"))) }
        }
        CheckOp::LenEqPointer => {
            let Some(other) = check.value.as_ref().and_then(Value::as_str) else {
                return Err(corpus_error(check, "`len_eq_pointer` needs a JSON pointer as value"));
            };
            let wanted = match pointer::resolve(body, other) {
                Ok(Resolved::Found(value)) => value.as_u64(),
                Ok(Resolved::Missing { .. }) => None,
                Err(err) => return Err(corpus_error(check, &err.to_string())),
            };
            let Some(wanted) = wanted else {
                return Err(fail(format!("a length given by the integer at {other}"), format!("{other} is not one")));
            };
            let len = array_len(found).map_err(|actual| fail("an array".into(), actual))?;
            if len as u64 == wanted {
                Ok(())
            } else {
                Err(fail(format!("{wanted} elements (the value at {other})"), format!("{len} elements")))
            }
        }
        CheckOp::EmptyOrAbsent => match found {
            None => Ok(()),
            Some(Value::Array(a)) if a.is_empty() => Ok(()),
            Some(Value::Object(o)) if o.is_empty() => Ok(()),
            Some(Value::String(s)) if s.is_empty() => Ok(()),
            Some(value) => Err(fail("empty or absent".into(), excerpt(value))),
        },
        CheckOp::EqualLoose => {
            let Some(want) = check.value.as_ref().and_then(loose_string) else {
                return Err(corpus_error(check, "`equal_loose` needs a string or number value"));
            };
            match found.and_then(loose_string) {
                Some(have) if have == want => Ok(()),
                _ => Err(fail(format!("{want:?} (string or number)"), describe(found))),
            }
        }
    }
}

/// The value for messages about a check whose pointer found nothing or `null`.
fn missing<'a>(body: &'a Value, check: &Check) -> Option<&'a Value> {
    match pointer::resolve(body, &check.pointer) {
        Ok(Resolved::Found(value)) => Some(value),
        _ => None,
    }
}

fn describe_kind(value: Option<&Value>) -> String {
    match value {
        None => "absent".to_owned(),
        Some(value) => format!("{} {}", kind(value), excerpt(value)),
    }
}

/// Length of an array; an absent or `null` array counts as empty, since SCIM lets a server omit an
/// empty multi-valued attribute (and an empty `Resources`).
fn array_len(value: Option<&Value>) -> Result<usize, String> {
    match value {
        None => Ok(0),
        Some(Value::Array(items)) => Ok(items.len()),
        Some(other) => Err(format!("{} {}", kind(other), excerpt(other))),
    }
}

fn loose_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn corpus_error(check: &Check, problem: &str) -> Difference {
    Difference {
        path: check.pointer.clone(),
        expected: format!("a well-formed `{}` check", check.op.name()),
        actual: format!("corpus error: {problem}"),
    }
}

#[cfg(test)]
mod tests;
