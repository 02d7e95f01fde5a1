//! A scripted native application over real HTTP, and a real gateway in front of it, for the
//! mapping engine's acceptance tests.
//!
//! The stub listens on `127.0.0.1:0`, records every request exactly as it arrived (method, raw
//! path, raw query, headers, body) and answers from a table keyed by method and path (optionally
//! by raw query too). A path without a rule answers 404. Tests write a small mapping, start
//! `scimgate::app::start` with a `kind: mapping` route pointing at the stub, send SCIM requests
//! over HTTP and compare the native calls the stub saw with the ones the mapping promises.

// Each test crate includes this module and uses a subset of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// The bearer token every test mapping authenticates to the stub with.
pub const BACKEND_TOKEN: &str = "stub-backend-token";
/// The token the IdP side of the test gateway presents.
pub const SCIM_TOKEN: &str = "idp-token";
/// The SCIM User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The SCIM Group schema URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The SCIM PatchOp message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One request as the stub received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path exactly as on the request line (still percent-encoded).
    pub path: String,
    /// The query exactly as on the request line, without `?`.
    pub query: Option<String>,
    /// Header names (lower case) and values, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, when it is JSON.
    pub body: Option<Value>,
    pub raw_body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `METHOD path?query`, as sent.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{q}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// The body as JSON; panics with the request line when there is none.
    pub fn json(&self) -> &Value {
        self.body.as_ref().unwrap_or_else(|| panic!("{} carries no JSON body", self.line()))
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// How long the application takes to answer.
    pub delay: std::time::Duration,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(body.to_string()),
            delay: std::time::Duration::ZERO,
        }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Reply {
        Reply { status, headers: vec![], body: Bytes::new(), delay: std::time::Duration::ZERO }
    }

    /// The same answer, sent `delay` after the request arrived.
    pub fn after(mut self, delay: std::time::Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// The same answer with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

struct Rule {
    method: String,
    path: String,
    /// `None` matches any query.
    query: Option<String>,
    /// Answers in order; the last one repeats.
    replies: VecDeque<Reply>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    log: Vec<Recorded>,
}

/// The scripted application.
#[derive(Clone)]
pub struct Stub {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn split_target(target: &str) -> (String, Option<String>) {
    match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    }
}

impl Stub {
    /// Starts listening on a free loopback port.
    pub async fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the stub");
        let addr = listener.local_addr().expect("stub address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Stub { addr, state, _task: Arc::new(AbortOnDrop(task)) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The base URL mappings use: everything lives under `/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// Answers `method target` with `reply` from now on. `target` is a raw path, optionally with
    /// `?query` to match that exact raw query only.
    pub fn on(&self, method: &str, target: &str, reply: Reply) {
        self.on_seq(method, target, vec![reply]);
    }

    /// Answers `method target` with `replies` in order, the last one repeating.
    pub fn on_seq(&self, method: &str, target: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty(), "a rule needs at least one reply");
        let (path, query) = split_target(target);
        let mut s = self.lock();
        s.rules.retain(|r| !(r.method == method && r.path == path && r.query == query));
        s.rules.push(Rule { method: method.to_owned(), path, query, replies: replies.into() });
    }

    /// Answers `GET target` with a JSON document.
    pub fn get_json(&self, target: &str, body: Value) {
        self.on("GET", target, Reply::json(200, body));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().log.clone()
    }

    /// Every request received so far, and forgets them.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.lock().log)
    }

    /// `METHOD path?query` of every request so far, in arrival order; forgets them.
    pub fn take_lines(&self) -> Vec<String> {
        self.take().iter().map(Recorded::line).collect()
    }
}

impl State {
    /// The scripted answer to a request: an exact-query rule first, then a rule for any query.
    fn answer(&mut self, method: &str, path: &str, query: Option<&str>) -> Reply {
        let matches = |r: &Rule, q: Option<&str>| r.method == method && r.path == path && r.query.as_deref() == q;
        let i = self
            .rules
            .iter()
            .position(|r| matches(r, query))
            .or_else(|| self.rules.iter().position(|r| matches(r, None)));
        let Some(i) = i else {
            return Reply::json(404, serde_json::json!({"message": format!("no route for {method} {path}")}));
        };
        let replies = &mut self.rules[i].replies;
        match replies.len() {
            1 => replies[0].clone(),
            _ => replies.pop_front().unwrap_or_else(|| Reply::empty(500)),
        }
    }
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let raw_body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let body = serde_json::from_slice(&raw_body).ok();
    let reply = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let reply = s.answer(&method, &path, query.as_deref());
        s.log.push(Recorded { method, path, query, headers, body, raw_body });
        reply
    };
    tokio::time::sleep(reply.delay).await;
    let mut resp = Response::builder().status(reply.status);
    for (n, v) in &reply.headers {
        resp = resp.header(n, v);
    }
    Ok(resp.body(Full::new(reply.body)).unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}

/// A SCIM answer of the gateway.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The JSON body, or null.
    pub body: Value,
}

impl Answer {
    /// The SCIM error `detail`, or "".
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A real gateway (the library's `app::start`) with one `kind: mapping` route named `app`.
pub struct Gateway {
    running: Option<scimgate::app::Running>,
    /// The SCIM base URL, e.g. `http://127.0.0.1:4321/app/scim/v2`.
    pub scim: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.begin_shutdown();
        }
    }
}

impl Gateway {
    /// Writes `mapping` to a temporary file and starts a gateway whose route `app` serves it, with
    /// the backend base URL pointing at `stub`.
    pub async fn start(mapping: &str, stub: &Stub) -> Gateway {
        Self::try_start(mapping, stub).await.unwrap_or_else(|e| panic!("the gateway does not start: {e}"))
    }

    /// Like [`Gateway::start`], handing back a start-up failure.
    pub async fn try_start(mapping: &str, stub: &Stub) -> Result<Gateway, scimgate::app::StartError> {
        Self::try_start_with(mapping, stub, "").await
    }

    /// Like [`Gateway::start`], with `settings` (top-level YAML keys, such as `http:`) added to
    /// the gateway's settings.
    pub async fn start_with(mapping: &str, stub: &Stub, settings: &str) -> Gateway {
        Self::try_start_with(mapping, stub, settings)
            .await
            .unwrap_or_else(|e| panic!("the gateway does not start: {e}"))
    }

    async fn try_start_with(mapping: &str, stub: &Stub, extra: &str) -> Result<Gateway, scimgate::app::StartError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mapping_path = dir.path().join("mapping.yaml");
        std::fs::write(&mapping_path, mapping).expect("write the mapping");
        let settings = format!(
            "listen: 127.0.0.1:0\n{extra}\nroutes:\n  app:\n    target:\n      kind: mapping\n      file: {}\n      backend: {{ base_url: \"{}\" }}\n    auth:\n      tokens: [{{ name: idp, value: {SCIM_TOKEN} }}]\n",
            mapping_path.display(),
            stub.base_url()
        );
        let settings_path = dir.path().join("scimgate.yaml");
        std::fs::write(&settings_path, settings).expect("write the settings");
        let settings = scimgate::settings::Settings::load(&settings_path).expect("settings load");
        let running = scimgate::app::start(&settings).await?;
        let scim = running.scim_base_url("app", false);
        Ok(Gateway { running: Some(running), scim, http: reqwest::Client::new(), _dir: dir })
    }

    /// Sends a SCIM request; `path` is relative to the SCIM base URL and already encoded.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.scim)).bearer_auth(SCIM_TOKEN);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let resp = req.send().await.expect("the gateway answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("answer body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send("PUT", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, ops: Value) -> Answer {
        self.send("PATCH", path, Some(serde_json::json!({"schemas": [PATCH_OP], "Operations": ops}))).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, None).await
    }
}

/// Indents every line of `block` by `n` spaces.
fn indent(block: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    block
        .lines()
        .map(|l| if l.trim().is_empty() { String::new() } else { format!("{pad}{l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A mapping file: the standard test backend section (bearer token, no retries, no circuit
/// breaker, so every native call is seen exactly once), `top` (lookups, errors, vars…) and the
/// two resource specs, each written from column 0.
pub fn mapping(top: &str, users: &str, groups: &str) -> String {
    format!(
        "apiVersion: scimgate/v1\nname: stub\nbackend:\n  base_url: http://unused.invalid/api\n  auth: {{ type: bearer, token: {BACKEND_TOKEN} }}\n  retries: {{ attempts: 1 }}\n  circuit_breaker: {{ failure_threshold: 0 }}\n{top}\nusers:\n{}\ngroups:\n{}\n",
        indent(users, 2),
        indent(groups, 2)
    )
}

/// A plain users spec: `/users` by id, offset paging, PUT updates.
pub const PLAIN_USERS: &str = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: displayName, native: name }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: create user, method: POST, url: /users, body: "{doc}" }]
update: { style: put, steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ name: delete user, method: DELETE, url: "/users/{id}" }]
list:
  call: { method: GET, url: /users, query: { offset: "{offset}", limit: "{limit}" } }
  records: $.items[*]
  total: $.total
  paging: { style: offset, max_limit: 100 }
"#;

/// A plain groups spec: `/groups` by id, offset paging, PUT updates, no members.
pub const PLAIN_GROUPS: &str = r#"
id: { read: $.id }
attributes:
  - { scim: displayName, native: name }
get: [{ method: GET, url: "/groups/{id}" }]
create: [{ name: create group, method: POST, url: /groups, body: "{doc}" }]
update: { style: put, steps: [{ name: write group, method: PUT, url: "/groups/{id}", body: "{doc}" }] }
delete: [{ name: delete group, method: DELETE, url: "/groups/{id}" }]
list:
  call: { method: GET, url: /groups, query: { offset: "{offset}", limit: "{limit}" } }
  records: $.items[*]
  total: $.total
  paging: { style: offset, max_limit: 100 }
"#;

/// A SCIM user with `userName` and extra attributes.
pub fn scim_user(user_name: &str, extra: Value) -> Value {
    let mut u = serde_json::json!({"schemas": [USER], "userName": user_name});
    if let (Some(o), Value::Object(e)) = (u.as_object_mut(), extra) {
        o.extend(e);
    }
    u
}

/// A SCIM group with `displayName` and extra attributes.
pub fn scim_group(display_name: &str, extra: Value) -> Value {
    let mut g = serde_json::json!({"schemas": [GROUP], "displayName": display_name});
    if let (Some(o), Value::Object(e)) = (g.as_object_mut(), extra) {
        o.extend(e);
    }
    g
}
