//! Running compiled native calls: rendering requests, sending them, mapping failures to SCIM
//! errors that name the step, and capturing values from answers.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, Method};
use serde_json::{Map, Value};

use super::record_keys::RecordKeys;
use crate::backend::{AnswerBody, BackendError, NativeRequest, NativeResponse};
use crate::mapping::compile::{Body, Call, CompiledMapping};
use crate::mapping::expr::{self, EvalError, LookupResolver, Template};
use crate::scim::{ScimError, ScimType};

/// Where native requests go: the real backend client, or a recorder for dry runs.
#[async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, req: NativeRequest) -> Result<NativeResponse, BackendError>;
}

#[async_trait]
impl Transport for crate::backend::Backend {
    async fn send(&self, req: NativeRequest) -> Result<NativeResponse, BackendError> {
        crate::backend::Backend::send(self, req).await
    }
}

/// Fan-out parallelism for `for_each` steps and per-member writes.
const FAN_OUT: usize = 8;

/// Characters left as-is in a URL insertion: RFC 3986 unreserved. Everything else is encoded, so
/// an id containing `/`, `?`, `#`, `%` or `..` stays one path segment.
const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn encode_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Whether a rendered URL path has a `.` or `..` segment, percent-encoded or not. URL parsers
/// following WHATWG (as the HTTP client does) resolve `%2E%2E` like `..`, so `/users/{id}` with
/// the id `..` would address the collection instead of a record; no encoding can prevent that.
pub fn has_dot_segment(path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/').any(|seg| {
        let decoded = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
        decoded == "." || decoded == ".."
    })
}

/// Turns an evaluation error into the SCIM error to answer.
pub fn eval_error(context: &str, e: EvalError) -> ScimError {
    match e {
        EvalError::Scim(s) => s,
        EvalError::InvalidValue(m) | EvalError::Lookup(m) => ScimError::invalid_value(format!("{context}: {m}")),
        EvalError::Type { .. } => ScimError::invalid_value(format!("{context}: {e}")),
    }
}

/// The text of a native error answer, for details.
fn native_message(resp: &NativeResponse) -> String {
    if let Some(v) = resp.json() {
        for k in ["message", "userMessage", "error", "detail", "titleMessage", "errorMessage"] {
            if let Some(s) = v.get(k).and_then(Value::as_str) {
                return s.chars().take(300).collect();
            }
        }
        // `{"error": {"message": …}}` (Microsoft Graph, Google APIs), `{"errors": [{"message": …}]}`
        // (GraphQL and many REST APIs), OAuth's `error_description`.
        for p in ["/error/message", "/errors/0/message", "/error_description"] {
            if let Some(s) = v.pointer(p).and_then(Value::as_str) {
                return s.chars().take(300).collect();
            }
        }
    }
    let text = String::from_utf8_lossy(&resp.body);
    let t: String = text.trim().chars().take(200).collect();
    if t.is_empty() { "(no message)".to_owned() } else { t }
}

/// The runtime of one mapping: sends calls for it.
pub struct Runner {
    pub mapping: Arc<CompiledMapping>,
    pub transport: Arc<dyn Transport>,
    pub base_url: String,
}

/// What a step sequence produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The record: the answer of the last step marked `record` (at its path), else the last answer.
    pub last: Option<Value>,
    /// How many writes (non-GET/HEAD calls) succeeded.
    pub writes: usize,
    /// The record is the answer of a `read_back: false` step, and no step ran after it.
    pub complete: bool,
    /// A step that falls back answered this status (405 or 501) before any write: the
    /// application does not take the call, and no later step ran.
    pub unsupported: Option<u16>,
}

impl Runner {
    fn vars_scope(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("vars".into(), Value::Object(self.mapping.vars.clone()));
        m
    }

    /// A fresh scope holding `vars`.
    pub fn scope(&self) -> Map<String, Value> {
        self.vars_scope()
    }

    async fn render(
        &self,
        t: &Template,
        scope: &Map<String, Value>,
        lookups: &dyn LookupResolver,
        step: &str,
    ) -> Result<Value, ScimError> {
        expr::render_value(t, scope, lookups).await.map_err(|e| eval_error(step, e))
    }

    fn render_body<'a>(
        &'a self,
        b: &'a Body,
        scope: &'a Map<String, Value>,
        lookups: &'a dyn LookupResolver,
        step: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, ScimError>> + Send + 'a>> {
        Box::pin(async move {
            Ok(match b {
                Body::Const(v) => v.clone(),
                Body::Template(t) => self.render(t, scope, lookups, step).await?,
                Body::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for i in items {
                        out.push(self.render_body(i, scope, lookups, step).await?);
                    }
                    Value::Array(out)
                }
                Body::Object(fields) => {
                    let mut out = Map::new();
                    for (k, v) in fields {
                        let v = self.render_body(v, scope, lookups, step).await?;
                        if !v.is_null() {
                            out.insert(k.clone(), v);
                        }
                    }
                    Value::Object(out)
                }
            })
        })
    }

    /// Renders a call into a native request.
    pub async fn request(
        &self,
        call: &Call,
        scope: &Map<String, Value>,
        lookups: &dyn LookupResolver,
    ) -> Result<NativeRequest, ScimError> {
        let step = call.name.as_str();
        let path = expr::render(&call.url, scope, lookups, &encode_component).await.map_err(|e| eval_error(step, e))?;
        if has_dot_segment(&path) {
            return Err(ScimError::invalid_value(format!(
                "{step}: a value would form a `.` or `..` segment of the URL path, which cannot name a record"
            )));
        }
        let mut url = format!("{}{}", self.base_url.trim_end_matches('/'), path);
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for (k, t) in &call.query {
            let v = self.render(t, scope, lookups, step).await?;
            let values = match v {
                Value::Null => vec![],
                Value::Array(a) => a,
                one => vec![one],
            };
            for v in values.iter().filter(|v| !v.is_null()) {
                url.push(sep);
                url.push_str(&encode_component(k));
                url.push('=');
                url.push_str(&encode_component(&expr::to_text(v)));
                sep = '&';
            }
        }
        let mut headers = Vec::with_capacity(call.headers.len() + 1);
        let mut has_ct = false;
        for (name, t) in &call.headers {
            let v = expr::to_text(&self.render(t, scope, lookups, step).await?);
            let hv = HeaderValue::from_str(&v).map_err(|_| {
                ScimError::invalid_value(format!("{step}: header {name} would contain invalid characters"))
            })?;
            has_ct |= *name == http::header::CONTENT_TYPE;
            headers.push((name.clone(), hv));
        }
        let body = match &call.body {
            Some(b) => {
                let v = self.render_body(b, scope, lookups, step).await?;
                if !has_ct {
                    headers.push((http::header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
                }
                Some(Bytes::from(serde_json::to_vec(&v).unwrap_or_default()))
            }
            None => None,
        };
        Ok(NativeRequest {
            method: call.method.clone(),
            url,
            headers,
            body,
            step: Arc::from(step),
            answer: AnswerBody::Keep,
        })
    }

    /// Maps a native failure answer to a SCIM error, after the mapping's `errors` rules.
    pub fn native_error(&self, op: &str, step: &str, resp: &NativeResponse, applied: usize) -> ScimError {
        let message = native_message(resp);
        let body_lower = String::from_utf8_lossy(&resp.body).to_lowercase();
        let suffix = if applied > 0 {
            format!(" ({applied} earlier call(s) of this operation succeeded; retrying the request is safe)")
        } else {
            String::new()
        };
        for r in &self.mapping.errors {
            let status_ok = r.status.is_empty() || r.status.contains(&resp.status);
            let body_ok = r.body_contains.as_ref().is_none_or(|b| body_lower.contains(b.as_str()));
            let op_ok = r.operation.as_ref().is_none_or(|o| o.eq_ignore_ascii_case(op));
            if status_ok && body_ok && op_ok {
                let detail = match &r.detail {
                    Some(t) => {
                        let mut scope = Map::new();
                        scope.insert("message".into(), Value::String(message.clone()));
                        scope.insert("status".into(), Value::from(resp.status));
                        futures_util::FutureExt::now_or_never(expr::render(t, &scope, &expr::NoLookups, &|s| {
                            s.to_owned()
                        }))
                        .and_then(Result::ok)
                        .unwrap_or_else(|| message.clone())
                    }
                    None => format!("{step}: {message}"),
                };
                let mut e = ScimError::new(r.scim_status, r.scim_type, format!("{detail}{suffix}"));
                e.retry_after = resp.retry_after();
                return e;
            }
        }
        let detail = format!("{step}: the application answered {}: {message}{suffix}", resp.status);
        // A SCIM backend's own error keeps its status and scimType.
        if let Some(t) = resp.json().and_then(|j| j.get("scimType").and_then(Value::as_str).and_then(ScimType::parse))
            && (400..500).contains(&resp.status)
        {
            return ScimError::new(resp.status, Some(t), detail);
        }
        match resp.status {
            404 => ScimError::not_found(detail),
            409 => ScimError::uniqueness(detail),
            429 => ScimError::too_many_requests(detail, resp.retry_after()),
            503 => ScimError::unavailable(detail, resp.retry_after()),
            400 | 422 => ScimError::invalid_value(detail),
            401 | 403 => ScimError::bad_gateway(format!(
                "{step}: the application refused the gateway's credentials ({})",
                resp.status
            )),
            s if s >= 500 => ScimError::bad_gateway(detail),
            _ => ScimError::bad_gateway(detail),
        }
    }

    /// Maps a transport failure to a SCIM error.
    pub fn transport_error(&self, e: &BackendError, applied: usize) -> ScimError {
        let suffix = if applied > 0 || e.may_have_applied() {
            " (the change may be partly applied; retrying the request is safe)"
        } else {
            ""
        };
        match e {
            BackendError::CircuitOpen { retry_after } | BackendError::Saturated { retry_after } => {
                ScimError::unavailable(format!("{e}{suffix}"), Some(*retry_after))
            }
            BackendError::NotSent { .. } => {
                ScimError::unavailable(format!("{e}{suffix}"), Some(std::time::Duration::from_secs(5)))
            }
            BackendError::Timeout { .. } => ScimError::gateway_timeout(format!("{e}{suffix}")),
            _ => ScimError::bad_gateway(format!("{e}{suffix}")),
        }
    }

    /// Sends one rendered call; success is 2xx or a status the step accepts.
    async fn send_one(
        &self,
        op: &str,
        call: &Call,
        scope: &Map<String, Value>,
        lookups: &dyn LookupResolver,
        applied: usize,
        parse: Option<&RecordKeys>,
    ) -> Result<(u16, Option<Value>), ScimError> {
        let mut req = self.request(call, scope, lookups).await?;
        if parse.is_none() && call.expect.is_empty() {
            // Nothing reads a success's body, and every 2xx is a success: let it go unheld.
            req.answer = AnswerBody::DropOnSuccess;
        }
        let resp = self.transport.send(req).await.map_err(|e| self.transport_error(&e, applied))?;
        let success =
            if call.expect.is_empty() { (200..300).contains(&resp.status) } else { call.expect.contains(&resp.status) };
        if success && !call.accept.contains(&resp.status) {
            return Ok((resp.status, parse.and_then(|keys| keys.parse(&resp.body))));
        }
        if call.accept.contains(&resp.status) || call.refused_as_unsupported(resp.status, applied) {
            return Ok((resp.status, None));
        }
        Err(self.native_error(op, &call.name, &resp, applied))
    }

    /// Runs steps in order, capturing into `scope`; the answer that becomes the record is parsed
    /// whole (see [`Runner::run_read`] for one that is only turned into SCIM).
    pub async fn run(
        &self,
        op: &str,
        steps: &[Call],
        scope: &mut Map<String, Value>,
        lookups: &dyn LookupResolver,
    ) -> Result<Outcome, ScimError> {
        self.run_steps(op, steps, scope, lookups, Some(&RecordKeys::All)).await
    }

    /// Runs steps whose record is only turned into SCIM: of the answer that becomes the record,
    /// only the top-level `keys` that conversion reads are parsed.
    pub async fn run_read(
        &self,
        op: &str,
        steps: &[Call],
        scope: &mut Map<String, Value>,
        lookups: &dyn LookupResolver,
        keys: &RecordKeys,
    ) -> Result<Outcome, ScimError> {
        self.run_steps(op, steps, scope, lookups, Some(keys)).await
    }

    /// Runs steps whose record nobody reads (member changes, triggers, deletes): an answer is
    /// parsed only when a step captures from it. A team's PATCH answer can list every member.
    pub async fn run_writes(
        &self,
        op: &str,
        steps: &[Call],
        scope: &mut Map<String, Value>,
        lookups: &dyn LookupResolver,
    ) -> Result<usize, ScimError> {
        Ok(self.run_unread(op, steps, scope, lookups).await?.writes)
    }

    /// [`Runner::run_writes`] with the whole outcome: no record, but what else the steps report.
    pub async fn run_unread(
        &self,
        op: &str,
        steps: &[Call],
        scope: &mut Map<String, Value>,
        lookups: &dyn LookupResolver,
    ) -> Result<Outcome, ScimError> {
        self.run_steps(op, steps, scope, lookups, None).await
    }

    async fn run_steps(
        &self,
        op: &str,
        steps: &[Call],
        scope: &mut Map<String, Value>,
        lookups: &dyn LookupResolver,
        record: Option<&RecordKeys>,
    ) -> Result<Outcome, ScimError> {
        let mut out = Outcome::default();
        let mut record_chosen = false;
        for call in steps {
            if let Some(w) = &call.when {
                let v = expr::eval(w, scope, lookups).await.map_err(|e| eval_error(&call.name, e))?;
                if !expr::truthy(&v) {
                    continue;
                }
            }
            // Whatever this step does, a record chosen before it no longer shows the final state.
            out.complete = false;
            let is_write = !matches!(call.method, Method::GET | Method::HEAD);
            if let Some(each) = &call.for_each {
                let items = match expr::eval(each, scope, lookups).await.map_err(|e| eval_error(&call.name, e))? {
                    Value::Array(a) => a,
                    Value::Null => vec![],
                    one => vec![one],
                };
                let applied = out.writes;
                let results: Vec<Result<(), ScimError>> = futures_util::stream::iter(items.into_iter().enumerate())
                    .map(|(i, item)| {
                        let mut s = scope.clone();
                        s.insert("item".into(), item);
                        s.insert("index".into(), Value::from(i));
                        async move {
                            self.send_one(op, call, &s, lookups, applied, None).await.map(|_| ()).map_err(|mut e| {
                                e.detail = format!("{} (item {i})", e.detail);
                                e
                            })
                        }
                    })
                    .buffered(FAN_OUT)
                    .collect()
                    .await;
                let ok = results.iter().filter(|r| r.is_ok()).count();
                if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
                    let mut e = e;
                    if is_write && ok > 0 {
                        e.detail = format!(
                            "{}; {ok} other item(s) of this step succeeded, retrying the request is safe",
                            e.detail
                        );
                    }
                    return Err(e);
                }
                if is_write {
                    out.writes += ok;
                }
                continue;
            }
            let parse = match record {
                Some(keys) => Some(keys),
                None if !call.capture.is_empty() || call.record.is_some() => Some(&RecordKeys::All),
                None => None,
            };
            let (status, json) = self.send_one(op, call, scope, lookups, out.writes, parse).await?;
            if call.refused_as_unsupported(status, out.writes) {
                out.unsupported = Some(status);
                return Ok(out);
            }
            if is_write {
                out.writes += 1;
            }
            let json = json.unwrap_or(Value::Null);
            for c in &call.capture {
                let v = if c.all { c.path.all(&json) } else { c.path.first(&json) };
                scope.insert(c.name.clone(), v);
            }
            match &call.record {
                // `record: $` is the whole answer: moved, not copied.
                Some(p) if p.is_root() => {
                    out.last = Some(json);
                    record_chosen = true;
                }
                Some(p) => {
                    out.last = Some(p.first(&json));
                    record_chosen = true;
                }
                None if !record_chosen => out.last = Some(json),
                None => {}
            }
            out.complete = call.complete;
        }
        Ok(out)
    }

    /// Runs steps once per element of `items`, with the element bound to `name`.
    pub async fn run_each(
        &self,
        op: &str,
        steps: &[Call],
        scope: &Map<String, Value>,
        name: &str,
        items: Vec<Value>,
        lookups: &dyn LookupResolver,
    ) -> Result<usize, ScimError> {
        let results: Vec<Result<usize, ScimError>> = futures_util::stream::iter(items)
            .map(|item| {
                let mut s = scope.clone();
                let shown = expr::to_text(&item);
                s.insert(name.to_owned(), item);
                async move {
                    let mut s = s;
                    self.run_writes(op, steps, &mut s, lookups).await.map_err(|mut e| {
                        e.detail = format!("{} ({name} {shown})", e.detail);
                        e
                    })
                }
            })
            .buffered(FAN_OUT)
            .collect()
            .await;
        let done: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
        match results.into_iter().find_map(Result::err) {
            Some(mut e) => {
                if done > 0 {
                    e.detail = format!("{}; {done} other call(s) succeeded, retrying the request is safe", e.detail);
                }
                Err(e)
            }
            None => Ok(done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_values_are_encoded_as_one_segment() {
        assert_eq!(encode_component("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(encode_component("Zoë"), "Zo%C3%AB");
        assert_eq!(encode_component("line\r\nX: y"), "line%0D%0AX%3A%20y");
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
    }

    #[test]
    fn the_message_of_a_native_error_is_found_where_common_apis_put_it() {
        let answer = |body: &str| NativeResponse {
            status: 400,
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        };
        for (body, message) in [
            (r#"{"message": "login taken"}"#, "login taken"),
            (r#"{"error": {"code": "duplicate", "message": "login taken"}}"#, "login taken"),
            (r#"{"errors": [{"message": "login taken"}]}"#, "login taken"),
            (r#"{"error_description": "login taken"}"#, "login taken"),
            ("login taken\n", "login taken"),
            ("", "(no message)"),
        ] {
            assert_eq!(native_message(&answer(body)), message, "{body}");
        }
    }

    #[test]
    fn dot_segments_are_found_in_any_spelling() {
        for p in ["/users/..", "/users/.", "/users/%2E%2E", "/users/.%2e/x", "/users/%2e?q=1", "/../x"] {
            assert!(has_dot_segment(p), "{p}");
        }
        for p in ["/users/a..b", "/users/...", "/users/%252E%252E", "/users/x?q=..", "/users/x#..", "/v1/users"] {
            assert!(!has_dot_segment(p), "{p}");
        }
    }
}
