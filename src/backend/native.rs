//! The native calls the engine hands to a backend, and the answers it gets back.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// One HTTP call to the application, fully rendered.
#[derive(Clone)]
pub struct NativeRequest {
    pub method: Method,
    /// Absolute URL, already percent-encoded; it must lie under the backend's base URL.
    pub url: String,
    /// Headers of this call; the backend's static headers and credential are added to them.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Bytes>,
    /// Name of the mapping step, for logs and error messages.
    pub step: Arc<str>,
    /// What the caller needs of a successful answer.
    pub answer: AnswerBody,
}

/// What the caller of a native call needs of a successful (2xx) answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnswerBody {
    /// The whole body.
    #[default]
    Keep,
    /// Only the status. A 2xx body is read to its end, so the connection can be reused, and
    /// dropped as it arrives: an answer nobody reads (a team's PATCH answer can list every
    /// member) is never held. Any other status keeps its body for the error message.
    DropOnSuccess,
}

impl NativeRequest {
    /// Whether sending the request twice has the effect of sending it once (RFC 9110 §9.2.2),
    /// which makes it safe to retry after an unknown outcome.
    pub fn idempotent(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS)
    }
}

/// Shows what identifies the call, never header values, query values or the body: they carry
/// credentials and personal data.
impl fmt::Debug for NativeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("NativeRequest")
            .field("step", &self.step)
            .field("method", &self.method)
            .field("url", &redacted_url(&self.url))
            .field("headers", &names)
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .finish()
    }
}

/// The URL with query values replaced by `…`, for logs.
pub(crate) fn redacted_url(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let keys: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| format!("{}=…", p.split_once('=').map_or(p, |(k, _)| k)))
        .collect();
    format!("{path}?{}", keys.join("&"))
}

/// The application's answer, whatever its status.
#[derive(Clone)]
pub struct NativeResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl NativeResponse {
    /// The body as JSON; `None` when it is empty or not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        if self.body.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// `Retry-After` (RFC 9110 §10.2.3) as a delay from now: delay-seconds or an HTTP-date (a
    /// date in the past gives zero).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
        parse_retry_after(value, SystemTime::now())
    }
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate rather than fail: they still mean "not soon".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(date);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl fmt::Debug for NativeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().map(HeaderName::as_str).collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method) -> NativeRequest {
        NativeRequest {
            method,
            url: "https://app.example/users?name=alice&x".into(),
            headers: vec![(http::header::AUTHORIZATION, HeaderValue::from_static("Bearer secret"))],
            body: Some(Bytes::from_static(b"{\"email\":\"alice@example.com\"}")),
            step: Arc::from("create"),
            answer: AnswerBody::Keep,
        }
    }

    #[test]
    fn idempotent_methods() {
        for m in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE, Method::OPTIONS] {
            assert!(request(m).idempotent());
        }
        for m in [Method::POST, Method::PATCH] {
            assert!(!request(m).idempotent());
        }
    }

    #[test]
    fn debug_hides_credentials_and_personal_data() {
        let text = format!("{:?}", request(Method::POST));
        assert!(!text.contains("secret"), "{text}");
        assert!(!text.contains("alice"), "{text}");
        assert!(text.contains("/users?name=…&x=…"), "{text}");
        assert!(text.contains("authorization"), "{text}");
    }

    #[test]
    fn json_is_none_for_empty_or_invalid_bodies() {
        let mut r = NativeResponse { status: 200, headers: HeaderMap::new(), body: Bytes::new() };
        assert_eq!(r.json(), None);
        r.body = Bytes::from_static(b"<html>");
        assert_eq!(r.json(), None);
        r.body = Bytes::from_static(b"{\"id\":1}");
        assert_eq!(r.json(), Some(serde_json::json!({"id": 1})));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn retry_after_header_is_read_from_the_response() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static(" 7 "));
        let r = NativeResponse { status: 503, headers, body: Bytes::new() };
        assert_eq!(r.retry_after(), Some(Duration::from_secs(7)));
    }
}
