//! Routing and the thin HTTP handlers: probes, and SCIM under `/{route}/scim/v2/...`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

use crate::auth::RouteAuth;
use crate::observe::metrics::Timing;
use crate::scim::ScimError;
use crate::service::{ScimRequest, ScimResponse, ScimService};
use crate::settings::HttpSettings;
use crate::target::RequestCtx;

const SCIM_JSON: &str = "application/scim+json";
/// Header names, built once: a name given as text is parsed and checked on every use.
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");
/// Room for a typical answer (one resource), so that serialising it rarely grows the buffer.
const ANSWER_CAPACITY: usize = 1024;

/// One route: its credentials and its SCIM service.
pub struct Route {
    pub name: Arc<str>,
    pub auth: RouteAuth,
    pub service: ScimService,
    /// Realm named in `WWW-Authenticate`.
    pub realm: String,
}

/// Everything a request needs, swapped atomically on reload.
pub struct Gateway {
    pub routes: HashMap<String, Arc<Route>>,
    pub http: HttpSettings,
    /// Whether the listener is TLS (for URLs derived from the request).
    pub https: bool,
    /// The gateway's signing keys and token endpoint.
    pub gateway_auth: Arc<crate::auth::GatewayAuth>,
}

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<ArcSwap<Gateway>>,
    /// Set when shutdown starts: `/readyz` turns unready at once.
    pub draining: Arc<AtomicBool>,
    pub in_flight: Arc<Semaphore>,
    /// Per-client buckets; kept across reloads.
    pub rate_limiter: Arc<crate::server::rate_limit::RateLimiter>,
}

impl AppState {
    pub fn new(gateway: Gateway) -> Self {
        let permits = gateway.http.max_concurrent_requests.max(1);
        AppState {
            gateway: Arc::new(ArcSwap::from_pointee(gateway)),
            draining: Arc::new(AtomicBool::new(false)),
            in_flight: Arc::new(Semaphore::new(permits)),
            rate_limiter: Arc::default(),
        }
    }
}

pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/oauth/token", post(oauth_token))
        .route("/.well-known/jwks.json", get(jwks))
        .fallback(scim_entry)
        .with_state(state)
}

/// Prometheus scrape endpoint (OpenMetrics text).
async fn metrics() -> Response {
    let mut resp = Response::new(Body::from(crate::observe::metrics().render()));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

/// `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4); 404 when not configured.
async fn oauth_token(
    State(state): State<AppState>,
    peer: Option<axum::Extension<super::PeerAddr>>,
    req: Request,
) -> Response {
    let gw = state.gateway.load_full();
    let Some(endpoint) = gw.gateway_auth.token_endpoint() else {
        return (StatusCode::NOT_FOUND, "no token endpoint is configured\n").into_response();
    };
    let (parts, body) = req.into_parts();
    let limit = crate::auth::MAX_TOKEN_REQUEST_BYTES;
    let body = http_body_util::Limited::new(body, limit).collect().await.ok().map(|c| c.to_bytes());
    let reply = endpoint.handle(crate::auth::TokenRequest {
        content_type: parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        authorization: parts.headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes),
        body: body.as_deref(),
        peer: peer.map(|p| p.0.0.ip()),
    });
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, axum::Json(reply.body)).into_response();
    let h = resp.headers_mut();
    // RFC 6749 §5.1: token answers must not be cached.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(challenge) = reply.www_authenticate {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    if let Some(secs) = reply.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// `GET /.well-known/jwks.json`: the gateway's public keys; 404 when it has none.
async fn jwks(State(state): State<AppState>) -> Response {
    let gw = state.gateway.load_full();
    let Some(keys) = gw.gateway_auth.jwks() else {
        return (StatusCode::NOT_FOUND, "no signing keys are configured\n").into_response();
    };
    let mut resp = axum::Json(keys).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    resp
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    let gw = state.gateway.load();
    for route in gw.routes.values() {
        if !route.service.target().ready().await {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("route {} not ready\n", route.name)).into_response();
        }
    }
    (StatusCode::OK, "ready\n").into_response()
}

/// Renders a SCIM response as HTTP.
fn scim_response(r: ScimResponse, request_id: &str) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match r.body {
        Some(body) => {
            let mut bytes = Vec::with_capacity(ANSWER_CAPACITY);
            if serde_json::to_writer(&mut bytes, &body).is_err() {
                bytes.clear();
            }
            let mut resp = Response::new(Body::from(bytes));
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
            resp
        }
        None => Response::new(Body::empty()),
    };
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Some(loc) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, loc);
    }
    if let Some(allow) = r.allow {
        h.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(ra) = r.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(ra.as_secs().max(1)));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(X_REQUEST_ID, v.clone());
        h.insert(CLIENT_REQUEST_ID, v);
    }
    resp
}

fn error_response(e: &ScimError, request_id: &str) -> Response {
    scim_response(ScimResponse::error(e), request_id)
}

/// The request id: the IdP's `client-request-id` (Entra) or `X-Request-Id`, else a new one.
/// Only printable ASCII up to 128 bytes is echoed, so headers and logs cannot be forged.
fn request_id(headers: &HeaderMap) -> String {
    [CLIENT_REQUEST_ID, X_REQUEST_ID]
        .iter()
        .filter_map(|n| headers.get(n))
        .filter_map(|v| v.to_str().ok())
        .find(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned())
}

/// Splits `/{route}/scim/v2{rest}` into the route name and `rest`.
fn split_scim_path(path: &str) -> Option<(&str, &str)> {
    let path = path.strip_prefix('/')?;
    let (route, rest) = path.split_once('/')?;
    let rest = rest.strip_prefix("scim/v2").or_else(|| rest.strip_prefix("scim/V2"))?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some((route, rest))
}

fn base_url(headers: &HeaderMap, uri: &http::Uri, gw: &Gateway, route: &str) -> String {
    if let Some(public) = &gw.http.public_base_url {
        return format!("{}/{route}/scim/v2", public.trim_end_matches('/'));
    }
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned))
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "localhost".to_owned());
    let scheme = if gw.https { "https" } else { "http" };
    format!("{scheme}://{host}/{route}/scim/v2")
}

async fn scim_entry(State(state): State<AppState>, req: Request) -> Response {
    let rid = request_id(req.headers());
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        let e = ScimError::unavailable(
            "the gateway is at its concurrency limit; retry shortly",
            Some(Duration::from_secs(1)),
        );
        return error_response(&e, &rid);
    };
    let gw = state.gateway.load_full();
    let timeout = Duration::from_secs(gw.http.request_timeout_secs.max(1));
    match tokio::time::timeout(timeout, handle_scim(gw, &state.rate_limiter, req, &rid)).await {
        Ok(resp) => resp,
        Err(_) => error_response(
            &ScimError::gateway_timeout("the request took longer than the gateway's request timeout"),
            &rid,
        ),
    }
}

async fn handle_scim(
    gw: Arc<Gateway>,
    limiter: &crate::server::rate_limit::RateLimiter,
    req: Request,
    rid: &str,
) -> Response {
    let declares_body = declares_body(req.headers());
    match serve_scim(gw, limiter, req, rid).await {
        Ok(resp) => resp,
        // Answered before the body was read: hyper then closes the connection rather than read the
        // rest, and the answer must say so, or the client may send its next request onto it.
        Err(mut resp) => {
            if declares_body {
                resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            resp
        }
    }
}

/// Whether a request carries a body (a length above zero, or chunked).
fn declares_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING) || declared_length(headers).is_some_and(|n| n > 0)
}

/// The body length a request announces in `Content-Length`.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// Serves one SCIM request; `Err` is an answer given before the body was read to its end.
async fn serve_scim(
    gw: Arc<Gateway>,
    limiter: &crate::server::rate_limit::RateLimiter,
    req: Request,
    rid: &str,
) -> Result<Response, Response> {
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let Some((route_name, rest)) = split_scim_path(parts.uri.path()) else {
        return Err(error_response(&ScimError::not_found(format!("nothing at {}", parts.uri.path())), rid));
    };
    let Some(route) = gw.routes.get(route_name).cloned() else {
        return Err(error_response(&ScimError::not_found(format!("no route named {route_name}")), rid));
    };
    let authorization = parts.headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    let kind = crate::observe::request::classify(&parts.method, rest);
    let principal = match route.auth.authenticate(authorization).await {
        // A read-only caller asking to write is refused here, before the target sees anything.
        Ok(p) if p.read_only && is_write(&parts.method, kind.operation) => {
            Err(crate::auth::Rejection::INSUFFICIENT_SCOPE)
        }
        other => other,
    };
    let principal = match principal {
        Ok(p) => p,
        Err(rejection) => {
            tracing::info!(route = %route.name, reason = rejection.reason(), request_id = rid, "authentication rejected");
            let e = if rejection.status() == 403 {
                ScimError::forbidden(rejection.detail())
            } else {
                ScimError::unauthorized(rejection.detail())
            };
            let mut resp = error_response(&e, rid);
            if let Ok(v) = HeaderValue::from_str(&rejection.challenge(&route.realm)) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return Err(resp);
        }
    };
    if let Some(limit) = gw.http.rate_limit
        && let Err(wait) = limiter.check(&principal.name, limit, std::time::Instant::now())
    {
        tracing::info!(route = %route.name, client = %principal.name, request_id = rid, "client over its rate limit");
        return Err(error_response(
            &ScimError::too_many_requests("this client is over its request rate limit", Some(wait)),
            rid,
        ));
    }
    let body = match read_body(&parts.headers, body, gw.http.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return Err(error_response(&e, rid)),
    };
    let request = ScimRequest {
        method: parts.method.clone(),
        path: rest.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        content_type: parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
        body,
        base_url: base_url(&parts.headers, &parts.uri, &gw, route_name),
        ctx: RequestCtx {
            request_id: rid.to_owned(),
            route: route.name.clone(),
            principal: Some(principal.name.clone()),
        },
        read_only: principal.read_only,
    };
    let metrics = crate::observe::metrics();
    metrics.in_flight.inc();
    // Every line logged while the request is served (native calls included) carries its id.
    let span = tracing::info_span!("scim", request_id = rid);
    let (response, calls) =
        tracing::Instrument::instrument(crate::observe::calls::collect(route.service.handle(request)), span).await;
    metrics.in_flight.dec();
    let status = response.status;
    tracing::info!(
        route = %route.name,
        method = %parts.method,
        path = %kind.template,
        status,
        client = %principal.name,
        native_calls = calls.len(),
        request_id = rid,
        "scim request"
    );
    if kind.is_change() {
        let created_id = response.body.as_ref().and_then(|b| b.get("id")).and_then(serde_json::Value::as_str);
        crate::observe::audit::emit(&crate::observe::audit::AuditEvent {
            time: crate::observe::audit::now(),
            request_id: rid,
            route: &route.name,
            client: &principal.name,
            resource: kind.resource,
            operation: kind.operation,
            resource_id: kind.id.as_deref().or(created_id),
            status,
            outcome: if status < 300 { "applied" } else { "failed" },
            native_calls: &calls,
        });
    }
    let mut resp = scim_response(response, rid);
    let timing = Timing { total: started.elapsed(), waited: crate::observe::calls::waited(&calls) };
    metrics.record_scim(&route.name, kind.resource, kind.operation, status, timing);
    if gw.http.server_timing
        && let Ok(v) = HeaderValue::from_str(&server_timing(timing))
    {
        resp.headers_mut().insert(SERVER_TIMING, v);
    }
    Ok(resp)
}

/// The `Server-Timing` value (W3C Server Timing): the gateway's own time and the time spent
/// waiting on the application, in milliseconds.
fn server_timing(t: Timing) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!("gateway;dur={:.3}, app;dur={:.3}", ms(t.own()), ms(t.waited))
}

/// Whether a request changes state: anything but reads and searches (POST `.search`).
fn is_write(method: &http::Method, operation: &str) -> bool {
    !matches!(*method, http::Method::GET | http::Method::HEAD) && operation != "search"
}

/// Reads the body up to `max` bytes; larger bodies are refused with 413 without reading them all.
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, ScimError> {
    let too_large = || ScimError::payload_too_large(format!("request body exceeds {max} bytes"));
    if declared_length(headers).is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(ScimError::invalid_syntax("the request body could not be read")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_scim_paths() {
        assert_eq!(split_scim_path("/main/scim/v2/Users"), Some(("main", "/Users")));
        assert_eq!(split_scim_path("/main/scim/v2"), Some(("main", "")));
        assert_eq!(split_scim_path("/main/scim/v2x"), None);
        assert_eq!(split_scim_path("/main/other"), None);
        assert_eq!(split_scim_path("/"), None);
    }

    #[test]
    fn request_ids_are_taken_only_when_safe() {
        let mut h = HeaderMap::new();
        h.insert("client-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("has space"));
        assert_ne!(request_id(&h), "has space");
    }
}
