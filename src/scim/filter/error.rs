//! Filter errors: where a filter failed to parse and why, and why a parsed filter does not fit a schema.
//!
//! Both become a SCIM 400 `invalidFilter` at the edge; the detail text is shown to IdP administrators,
//! so it names what was expected and the 1-based character column.

use std::fmt;

use crate::scim::ScimError;
use crate::scim::schema::AttrType;

use super::ast::{AttrPath, CompareOp};

/// A syntax error in a filter: the 1-based character column where parsing stopped and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at column {column}: {kind}")]
pub struct FilterError {
    /// 1-based column, counted in characters (not bytes) of the filter text.
    pub column: usize,
    pub kind: FilterErrorKind,
}

/// What went wrong while parsing a filter.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterErrorKind {
    /// The filter is longer than [`Limits::max_len`](super::Limits::max_len) bytes.
    #[error("the filter is longer than {max} bytes")]
    TooLong { max: usize },
    /// Parentheses, `not`, value paths or `and`/`or` chains nest deeper than
    /// [`Limits::max_depth`](super::Limits::max_depth).
    #[error("the filter nests deeper than {max} levels")]
    TooDeep { max: usize },
    /// The text ended where more was needed.
    #[error("unexpected end of filter, expected {expected}")]
    UnexpectedEnd { expected: &'static str },
    /// A character that cannot start or continue what was expected.
    #[error("unexpected {found:?}, expected {expected}")]
    UnexpectedChar { found: char, expected: &'static str },
    /// An attribute path was not followed by an operator.
    #[error("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after the attribute path")]
    ExpectedOperator,
    /// A word in operator position that is not an operator.
    #[error("unknown operator {0:?}, expected eq, ne, co, sw, ew, gt, ge, lt, le or pr")]
    UnknownOperator(String),
    /// A comparison value that is not a JSON string, number, `true`, `false` or `null`.
    #[error("expected a comparison value (a JSON string, a number, true, false or null), found {0:?}")]
    InvalidValue(String),
    /// A string literal without its closing quote.
    #[error("unterminated string, expected a closing '\"'")]
    UnterminatedString,
    /// A raw control character (U+0000 to U+001F) inside a string; JSON requires it escaped.
    #[error("control character U+{0:04X} inside a string must be escaped")]
    ControlCharacter(u32),
    /// A backslash escape JSON does not define, or a `\u` escape that is not a valid character.
    #[error("invalid escape {0:?} in string")]
    InvalidEscape(String),
    /// A number JSON rejects (leading zeros, missing digits) or one out of range.
    #[error("invalid number {0:?}")]
    InvalidNumber(String),
    /// A value path inside a value path (`a[b[c pr]]`); RFC 7644 does not allow it.
    #[error("a value path cannot contain another value path")]
    NestedValuePath,
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> Self {
        ScimError::invalid_filter(e.to_string())
    }
}

/// A filter that parsed but does not fit the resource schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter on {path}: {kind}")]
pub struct ValidationError {
    /// The attribute path as written in the filter (inside a value path: `outer[inner]`).
    pub path: String,
    pub kind: ValidationErrorKind,
}

/// Why a filter does not fit the schema.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationErrorKind {
    /// The schema has no such attribute (or sub-attribute). Rejected rather than matching nothing: an
    /// IdP that gets zero results for a lookup creates the resource again.
    #[error("unknown attribute")]
    UnknownAttribute,
    /// `attr[...]` on an attribute that is not complex, or on a sub-attribute.
    #[error("a value filter needs a complex attribute")]
    NotComplex,
    /// A value path inside a value path.
    #[error("a value path cannot contain another value path")]
    NestedValuePath,
    /// Inside `attr[...]`, paths name sub-attributes of `attr`: no URN and no further `.sub`.
    #[error("paths inside a value filter name sub-attributes of the filtered attribute")]
    NotRelative,
    /// The operator does not apply to the attribute's type (RFC 7644 §3.4.2.2).
    #[error("operator {op} does not apply to {ty} attributes")]
    OperatorNotApplicable { op: CompareOp, ty: TypeName },
    /// The comparison value cannot be compared with the attribute's type.
    #[error("{ty} attributes cannot be compared with {value}")]
    ValueTypeMismatch { ty: TypeName, value: &'static str },
    /// `null` compares only with `eq` (unassigned) and `ne` (assigned).
    #[error("null can only be compared with eq or ne")]
    NullOrdering,
    /// A dateTime attribute compared with a string that is not an RFC 3339 date-time.
    #[error("{0:?} is not an RFC 3339 date-time")]
    InvalidDateTime(String),
}

impl From<ValidationError> for ScimError {
    fn from(e: ValidationError) -> Self {
        ScimError::invalid_filter(e.to_string())
    }
}

impl ValidationError {
    pub(super) fn new(path: String, kind: ValidationErrorKind) -> Self {
        ValidationError { path, kind }
    }

    pub(super) fn at(path: &AttrPath, kind: ValidationErrorKind) -> Self {
        ValidationError { path: path.to_string(), kind }
    }
}

/// An attribute type as RFC 7643 §2.3 spells it, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeName(pub AttrType);

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        })
    }
}
