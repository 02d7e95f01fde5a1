//! The outbound HTTP client: the only code that talks to target applications.
//!
//! It knows nothing of SCIM or mappings. The engine renders each native call into a
//! [`NativeRequest`] and hands it to a [`Backend`], which adds the application's credential,
//! respects the concurrency limit and circuit breaker, retries what is safe to retry, and returns
//! the application's [`NativeResponse`] whatever its status.
//!
//! Failures are [`BackendError`]s tagged by whether the application may have acted on the call
//! ([`BackendError::may_have_applied`]): a call that never left (refused connection, TLS failure,
//! open breaker) is safe to send again; one that timed out or broke mid-answer is not, unless its
//! method is idempotent. That distinction decides retries here and what the gateway tells the IdP
//! about a partly applied operation.
//!
//! Settings come from a mapping file's `backend` section ([`BackendSettings`]), with a route's
//! overrides merged in by [`BackendSettings::overlay`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use scimgate::backend::{AnswerBody, Backend, BackendSettings, NativeRequest};
//!
//! let settings: BackendSettings = serde_json::from_value(serde_json::json!({
//!     "base_url": "https://app.example/api",
//!     "auth": { "type": "bearer", "token": { "env": "APP_TOKEN" } },
//!     "retries": { "attempts": 2 }
//! }))?;
//! let backend = Backend::new("app", &settings, None)?;
//! let answer = backend
//!     .send(NativeRequest {
//!         method: http::Method::GET,
//!         url: "https://app.example/api/users/42".into(),
//!         headers: vec![],
//!         body: None,
//!         step: Arc::from("get user"),
//!         answer: AnswerBody::Keep,
//!     })
//!     .await?;
//! println!("{} {:?}", answer.status, answer.json());
//! # Ok(()) }
//! ```

mod auth;
mod breaker;
mod client;
mod error;
mod jwt_signer;
mod native;
mod retry;
mod secret;
mod settings;
mod tls;
mod wire;

pub use breaker::BreakerState;
pub use client::{Backend, BackendStats};
pub use error::{BackendBuildError, BackendError};
pub use jwt_signer::{JwtSigner, JwtSignerError};
pub use native::{AnswerBody, NativeRequest, NativeResponse};
pub use secret::{Secret, SecretError};
pub use settings::{
    AuthSettings, BackendSettings, CircuitBreakerSettings, ClientAuthMethod, OverlayError, RetrySettings,
    TimeoutSettings, TlsSettings,
};
