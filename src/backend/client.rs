//! [`Backend`]: sends native calls to one application with its credential, limits, retries and
//! circuit breaker.
//!
//! One call runs as:
//!
//! ```text
//! send ─► check the URL is under base_url
//!   └─► attempt: breaker permit? ─► concurrency slot within queue_timeout? ─► credential
//!         ─► HTTP exchange within request_ms (see wire.rs) ─► report to the breaker
//!   └─► 401 with an OAuth2 token: drop the token, try once more (not counted as a retry)
//!   └─► retry policy: done, or wait (backoff / Retry-After) and attempt again
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Uri};
use http_body_util::Full;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::auth::{Authenticator, Credential};
use super::breaker::{Breaker, BreakerState, whole_seconds};
use super::error::{BackendBuildError, BackendError};
use super::jwt_signer::JwtSigner;
use super::native::{NativeRequest, NativeResponse};
use super::retry::{RetryPolicy, Verdict};
use super::settings::BackendSettings;
use super::wire::{Wire, WireError};
use crate::observe::calls::NativeCall;
use crate::observe::metrics::{BackendStatus, BreakerLabels};

/// `Retry-After` suggested to the IdP when no concurrency slot frees up in time.
const SATURATED_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Sent with every call unless the mapping's `headers` name another.
const USER_AGENT: HeaderValue = HeaderValue::from_static(concat!("scimgate/", env!("CARGO_PKG_VERSION")));

/// The client of one application. Cheap to clone; clones share the connection pool, the cached
/// credential, the concurrency limit and the circuit breaker.
#[derive(Clone)]
pub struct Backend {
    inner: Arc<Inner>,
}

struct Inner {
    name: Arc<str>,
    base: reqwest::Url,
    wire: Wire,
    auth: Authenticator,
    headers: Vec<(HeaderName, HeaderValue)>,
    policy: RetryPolicy,
    request_timeout: Duration,
    slots: Semaphore,
    concurrency: usize,
    queue_timeout: Duration,
    breaker: Arc<Breaker>,
    /// This backend's `backend_circuit_state` gauge, looked up once.
    breaker_gauge: Gauge,
    max_response_bytes: u64,
    calls: AtomicU64,
    attempts: AtomicU64,
}

/// A snapshot of a backend's health, for metrics and readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStats {
    pub name: Arc<str>,
    pub breaker: BreakerState,
    /// Calls holding a concurrency slot now.
    pub in_flight: usize,
    /// The concurrency limit.
    pub concurrency: usize,
    /// Calls made through [`Backend::send`] so far.
    pub calls: u64,
    /// HTTP exchanges attempted so far, retries included.
    pub attempts: u64,
}

/// What one attempt produced, before retry decisions.
struct Attempt {
    outcome: Result<NativeResponse, BackendError>,
    credential: Option<Credential>,
}

impl Backend {
    /// Builds the client: resolves secrets, reads TLS files, checks every setting. `name` appears
    /// in logs; `signer` is needed only for `gateway_jwt` authentication.
    pub fn new(
        name: &str,
        settings: &BackendSettings,
        signer: Option<Arc<JwtSigner>>,
    ) -> Result<Backend, BackendBuildError> {
        let base = parse_base_url(&settings.base_url)?;
        if settings.retries.attempts == 0 {
            return Err(BackendBuildError::invalid("retries.attempts", "must be at least 1"));
        }
        if settings.concurrency == 0 {
            return Err(BackendBuildError::invalid("concurrency", "must be at least 1"));
        }
        let concurrency =
            usize::try_from(settings.concurrency).unwrap_or(Semaphore::MAX_PERMITS).min(Semaphore::MAX_PERMITS);
        if settings.timeouts.request_ms == 0 || settings.timeouts.connect_ms == 0 {
            return Err(BackendBuildError::invalid("timeouts", "timeouts must be at least 1 ms"));
        }
        let mut headers = Vec::with_capacity(settings.headers.len());
        for (name, value) in &settings.headers {
            let key = format!("headers.{name}");
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| BackendBuildError::invalid(&key, "not a valid header name"))?;
            let v = HeaderValue::from_str(value)
                .map_err(|_| BackendBuildError::invalid(&key, "contains characters not allowed in an HTTP header"))?;
            headers.push((n, v));
        }
        let request_timeout = Duration::from_millis(settings.timeouts.request_ms);
        let tls = super::tls::client_config(&settings.tls)?;
        let token_client = build_token_client(settings, tls.clone())?;
        let auth = Authenticator::build(&settings.auth, signer, token_client, request_timeout)?;
        if settings.tls.insecure_skip_verify {
            tracing::warn!(backend = name, "TLS certificate verification is off for this backend");
        }
        let name: Arc<str> = Arc::from(name);
        let breaker_gauge = crate::observe::metrics()
            .breaker_state
            .get_or_create(&BreakerLabels { backend: Arc::clone(&name) })
            .clone();
        Ok(Backend {
            inner: Arc::new(Inner {
                name,
                base,
                wire: Wire::new(&settings.timeouts, tls),
                auth,
                headers,
                policy: RetryPolicy::new(&settings.retries),
                request_timeout,
                slots: Semaphore::new(concurrency),
                concurrency,
                queue_timeout: Duration::from_millis(settings.queue_timeout_ms),
                breaker: Breaker::new(
                    settings.circuit_breaker.failure_threshold,
                    Duration::from_secs(settings.circuit_breaker.open_secs),
                ),
                breaker_gauge,
                max_response_bytes: settings.max_response_bytes,
                calls: AtomicU64::new(0),
                attempts: AtomicU64::new(0),
            }),
        })
    }

    /// The backend's name, as given to [`Backend::new`].
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The base URL every request must lie under.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// A snapshot of the breaker state, slots in use and counters.
    pub fn stats(&self) -> BackendStats {
        let i = &self.inner;
        BackendStats {
            name: Arc::clone(&i.name),
            breaker: i.breaker.state(),
            in_flight: i.concurrency.saturating_sub(i.slots.available_permits()),
            concurrency: i.concurrency,
            calls: i.calls.load(Ordering::Relaxed),
            attempts: i.attempts.load(Ordering::Relaxed),
        }
    }

    /// Sends one call: HTTP answers of any status come back as [`NativeResponse`]s, except that
    /// transient failures are first retried as the retry settings allow.
    pub async fn send(&self, req: NativeRequest) -> Result<NativeResponse, BackendError> {
        let i = &self.inner;
        i.calls.fetch_add(1, Ordering::Relaxed);
        let url = self.check_url(&req)?;
        let idempotent = req.idempotent();
        let mut refreshed = false;
        let mut attempt = 1u32;
        let mut last: Option<Result<NativeResponse, BackendError>> = None;
        // Whether an earlier try may have reached the application and acted.
        let mut may_have_applied = false;
        loop {
            let Attempt { outcome, credential } = self.attempt(&req, &url, attempt).await;
            // A refused fast path on a retry says nothing new about the call: report what
            // actually happened on the wire.
            if matches!(outcome, Err(BackendError::CircuitOpen { .. } | BackendError::Saturated { .. }))
                && let Some(previous) = last.take()
            {
                return previous;
            }
            if let (Ok(resp), Some(used)) = (&outcome, &credential)
                && resp.status == 401
                && !refreshed
                && i.auth.refreshes_on_401()
            {
                // The token was revoked or rotated early: a fresh one, once. A 401 means the
                // application did not act, so this is safe for any method.
                refreshed = true;
                i.auth.discard(used).await;
                tracing::info!(backend = %i.name, step = %req.step, "backend refused the access token; fetching a new one");
                continue;
            }
            // A DELETE sent again after a try that may have gone through, and now answered 404:
            // that earlier try did the deleting. Reporting "not found" would tell the IdP that
            // the resource it just deleted never existed.
            if let Ok(resp) = &outcome
                && req.method == Method::DELETE
                && resp.status == 404
                && may_have_applied
            {
                return Ok(NativeResponse { status: 204, headers: http::HeaderMap::new(), body: Bytes::new() });
            }
            may_have_applied |= outcome.as_ref().is_err_and(BackendError::may_have_applied);
            match i.policy.verdict(&outcome, idempotent, attempt) {
                Verdict::Done => return outcome,
                Verdict::RetryIn(wait) => {
                    tracing::debug!(backend = %i.name, step = %req.step, attempt, wait_ms = wait.as_millis() as u64, "retrying backend call");
                    last = Some(outcome);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Refuses URLs outside the base URL's origin and path, so a mapping cannot send the
    /// backend's credential elsewhere.
    fn check_url(&self, req: &NativeRequest) -> Result<reqwest::Url, BackendError> {
        let invalid = |reason: String| BackendError::InvalidRequest { step: Arc::clone(&req.step), reason };
        let base = &self.inner.base;
        let url = parse_under(base, &req.url).map_err(|e| invalid(format!("the URL is not valid: {e}")))?;
        let same_origin = url.scheme() == base.scheme()
            && url.host() == base.host()
            && url.port_or_known_default() == base.port_or_known_default();
        let base_path = base.path().trim_end_matches('/');
        let rest = url.path().strip_prefix(base_path);
        let under_base = rest.is_some_and(|r| r.is_empty() || r.starts_with('/'));
        if !same_origin || !under_base || url.fragment().is_some() || !url.username().is_empty() {
            return Err(invalid(format!("the URL must lie under the backend's base URL {base}")));
        }
        Ok(url)
    }

    async fn attempt(&self, req: &NativeRequest, url: &reqwest::Url, attempt: u32) -> Attempt {
        let i = &self.inner;
        let refused = |outcome| Attempt { outcome: Err(outcome), credential: None };
        let permit = match i.breaker.try_acquire() {
            Ok(p) => p,
            Err(wait) => return refused(BackendError::CircuitOpen { retry_after: whole_seconds(wait) }),
        };
        let Ok(Ok(_slot)) = tokio::time::timeout(i.queue_timeout, i.slots.acquire()).await else {
            return refused(BackendError::Saturated { retry_after: SATURATED_RETRY_AFTER });
        };
        let credential = match i.auth.credential().await {
            Ok(c) => c,
            Err(e) => return refused(e),
        };
        i.attempts.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let outcome = self.exchange(req, url, credential.as_ref()).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let healthy = match &outcome {
            // 501 says the application does not do this, not that it is unwell: a SCIM service
            // without PATCH answers it to a forwarded PATCH, which then falls back.
            Ok(r) => r.status < 500 || r.status == 501,
            Err(BackendError::NotSent { .. } | BackendError::Timeout { .. } | BackendError::OutcomeUnknown { .. }) => {
                false
            }
            Err(_) => true,
        };
        permit.record(healthy);
        i.breaker_gauge.set(match i.breaker.state() {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        });
        // The step (the mapping's URL template) says what was called; the concrete URL can carry
        // personal data (a name in a path, a URN built from a userName) and stays out of the logs.
        let (status, error, label) = match &outcome {
            Ok(r) => (Some(r.status), None, BackendStatus::Code(r.status)),
            Err(e) => (None, Some(e.kind()), BackendStatus::Failure(e.kind())),
        };
        let duration = started.elapsed();
        crate::observe::metrics().record_backend(&i.name, &req.method, label, duration.as_secs_f64());
        crate::observe::calls::record(NativeCall {
            backend: Arc::clone(&i.name),
            step: Arc::clone(&req.step),
            method: req.method.clone(),
            status,
            error,
            duration,
        });
        match &outcome {
            Ok(r) => tracing::info!(
                backend = %i.name, step = %req.step, method = %req.method, attempt,
                status = r.status, duration_ms = elapsed_ms, "backend call"
            ),
            Err(e) => tracing::warn!(
                backend = %i.name, step = %req.step, method = %req.method, attempt,
                duration_ms = elapsed_ms, error = %e, "backend call failed"
            ),
        }
        Attempt { outcome, credential }
    }

    /// One HTTP exchange, bounded by the request timeout, classified by whether the request may
    /// have reached the application.
    async fn exchange(
        &self,
        req: &NativeRequest,
        url: &reqwest::Url,
        credential: Option<&Credential>,
    ) -> Result<NativeResponse, BackendError> {
        let i = &self.inner;
        let step = || Arc::clone(&req.step);
        let uri = Uri::try_from(url.as_str())
            .map_err(|e| BackendError::InvalidRequest { step: step(), reason: format!("the URL is not valid: {e}") })?;
        let mut request = http::Request::new(Full::new(req.body.clone().unwrap_or_default()));
        *request.method_mut() = req.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.reserve(i.headers.len() + req.headers.len() + 2);
        headers.insert(http::header::USER_AGENT, USER_AGENT);
        for (n, v) in i.headers.iter().chain(req.headers.iter()) {
            headers.insert(n.clone(), v.clone());
        }
        if let Some(c) = credential {
            headers.insert(c.name.clone(), c.value.clone());
        }
        if req.body.is_none() && matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
            // Some servers insist on a length for bodiless writes.
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let exchange = i.wire.exchange(request, i.max_response_bytes, req.answer);
        match tokio::time::timeout(i.request_timeout, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(WireError::NotSent(reason))) => Err(BackendError::NotSent { step: step(), reason }),
            Ok(Err(WireError::Unknown(reason))) => Err(BackendError::OutcomeUnknown { step: step(), reason }),
            Ok(Err(WireError::TooLarge(limit))) => Err(BackendError::InvalidResponse {
                step: step(),
                reason: format!("the answer is larger than max_response_bytes ({limit})"),
            }),
            Err(_) => Err(BackendError::Timeout { step: step() }),
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").field("name", &self.inner.name).field("base_url", &self.base_url()).finish()
    }
}

/// An error and its causes on one line, without repeating text a wrapper already shows.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Parses a native URL. One that starts with the base URL's origin followed by a plain path is
/// resolved against the base, which gives the same URL without parsing the host (with IDNA
/// mapping) on every call; anything else is parsed whole.
fn parse_under(base: &reqwest::Url, text: &str) -> Result<reqwest::Url, String> {
    let origin = &base.as_str()[..base.as_str().len() - base.path().len()];
    match text.strip_prefix(origin) {
        Some(rest) if rest.starts_with('/') && !matches!(rest.as_bytes().get(1), Some(b'/' | b'\\')) => {
            base.join(rest).map_err(|e| e.to_string())
        }
        _ => reqwest::Url::parse(text).map_err(|e| e.to_string()),
    }
}

fn parse_base_url(text: &str) -> Result<reqwest::Url, BackendBuildError> {
    let err = |reason: &str| BackendBuildError::BaseUrl { url: text.to_owned(), reason: reason.to_owned() };
    if text.is_empty() {
        return Err(err("is not set; set it in the mapping's backend section or the route's overrides"));
    }
    let url = reqwest::Url::parse(text).map_err(|e| err(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err("must be an http or https URL"));
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(err("must be a plain URL with a host and no query, fragment or credentials"));
    }
    Ok(url)
}

/// The client of the OAuth2 token endpoint: the native calls' TLS configuration, no redirects
/// (they would send the client secret elsewhere), no proxy from the environment.
fn build_token_client(
    settings: &BackendSettings,
    mut tls: rustls::ClientConfig,
) -> Result<reqwest::Client, BackendBuildError> {
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_millis(settings.timeouts.connect_ms))
        .tcp_nodelay(true)
        .user_agent(USER_AGENT)
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| BackendBuildError::Client(error_chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(base: &str) -> Backend {
        let settings = BackendSettings { base_url: base.into(), ..BackendSettings::default() };
        Backend::new("t", &settings, None).unwrap()
    }

    fn get(url: &str) -> NativeRequest {
        NativeRequest {
            method: Method::GET,
            url: url.into(),
            headers: vec![],
            body: None,
            step: Arc::from("s"),
            answer: crate::backend::AnswerBody::Keep,
        }
    }

    #[test]
    fn urls_resolved_against_the_base_are_the_urls_parsed_whole() {
        let base = reqwest::Url::parse("https://app.example:8443/api/v2").unwrap();
        for text in [
            "https://app.example:8443/api/v2/users/1?fields=a%2Cb&x=%20",
            "https://app.example:8443/api/v2/../../admin",
            "https://app.example:8443/api/v2/./users/%2e%2e/x",
            "https://app.example:8443//evil.example/x",
            "https://app.example:8443/\\evil.example/x",
            "https://app.example:8443/api/v2/a b/ü?q=ü#frag",
            "https://app.example:8443",
            "https://app.example:84430/api/v2/x",
            "https://app.example:8443@evil.example/api/v2/x",
            "https://APP.example:8443/api/v2/x",
            "http://app.example:8443/api/v2/x",
        ] {
            assert_eq!(
                super::parse_under(&base, text).map(String::from),
                reqwest::Url::parse(text).map(String::from).map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn urls_must_stay_under_the_base_url() {
        let b = backend("https://app.example/api/v2/");
        for ok in ["https://app.example/api/v2/users", "https://app.example/api/v2", "https://app.example/api/v2/u?x=1"]
        {
            assert!(b.check_url(&get(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "https://evil.example/api/v2/users",
            "http://app.example/api/v2/users",
            "https://app.example:444/api/v2/users",
            "https://app.example/api/v20/users",
            "https://app.example/other",
            "https://u:p@app.example/api/v2/users",
            "not a url",
        ] {
            let e = b.check_url(&get(bad)).unwrap_err();
            assert!(matches!(e, BackendError::InvalidRequest { .. }), "{bad}: {e:?}");
            assert!(!e.may_have_applied());
        }
        // Dot segments are resolved by the URL parser before the check.
        assert!(b.check_url(&get("https://app.example/api/v2/../../admin")).is_err());
    }

    #[test]
    fn bad_settings_are_refused_with_the_key_named() {
        let bad = |s: BackendSettings| Backend::new("t", &s, None).unwrap_err().to_string();
        let base = || BackendSettings { base_url: "http://x".into(), ..BackendSettings::default() };
        assert!(bad(BackendSettings::default()).contains("base_url"));
        assert!(bad(BackendSettings { base_url: "ftp://x".into(), ..base() }).contains("base_url"));
        assert!(bad(BackendSettings { concurrency: 0, ..base() }).contains("concurrency"));
        let mut s = base();
        s.retries.attempts = 0;
        assert!(bad(s).contains("retries.attempts"));
        let mut s = base();
        s.headers.insert("Bad Header".into(), "v".into());
        assert!(bad(s).contains("headers.Bad Header"));
        let mut s = base();
        s.tls.client_cert_file = Some("/c.pem".into());
        assert!(bad(s).contains("together"));
        let mut s = base();
        s.tls.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(bad(s).contains("tls.ca_file"));
        let s = BackendSettings {
            auth: super::super::AuthSettings::GatewayJwt {
                issuer: "i".into(),
                audience: "a".into(),
                subject: "s".into(),
                lifetime_secs: 300,
                scope: None,
            },
            ..base()
        };
        assert!(bad(s).contains("signing keys"));
        let s = BackendSettings {
            auth: super::super::AuthSettings::Bearer {
                token: super::super::Secret::Env { env: "SCIMGATE_T_UNSET".into() },
            },
            ..base()
        };
        assert!(bad(s).contains("auth.token"));
    }
}
