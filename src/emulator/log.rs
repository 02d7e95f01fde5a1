//! The request log: every request an emulator received, exactly as it arrived.
//!
//! Tests assert on this log to check which native calls the gateway made and how it encoded them (the path is
//! kept percent-encoded as sent). The log is bounded so a long load run cannot grow it without limit: past its
//! capacity the oldest entries are dropped and counted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;

/// One received request.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Position in arrival order, starting at 1; keeps counting past evicted entries.
    pub seq: u64,
    /// The request method.
    pub method: Method,
    /// The raw path, still percent-encoded as the client sent it.
    pub path: String,
    /// The raw query string without `?`, if any.
    pub query: Option<String>,
    /// All request headers.
    pub headers: HeaderMap,
    /// The request body as received (empty when none, or when it exceeded the body limit).
    pub body: Bytes,
}

impl RecordedRequest {
    /// `path?query` as sent.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decoded query pairs (`+` read as a space), in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let decode =
            |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
        self.query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect()
    }
}

/// A shared, bounded log of received requests. Cloning shares it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Debug)]
struct Entries {
    capacity: usize,
    seq: u64,
    dropped: u64,
    items: VecDeque<RecordedRequest>,
}

impl RequestLog {
    /// A log keeping at most `capacity` requests; 0 keeps none (only counts).
    pub fn new(capacity: usize) -> Self {
        RequestLog { inner: Arc::new(Mutex::new(Entries { capacity, seq: 0, dropped: 0, items: VecDeque::new() })) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, method: Method, path: String, query: Option<String>, headers: HeaderMap, body: Bytes) {
        let mut entries = self.entries();
        entries.seq += 1;
        let seq = entries.seq;
        if entries.capacity == 0 {
            entries.dropped += 1;
            return;
        }
        if entries.items.len() == entries.capacity {
            entries.items.pop_front();
            entries.dropped += 1;
        }
        entries.items.push_back(RecordedRequest { seq, method, path, query, headers, body });
    }

    /// Every kept request, oldest first.
    pub fn all(&self) -> Vec<RecordedRequest> {
        self.entries().items.iter().cloned().collect()
    }

    /// Removes and returns every kept request.
    pub fn take(&self) -> Vec<RecordedRequest> {
        self.entries().items.drain(..).collect()
    }

    /// Forgets every kept request (the arrival counter keeps running).
    pub fn clear(&self) {
        self.entries().items.clear();
    }

    /// Kept requests with this method whose raw path starts with `path_prefix`.
    pub fn matching(&self, method: &Method, path_prefix: &str) -> Vec<RecordedRequest> {
        self.entries()
            .items
            .iter()
            .filter(|r| r.method == *method && r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// The most recent request.
    pub fn last(&self) -> Option<RecordedRequest> {
        self.entries().items.back().cloned()
    }

    /// Number of kept requests.
    pub fn len(&self) -> usize {
        self.entries().items.len()
    }

    /// Whether no request is kept.
    pub fn is_empty(&self) -> bool {
        self.entries().items.is_empty()
    }

    /// Requests received since start, kept or not.
    pub fn received(&self) -> u64 {
        self.entries().seq
    }

    /// Requests evicted (or never kept) because of the capacity.
    pub fn dropped(&self) -> u64 {
        self.entries().dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_evicts_oldest_and_counts() {
        let log = RequestLog::new(2);
        for i in 0..3 {
            log.record(Method::GET, format!("/{i}"), None, HeaderMap::new(), Bytes::new());
        }
        let paths: Vec<_> = log.all().into_iter().map(|r| (r.seq, r.path)).collect();
        assert_eq!(paths, [(2, "/1".to_owned()), (3, "/2".to_owned())]);
        assert_eq!((log.received(), log.dropped()), (3, 1));
    }

    #[test]
    fn query_pairs_decode_plus_and_escapes() {
        let log = RequestLog::new(1);
        log.record(Method::GET, "/".into(), Some("q=a+b%2Bc&x".into()), HeaderMap::new(), Bytes::new());
        let pairs = log.last().map(|r| r.query_pairs()).unwrap_or_default();
        assert_eq!(pairs, [("q".to_owned(), "a b+c".to_owned()), ("x".to_owned(), String::new())]);
    }
}
