//! Observability: Prometheus metrics, the audit stream, and the request classification both use.

pub mod audit;
pub mod calls;
pub mod metrics;
pub mod request;

pub use metrics::metrics;
