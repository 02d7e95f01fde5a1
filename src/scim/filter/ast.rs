//! The filter AST. `Display` prints canonical RFC 7644 text that parses back to an equal AST.

use std::fmt::{self, Write as _};

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
///
/// `and` and `or` chains are left-associative: `a and b and c` is `And(And(a, b), c)`. A right-nested
/// chain such as `And(a, And(b, c))` prints as `a and (b and c)`, so every AST the parser can produce
/// survives a `Display` → parse round trip unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op value`
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `attrPath pr`
    Present(AttrPath),
    /// `not (f)`
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `attr[f]`: `f`'s paths are relative to the elements of the multi-valued (or complex) `attr`.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
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

    /// A plain attribute name with no URN and no sub-attribute.
    pub fn named(name: impl Into<String>) -> Self {
        AttrPath { uri: None, name: name.into(), sub: None }
    }
}

impl CompareOp {
    /// Every operator, in RFC 7644 Table 3 order.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator as written in filters (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Parses an operator name, case-insensitively (RFC 7644 §3.4.2.2).
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// `gt`, `ge`, `lt` or `le`.
    pub fn is_ordering(self) -> bool {
        matches!(self, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le)
    }

    /// `co`, `sw` or `ew`.
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

// === impl Display ===

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

/// Writes `s` as a JSON string: quotes, backslashes and control characters escaped, the rest verbatim.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if u32::from(c) < 0x20 => "",
            _ => continue,
        };
        f.write_str(&s[start..i])?;
        if escaped.is_empty() {
            write!(f, "\\u{:04x}", u32::from(c))?;
        } else {
            f.write_str(escaped)?;
        }
        start = i + c.len_utf8();
    }
    f.write_str(&s[start..])?;
    f.write_char('"')
}

/// Binding strength, loosest first: `or` < `and` < everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Atom,
}

impl Filter {
    fn prec(&self) -> Prec {
        match self {
            Filter::Or(..) => Prec::Or,
            Filter::And(..) => Prec::And,
            _ => Prec::Atom,
        }
    }

    /// Writes `self`, parenthesised when it binds looser than `min`.
    fn fmt_at(&self, f: &mut fmt::Formatter<'_>, min: Prec) -> fmt::Result {
        if self.prec() < min {
            f.write_char('(')?;
            self.fmt_bare(f)?;
            f.write_char(')')
        } else {
            self.fmt_bare(f)
        }
    }

    fn fmt_bare(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Not(inner) => {
                f.write_str("not (")?;
                inner.fmt_bare(f)?;
                f.write_char(')')
            }
            // Left operands may be chains of the same operator (the parser is left-associative);
            // right operands must bind tighter, or the text would re-associate.
            Filter::And(a, b) => {
                a.fmt_at(f, Prec::And)?;
                f.write_str(" and ")?;
                b.fmt_at(f, Prec::Atom)
            }
            Filter::Or(a, b) => {
                a.fmt_at(f, Prec::Or)?;
                f.write_str(" or ")?;
                b.fmt_at(f, Prec::And)
            }
            Filter::ValuePath { attr, filter } => {
                write!(f, "{attr}[")?;
                filter.fmt_bare(f)?;
                f.write_char(']')
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_bare(f)
    }
}
