//! The transport `scimgate explain` puts under the engine: it records every native call and
//! answers it without sending any write.
//!
//! Reads are answered, in order, from the state an earlier synthetic write left, from the
//! fixtures file, or with a 404, so the engine takes the same path it would against an
//! application holding those records. With `--live`, reads go to the application instead (through
//! the real backend client, which adds the credential); writes never leave the process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use serde_json::Value;

use crate::backend::{Backend, BackendError, NativeRequest, NativeResponse};
use crate::engine::calls::Transport;

use super::ExplainError;

/// The id the first created record without one gets (a UUID, as many applications use); the
/// next ones count up from it.
pub const SYNTHETIC_ID: &str = "00000000-0000-4000-8000-000000000001";

fn synthetic_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Most fixtures read from one file; a fixtures file is written by hand.
const MAX_FIXTURES: usize = 10_000;

/// How a recorded call was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// From the fixtures file.
    Fixture(u16),
    /// A read of a record an earlier (synthetic) write of this run made or changed.
    Written(u16),
    /// A read no fixture answers: 404.
    NoFixture,
    /// A write, answered with a synthetic success and not sent.
    Synthetic(u16),
    /// A read the application answered (`--live`).
    Live(u16),
    /// A read sent to the application that failed without an answer (`--live`).
    LiveFailed(String),
    /// Refused before sending, as the backend client would refuse it.
    Refused(String),
}

/// One native call the engine made.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// The mapping step's name.
    pub step: String,
    pub method: Method,
    /// The absolute URL, as it would be sent.
    pub url: String,
    /// The call's own headers, as rendered by the mapping (the backend's static headers and
    /// credential are added when sent; see `headers::sent`).
    pub headers: Vec<(String, String)>,
    /// The body: JSON when it parses, else text.
    pub body: Option<Value>,
    pub answer: Answer,
}

/// What one fixture answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    pub status: u16,
    pub body: Value,
}

/// Recorded application answers, by `"METHOD /path?query"`.
///
/// A value is the answer body (status 200), or `{"status": N, "body": …}` (either key may be left
/// out) for any other status. Keys may carry the base URL's path or leave it out, and a key
/// without a query answers that path whatever the query.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    by_key: BTreeMap<String, Fixture>,
}

impl Fixtures {
    /// Parses a fixtures file's text.
    pub fn parse(text: &str) -> Result<Fixtures, ExplainError> {
        let map: serde_json::Map<String, Value> = serde_json::from_str(text)
            .map_err(|e| ExplainError::Input(format!("fixtures: not a JSON object of answers: {e}")))?;
        if map.len() > MAX_FIXTURES {
            return Err(ExplainError::Input(format!("fixtures: more than {MAX_FIXTURES} answers")));
        }
        let mut by_key = BTreeMap::new();
        for (key, value) in map {
            let (method, target) = key.split_once(' ').ok_or_else(|| {
                ExplainError::Input(format!("fixtures: `{key}` is not `METHOD /path`, e.g. `GET /api/users/42`"))
            })?;
            let target = target.trim();
            if !target.starts_with('/') {
                return Err(ExplainError::Input(format!("fixtures: the path of `{key}` must start with `/`")));
            }
            by_key.insert(format!("{} {target}", method.to_ascii_uppercase()), Fixture::from_value(value));
        }
        Ok(Fixtures { by_key })
    }

    /// The answer to `method` on `path_and_query` (the URL's path and query); `base_path` is the
    /// base URL's path, which keys may leave out.
    pub fn find(&self, method: &Method, path_and_query: &str, base_path: &str) -> Option<&Fixture> {
        let short = path_and_query.strip_prefix(base_path).filter(|s| s.starts_with('/'));
        let candidates = [Some(path_and_query), short];
        let exact = candidates.iter().flatten().find_map(|t| self.by_key.get(&format!("{method} {t}")));
        exact.or_else(|| {
            candidates
                .iter()
                .flatten()
                .map(|t| t.split('?').next().unwrap_or(t))
                .find_map(|p| self.by_key.get(&format!("{method} {p}")))
        })
    }
}

impl Fixture {
    /// `{"status": N, "body": …}` (only those keys, `status` a valid HTTP status) is a status and
    /// body; any other value is the body of a 200.
    fn from_value(value: Value) -> Fixture {
        if let Value::Object(o) = &value
            && !o.is_empty()
            && o.keys().all(|k| k == "status" || k == "body")
        {
            let body = || o.get("body").cloned().unwrap_or(Value::Null);
            match o.get("status").map(|s| s.as_u64().filter(|s| (100..600).contains(s))) {
                None => return Fixture { status: 200, body: body() },
                Some(Some(status)) => return Fixture { status: status as u16, body: body() },
                Some(None) => {}
            }
        }
        Fixture { status: 200, body: value }
    }
}

/// The transport: records, answers, and forwards reads only when live.
pub struct Recorder {
    calls: Mutex<Vec<RecordedCall>>,
    /// Records as the synthetic writes of this run left them, by URL path.
    state: Mutex<BTreeMap<String, Value>>,
    /// Created records and the path they were posted to. A read below that path whose path
    /// names one of the record's values (its id, or the key an application builds ids from)
    /// finds the record.
    created: Mutex<Vec<(String, Value)>>,
    /// Synthetic ids handed out so far.
    ids: AtomicUsize,
    fixtures: Fixtures,
    base: reqwest::Url,
    /// Which status a write's synthetic success has, by step name (the step's first `expect`).
    expected: BTreeMap<String, u16>,
    live: Option<Backend>,
}

impl Recorder {
    pub fn new(
        base_url: &str,
        fixtures: Fixtures,
        expected: BTreeMap<String, u16>,
        live: Option<Backend>,
    ) -> Result<Arc<Recorder>, ExplainError> {
        if base_url.is_empty() {
            return Err(ExplainError::Input(
                "the mapping's backend has no base_url: set it there, or use --config and --route with a route that \
                 sets it"
                    .into(),
            ));
        }
        let base = reqwest::Url::parse(base_url)
            .map_err(|e| ExplainError::Input(format!("the backend's base URL `{base_url}`: {e}")))?;
        Ok(Arc::new(Recorder {
            calls: Mutex::new(Vec::new()),
            state: Mutex::new(BTreeMap::new()),
            created: Mutex::new(Vec::new()),
            ids: AtomicUsize::new(0),
            fixtures,
            base,
            expected,
            live,
        }))
    }

    /// The calls recorded so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn record(&self, req: &NativeRequest, body: Option<Value>, answer: Answer) {
        let mut headers: Vec<(String, String)> =
            req.headers.iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("(not text)").to_owned())).collect();
        headers.sort();
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(RecordedCall {
                step: req.step.to_string(),
                method: req.method.clone(),
                url: req.url.clone(),
                headers,
                body,
                answer,
            });
        }
    }

    /// The answer to a read from this run's writes or the fixtures.
    fn read(&self, method: &Method, url: &reqwest::Url) -> (Answer, NativeResponse) {
        let path = url.path();
        let written = self.state.lock().ok().and_then(|s| s.get(path).cloned()).or_else(|| {
            self.created.lock().ok().and_then(|c| {
                c.iter().find(|(posted_to, record)| names_record(path, posted_to, record)).map(|(_, v)| v.clone())
            })
        });
        if let Some(record) = written {
            return (Answer::Written(200), reply(200, Some(&record)));
        }
        let target = match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        let base_path = self.base.path().trim_end_matches('/');
        match self.fixtures.find(method, &target, base_path) {
            Some(f) => (Answer::Fixture(f.status), reply(f.status, Some(&f.body))),
            None => (Answer::NoFixture, reply(404, Some(&serde_json::json!({"message": "no fixture for this read"})))),
        }
    }

    /// A synthetic success for a write: the body sent, with an id when it has none; the state it
    /// leaves is what later reads of the same record see.
    fn write(&self, req: &NativeRequest, url: &reqwest::Url, body: Option<&Value>) -> (Answer, NativeResponse) {
        let status = self.expected.get(req.step.as_ref()).copied().unwrap_or(match req.method {
            Method::POST => 201,
            Method::DELETE => 204,
            _ => 200,
        });
        let path = url.path().to_owned();
        if req.method == Method::DELETE {
            if let Ok(mut s) = self.state.lock() {
                s.remove(&path);
            }
            return (Answer::Synthetic(status), reply(status, None));
        }
        let mut echoed = body.cloned().unwrap_or(Value::Null);
        let operations = super::sources::patch_operations(&echoed).is_some();
        if let Value::Object(o) = &mut echoed {
            if req.method == Method::PATCH && operations {
                // A SCIM PatchOp: the application applies it; what it leaves is unknown here.
                return (Answer::Synthetic(status), reply(status, Some(&echoed)));
            }
            if req.method == Method::PATCH {
                // A merge-style PATCH changes the fields it names and keeps the others.
                let (_, current) = self.read(&Method::GET, url);
                if let (true, Some(Value::Object(mut merged))) = ((200..300).contains(&current.status), current.json())
                {
                    merged.extend(std::mem::take(o));
                    *o = merged;
                }
            }
            if !o.contains_key("id") {
                let n = self.ids.fetch_add(1, Ordering::Relaxed) + 1;
                o.insert("id".into(), Value::String(synthetic_id(n)));
            }
        }
        if req.method == Method::POST
            && let Ok(mut c) = self.created.lock()
        {
            let records = match &echoed {
                Value::Array(items) => items.iter().filter(|i| i.is_object()).cloned().collect(),
                Value::Object(_) => vec![echoed.clone()],
                _ => vec![],
            };
            c.extend(records.into_iter().map(|r| (path.clone(), r)));
        } else if matches!(req.method, Method::PUT | Method::PATCH)
            && echoed.is_object()
            && let Ok(mut s) = self.state.lock()
        {
            s.insert(path, echoed.clone());
        }
        (Answer::Synthetic(status), reply(status, Some(&echoed)))
    }

    /// Whether `url` lies under the base URL, as the backend client requires before it sends
    /// anything (so a mapping cannot send the credential elsewhere).
    fn check_url(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("the URL is not valid: {e}"))?;
        let base_path = self.base.path().trim_end_matches('/');
        let under = parsed.path().strip_prefix(base_path).is_some_and(|r| r.is_empty() || r.starts_with('/'));
        if parsed.origin() != self.base.origin()
            || !under
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
        {
            return Err(format!("the URL must lie under the backend's base URL {}", self.base));
        }
        Ok(parsed)
    }
}

/// Whether `path` lies below `posted_to` and one of its segments is a top-level value of the
/// created record (`/users/{id}` after a POST to `/users`).
fn names_record(path: &str, posted_to: &str, record: &Value) -> bool {
    let Some(rest) = path.strip_prefix(posted_to).filter(|r| r.starts_with('/')) else { return false };
    let Value::Object(fields) = record else { return false };
    rest.split('/').filter(|s| !s.is_empty()).any(|seg| {
        let seg = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
        fields.values().any(|v| match v {
            Value::String(s) => *s == seg,
            Value::Number(n) => n.to_string() == seg,
            _ => false,
        })
    })
}

fn reply(status: u16, body: Option<&Value>) -> NativeResponse {
    let mut headers = http::HeaderMap::new();
    let body = match body {
        Some(b) if status != 204 && !b.is_null() => {
            headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            Bytes::from(serde_json::to_vec(b).unwrap_or_default())
        }
        _ => Bytes::new(),
    };
    NativeResponse { status, headers, body }
}

#[async_trait]
impl Transport for Recorder {
    async fn send(&self, req: NativeRequest) -> Result<NativeResponse, BackendError> {
        let body = req.body.as_ref().filter(|b| !b.is_empty()).map(|b| {
            serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
        });
        let url = match self.check_url(&req.url) {
            Ok(u) => u,
            Err(reason) => {
                self.record(&req, body, Answer::Refused(reason.clone()));
                return Err(BackendError::InvalidRequest { step: Arc::clone(&req.step), reason });
            }
        };
        let read = matches!(req.method, Method::GET | Method::HEAD);
        if read && let Some(backend) = &self.live {
            let outcome = backend.send(req.clone()).await;
            let answer = match &outcome {
                Ok(r) => Answer::Live(r.status),
                Err(e) => Answer::LiveFailed(e.to_string()),
            };
            self.record(&req, body, answer);
            return outcome;
        }
        let (answer, response) =
            if read { self.read(&req.method, &url) } else { self.write(&req, &url, body.as_ref()) };
        self.record(&req, body, answer);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(fixtures: &str) -> Arc<Recorder> {
        let expected = BTreeMap::from([("check".to_owned(), 404)]);
        Recorder::new("http://app.example/api", Fixtures::parse(fixtures).unwrap(), expected, None).unwrap()
    }

    fn request(method: Method, url: &str, body: Option<&str>) -> NativeRequest {
        NativeRequest {
            method,
            url: url.into(),
            headers: vec![],
            body: body.map(|b| Bytes::from(b.to_owned())),
            step: Arc::from("step"),
            answer: crate::backend::AnswerBody::Keep,
        }
    }

    #[test]
    fn fixture_values_are_bodies_or_status_and_body() {
        assert_eq!(
            Fixture::from_value(serde_json::json!({"id": 1})),
            Fixture { status: 200, body: serde_json::json!({"id": 1}) }
        );
        assert_eq!(
            Fixture::from_value(serde_json::json!({"status": 409, "body": {"m": "taken"}})),
            Fixture { status: 409, body: serde_json::json!({"m": "taken"}) }
        );
        assert_eq!(Fixture::from_value(serde_json::json!({"status": 404})), Fixture { status: 404, body: Value::Null });
        // A record that merely has a `status` field stays a record.
        let record = serde_json::json!({"status": "ACTIVE"});
        assert_eq!(Fixture::from_value(record.clone()), Fixture { status: 200, body: record });
        let record = serde_json::json!({"status": 7, "name": "x"});
        assert_eq!(Fixture::from_value(record.clone()), Fixture { status: 200, body: record });
    }

    #[test]
    fn fixtures_match_with_or_without_the_base_path_and_the_query() {
        let f = Fixtures::parse(r#"{"get /api/users/1?fields=a": {"n": 1}, "GET /users/2": {"n": 2}}"#).unwrap();
        assert_eq!(f.find(&Method::GET, "/api/users/1?fields=a", "/api").unwrap().body["n"], 1);
        assert!(f.find(&Method::GET, "/api/users/1?fields=b", "/api").is_none(), "a query in the key must match");
        assert_eq!(f.find(&Method::GET, "/api/users/2?fields=b", "/api").unwrap().body["n"], 2);
        assert!(f.find(&Method::HEAD, "/api/users/2", "/api").is_none());
        assert!(Fixtures::parse(r#"{"users/1": {}}"#).is_err());
        assert!(Fixtures::parse(r#"{"GET users/1": {}}"#).is_err());
        assert!(Fixtures::parse("[]").is_err());
    }

    #[tokio::test]
    async fn writes_are_answered_and_later_reads_see_them() {
        let r = recorder(r#"{"GET /api/users/7": {"id": "7", "login": "old", "enabled": true}}"#);
        let created = r.send(request(Method::POST, "http://app.example/api/users", Some(r#"{"login":"a"}"#))).await;
        let created = created.unwrap();
        assert_eq!(created.status, 201);
        assert_eq!(created.json().unwrap()["id"], SYNTHETIC_ID);
        let read = r.send(request(Method::GET, &format!("http://app.example/api/users/{SYNTHETIC_ID}"), None)).await;
        assert_eq!(read.unwrap().json().unwrap()["login"], "a");
        let other = r.send(request(Method::POST, "http://app.example/api/links", Some(r#"{"to":"a"}"#))).await;
        assert_ne!(other.unwrap().json().unwrap()["id"], SYNTHETIC_ID, "each created record has its own id");
        let elsewhere = format!("http://app.example/api/links/of/{SYNTHETIC_ID}");
        assert_eq!(r.send(request(Method::GET, &elsewhere, None)).await.unwrap().status, 404, "not below /users");

        let patched = r.send(request(Method::PATCH, "http://app.example/api/users/7", Some(r#"{"enabled":false}"#)));
        assert_eq!(
            patched.await.unwrap().json().unwrap(),
            serde_json::json!({"id": "7", "login": "old", "enabled": false})
        );
        let read = r.send(request(Method::GET, "http://app.example/api/users/7?x=1", None)).await.unwrap();
        assert_eq!(read.json().unwrap()["enabled"], false);

        let deleted = r.send(request(Method::DELETE, "http://app.example/api/users/7", None)).await.unwrap();
        assert_eq!((deleted.status, deleted.body.len()), (204, 0));
        let missing = r.send(request(Method::GET, "http://app.example/api/users/8", None)).await.unwrap();
        assert_eq!(missing.status, 404);

        let answers: Vec<Answer> = r.calls().into_iter().map(|c| c.answer).collect();
        assert_eq!(
            answers,
            [
                Answer::Synthetic(201),
                Answer::Written(200),
                Answer::Synthetic(201),
                Answer::NoFixture,
                Answer::Synthetic(200),
                Answer::Written(200),
                Answer::Synthetic(204),
                Answer::NoFixture
            ]
        );
    }

    #[test]
    fn a_created_record_is_found_below_the_path_it_was_posted_to_by_any_of_its_values() {
        let record = serde_json::json!({"urn": "urn:li:corpuser:a@x", "n": 7, "info": {"k": "v"}});
        assert!(names_record("/e/corpuser/urn%3Ali%3Acorpuser%3Aa%40x", "/e/corpuser", &record));
        assert!(names_record("/e/corpuser/7/info", "/e/corpuser", &record));
        assert!(!names_record("/e/corpuserx/7", "/e/corpuser", &record));
        assert!(!names_record("/e/corpuser/v", "/e/corpuser", &record), "nested values do not name it");
        assert!(!names_record("/e/corpuser", "/e/corpuser", &record));
    }

    #[tokio::test]
    async fn a_step_expecting_a_status_gets_it() {
        let r = recorder("{}");
        let mut req = request(Method::POST, "http://app.example/api/users", Some("{}"));
        req.step = Arc::from("check");
        assert_eq!(r.send(req).await.unwrap().status, 404);
    }

    #[tokio::test]
    async fn urls_outside_the_base_url_are_refused_as_the_backend_would() {
        let r = recorder("{}");
        for url in ["http://elsewhere.example/api/users", "http://app.example/apix", "http://app.example/other"] {
            let err = r.send(request(Method::GET, url, None)).await.unwrap_err();
            assert!(matches!(err, BackendError::InvalidRequest { .. }), "{url}: {err}");
        }
        assert!(r.calls().iter().all(|c| matches!(c.answer, Answer::Refused(_))));
    }
}
