//! Paging (RFC 7644 §3.4.2.4) and the ListResponse message (§3.4.2).

use serde_json::{Value, json};

use super::{Resource, ScimError, urn};

/// A page request after clamping: 1-based `start_index`, `count` within the server's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListParams {
    pub start_index: usize,
    pub count: usize,
}

// === impl ListParams ===

impl ListParams {
    /// Reads `startIndex` and `count` as RFC 7644 §3.4.2.4 describes them, leniently: a
    /// `startIndex` below 1 means 1, a negative `count` means 0, a `count` above `max_count` is cut
    /// to `max_count` (the server "MAY return fewer results"), and an absent `count` means
    /// `default_count`. Values too large for the machine saturate. A value that is not an integer
    /// is 400 `invalidValue`.
    pub fn from_query(
        start_index: Option<&str>,
        count: Option<&str>,
        default_count: usize,
        max_count: usize,
    ) -> Result<ListParams, ScimError> {
        let start_index = match start_index.map(|s| integer("startIndex", s)).transpose()? {
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => 1,
        };
        let count = match count.map(|s| integer("count", s)).transpose()? {
            Some(n) => usize::try_from(n.max(0)).unwrap_or(usize::MAX),
            None => default_count,
        };
        Ok(ListParams { start_index, count: count.min(max_count) })
    }
}

/// A ListResponse body. `itemsPerPage` is the number of resources actually returned, and
/// `Resources` is present even when empty (Entra's examples show `"Resources": []`).
pub fn list_response(total: usize, start_index: usize, resources: Vec<Resource>) -> Value {
    json!({
        "schemas": [urn::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// An integer query parameter; values beyond `i64` saturate rather than fail.
fn integer(name: &str, text: &str) -> Result<i64, ScimError> {
    let text = text.trim();
    match text.parse::<i64>() {
        Ok(n) => Ok(n),
        Err(e) => match e.kind() {
            std::num::IntErrorKind::PosOverflow => Ok(i64::MAX),
            std::num::IntErrorKind::NegOverflow => Ok(i64::MIN),
            _ => Err(ScimError::invalid_value(format!("`{name}` must be an integer, not `{text}`"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(start: Option<&str>, count: Option<&str>) -> Result<ListParams, ScimError> {
        ListParams::from_query(start, count, 100, 200)
    }

    #[test]
    fn defaults_apply_when_parameters_are_absent() {
        assert_eq!(params(None, None).unwrap(), ListParams { start_index: 1, count: 100 });
        assert_eq!(ListParams::from_query(None, None, 500, 200).unwrap().count, 200, "default is capped too");
    }

    #[test]
    fn start_index_below_one_means_one() {
        assert_eq!(params(Some("0"), None).unwrap().start_index, 1);
        assert_eq!(params(Some("-7"), None).unwrap().start_index, 1);
        assert_eq!(params(Some("  5 "), None).unwrap().start_index, 5);
    }

    #[test]
    fn count_is_clamped_to_zero_and_the_maximum() {
        assert_eq!(params(None, Some("-1")).unwrap().count, 0);
        assert_eq!(params(None, Some("0")).unwrap().count, 0);
        assert_eq!(params(None, Some("150")).unwrap().count, 150);
        assert_eq!(params(None, Some("201")).unwrap().count, 200);
        assert_eq!(params(None, Some("99999999999999999999999")).unwrap().count, 200);
        assert_eq!(
            params(Some("99999999999999999999999"), None).unwrap().start_index,
            usize::try_from(i64::MAX).unwrap()
        );
    }

    #[test]
    fn non_numeric_values_are_invalid_value() {
        for (s, c) in [(Some("abc"), None), (None, Some("1.5")), (None, Some("")), (Some("1e3"), None)] {
            let e = params(s, c).unwrap_err();
            assert_eq!((e.status, e.scim_type), (400, Some(crate::scim::ScimType::InvalidValue)), "{s:?} {c:?}");
        }
    }

    #[test]
    fn list_response_counts_what_it_returns() {
        let mut r = Resource::new();
        r.insert("id".into(), json!("a"));
        let body = list_response(7, 3, vec![r.clone(), r]);
        assert_eq!(body["schemas"], json!([urn::LIST_RESPONSE]));
        assert_eq!(body["totalResults"], json!(7));
        assert_eq!(body["startIndex"], json!(3));
        assert_eq!(body["itemsPerPage"], json!(2));
        assert_eq!(body["Resources"][1]["id"], json!("a"));
        let empty = list_response(0, 1, vec![]);
        assert_eq!(empty["Resources"], json!([]));
        assert_eq!(empty["itemsPerPage"], json!(0));
        assert!(empty["totalResults"].is_u64(), "numeric, not a string");
    }
}
