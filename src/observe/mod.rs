//! Observability: Prometheus metrics, the audit stream, and the request classification both use.

pub mod audit;
pub mod calls;
pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
pub mod request;

pub use metrics::metrics;
