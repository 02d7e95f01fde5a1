//! The native calls made for one SCIM request, collected for its audit event.
//!
//! A task-local list: the backend client records into it without knowing which request it serves,
//! and the router reads it back once the request is answered. Outside a collection scope (tests,
//! lookups warmed at start-up) recording does nothing.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// From sending the request to the end of the answer.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// The time spent waiting on applications: the calls of one request run one after another.
pub fn waited(calls: &[NativeCall]) -> Duration {
    calls.iter().map(|c| c.duration).sum()
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
        NativeCall {
            backend: "b".into(),
            step: step.into(),
            method: http::Method::GET,
            status: Some(200),
            error: None,
            duration: Duration::from_micros(1500),
        }
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
        assert_eq!(waited(&calls), Duration::from_micros(4500));
    }

    #[test]
    fn the_audit_shows_durations_in_milliseconds() {
        let mut c = call("read user");
        c.duration = Duration::from_nanos(2_345_678);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["duration_ms"], 2.346);
        assert!(v.get("duration").is_none(), "{v}");
    }
}
