//! The filter AST. `Display` prints canonical RFC 7644 text that parses back to an equal AST.

use serde_json::Number;

/// An attribute path: `[URI ":"] name ["." sub]`. Names keep the case they were written in;
/// comparisons against schemas and resources are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN when the path was URN-qualified.
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value: JSON `false`/`null`/`true`, a number or a string (dateTimes are strings).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op value`
    Compare { path: AttrPath, op: CompareOp, value: CompValue },
    /// `attrPath pr`
    Present(AttrPath),
    /// `not (f)`
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `attr[f]`: `f`'s paths are relative to the elements of the multi-valued (or complex) `attr`.
    ValuePath { attr: AttrPath, filter: Box<Filter> },
}

impl AttrPath {
    /// Builds a path from `name`, `name.sub` or a URN-qualified form, without validation.
    /// For tests and internal constants; user input goes through the filter or PATCH parser.
    pub fn parse_simple(s: &str) -> Self {
        let (uri, rest) = match crate::scim::urn::split_qualified(s) {
            Some((u, r)) => (Some(u.to_owned()), r),
            None => (None, s),
        };
        match rest.split_once('.') {
            Some((n, sub)) => AttrPath { uri, name: n.to_owned(), sub: Some(sub.to_owned()) },
            None => AttrPath { uri, name: rest.to_owned(), sub: None },
        }
    }
}
