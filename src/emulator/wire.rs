//! The request and reply types every emulated backend works with.
//!
//! Backends are plain synchronous functions from a [`NativeRequest`] to a [`Reply`]: the server has already read the
//! body, decoded the path and query, checked credentials and applied faults, so a backend only models the
//! application. Keeping them synchronous lets each backend hold its store behind a `std::sync::Mutex` for the
//! whole request, which makes every request atomic without any await points under the lock.

use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// A request as the emulated application sees it: path segments and query pairs already percent-decoded.
#[derive(Debug, Clone)]
pub(crate) struct NativeRequest {
    pub method: Method,
    /// Decoded path segments; a `%2F` inside a segment stays inside that segment.
    pub segments: Vec<String>,
    /// Decoded query pairs in the order they were sent (`+` means a space, as servlet containers read it).
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl NativeRequest {
    /// Decodes the raw path and query of a request. Fails on percent-escapes that do not decode to UTF-8.
    pub fn parse(
        method: Method,
        path: &str,
        query: Option<&str>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Self, String> {
        let mut raw: Vec<&str> = path.split('/').collect();
        if raw.first() == Some(&"") {
            raw.remove(0);
        }
        if raw.last() == Some(&"") {
            raw.pop();
        }
        let segments = raw.into_iter().map(decode_component).collect::<Result<Vec<_>, _>>()?;
        let query = parse_query(query.unwrap_or(""))?;
        Ok(NativeRequest { method, segments, query, headers, body })
    }

    /// A request built in process (seeding), as if it had arrived over HTTP with a JSON body.
    pub fn synthetic(method: Method, path_and_query: &str, body: Option<&Value>) -> Result<Self, String> {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let body = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
        Self::parse(method, path, query, headers, body)
    }

    /// The segments as string slices, for slice patterns in routers.
    pub fn segs(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated query parameter, in order.
    pub fn params<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter (`true`/`false`, case-insensitive), `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.param(name) {
            None | Some("") => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(format!("query parameter {name} must be true or false, got {v:?}")),
        }
    }

    /// An integer query parameter, `default` when absent.
    pub fn int(&self, name: &str, default: i64) -> Result<i64, String> {
        match self.param(name) {
            None | Some("") => Ok(default),
            Some(v) => {
                v.trim().parse::<i64>().map_err(|_| format!("query parameter {name} must be an integer, got {v:?}"))
            }
        }
    }

    /// The media type of the body, without parameters, lower-cased.
    pub fn content_type(&self) -> Option<String> {
        let raw = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        Some(raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// The body as JSON. An empty body is an error: every emulated write expects one.
    pub fn json(&self) -> Result<Value, String> {
        if self.body.is_empty() {
            return Err("request body is missing".to_owned());
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("request body is not valid JSON: {e}"))
    }
}

/// An answer from an emulated backend.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: StatusCode, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body: Bytes::from(body.to_string()),
        }
    }

    /// An answer without a body.
    pub fn empty(status: StatusCode) -> Reply {
        Reply { status, headers: Vec::new(), body: Bytes::new() }
    }

    /// Adds a header; values that are not valid header text are dropped rather than failing the reply.
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    /// The body parsed back as JSON (used when a seeding call hands the created record back).
    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// The credentials an emulator demands on every request.
#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic { user: String, password: String },
}

impl Credentials {
    /// Whether the request's `Authorization` header carries exactly these credentials.
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, rest)) = value.split_once(' ') else {
            return false;
        };
        let rest = rest.trim();
        match self {
            Credentials::Bearer(token) => scheme.eq_ignore_ascii_case("bearer") && rest == token,
            Credentials::Basic { user, password } => {
                if !scheme.eq_ignore_ascii_case("basic") {
                    return false;
                }
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
                    return false;
                };
                let Ok(decoded) = String::from_utf8(decoded) else {
                    return false;
                };
                decoded.split_once(':').is_some_and(|(u, p)| u == user && p == password)
            }
        }
    }
}

fn decode_component(raw: &str) -> Result<String, String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("percent-encoded text in {raw:?} is not UTF-8"))
}

/// Splits `application/x-www-form-urlencoded` text the way Java servlet containers do.
fn parse_query(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode_component(&k.replace('+', " "))?, decode_component(&v.replace('+', " "))?))
        })
        .collect()
}

/// Milliseconds since the Unix epoch, the timestamp unit of all three applications.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_decoded_one_by_one() {
        let req = NativeRequest::parse(
            Method::GET,
            "/openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Aa%2Fb/",
            Some("aspects=corpUserInfo&aspects=status&q=a+b%2Bc"),
            HeaderMap::new(),
            Bytes::new(),
        )
        .unwrap();
        assert_eq!(req.segs(), ["openapi", "v3", "entity", "corpuser", "urn:li:corpuser:a/b"]);
        assert_eq!(req.params("aspects").collect::<Vec<_>>(), ["corpUserInfo", "status"]);
        assert_eq!(req.param("q"), Some("a b+c"));
    }

    #[test]
    fn invalid_utf8_escapes_are_rejected() {
        assert!(NativeRequest::parse(Method::GET, "/a/%FF", None, HeaderMap::new(), Bytes::new()).is_err());
    }

    #[test]
    fn basic_credentials_must_match_exactly() {
        let creds = Credentials::Basic { user: "u".into(), password: "p:q".into() };
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("u:p:q");
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Basic {encoded}")).unwrap());
        assert!(creds.accepts(&headers));
        let wrong = base64::engine::general_purpose::STANDARD.encode("u:p");
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Basic {wrong}")).unwrap());
        assert!(!creds.accepts(&headers));
    }
}
