//! Collibra's `StandardErrorResponse` envelope and the body readers that produce it.
//!
//! `{"statusCode":404,"titleMessage":"Not Found","helpMessage":"Please check the parameters provided.",
//! "userMessage":"…","errorCode":"userNotFound"}`. The error codes are this emulator's own names (the core
//! specification lists only statuses); they are stable so mappings and tests can match on them.

use http::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::emulator::wire::Reply;

/// A failed request, rendered as Collibra's error body.
#[derive(Debug, Clone)]
pub(super) struct CollibraError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl CollibraError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> CollibraError {
        CollibraError { status, code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> CollibraError {
        Self::new(StatusCode::BAD_REQUEST, "invalidRequest", message)
    }

    pub fn not_found(code: &'static str, what: &str, id: impl std::fmt::Display) -> CollibraError {
        Self::new(StatusCode::NOT_FOUND, code, format!("The {what} with id '{id}' could not be found."))
    }

    pub fn reply(&self) -> Reply {
        envelope(self.status, self.code, &self.message)
    }
}

/// The error code used for a status that has no more specific one (injected faults, auth).
pub(super) fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalidRequest",
        401 => "notAuthenticated",
        403 => "notAuthorized",
        404 => "resourceNotFound",
        405 => "methodNotAllowed",
        413 => "payloadTooLarge",
        429 => "tooManyRequests",
        502 => "badGateway",
        503 => "serviceUnavailable",
        504 => "gatewayTimeout",
        _ => "internalError",
    }
}

/// Collibra's error body.
pub(super) fn envelope(status: StatusCode, code: &str, message: &str) -> Reply {
    let help = if status.is_server_error() {
        "Please try again later or contact your administrator."
    } else {
        "Please check the parameters provided."
    };
    Reply::json(
        status,
        &json!({
            "statusCode": status.as_u16(),
            "titleMessage": status.canonical_reason().unwrap_or("Error"),
            "helpMessage": help,
            "userMessage": message,
            "errorCode": code,
        }),
    )
}

/// Reads one request object. Collibra ignores properties it does not know; `null` counts as absent.
pub(super) struct Body<'a> {
    pub map: &'a Map<String, Value>,
}

impl<'a> Body<'a> {
    pub fn of(value: &'a Value) -> Result<Body<'a>, CollibraError> {
        value
            .as_object()
            .map(|map| Body { map })
            .ok_or_else(|| CollibraError::invalid("The request body must be a JSON object."))
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<String>, CollibraError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(CollibraError::invalid(format!("Property '{key}' must be a string, got {other}."))),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<String, CollibraError> {
        self.opt_str(key)?.ok_or_else(|| {
            CollibraError::new(
                StatusCode::BAD_REQUEST,
                "missingRequiredField",
                format!("Property '{key}' is required."),
            )
        })
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, CollibraError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(CollibraError::invalid(format!("Property '{key}' must be a boolean, got {other}."))),
        }
    }

    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, CollibraError> {
        match self.present(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| CollibraError::invalid(format!("Property '{key}' must be an integer, got {v}."))),
        }
    }

    pub fn opt_array(&self, key: &str) -> Result<Option<Vec<Value>>, CollibraError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.clone())),
            Some(other) => Err(CollibraError::invalid(format!("Property '{key}' must be an array, got {other}."))),
        }
    }

    pub fn opt_uuids(&self, key: &str) -> Result<Option<Vec<Uuid>>, CollibraError> {
        let Some(items) = self.opt_array(key)? else { return Ok(None) };
        items
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .ok_or_else(|| CollibraError::invalid(format!("Property '{key}' must hold UUIDs, got {v}.")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn req_uuids(&self, key: &str) -> Result<Vec<Uuid>, CollibraError> {
        self.opt_uuids(key)?.ok_or_else(|| {
            CollibraError::new(
                StatusCode::BAD_REQUEST,
                "missingRequiredField",
                format!("Property '{key}' is required."),
            )
        })
    }

    pub fn opt_uuid(&self, key: &str) -> Result<Option<Uuid>, CollibraError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => Uuid::parse_str(&s)
                .map(Some)
                .map_err(|_| CollibraError::invalid(format!("Property '{key}' must be a UUID, got {s:?}."))),
        }
    }

    /// One of a fixed set of enum names.
    pub fn opt_enum(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, CollibraError> {
        match self.opt_str(key)? {
            Some(v) if !allowed.contains(&v.as_str()) => {
                Err(CollibraError::invalid(format!("Property '{key}' must be one of {allowed:?}, got {v:?}.")))
            }
            other => Ok(other),
        }
    }
}

/// A path id: Spring rejects a malformed UUID before the resource is looked up.
pub(super) fn path_uuid(raw: &str) -> Result<Uuid, CollibraError> {
    Uuid::parse_str(raw).map_err(|_| CollibraError::invalid(format!("'{raw}' is not a valid UUID.")))
}

/// `userName`/`username` rules: 1–255 printable characters, no leading or trailing white space.
pub(super) fn check_user_name(field: &str, name: &str) -> Result<(), CollibraError> {
    let len = name.chars().count();
    if len == 0 || len > 255 {
        return Err(CollibraError::invalid(format!("Property '{field}' must be between 1 and 255 characters long.")));
    }
    if name.chars().any(char::is_control) {
        return Err(CollibraError::invalid(format!("Property '{field}' may contain only printable characters.")));
    }
    if name.trim() != name {
        return Err(CollibraError::invalid(format!("Property '{field}' cannot start or end with white space.")));
    }
    Ok(())
}

/// `emailAddress`/`email` rules: 1–255 characters shaped like an address.
pub(super) fn check_email(field: &str, email: &str) -> Result<(), CollibraError> {
    let shaped = email.chars().count() <= 255
        && !email.chars().any(char::is_whitespace)
        && email.rsplit_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if shaped {
        Ok(())
    } else {
        Err(CollibraError::new(
            StatusCode::BAD_REQUEST,
            "invalidEmailAddress",
            format!("Property '{field}' is not a valid e-mail address: {email:?}."),
        ))
    }
}
