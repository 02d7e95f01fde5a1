//! Prometheus metrics, rendered at `/metrics` in the OpenMetrics text format.
//!
//! One registry per process, reached through [`metrics()`]: the backend client, the
//! authenticators and the router all record into it without threading a handle through every
//! constructor, and a process is what Prometheus scrapes anyway.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Latency buckets in seconds, from 1 ms to 30 s.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

fn latency() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Buckets for the gateway's own share of a request, from 0.1 ms to 1 s: a fraction of a
/// millisecond normally.
const OWN_BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

fn own_latency() -> Histogram {
    Histogram::new(OWN_BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScimLabels {
    pub route: Arc<str>,
    pub resource: &'static str,
    pub operation: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScimLatencyLabels {
    pub route: Arc<str>,
    pub resource: &'static str,
    pub operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    pub backend: Arc<str>,
    pub method: Cow<'static, str>,
    pub status: BackendStatus,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLatencyLabels {
    pub backend: Arc<str>,
    pub method: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    pub kind: &'static str,
    pub outcome: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefreshLabels {
    pub source: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BreakerLabels {
    pub backend: Arc<str>,
}

/// A backend call's `status` label: the HTTP status, or why there was none.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum BackendStatus {
    Code(u16),
    /// A failure class (`timeout`, `unreachable`, `circuit_open`…).
    Failure(&'static str),
}

impl EncodeLabelValue for BackendStatus {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        match self {
            BackendStatus::Code(code) => code.encode(encoder),
            BackendStatus::Failure(class) => class.encode(encoder),
        }
    }
}

/// How long a SCIM request took, and how much of it was spent waiting on applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub total: std::time::Duration,
    pub waited: std::time::Duration,
}

impl Timing {
    /// The gateway's own share: authentication, translation, serialisation and waiting for a
    /// thread.
    pub fn own(&self) -> std::time::Duration {
        self.total.saturating_sub(self.waited)
    }
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    pub scim_requests: Family<ScimLabels, Counter>,
    pub scim_duration: Family<ScimLatencyLabels, Histogram, fn() -> Histogram>,
    /// The part of `scim_duration` not spent waiting on applications.
    pub scim_gateway_duration: Family<ScimLatencyLabels, Histogram, fn() -> Histogram>,
    pub in_flight: Gauge,
    pub backend_requests: Family<BackendLabels, Counter>,
    pub backend_duration: Family<BackendLatencyLabels, Histogram, fn() -> Histogram>,
    pub auth: Family<AuthLabels, Counter>,
    pub jwks_refreshes: Family<RefreshLabels, Counter>,
    pub token_refreshes: Family<RefreshLabels, Counter>,
    /// 0 closed, 1 half-open, 2 open.
    pub breaker_state: Family<BreakerLabels, Gauge>,
    pub reloads: Family<ResultLabels, Counter>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("scimgate");
        let m = Metrics {
            scim_requests: Family::default(),
            scim_duration: Family::new_with_constructor(latency as fn() -> Histogram),
            scim_gateway_duration: Family::new_with_constructor(own_latency as fn() -> Histogram),
            in_flight: Gauge::default(),
            backend_requests: Family::default(),
            backend_duration: Family::new_with_constructor(latency as fn() -> Histogram),
            auth: Family::default(),
            jwks_refreshes: Family::default(),
            token_refreshes: Family::default(),
            breaker_state: Family::default(),
            reloads: Family::default(),
            registry: Registry::default(),
        };
        registry.register("scim_requests", "SCIM requests answered", m.scim_requests.clone());
        registry.register("scim_request_duration_seconds", "SCIM request latency", m.scim_duration.clone());
        registry.register(
            "scim_request_gateway_duration_seconds",
            "Time of SCIM requests spent in the gateway, outside calls to applications",
            m.scim_gateway_duration.clone(),
        );
        registry.register("scim_requests_in_flight", "SCIM requests being handled", m.in_flight.clone());
        registry.register("backend_requests", "Calls to applications' APIs, by answer", m.backend_requests.clone());
        registry.register(
            "backend_request_duration_seconds",
            "Latency of calls to applications' APIs",
            m.backend_duration.clone(),
        );
        registry.register("auth", "Authentication outcomes", m.auth.clone());
        registry.register("jwks_refreshes", "JWKS fetches of trusted issuers", m.jwks_refreshes.clone());
        registry.register("backend_token_refreshes", "Access tokens fetched for backends", m.token_refreshes.clone());
        registry.register(
            "backend_circuit_state",
            "Circuit breaker state per backend (0 closed, 1 half-open, 2 open)",
            m.breaker_state.clone(),
        );
        registry.register("config_reloads", "Configuration reloads", m.reloads.clone());
        Metrics { registry, ..m }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    // The label values are shared names and fixed words, so recording allocates nothing on the
    // request path once a label set has been seen.

    pub fn record_scim(
        &self,
        route: &Arc<str>,
        resource: &'static str,
        operation: &'static str,
        status: u16,
        timing: Timing,
    ) {
        let latency = ScimLatencyLabels { route: Arc::clone(route), resource, operation };
        self.scim_duration.get_or_create(&latency).observe(timing.total.as_secs_f64());
        self.scim_gateway_duration.get_or_create(&latency).observe(timing.own().as_secs_f64());
        let labels = ScimLabels { route: latency.route, resource, operation, status };
        self.scim_requests.get_or_create(&labels).inc();
    }

    pub fn record_backend(&self, backend: &Arc<str>, method: &http::Method, status: BackendStatus, seconds: f64) {
        let latency = BackendLatencyLabels { backend: Arc::clone(backend), method: method_label(method) };
        self.backend_duration.get_or_create(&latency).observe(seconds);
        let labels = BackendLabels { backend: latency.backend, method: latency.method, status };
        self.backend_requests.get_or_create(&labels).inc();
    }

    pub fn record_auth(&self, kind: &'static str, outcome: &'static str, reason: &'static str) {
        self.auth.get_or_create(&AuthLabels { kind, outcome, reason }).inc();
    }

    pub fn record_reload(&self, ok: bool) {
        let result = if ok { "applied" } else { "rejected" };
        self.reloads.get_or_create(&ResultLabels { result: result.into() }).inc();
    }
}

/// The method's name, without an allocation for the standard methods.
fn method_label(method: &http::Method) -> Cow<'static, str> {
    use http::Method;
    let name = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => return Cow::Owned(method.as_str().to_owned()),
    };
    Cow::Borrowed(name)
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_recorded_values() {
        let m = Metrics::new();
        let ms = std::time::Duration::from_micros;
        m.record_scim(&Arc::from("main"), "User", "create", 201, Timing { total: ms(4000), waited: ms(3800) });
        m.record_backend(&Arc::from("om"), &http::Method::POST, BackendStatus::Code(201), 0.002);
        m.record_backend(
            &Arc::from("om"),
            &http::Method::from_bytes(b"PURGE").unwrap(),
            BackendStatus::Failure("timeout"),
            0.1,
        );
        m.record_auth("static", "rejected", "invalid");
        let text = m.render();
        assert!(
            text.contains(
                r#"scimgate_scim_requests_total{route="main",resource="User",operation="create",status="201"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"scimgate_scim_request_duration_seconds_bucket{le="0.005",route="main",resource="User",operation="create"} 1"#), "{text}");
        // 0.2 ms of its own: over the 0.1 ms bucket, within 0.25 ms.
        let own = "scimgate_scim_request_gateway_duration_seconds_bucket";
        let labels = r#"route="main",resource="User",operation="create""#;
        assert!(text.contains(&format!(r#"{own}{{le="0.0001",{labels}}} 0"#)), "{text}");
        assert!(text.contains(&format!(r#"{own}{{le="0.00025",{labels}}} 1"#)), "{text}");
        assert!(
            text.contains(r#"scimgate_backend_requests_total{backend="om",method="POST",status="201"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"scimgate_backend_requests_total{backend="om",method="PURGE",status="timeout"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"scimgate_auth_total{kind="static",outcome="rejected",reason="invalid"} 1"#), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
