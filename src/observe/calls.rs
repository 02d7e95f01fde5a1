//! The native calls made for one SCIM request, collected for its audit event.
//!
//! A task-local list: the backend client records into it without knowing which request it serves,
//! and the router reads it back once the request is answered. Outside a collection scope (tests,
//! lookups warmed at start-up) recording does nothing.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One native call, as the audit stream shows it: the mapping step, never the concrete URL (which
/// may carry personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NativeCall {
    #[serde(serialize_with = "text")]
    pub backend: Arc<str>,
    #[serde(serialize_with = "text")]
    pub step: Arc<str>,
    #[serde(serialize_with = "text")]
    pub method: http::Method,
    /// The HTTP status, when the application answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why no answer came back (timeout, unreachable, circuit open…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

fn text<S: serde::Serializer>(v: &impl AsRef<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_ref())
}

tokio::task_local! {
    static CALLS: Arc<Mutex<Vec<NativeCall>>>;
}

/// Runs `f`, returning its output and the native calls made while it ran.
pub async fn collect<F: Future>(f: F) -> (F::Output, Vec<NativeCall>) {
    let list = Arc::new(Mutex::new(Vec::new()));
    let out = CALLS.scope(Arc::clone(&list), f).await;
    let calls = list.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
    (out, calls)
}

/// Records a call into the current collection, if any.
pub fn record(call: NativeCall) {
    let _ = CALLS.try_with(|list| {
        if let Ok(mut l) = list.lock() {
            l.push(call);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(step: &str) -> NativeCall {
        NativeCall { backend: "b".into(), step: step.into(), method: http::Method::GET, status: Some(200), error: None }
    }

    #[tokio::test]
    async fn collects_within_the_scope_only() {
        record(call("outside"));
        let ((), calls) = collect(async {
            record(call("one"));
            let nested = futures_util::future::join(async { record(call("two")) }, async { record(call("three")) });
            nested.await;
        })
        .await;
        let steps: Vec<&str> = calls.iter().map(|c| &*c.step).collect();
        assert_eq!(steps, ["one", "two", "three"]);
    }
}
