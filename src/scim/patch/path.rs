//! PATCH path syntax (RFC 7644 §3.5.2, Figure 7):
//!
//! ```text
//! PATH      = attrPath / valuePath [subAttr]
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! valuePath = attrPath "[" valFilter "]"
//! ```
//!
//! Only the outer structure is parsed here; the text between the brackets goes to the filter parser.
//! The closing bracket is found by a scan that skips JSON string literals, so a `]` (or a `:`, or a
//! `.`) inside `emails[value eq "a]b"]` does not end the filter early.

use super::PatchPath;
use crate::scim::filter::{self, AttrPath};
use crate::scim::{ScimError, urn};

/// Paths longer than this are rejected before any scanning: no real attribute path comes close.
pub const MAX_PATH_LEN: usize = 8 * 1024;

// === impl PatchPath ===

impl PatchPath {
    /// Parses a PATCH `path`. Errors are 400 `invalidPath`, or `invalidFilter` when the value
    /// filter between the brackets does not parse.
    pub fn parse(text: &str) -> Result<PatchPath, ScimError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ScimError::invalid_path("the PATCH path is empty"));
        }
        if text.len() > MAX_PATH_LEN {
            return Err(ScimError::invalid_path(format!("the PATCH path is longer than {MAX_PATH_LEN} bytes")));
        }
        let Some(open) = text.find('[') else {
            return Ok(PatchPath::Attr(attr_path(text, text)?));
        };
        let close = closing_bracket(text, open)
            .ok_or_else(|| ScimError::invalid_path(format!("`{text}`: the value filter has no closing `]`")))?;
        let attr = attr_path(&text[..open], text)?;
        if attr.sub.is_some() {
            return Err(ScimError::invalid_path(format!(
                "`{text}`: a value filter must follow the attribute name, not a sub-attribute"
            )));
        }
        let inner = text[open + 1..close].trim();
        if inner.is_empty() {
            return Err(ScimError::invalid_filter(format!("`{text}`: the value filter is empty")));
        }
        let sub = match &text[close + 1..] {
            "" => None,
            tail => match tail.strip_prefix('.') {
                Some(name) if is_attr_name(name) => Some(name.to_owned()),
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "`{text}`: only `.subAttribute` may follow a value filter"
                    )));
                }
            },
        };
        let filter = filter::parse(inner)?;
        Ok(PatchPath::Filtered { attr, filter, sub })
    }

    /// The attribute the path starts from, without its sub-attribute.
    pub fn attr(&self) -> &AttrPath {
        match self {
            PatchPath::Attr(a) => a,
            PatchPath::Filtered { attr, .. } => attr,
        }
    }
}

impl std::fmt::Display for PatchPath {
    /// Prints the path so that [`PatchPath::parse`] reads it back to an equal value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchPath::Attr(a) => write_attr(f, a),
            PatchPath::Filtered { attr, filter, sub } => {
                write_attr(f, attr)?;
                write!(f, "[{filter}]")?;
                match sub {
                    Some(s) => write!(f, ".{s}"),
                    None => Ok(()),
                }
            }
        }
    }
}

fn write_attr(f: &mut std::fmt::Formatter<'_>, a: &AttrPath) -> std::fmt::Result {
    if let Some(uri) = &a.uri {
        write!(f, "{uri}:")?;
    }
    f.write_str(&a.name)?;
    match &a.sub {
        Some(s) => write!(f, ".{s}"),
        None => Ok(()),
    }
}

/// Parses `[URI ":"] ATTRNAME ["." ATTRNAME]`; `whole` is the full path, for error details.
pub(crate) fn attr_path(text: &str, whole: &str) -> Result<AttrPath, ScimError> {
    let invalid = || ScimError::invalid_path(format!("`{whole}` is not a valid attribute path"));
    let (uri, rest) = match urn::split_qualified(text) {
        Some((uri, rest)) if is_urn(uri) => (Some(uri.to_owned()), rest),
        Some(_) => return Err(invalid()),
        None => (None, text),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    if !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
        return Err(invalid());
    }
    Ok(AttrPath { uri, name: name.to_owned(), sub: sub.map(str::to_owned) })
}

/// `ATTRNAME = ALPHA *(nameChar)` (RFC 7643 §2.1), plus the `$ref` spelling of reference
/// sub-attributes.
pub(crate) fn is_attr_name(s: &str) -> bool {
    let body = s.strip_prefix('$').unwrap_or(s);
    let mut chars = body.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A schema URN as it may prefix an attribute: no whitespace, brackets or quotes, no empty segment.
fn is_urn(s: &str) -> bool {
    !s.split(':').any(str::is_empty)
        && s.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '[' | ']' | '"' | '(' | ')'))
}

/// The byte index of the `]` closing the `[` at `open`, skipping string literals (with `\"`
/// escapes). Nested brackets are counted so that an invalid nested filter is reported by the filter
/// parser rather than cut in half here.
fn closing_bracket(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate().skip(open) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
