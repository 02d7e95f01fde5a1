//! A lenient reading of PATCH path text, enough to know which attribute a path targets.
//!
//! The JSON-level rewrites need the target attribute of `path` before the PATCH parser runs (they
//! decide the shape the parser will see). This reads only the structure around the filter: the
//! attribute path before `[`, whether a filter follows and the sub-attribute after `]`. Anything it does
//! not recognise yields `None`, and the path is then passed on unchanged for the parser to judge.

use crate::scim::filter::AttrPath;
use crate::scim::urn;

/// The parts of a PATCH path (RFC 7644 §3.5.2 `PATH = attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathHead {
    /// The attribute path before any filter; for `attr.sub` paths, with its `sub`.
    pub attr: AttrPath,
    /// Whether a `[filter]` follows the attribute.
    pub filtered: bool,
    /// The sub-attribute after `]`, for `attr[filter].sub`.
    pub sub_after_filter: Option<String>,
}

/// Reads `path`, or `None` when it is not a well-formed path shape.
pub(crate) fn scan(path: &str) -> Option<PathHead> {
    let Some(open) = path.find('[') else {
        return Some(PathHead { attr: attr_path(path)?, filtered: false, sub_after_filter: None });
    };
    let attr = attr_path(&path[..open])?;
    if attr.sub.is_some() {
        return None;
    }
    let close = open + closing_bracket(&path[open..])?;
    let rest = &path[close + 1..];
    let sub_after_filter = match rest.strip_prefix('.') {
        Some(sub) if is_attr_name(sub) => Some(sub.to_owned()),
        Some(_) => return None,
        None if rest.is_empty() => None,
        None => return None,
    };
    Some(PathHead { attr, filtered: true, sub_after_filter })
}

/// `[URI ":"] ATTRNAME ["." ATTRNAME]`.
fn attr_path(s: &str) -> Option<AttrPath> {
    let (uri, rest) = match urn::split_qualified(s) {
        Some((uri, rest)) => (Some(uri.to_owned()), rest),
        None => (None, s),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    if !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
        return None;
    }
    Some(AttrPath { uri, name: name.to_owned(), sub: sub.map(str::to_owned) })
}

/// RFC 7644 `ATTRNAME = ALPHA *(nameChar)`, with the `$ref` of RFC 7643 §2.4.
fn is_attr_name(s: &str) -> bool {
    let s = s.strip_prefix('$').unwrap_or(s);
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The offset of the `]` closing the `[` at the start of `s`, skipping brackets inside string literals.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (false, _, '"') => in_string = true,
            (false, _, ']') => return Some(i),
            (false, _, '[') => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_sub_qualified_and_filtered_paths() {
        let h = scan("name.givenName").unwrap();
        assert_eq!((h.attr.name.as_str(), h.attr.sub.as_deref(), h.filtered), ("name", Some("givenName"), false));

        let h = scan("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager").unwrap();
        assert_eq!(h.attr.uri.as_deref(), Some(urn::ENTERPRISE_USER));
        assert_eq!(h.attr.name, "manager");

        let h = scan(r#"roles[primary eq "True"].value"#).unwrap();
        assert_eq!((h.attr.name.as_str(), h.filtered, h.sub_after_filter.as_deref()), ("roles", true, Some("value")));

        let h = scan(r#"members[value eq "a]\"b"]"#).unwrap();
        assert_eq!((h.attr.name.as_str(), h.filtered, h.sub_after_filter), ("members", true, None));
    }

    #[test]
    fn rejects_shapes_it_does_not_know() {
        for bad in ["", "1abc", "name.given.name", "emails[type eq \"work\"", "emails[x]y", "name.a[x]", "a[b[c]]"] {
            assert_eq!(scan(bad), None, "{bad}");
        }
    }
}
