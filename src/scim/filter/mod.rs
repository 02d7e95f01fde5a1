//! SCIM filters (RFC 7644 §3.4.2.2): the AST, a bounded parser and an evaluator over JSON resources.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER        ; "and" binds tighter than "or"
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ```
//!
//! Parsing and evaluation are separate steps: a [`Filter`] is parsed once and can then be evaluated
//! any number of times or translated into a native query.

mod ast;
mod eval;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
// pub use eval::{matches, matches_element};
// parser exports added with the parser
