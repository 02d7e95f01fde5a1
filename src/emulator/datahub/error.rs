//! DataHub's error answers: `{"error": "…"}` for most failures, an empty body for 404.

use http::StatusCode;
use serde_json::json;

use crate::emulator::wire::Reply;

/// A failed request.
#[derive(Debug, Clone)]
pub(super) struct DhError {
    pub status: StatusCode,
    /// `None` answers without a body.
    pub message: Option<String>,
}

impl DhError {
    pub fn bad_request(message: impl Into<String>) -> DhError {
        DhError { status: StatusCode::BAD_REQUEST, message: Some(message.into()) }
    }

    pub fn new(status: StatusCode, message: impl Into<String>) -> DhError {
        DhError { status, message: Some(message.into()) }
    }

    pub fn empty(status: StatusCode) -> DhError {
        DhError { status, message: None }
    }

    pub fn reply(&self) -> Reply {
        match &self.message {
            Some(message) => envelope(self.status, message),
            None => Reply::empty(self.status),
        }
    }
}

/// `{"error": message}` with the status.
pub(super) fn envelope(status: StatusCode, message: &str) -> Reply {
    Reply::json(status, &json!({"error": message}))
}
