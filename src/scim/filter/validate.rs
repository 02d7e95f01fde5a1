//! Checks a parsed filter against a resource schema before it is evaluated or translated.
//!
//! Unknown attributes are errors, not empty results: an IdP that looks a user up, gets nothing back and
//! creates the user again would make duplicates.

use crate::scim::schema::{AttrType, AttributeDef, ResourceSchema};

use super::ast::{AttrPath, CompValue, CompareOp, Filter};
use super::error::{TypeName, ValidationError, ValidationErrorKind as Kind};
use super::eval::{comparable, relative, resolve};

/// Checks that every path in `filter` names an attribute of `schema` and that every comparison fits
/// the attribute's type. Errors convert to 400 `invalidFilter` (RFC 7644 Table 9: "the specified
/// attribute and filter comparison combination is not supported").
///
/// Rules, by attribute type (after a complex attribute without sub-attribute stands for its `value`):
/// - string, reference: any operator, compared with a string;
/// - binary: `eq`/`ne` with a string (RFC 7644 §3.4.2.2 forbids ordering; substrings of base64 text
///   mean nothing);
/// - boolean: `eq`/`ne` with `true`/`false`;
/// - integer, decimal: `eq`, `ne`, `gt`, `ge`, `lt`, `le` with a number;
/// - dateTime: `eq`, `ne`, `gt`, `ge`, `lt`, `le` with an RFC 3339 date-time string;
/// - `null`: `eq`/`ne` on any attribute (unassigned / assigned), nothing else.
///
/// A value of the wrong JSON type (`userName eq 5`, `active eq "yes"`) is rejected rather than left to
/// match nothing. Inside `attr[...]` paths must be bare sub-attribute names of `attr`, which must be
/// complex; value paths do not nest.
pub fn validate(filter: &Filter, schema: &ResourceSchema) -> Result<(), ValidationError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate(a, schema)?;
            validate(b, schema)
        }
        Filter::Not(inner) => validate(inner, schema),
        Filter::Present(path) => resolve(schema, path).map(drop).ok_or_else(|| unknown(path)),
        Filter::Compare { path, op, value } => {
            let r = resolve(schema, path).ok_or_else(|| unknown(path))?;
            check_comparison(r.sub.unwrap_or(r.def), *op, value).map_err(|k| ValidationError::at(path, k))
        }
        Filter::ValuePath { attr, filter } => {
            let r = resolve(schema, attr).ok_or_else(|| unknown(attr))?;
            if r.sub.is_some() || r.def.ty != AttrType::Complex {
                return Err(ValidationError::at(attr, Kind::NotComplex));
            }
            validate_inner(filter, r.def, attr)
        }
    }
}

/// The filter inside `outer[...]`, whose paths are sub-attributes of `parent`.
fn validate_inner(filter: &Filter, parent: &AttributeDef, outer: &AttrPath) -> Result<(), ValidationError> {
    let sub = |path: &AttrPath| -> Result<&AttributeDef, ValidationError> {
        let kind = if path.uri.is_some() || path.sub.is_some() { Kind::NotRelative } else { Kind::UnknownAttribute };
        relative(path, parent).ok_or_else(|| ValidationError::new(format!("{outer}[{path}]"), kind))
    };
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_inner(a, parent, outer)?;
            validate_inner(b, parent, outer)
        }
        Filter::Not(inner) => validate_inner(inner, parent, outer),
        Filter::Present(path) => sub(path).map(drop),
        Filter::Compare { path, op, value } => {
            let def = sub(path)?;
            check_comparison(def, *op, value).map_err(|k| ValidationError::new(format!("{outer}[{path}]"), k))
        }
        Filter::ValuePath { attr, .. } => Err(ValidationError::new(format!("{outer}[{attr}]"), Kind::NestedValuePath)),
    }
}

fn unknown(path: &AttrPath) -> ValidationError {
    ValidationError::at(path, Kind::UnknownAttribute)
}

/// Whether `op value` applies to an attribute defined by `def`.
fn check_comparison(def: &AttributeDef, op: CompareOp, value: &CompValue) -> Result<(), Kind> {
    if *value == CompValue::Null {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) { Ok(()) } else { Err(Kind::NullOrdering) };
    }
    let def = comparable(def).ok_or(Kind::OperatorNotApplicable { op, ty: TypeName(AttrType::Complex) })?;
    let ty = TypeName(def.ty);
    let not_applicable = Err(Kind::OperatorNotApplicable { op, ty });
    let mismatch = Err(Kind::ValueTypeMismatch { ty, value: value_kind(value) });
    match (def.ty, value) {
        (AttrType::Boolean | AttrType::Binary, _) if op.is_ordering() || op.is_substring() => not_applicable,
        (AttrType::Integer | AttrType::Decimal | AttrType::DateTime, _) if op.is_substring() => not_applicable,
        (AttrType::Complex, _) => not_applicable,
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::String(_)) => Ok(()),
        (AttrType::Boolean, CompValue::Bool(_)) => Ok(()),
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(_)) => Ok(()),
        (AttrType::DateTime, CompValue::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(_) => Ok(()),
            Err(_) => Err(Kind::InvalidDateTime(s.clone())),
        },
        _ => mismatch,
    }
}

fn value_kind(value: &CompValue) -> &'static str {
    match value {
        CompValue::Null => "null",
        CompValue::Bool(_) => "a boolean",
        CompValue::Number(_) => "a number",
        CompValue::String(_) => "a string",
    }
}
