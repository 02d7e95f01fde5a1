//! SCIM filters (RFC 7644 §3.4.2.2): the AST, a bounded parser, schema validation and an evaluator
//! over JSON resources.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER        ; not > and > or
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ```
//!
//! Parsing, validation and evaluation are separate steps: a [`Filter`] is parsed once, checked against
//! the resource schema once, and can then be evaluated any number of times or translated into a
//! native query.
//!
//! ```
//! use scimgate::scim::filter::{self, Filter};
//! use scimgate::scim::{ResourceKind, ResourceSchema};
//! use serde_json::json;
//!
//! let schema = ResourceSchema::rfc(ResourceKind::User);
//! let f = filter::parse(r#"userName eq "ALICE@example.com" and emails[type eq "work" and primary eq true]"#)?;
//! filter::validate(&f, &schema)?;
//!
//! let user = json!({
//!     "userName": "alice@example.com",
//!     "emails": [{ "type": "work", "value": "alice@example.com", "primary": true }]
//! });
//! let user = user.as_object().cloned().unwrap_or_default();
//! assert!(filter::matches(&f, &user, &schema)); // userName is caseExact: false
//!
//! // Display prints canonical text that parses back to the same AST.
//! assert_eq!(filter::parse(&f.to_string())?, f);
//!
//! // Syntax errors carry a 1-based column and become 400 invalidFilter.
//! let err = filter::parse("userName eq").unwrap_err();
//! assert_eq!(err.column, 12);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Evaluation semantics (where RFC 7644 leaves room, the choice is written down in [`matches`]):
//! attribute names match resource keys case-insensitively; string comparisons honour `caseExact`;
//! `gt`/`ge`/`lt`/`le` order strings lexically, dateTimes as instants and numbers numerically; a
//! multi-valued attribute matches when any value does.

mod ast;
mod error;
mod eval;
mod parser;
mod validate;

#[cfg(test)]
mod tests;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
pub use error::{FilterError, FilterErrorKind, TypeName, ValidationError, ValidationErrorKind};
pub use eval::{matches, matches_element};
pub use parser::{Limits, MAX_DEPTH_CAP, parse, parse_with_limits};
pub use validate::validate;
