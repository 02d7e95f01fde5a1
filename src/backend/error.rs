//! What can go wrong talking to an application, tagged by whether the call may have been applied.
//!
//! The distinction drives both retries (only a call that cannot have been applied, or that is
//! safe to repeat, is sent again) and what the gateway tells the IdP about a partly applied
//! operation.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::secret::SecretError;

/// A failed call to the application. HTTP answers, errors included, are not `BackendError`s:
/// they come back as [`NativeResponse`](super::NativeResponse)s.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// Nothing reached the application: connection refused, DNS failure, TLS handshake failure.
    #[error("{step}: could not reach the application: {reason}")]
    NotSent { step: Arc<str>, reason: String },
    /// No complete answer within the request timeout; the application may have acted.
    #[error("{step}: the application did not answer in time")]
    Timeout { step: Arc<str> },
    /// The connection broke after the request was sent; the application may have acted.
    #[error("{step}: the connection to the application broke before its answer was complete: {reason}")]
    OutcomeUnknown { step: Arc<str>, reason: String },
    /// The circuit breaker is open after repeated failures; nothing was sent.
    #[error("the application is failing repeatedly; calls are paused for {}s", retry_after.as_secs())]
    CircuitOpen { retry_after: Duration },
    /// No concurrency slot freed up within the queue timeout; nothing was sent.
    #[error("too many calls to the application are in progress")]
    Saturated { retry_after: Duration },
    /// The gateway could not obtain its credential for the application; nothing was sent.
    #[error("could not obtain credentials for the application: {reason}")]
    Auth { reason: String },
    /// The request cannot be sent as built (e.g. its URL is not under the backend's base URL).
    #[error("{step}: invalid request: {reason}")]
    InvalidRequest { step: Arc<str>, reason: String },
    /// The application answered, but the answer cannot be used (e.g. it is too large).
    #[error("{step}: unusable answer from the application: {reason}")]
    InvalidResponse { step: Arc<str>, reason: String },
}

impl BackendError {
    /// A short label for metrics and audit events.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::NotSent { .. } => "unreachable",
            BackendError::Timeout { .. } => "timeout",
            BackendError::OutcomeUnknown { .. } => "broken_connection",
            BackendError::CircuitOpen { .. } => "circuit_open",
            BackendError::Saturated { .. } => "saturated",
            BackendError::Auth { .. } => "credentials",
            BackendError::InvalidRequest { .. } => "invalid_request",
            BackendError::InvalidResponse { .. } => "invalid_response",
        }
    }

    /// Whether the application may have processed the request. `false` means it certainly did
    /// not, so sending it again is safe whatever the method.
    pub fn may_have_applied(&self) -> bool {
        match self {
            BackendError::Timeout { .. }
            | BackendError::OutcomeUnknown { .. }
            | BackendError::InvalidResponse { .. } => true,
            BackendError::NotSent { .. }
            | BackendError::CircuitOpen { .. }
            | BackendError::Saturated { .. }
            | BackendError::Auth { .. }
            | BackendError::InvalidRequest { .. } => false,
        }
    }

    /// The step named in the request, when the failure belongs to one call.
    pub fn step(&self) -> Option<&str> {
        match self {
            BackendError::NotSent { step, .. }
            | BackendError::Timeout { step }
            | BackendError::OutcomeUnknown { step, .. }
            | BackendError::InvalidRequest { step, .. }
            | BackendError::InvalidResponse { step, .. } => Some(step),
            BackendError::CircuitOpen { .. } | BackendError::Saturated { .. } | BackendError::Auth { .. } => None,
        }
    }

    /// How long the caller should wait before trying again, when the gateway itself knows.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BackendError::CircuitOpen { retry_after } | BackendError::Saturated { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// Why a backend could not be built from its settings; each names the key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendBuildError {
    #[error("base_url `{url}`: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("{key}: {source}")]
    Secret { key: &'static str, source: SecretError },
    #[error("{key}: cannot read `{}`: {source}", path.display())]
    File { key: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("auth: `gateway_jwt` needs the gateway's signing keys, and none are configured")]
    MissingSigner,
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl BackendBuildError {
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        BackendBuildError::Invalid { key: key.into(), reason: reason.into() }
    }
}
