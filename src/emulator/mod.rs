//! In-process HTTP emulators of the native user and group APIs the shipped mappings target.
//!
//! Three applications are imitated closely enough for the gateway's mappings to be developed and tested against
//! them: [OpenMetadata](openmetadata) (`/api/v1`), [Collibra Core REST 2.0](collibra) (`/rest/2.0`) and
//! [DataHub's OpenAPI v3 entity API](datahub) (`/openapi/v3`). Each keeps its records in memory behind one lock,
//! answers with the application's own field names, status codes, paging and error envelopes, and demands the
//! application's kind of credentials. They serve the test suite, the load harness and `scimgate demo`.
//!
//! Every emulator shares the same machinery:
//! - it listens on `127.0.0.1:0` by default ([`ServerOptions`]) and stops on [`Emulator::shutdown`] or drop;
//! - a [`Faults`] handle injects latency, error statuses, `429` with `Retry-After`, and connection resets, for all
//!   requests or only matching ones (method, path prefix, the k-th match, a seeded probability);
//! - a [`RequestLog`] records every request as received (raw path, query, headers, body), so tests can assert
//!   exactly which native calls were made and how values were percent-encoded;
//! - record accessors (`users()`, `teams()`, …) return `serde_json::Value` snapshots, and `seed_*` methods create
//!   records through the same validation as the API, without HTTP, faults or logging.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use http::{Method, StatusCode};
//! use scimgate::emulator::{FaultRule, OpenMetadataConfig, OpenMetadataEmulator};
//!
//! let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await?;
//! om.seed_team_under("Engineering", "Department", None)?;
//! // Fail the third team membership replacement with a 503.
//! om.faults().add(FaultRule::status(StatusCode::SERVICE_UNAVAILABLE).method(Method::PUT).path_prefix("/api/v1/teams/").nth(3));
//! om.faults().set_latency(Duration::from_millis(5));
//! println!("OpenMetadata at {}", om.api_url());
//! om.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod collibra;
pub mod datahub;
mod faults;
mod json_patch;
mod log;
pub mod openmetadata;
mod server;
mod wire;

use std::net::SocketAddr;

use http::StatusCode;
use serde_json::Value;

pub use self::collibra::{CollibraConfig, CollibraEmulator};
pub use self::datahub::{DataHubConfig, DataHubEmulator};
pub use self::faults::{FaultAction, FaultId, FaultRule, Faults, Trigger};
pub use self::log::{RecordedRequest, RequestLog};
pub use self::openmetadata::{OpenMetadataConfig, OpenMetadataEmulator};
pub use self::server::{Emulator, ServerOptions};
use self::wire::Reply;

/// Why an emulator could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The server task ended abnormally while stopping.
    #[error("the emulator's server task did not stop cleanly")]
    Stopped,
}

/// A seeding call the emulated application rejected, with the status and error body the API would have sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("seeding was rejected with status {status}: {body}")]
pub struct SeedError {
    /// The HTTP status the API would have answered.
    pub status: u16,
    /// The application's error body.
    pub body: Value,
}

impl SeedError {
    pub(crate) fn new(status: StatusCode, body: Value) -> SeedError {
        SeedError { status: status.as_u16(), body }
    }

    /// Turns an in-process answer into the created record or the rejection.
    pub(crate) fn check(reply: Reply) -> Result<Value, SeedError> {
        if reply.status.is_success() {
            Ok(reply.body_json())
        } else {
            Err(SeedError::new(reply.status, reply.body_json()))
        }
    }
}
