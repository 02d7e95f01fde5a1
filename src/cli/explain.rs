//! `scimgate explain`: the native calls a SCIM request would produce, without sending any write.
//!
//! The request goes through the same layers as in the gateway (the IdP dialect normalisation, the
//! SCIM service and the mapping engine); only the transport under the engine is replaced by a
//! recorder ([`recorder`]). Reads are answered from a fixtures file, or with `--live` by the
//! application itself; writes get a synthetic success and never leave the process. The printed
//! headers are those the application would receive, with every credential masked ([`headers`]),
//! and each call says which part of the mapping made it and where its fields come from
//! ([`sources`]).

mod headers;
mod recorder;
mod sources;

use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use serde_json::Value;

use crate::backend::{AuthSettings, Backend, BackendSettings};
use crate::engine::MappedTarget;
use crate::mapping::CompiledMapping;
use crate::service::{ScimRequest, ScimService, ServiceOptions};
use crate::settings::{HttpSettings, ScimSettings, Settings, TargetSettings};
use crate::target::RequestCtx;

pub use headers::MASK;
pub use recorder::{Answer, Fixture, Fixtures, RecordedCall, SYNTHETIC_ID};

/// Largest request body read for an explain run (the gateway's default body limit).
const MAX_BODY_BYTES: usize = 1 << 20;

/// What `scimgate explain` was asked.
#[derive(Debug, Clone, Default)]
pub struct ExplainArgs {
    /// A mapping file (or `builtin:NAME`), unless `config` and `route` are given.
    pub mapping: Option<PathBuf>,
    /// A settings file whose route gives the mapping, its backend overrides and SCIM settings.
    pub config: Option<PathBuf>,
    pub route: Option<String>,
    pub method: String,
    /// The path below `/scim/v2`, e.g. `/Users/123?attributes=userName`.
    pub path: String,
    /// The SCIM request body, as Entra, Okta or any SCIM client sends it.
    pub body: Option<String>,
    /// A JSON object answering reads: `"GET /path?query"` → the answer body (status 200), or
    /// `{"status": N, "body": …}`. See [`Fixtures`].
    pub fixtures: Option<PathBuf>,
    /// Answer reads from the application itself (writes are still never sent).
    pub live: bool,
}

/// Why an explain run could not happen. A SCIM error answer is not one: it is part of the
/// explanation.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Mapping(String),
}

/// What the run found: the calls in order and the SCIM answer the IdP would get.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub calls: Vec<RecordedCall>,
    pub status: u16,
    pub body: Option<Value>,
}

/// The mapping, backend and service settings a request would use.
struct Resolved {
    mapping: CompiledMapping,
    backend: BackendSettings,
    scim: ScimSettings,
    http: HttpSettings,
    route: String,
    /// Signing keys for `gateway_jwt` backends, from the settings file (needed with `--live`).
    settings: Option<Settings>,
}

fn input<E: std::fmt::Display>(context: &str) -> impl FnOnce(E) -> ExplainError + '_ {
    move |e| ExplainError::Input(format!("{context}: {e}"))
}

fn resolve(args: &ExplainArgs) -> Result<Resolved, ExplainError> {
    let (file, overrides, settings, route) = match (&args.config, &args.route, &args.mapping) {
        (Some(config), Some(route), None) => {
            let settings = Settings::load(config).map_err(|e| ExplainError::Input(e.to_string()))?;
            let rs = settings
                .routes
                .get(route)
                .ok_or_else(|| ExplainError::Input(format!("{} has no route `{route}`", config.display())))?;
            match &rs.target {
                TargetSettings::Mapping { file, backend } => {
                    (file.clone(), backend.clone(), Some(settings), route.clone())
                }
                TargetSettings::Memory => {
                    return Err(ExplainError::Input(format!("route `{route}` is the memory target: no native calls")));
                }
            }
        }
        (None, None, Some(file)) => (file.clone(), None, None, "explain".to_owned()),
        _ => return Err(ExplainError::Input("give a mapping file, or --config and --route (not both)".into())),
    };
    let (mapping, _) = crate::mapping::builtin::load(&file).map_err(|d| ExplainError::Mapping(d.render()))?;
    let backend = match &overrides {
        Some(o) => mapping.backend.overlay(o).map_err(input("backend overrides"))?,
        None => mapping.backend.clone(),
    };
    let (scim, http) = settings.as_ref().map(|s| (s.scim.clone(), s.http.clone())).unwrap_or_default();
    Ok(Resolved { mapping, backend, scim, http, route, settings })
}

/// The client for `--live` reads, with the route's credential.
fn live_backend(r: &Resolved) -> Result<Backend, ExplainError> {
    let signer = match (&r.backend.auth, &r.settings) {
        (AuthSettings::GatewayJwt { .. }, Some(s)) => {
            let env = |k: &str| std::env::var(k).ok();
            let names: Vec<&str> = s.routes.keys().map(String::as_str).collect();
            crate::auth::GatewayAuth::from_settings(s.oauth.as_ref(), &names, &env, None)
                .map_err(input("oauth settings"))?
                .signer()
        }
        _ => None,
    };
    Backend::new(&r.route, &r.backend, signer).map_err(input("--live"))
}

/// Runs the request through the dialect layer, the SCIM service and the engine over the recorder.
pub async fn explain(args: &ExplainArgs) -> Result<Explanation, ExplainError> {
    let resolved = resolve(args)?;
    explain_resolved(args, resolved).await
}

async fn explain_resolved(args: &ExplainArgs, r: Resolved) -> Result<Explanation, ExplainError> {
    let fixtures = match &args.fixtures {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(input(&path.display().to_string()))?;
            Fixtures::parse(&text)?
        }
        None => Fixtures::default(),
    };
    let live = if args.live { Some(live_backend(&r)?) } else { None };
    let steps = sources::Steps::of(&r.mapping);
    let base_url = r.backend.base_url.clone();
    let recorder = recorder::Recorder::new(&base_url, fixtures, steps.expected, live)?;
    let target = Arc::new(MappedTarget::new(Arc::new(r.mapping), recorder.clone(), base_url));
    let options = ServiceOptions {
        scim: r.scim,
        max_json_depth: r.http.max_json_depth,
        max_body_bytes: r.http.max_body_bytes.min(MAX_BODY_BYTES),
    };
    let service = ScimService::new(target, options);
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| ExplainError::Input(format!("`{}` is no HTTP method", args.method)))?;
    let path = if args.path.starts_with('/') { args.path.clone() } else { format!("/{}", args.path) };
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (path, None),
    };
    let request = ScimRequest {
        method,
        path,
        query,
        content_type: Some("application/scim+json".into()),
        body: Bytes::from(args.body.clone().unwrap_or_default()),
        base_url: format!("https://gateway.example/{}/scim/v2", r.route),
        ctx: RequestCtx { request_id: "explain".into(), route: Arc::from(r.route.as_str()), principal: None },
        read_only: false,
    };
    let response = service.handle(request).await;
    Ok(Explanation { calls: recorder.calls(), status: response.status, body: response.body })
}

/// How the answer to a call is described.
fn describe_answer(answer: &Answer) -> String {
    match answer {
        Answer::Fixture(s) => format!("{s} from the fixtures"),
        Answer::Written(s) => format!("{s}: the record as the writes above left it"),
        Answer::NoFixture => "404: no fixture answers this read".to_owned(),
        Answer::Synthetic(s) => format!("{s}: a synthetic success; NOT SENT"),
        Answer::Live(s) => format!("{s} from the application"),
        Answer::LiveFailed(e) => format!("no answer from the application: {e}"),
        Answer::Refused(reason) => format!("refused, not sent: {reason}"),
    }
}

/// The printed form: each call (method, URL, headers, body, where its values come from, how it
/// was answered), what the request names that no call shows, then the SCIM answer.
pub fn render(e: &Explanation, mapping: &CompiledMapping, backend: &BackendSettings, args: &ExplainArgs) -> String {
    let steps = sources::Steps::of(mapping);
    let kind = sources::kind(&args.path);
    let res = sources::resource(mapping, kind);
    let requested = args
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .map(|b| sources::requested(&b))
        .unwrap_or_default();
    let mut out = String::new();
    if e.calls.is_empty() {
        out.push_str("No native call.\n");
    }
    for (i, c) in e.calls.iter().enumerate() {
        let origin = steps.origin(&c.step, kind);
        let origin = if origin.is_empty() { String::new() } else { format!("; {origin}") };
        let _ = writeln!(out, "{}. {} {}    [step: {}{origin}]", i + 1, c.method, headers::masked_url(&c.url), c.step);
        for (n, v) in headers::sent(&c.headers, backend) {
            let _ = writeln!(out, "   {n}: {v}");
        }
        if let Some(b) = &c.body {
            for line in serde_json::to_string_pretty(b).unwrap_or_default().lines() {
                let _ = writeln!(out, "   {line}");
            }
        }
        for line in res.map(|r| sources::for_call(r, &steps, &requested, c)).unwrap_or_default() {
            let _ = writeln!(out, "   {line}");
        }
        let _ = writeln!(out, "   → {}", describe_answer(&c.answer));
    }
    let unshown = res.map(|r| sources::unshown(r, &steps, &requested, &e.calls)).unwrap_or_default();
    if !unshown.is_empty() {
        out.push_str("Also in the request:\n");
        for line in unshown {
            let _ = writeln!(out, "   {line}");
        }
    }
    let first_write = e.calls.iter().position(|c| matches!(c.answer, Answer::Synthetic(_)));
    let stale = first_write
        .is_some_and(|w| e.calls[w..].iter().any(|c| matches!(c.answer, Answer::Fixture(_) | Answer::Live(_))));
    if stale {
        out.push_str(
            "Reads after a write were answered by the fixtures or the application, which the unsent write did not \
             change: the SCIM answer can show the record as it was before.\n",
        );
    }
    let _ = writeln!(out, "SCIM answer: {}", e.status);
    if let Some(b) = &e.body {
        out.push_str(&serde_json::to_string_pretty(b).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The request body: `--body FILE`, `--body -` for standard input, or standard input when it is
/// piped in (not a terminal) for a method that carries a body.
pub fn read_body(arg: Option<&Path>, method: &str) -> Result<Option<String>, ExplainError> {
    let limit = MAX_BODY_BYTES as u64 + 1;
    let read = |reader: &mut dyn Read, what: &str| {
        let mut text = String::new();
        reader.take(limit).read_to_string(&mut text).map_err(input(what))?;
        if text.len() > MAX_BODY_BYTES {
            return Err(ExplainError::Input(format!("{what}: the body is larger than {MAX_BODY_BYTES} bytes")));
        }
        Ok(Some(text))
    };
    match arg {
        Some(p) if p.as_os_str() == "-" => read(&mut std::io::stdin(), "standard input"),
        Some(p) => {
            read(&mut std::fs::File::open(p).map_err(input(&p.display().to_string()))?, &p.display().to_string())
        }
        None => {
            let has_body = ["POST", "PUT", "PATCH"].iter().any(|m| m.eq_ignore_ascii_case(method));
            if has_body && !std::io::stdin().is_terminal() {
                read(&mut std::io::stdin(), "standard input")
            } else {
                Ok(None)
            }
        }
    }
}

/// `scimgate explain`, end to end: the text to print. A SCIM error answer is explained like any
/// other; only a request that cannot be run at all is an error.
pub async fn run(args: &ExplainArgs) -> Result<String, ExplainError> {
    let resolved = resolve(args)?;
    let mapping = resolved.mapping.clone();
    let backend = resolved.backend.clone();
    let explanation = explain_resolved(args, resolved).await?;
    Ok(render(&explanation, &mapping, &backend, args))
}
