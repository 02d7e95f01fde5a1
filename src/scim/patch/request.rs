//! The PatchOp message (RFC 7644 §3.5.2): JSON in, [`PatchRequest`] out.

use serde_json::{Map, Value};

use super::{PatchOpKind, PatchOperation, PatchPath, PatchRequest};
use crate::scim::{ScimError, urn};

/// Operations accepted in one request unless the caller sets another limit. Entra and Okta send a
/// handful; a group sync that adds members one operation each stays well below this.
pub const DEFAULT_MAX_OPERATIONS: usize = 10_000;

// === impl PatchRequest ===

impl PatchRequest {
    /// Parses a PatchOp body with at most [`DEFAULT_MAX_OPERATIONS`] operations.
    pub fn from_json(body: &Value) -> Result<PatchRequest, ScimError> {
        Self::from_json_with_limit(body, DEFAULT_MAX_OPERATIONS)
    }

    /// Parses a PatchOp body. The shape is checked strictly (this runs after the dialect layer has
    /// rewritten IdP quirks), except that `op` is matched case-insensitively.
    ///
    /// Errors (all 400):
    /// - `invalidSyntax`: not an object, `schemas` without the PatchOp URN, `Operations` missing,
    ///   empty or not an array, an operation that is not an object or has an unknown `op`
    ///   ("the request body message structure was invalid", RFC 7644 §3.12);
    /// - `tooMany`: more than `max_operations` operations;
    /// - `noTarget`: `remove` without `path` (RFC 7644 §3.5.2.2);
    /// - `invalidValue`: `add`/`replace` without `value`. RFC 7644 §3.5.2.1 says the operation
    ///   "MUST contain a "value" member", and §3.12 defines `invalidValue` as "a required value was
    ///   missing". A JSON `null` value counts as missing (RFC 7643 §2.5: null means unassigned);
    /// - `invalidPath` / `invalidFilter`: see [`PatchPath::parse`].
    pub fn from_json_with_limit(body: &Value, max_operations: usize) -> Result<PatchRequest, ScimError> {
        let body = body.as_object().ok_or_else(|| ScimError::invalid_syntax("a PatchOp body must be a JSON object"))?;
        check_schemas(body)?;
        let ops = match body.get("Operations") {
            Some(Value::Array(ops)) if !ops.is_empty() => ops,
            Some(Value::Array(_)) => {
                return Err(ScimError::invalid_syntax("`Operations` must hold at least one operation"));
            }
            Some(_) => return Err(ScimError::invalid_syntax("`Operations` must be an array")),
            None => return Err(ScimError::invalid_syntax("a PatchOp body needs `Operations`")),
        };
        if ops.len() > max_operations {
            return Err(ScimError::too_many(format!(
                "{} operations in one PATCH; at most {max_operations} are accepted",
                ops.len()
            )));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, op)| operation(op).map_err(|e| in_operation(e, i)))
            .collect::<Result<_, _>>()?;
        Ok(PatchRequest { operations })
    }
}

fn check_schemas(body: &Map<String, Value>) -> Result<(), ScimError> {
    let listed = match body.get("schemas") {
        Some(Value::Array(items)) => {
            items.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn::PATCH_OP)))
        }
        _ => false,
    };
    if listed { Ok(()) } else { Err(ScimError::invalid_syntax(format!("`schemas` must list {}", urn::PATCH_OP))) }
}

fn operation(op: &Value) -> Result<PatchOperation, ScimError> {
    let op = op.as_object().ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
    let kind = match op.get("op") {
        Some(Value::String(s)) => PatchOpKind::parse(s)
            .ok_or_else(|| ScimError::invalid_syntax(format!("unknown op `{s}`; expected add, replace or remove")))?,
        _ => return Err(ScimError::invalid_syntax("an operation needs `op` (add, replace or remove)")),
    };
    let path = match op.get("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(PatchPath::parse(p)?),
        Some(_) => return Err(ScimError::invalid_path("`path` must be a string")),
    };
    let value = op.get("value").filter(|v| !v.is_null()).cloned();
    match kind {
        PatchOpKind::Remove if path.is_none() => Err(ScimError::no_target("a remove operation needs a `path`")),
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => {
            Err(ScimError::invalid_value(format!("`{kind}` needs a `value`")))
        }
        _ => Ok(PatchOperation { op: kind, path, value }),
    }
}

/// Says which operation failed: the IdP administrator sees only the detail.
pub(super) fn in_operation(mut e: ScimError, index: usize) -> ScimError {
    e.detail = format!("operation {}: {}", index + 1, e.detail);
    e
}
