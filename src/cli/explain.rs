//! `scimgate explain`: the native calls a SCIM request would produce, without sending any write.
//!
//! The request goes through the real dialect layer, SCIM service and mapping engine; only the
//! transport is replaced by a recorder. Reads are answered from a fixtures file (or, with `--live`,
//! by the application itself); writes are answered with a synthetic success and never leave the
//! process. Credentials are added by the backend client, after the recorder, so none is printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use serde_json::Value;

use crate::backend::{Backend, BackendError, BackendSettings, NativeRequest, NativeResponse};
use crate::engine::MappedTarget;
use crate::engine::calls::Transport;
use crate::mapping::CompiledMapping;
use crate::service::{ScimRequest, ScimService, ServiceOptions};
use crate::settings::{ScimSettings, Settings, TargetSettings};
use crate::target::RequestCtx;

/// What `scimgate explain` was asked.
#[derive(Debug, Clone, Default)]
pub struct ExplainArgs {
    /// A mapping file (or `builtin:NAME`), unless `config` and `route` are given.
    pub mapping: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub route: Option<String>,
    pub method: String,
    /// The path below `/scim/v2`, e.g. `/Users/123?attributes=userName`.
    pub path: String,
    pub body: Option<String>,
    /// JSON object: `"GET /api/v1/users/42"` (path and query as the application sees them) → the
    /// answer body (status 200), or `{"status": 404, "body": …}`.
    pub fixtures: Option<PathBuf>,
    /// Answer reads from the application itself (writes are still never sent).
    pub live: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Mapping(String),
}

/// One recorded native call.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub step: String,
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Whether the call was answered by the live application.
    pub live: bool,
}

/// The recorder standing in for the backend.
struct Recorder {
    calls: Mutex<Vec<RecordedCall>>,
    /// Records the synthetic writes created, by id, so a read-back finds them.
    written: Mutex<Vec<(String, Value)>>,
    fixtures: BTreeMap<String, Value>,
    base_path: String,
    live: Option<Backend>,
}

fn path_and_query(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

fn reply(status: u16, body: &Value) -> NativeResponse {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    NativeResponse { status, headers, body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()) }
}

#[async_trait]
impl Transport for Recorder {
    async fn send(&self, req: NativeRequest) -> Result<NativeResponse, BackendError> {
        let read = matches!(req.method, Method::GET | Method::HEAD);
        let body = req.body.as_ref().map(|b| {
            serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
        });
        let mut headers: Vec<(String, String)> =
            req.headers.iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("…").to_owned())).collect();
        headers.sort();
        let live = read && self.live.is_some();
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(RecordedCall {
                step: req.step.to_string(),
                method: req.method.clone(),
                url: req.url.clone(),
                headers,
                body: body.clone(),
                live,
            });
        }
        if let (true, Some(backend)) = (read, &self.live) {
            return backend.send(req).await;
        }
        let key = format!("{} {}", req.method, path_and_query(&req.url));
        let short = key.replacen(&self.base_path, "", 1);
        if let Some(f) = self.fixtures.get(&key).or_else(|| self.fixtures.get(&short)) {
            let (status, body) = match (f.get("status").and_then(Value::as_u64), f.get("body")) {
                (Some(s), Some(b)) if f.as_object().is_some_and(|o| o.len() == 2) => (s as u16, b.clone()),
                _ => (200, f.clone()),
            };
            return Ok(reply(status, &body));
        }
        if read {
            let path = path_and_query(&req.url);
            let created = self.written.lock().ok().and_then(|w| {
                w.iter().find(|(id, _)| path.split(['/', '?']).any(|seg| seg == id)).map(|(_, v)| v.clone())
            });
            return Ok(match created {
                Some(v) => reply(200, &v),
                None => reply(404, &serde_json::json!({"message": "no fixture for this read"})),
            });
        }
        // A write: succeed with what was sent, plus an id when the answer needs one.
        let mut echoed = body.unwrap_or(Value::Null);
        if let Value::Object(o) = &mut echoed
            && !o.contains_key("id")
        {
            o.insert("id".into(), Value::String("00000000-0000-0000-0000-0000000e4a11".into()));
        }
        if let Some(id) = echoed.get("id").and_then(Value::as_str)
            && let Ok(mut w) = self.written.lock()
        {
            w.push((id.to_owned(), echoed.clone()));
        }
        let status = if req.method == Method::POST { 201 } else { 200 };
        Ok(reply(status, &echoed))
    }
}

/// The mapping and backend settings the request would use.
fn resolve(args: &ExplainArgs) -> Result<(CompiledMapping, BackendSettings), ExplainError> {
    let (file, overrides) = match (&args.config, &args.route, &args.mapping) {
        (Some(config), Some(route), _) => {
            let settings = Settings::load(config).map_err(|e| ExplainError::Input(e.to_string()))?;
            let rs = settings
                .routes
                .get(route)
                .ok_or_else(|| ExplainError::Input(format!("{} has no route `{route}`", config.display())))?;
            match &rs.target {
                TargetSettings::Mapping { file, backend } => (file.clone(), backend.clone()),
                TargetSettings::Memory => {
                    return Err(ExplainError::Input(format!("route `{route}` is the memory target: no native calls")));
                }
            }
        }
        (_, _, Some(file)) => (file.clone(), None),
        _ => return Err(ExplainError::Input("give a mapping file, or --config and --route".into())),
    };
    let (mapping, _) = crate::mapping::builtin::load(&file).map_err(|d| ExplainError::Mapping(d.render()))?;
    let backend = match &overrides {
        Some(o) => mapping.backend.overlay(o).map_err(|e| ExplainError::Input(format!("backend overrides: {e}")))?,
        None => mapping.backend.clone(),
    };
    Ok((mapping, backend))
}

fn load_fixtures(path: Option<&Path>) -> Result<BTreeMap<String, Value>, ExplainError> {
    let Some(path) = path else { return Ok(BTreeMap::new()) };
    let text = std::fs::read_to_string(path).map_err(|e| ExplainError::Input(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| ExplainError::Input(format!("{}: {e}", path.display())))
}

/// Runs the request and returns the recorded calls and the SCIM answer.
pub async fn explain(args: &ExplainArgs) -> Result<(Vec<RecordedCall>, u16, Option<Value>), ExplainError> {
    let (mapping, backend_settings) = resolve(args)?;
    let base_url = backend_settings.base_url.clone();
    let base_path =
        reqwest::Url::parse(&base_url).map(|u| u.path().trim_end_matches('/').to_owned()).unwrap_or_default();
    let live = if args.live {
        Some(Backend::new("explain", &backend_settings, None).map_err(|e| ExplainError::Input(e.to_string()))?)
    } else {
        None
    };
    let recorder = Arc::new(Recorder {
        calls: Mutex::new(Vec::new()),
        written: Mutex::new(Vec::new()),
        fixtures: load_fixtures(args.fixtures.as_deref())?,
        base_path,
        live,
    });
    let target = Arc::new(MappedTarget::new(Arc::new(mapping), recorder.clone(), base_url));
    let options = ServiceOptions { scim: ScimSettings::default(), max_json_depth: 64, max_body_bytes: 1 << 20 };
    let service = ScimService::new(target, options);
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| ExplainError::Input(format!("`{}` is no HTTP method", args.method)))?;
    let (path, query) = match args.path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (args.path.clone(), None),
    };
    let request = ScimRequest {
        method,
        path,
        query,
        content_type: Some("application/scim+json".into()),
        body: Bytes::from(args.body.clone().unwrap_or_default()),
        base_url: "https://gateway.example/route/scim/v2".into(),
        ctx: RequestCtx { request_id: "explain".into(), route: Arc::from("explain"), principal: None },
        read_only: false,
    };
    let response = service.handle(request).await;
    let calls = recorder.calls.lock().map(|c| c.clone()).unwrap_or_default();
    Ok((calls, response.status, response.body))
}

/// Where native values come from: for each attribute mapping of the requested resource type whose
/// SCIM attribute the request names, the native field it writes and the transforms on the way.
pub fn provenance(mapping: &CompiledMapping, args: &ExplainArgs) -> Vec<String> {
    let path = args.path.trim_start_matches('/');
    let res =
        if path.len() >= 6 && path[..6].eq_ignore_ascii_case("groups") { &mapping.groups } else { &mapping.users };
    let body = args.body.as_deref().unwrap_or_default().to_ascii_lowercase();
    let mut lines = Vec::new();
    for a in &res.attrs {
        let Some(scim) = &a.scim else { continue };
        let top = crate::mapping::compile::top_name(&scim.path);
        let short = top.rsplit(':').next().unwrap_or(&top).to_owned();
        if !body.contains(&format!("\"{short}")) && !body.contains(&format!(".{short}")) {
            continue;
        }
        let transforms: Vec<&str> = a.to_native.iter().map(|s| s.transform.name()).collect();
        let via = if transforms.is_empty() { String::new() } else { format!(" | {}", transforms.join(" | ")) };
        let target = |p: &Option<crate::mapping::native_path::NativePath>| {
            p.as_ref().filter(|p| !p.segments.is_empty()).map(|p| format!("`{p}`"))
        };
        let fields = match (target(&a.create), target(&a.update)) {
            (Some(c), Some(u)) if c == u => c,
            (Some(c), Some(u)) => format!("{c} on create, {u} on update"),
            (Some(c), None) => format!("{c} on create"),
            (None, Some(u)) => format!("{u} on update"),
            (None, None) => continue,
        };
        lines.push(format!("   {fields} ← scim `{}`{via}", scim.text));
    }
    lines
}

/// The printed form.
pub fn render(
    calls: &[RecordedCall],
    status: u16,
    body: Option<&Value>,
    backend: &BackendSettings,
    sources: &[String],
) -> String {
    let mut out = String::new();
    if calls.is_empty() {
        out.push_str("No native call.\n");
    }
    for (i, c) in calls.iter().enumerate() {
        let source = if c.live { " (answered by the application)" } else { "" };
        out.push_str(&format!("{}. {} {}    [step: {}]{source}\n", i + 1, c.method, c.url, c.step));
        for (n, v) in &c.headers {
            let sensitive = ["authorization", "cookie", "token", "secret", "key"].iter().any(|s| n.contains(s));
            out.push_str(&format!("   {n}: {}\n", if sensitive { "••••" } else { v }));
        }
        if let Some(b) = &c.body {
            let pretty = serde_json::to_string_pretty(b).unwrap_or_default();
            for line in pretty.lines() {
                out.push_str(&format!("   {line}\n"));
            }
        }
    }
    out.push_str(&format!(
        "Every call also carries the backend's `{}` credential and its static headers ({}), added when sent.\n",
        backend.auth.kind(),
        if backend.headers.is_empty() {
            "none".to_owned()
        } else {
            backend.headers.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    ));
    if !sources.is_empty() {
        out.push_str("Where the values come from:\n");
        for line in sources {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("SCIM answer: {status}\n"));
    if let Some(b) = body {
        out.push_str(&serde_json::to_string_pretty(b).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// `scimgate explain`, end to end: returns the text to print and whether the SCIM answer was a success.
pub async fn run(args: &ExplainArgs) -> Result<(String, bool), ExplainError> {
    let (mapping, backend) = resolve(args)?;
    let sources = provenance(&mapping, args);
    let (calls, status, body) = explain(args).await?;
    Ok((render(&calls, status, body.as_ref(), &backend, &sources), status < 400))
}
