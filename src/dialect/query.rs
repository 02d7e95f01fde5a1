//! Query-string decoding for `GET /Users`, `GET /Groups` and resource reads.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::scim::ScimError;

/// The SCIM query parameters of a request (RFC 7644 §3.4.2, §3.9), decoded.
///
/// Values are decoded text. Their meaning (filter grammar, attribute paths, paging numbers and limits)
/// is judged by the protocol core, which knows the route's limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pub filter: Option<String>,
    /// The raw comma-separated `attributes` list.
    pub attributes: Option<String>,
    /// The raw comma-separated `excludedAttributes` list.
    pub excluded_attributes: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
}

/// The parameters this layer knows, by canonical name.
#[derive(Clone, Copy)]
enum Param {
    Filter,
    Attributes,
    ExcludedAttributes,
    StartIndex,
    Count,
    SortBy,
    SortOrder,
}

impl Param {
    const ALL: [(Param, &'static str); 7] = [
        (Param::Filter, "filter"),
        (Param::Attributes, "attributes"),
        (Param::ExcludedAttributes, "excludedAttributes"),
        (Param::StartIndex, "startIndex"),
        (Param::Count, "count"),
        (Param::SortBy, "sortBy"),
        (Param::SortOrder, "sortOrder"),
    ];

    fn lookup(name: &str) -> Option<(Param, &'static str)> {
        Self::ALL.into_iter().find(|(_, n)| n.eq_ignore_ascii_case(name))
    }
}

impl QueryParams {
    fn slot(&mut self, p: Param) -> &mut Option<String> {
        match p {
            Param::Filter => &mut self.filter,
            Param::Attributes => &mut self.attributes,
            Param::ExcludedAttributes => &mut self.excluded_attributes,
            Param::StartIndex => &mut self.start_index,
            Param::Count => &mut self.count,
            Param::SortBy => &mut self.sort_by,
            Param::SortOrder => &mut self.sort_order,
        }
    }
}

/// Decodes a raw query string (without or with its leading `?`).
///
/// `+` and `%20` both mean a space; names match case-insensitively; unknown parameters are ignored;
/// a known parameter given twice, or a value that does not decode to UTF-8, is a 400 `invalidValue`.
pub fn normalize_query(raw: &str) -> Result<QueryParams, ScimError> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    let mut params = QueryParams::default();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name)?;
        let Some((param, canonical)) = Param::lookup(&name) else { continue };
        let slot = params.slot(param);
        if slot.is_some() {
            return Err(ScimError::invalid_value(format!("query parameter `{canonical}` is given more than once")));
        }
        *slot = Some(decode(value)?);
    }
    Ok(params)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, then percent-escapes as UTF-8.
fn decode(s: &str) -> Result<String, ScimError> {
    let spaced: Cow<'_, str> = if s.contains('+') { Cow::Owned(s.replace('+', " ")) } else { Cow::Borrowed(s) };
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| ScimError::invalid_value("a query parameter is not valid percent-encoded UTF-8"))
}
