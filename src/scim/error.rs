//! SCIM error responses (RFC 7644 §3.12).
//!
//! Every failure that reaches an IdP is a [`ScimError`]: an HTTP status, an optional `scimType` and a
//! human-readable detail. Lower layers return their own typed errors and convert at the edge.

use std::time::Duration;

use serde_json::{Value, json};

/// The error message schema URN.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` values of RFC 7644 Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// Parses a `scimType` name as written in RFC 7644 (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        const ALL: [ScimType; 10] = [
            ScimType::InvalidFilter,
            ScimType::TooMany,
            ScimType::Uniqueness,
            ScimType::Mutability,
            ScimType::InvalidSyntax,
            ScimType::InvalidPath,
            ScimType::NoTarget,
            ScimType::InvalidValue,
            ScimType::InvalidVers,
            ScimType::Sensitive,
        ];
        ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM protocol error, rendered as an `urn:ietf:params:scim:api:messages:2.0:Error` body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}{}: {detail}", scim_type.map(|t| format!(" {t}")).unwrap_or_default())]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    pub scim_type: Option<ScimType>,
    /// Shown to IdP administrators (Okta displays it); never carries secrets.
    pub detail: String,
    /// Sent as `Retry-After` when the caller should back off (429/503).
    pub retry_after: Option<Duration>,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into(), retry_after: None }
    }

    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, None, detail)
    }
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(415, None, detail)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }
    pub fn bad_gateway(detail: impl Into<String>) -> Self {
        Self::new(502, None, detail)
    }
    pub fn unavailable(detail: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ScimError { retry_after, ..Self::new(503, None, detail) }
    }
    pub fn too_many_requests(detail: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ScimError { retry_after, ..Self::new(429, None, detail) }
    }
    pub fn gateway_timeout(detail: impl Into<String>) -> Self {
        Self::new(504, None, detail)
    }

    /// The RFC 7644 §3.12 JSON body; `status` is a string, as the RFC's examples and Entra expect.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.as_str().to_owned());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_string_status_and_scim_type() {
        let e = ScimError::uniqueness("userName taken");
        let b = e.to_json();
        assert_eq!(b["status"], "409");
        assert_eq!(b["scimType"], "uniqueness");
        assert_eq!(b["schemas"][0], ERROR_SCHEMA);
        assert_eq!(b["detail"], "userName taken");
    }

    #[test]
    fn not_found_has_no_scim_type() {
        let b = ScimError::not_found("no such user").to_json();
        assert!(b.get("scimType").is_none());
        assert_eq!(b["status"], "404");
    }

    #[test]
    fn scim_type_parses_case_insensitively() {
        assert_eq!(ScimType::parse("INVALIDFILTER"), Some(ScimType::InvalidFilter));
        assert_eq!(ScimType::parse("nope"), None);
    }
}
