//! OpenMetadata's cursor paging: `limit` plus opaque `before`/`after` cursors, and `paging.total`.
//!
//! Lists are ordered by name and a cursor encodes the name it stops at (base64, as OpenMetadata's
//! `RestUtil.encodeCursor` does), so paging stays stable while other entities are added or removed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::error::OmError;
use crate::emulator::wire::NativeRequest;

/// Largest `limit` OpenMetadata accepts.
const MAX_LIMIT: i64 = 1_000_000;

/// The paging parameters of a list request.
#[derive(Debug, Clone)]
pub(super) struct PageRequest {
    pub limit: usize,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn from_request(req: &NativeRequest, default_limit: i64) -> Result<PageRequest, OmError> {
        let limit = req.int("limit", default_limit).map_err(OmError::bad_request)?;
        if limit < 0 {
            return Err(OmError::bad_request("[query param limit must be greater than or equal to 0]"));
        }
        if limit > MAX_LIMIT {
            return Err(OmError::bad_request(format!("[query param limit must be less than or equal to {MAX_LIMIT}]")));
        }
        let before = req.param("before").filter(|s| !s.is_empty()).map(decode).transpose()?;
        let after = req.param("after").filter(|s| !s.is_empty()).map(decode).transpose()?;
        if before.is_some() && after.is_some() {
            return Err(OmError::bad_request("Only one of before or after query parameter allowed"));
        }
        let limit = usize::try_from(limit).map_err(|_| OmError::bad_request("limit out of range"))?;
        Ok(PageRequest { limit, before, after })
    }
}

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

fn decode(cursor: &str) -> Result<String, OmError> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| OmError::bad_request(format!("Invalid cursor {cursor:?}")))
}

/// Cuts one page out of `sorted` (sort key, item), renders only that page, and wraps it as OpenMetadata's
/// `ResultList`.
pub(super) fn result_list<K: AsRef<str>, T>(
    sorted: &[(K, T)],
    page: &PageRequest,
    render: impl Fn(&T) -> Value,
) -> Value {
    let total = sorted.len();
    let (start, end) = if let Some(after) = &page.after {
        let start = sorted.partition_point(|(k, _)| k.as_ref() <= after.as_str());
        (start, (start + page.limit).min(total))
    } else if let Some(before) = &page.before {
        let end = sorted.partition_point(|(k, _)| k.as_ref() < before.as_str());
        (end.saturating_sub(page.limit), end)
    } else {
        (0, page.limit.min(total))
    };
    let window = &sorted[start..end];
    let mut paging = Map::new();
    if start > 0 && !window.is_empty() {
        paging.insert("before".into(), json!(encode(window[0].0.as_ref())));
    }
    if end < total && !window.is_empty() {
        paging.insert("after".into(), json!(encode(window[window.len() - 1].0.as_ref())));
    }
    paging.insert("total".into(), json!(total));
    let data: Vec<Value> = window.iter().map(|(_, v)| render(v)).collect();
    json!({"data": data, "paging": Value::Object(paging)})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<(String, Value)> {
        (0..n).map(|i| (format!("u{i:02}"), json!(i))).collect()
    }

    fn page(limit: usize, before: Option<&str>, after: Option<&str>) -> PageRequest {
        PageRequest { limit, before: before.map(decode_ok), after: after.map(decode_ok) }
    }

    fn decode_ok(c: &str) -> String {
        decode(c).unwrap()
    }

    #[test]
    fn forward_and_backward_walks_cover_everything_once() {
        let first = result_list(&items(5), &page(2, None, None), Value::clone);
        assert_eq!(first["data"], json!([0, 1]));
        assert!(first["paging"].get("before").is_none());
        let after = first["paging"]["after"].as_str().unwrap().to_owned();
        let second = result_list(&items(5), &page(2, None, Some(&after)), Value::clone);
        assert_eq!(second["data"], json!([2, 3]));
        let after = second["paging"]["after"].as_str().unwrap().to_owned();
        let third = result_list(&items(5), &page(2, None, Some(&after)), Value::clone);
        assert_eq!(third["data"], json!([4]));
        assert!(third["paging"].get("after").is_none());
        assert_eq!(third["paging"]["total"], 5);
        let before = third["paging"]["before"].as_str().unwrap().to_owned();
        let back = result_list(&items(5), &page(2, Some(&before), None), Value::clone);
        assert_eq!(back["data"], json!([2, 3]));
    }

    #[test]
    fn zero_limit_reports_only_the_total() {
        let page0 = result_list(&items(3), &page(0, None, None), Value::clone);
        assert_eq!(page0["data"], json!([]));
        assert_eq!(page0["paging"], json!({"total": 3}));
    }
}
