//! OpenMetadata's error envelope, `{"code": 404, "message": "…"}`, and the body readers that produce it.
//!
//! Request bodies are checked the way OpenMetadata's Jackson + Bean Validation stack rejects them: unknown
//! properties of a schema with `additionalProperties: false`, wrong JSON types, missing required fields and
//! pattern/size violations all answer 400 with a message naming the field.

use http::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::emulator::wire::Reply;

/// A failed request, rendered as OpenMetadata's error body.
#[derive(Debug, Clone)]
pub(super) struct OmError {
    pub status: StatusCode,
    pub message: String,
}

impl OmError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> OmError {
        OmError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> OmError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A duplicate name on create (`EntityRepository` maps the unique-key violation to this).
    pub fn exists() -> OmError {
        Self::new(StatusCode::CONFLICT, "Entity already exists")
    }

    pub fn reply(&self) -> Reply {
        envelope(self.status, &self.message)
    }
}

/// OpenMetadata's error body for any status.
pub(super) fn envelope(status: StatusCode, message: &str) -> Reply {
    Reply::json(status, &json!({"code": status.as_u16(), "message": message}))
}

/// Reads the fields of one JSON object, remembering the schema class for messages.
pub(super) struct Body<'a> {
    pub map: &'a Map<String, Value>,
    class: &'static str,
}

impl<'a> Body<'a> {
    /// The body must be an object whose keys are all in `allowed`.
    pub fn strict(value: &'a Value, class: &'static str, allowed: &[&str]) -> Result<Body<'a>, OmError> {
        let map = value.as_object().ok_or_else(|| {
            OmError::bad_request(format!("Cannot deserialize value of type `{class}` from non-object value"))
        })?;
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(OmError::bad_request(format!(
                "Unrecognized field \"{unknown}\" (class {class}), not marked as ignorable"
            )));
        }
        Ok(Body { map, class })
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn type_error(&self, key: &str, expected: &str) -> OmError {
        OmError::bad_request(format!(
            "Cannot deserialize value of type `{expected}` for property \"{key}\" of {}",
            self.class
        ))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<String>, OmError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.type_error(key, "java.lang.String")),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<String, OmError> {
        self.opt_str(key)?.ok_or_else(|| OmError::bad_request(format!("[{key} must not be null]")))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, OmError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.type_error(key, "java.lang.Boolean")),
        }
    }

    pub fn opt_object(&self, key: &str) -> Result<Option<Value>, OmError> {
        match self.present(key) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(_) => Err(self.type_error(key, "java.lang.Object")),
        }
    }

    pub fn opt_array(&self, key: &str) -> Result<Option<Vec<Value>>, OmError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.clone())),
            Some(_) => Err(self.type_error(key, "java.util.ArrayList")),
        }
    }

    /// An array of UUID strings, as create requests carry relationships.
    pub fn opt_uuids(&self, key: &str) -> Result<Option<Vec<Uuid>>, OmError> {
        let Some(items) = self.opt_array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| {
                item.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| {
                    OmError::bad_request(format!(
                        "Cannot deserialize value of type `java.util.UUID` from {item} in property \"{key}\""
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// Reads the ids out of an array of entity references (`[{"id": …, "type": …}]`), as patches and team member
/// replacement carry them.
pub(super) fn ref_ids(value: &Value, field: &str) -> Result<Vec<Uuid>, OmError> {
    let items = value
        .as_array()
        .ok_or_else(|| OmError::bad_request(format!("{field} must be an array of entity references")))?;
    items
        .iter()
        .map(|item| {
            item.get("id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| OmError::bad_request(format!("[{field}[].id must not be null] in {item}")))
        })
        .collect()
}

/// An entity name check: OpenMetadata's `^((?!::).)*$`, 1 to `max` characters.
pub(super) fn check_entity_name(name: &str, max: usize) -> Result<(), OmError> {
    let len = name.chars().count();
    if len == 0 || len > max {
        return Err(OmError::bad_request(format!("[name size must be between 1 and {max}]")));
    }
    if name.contains("::") {
        return Err(OmError::bad_request("[name must match \"^((?!::).)*$\"]"));
    }
    Ok(())
}

/// The user name check of `user.json`: `^(?U)[\w\-.]+$`, 1 to 64 characters. `@` is not a word character.
pub(super) fn check_user_name(name: &str) -> Result<(), OmError> {
    let len = name.chars().count();
    if len == 0 || len > 64 {
        return Err(OmError::bad_request("[name size must be between 1 and 64]"));
    }
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
    if !name.chars().all(word) {
        return Err(OmError::bad_request("[name must match \"^(?U)[\\w\\-.]+$\"]"));
    }
    Ok(())
}

/// The email check of `email.json`: `^[\S.!#$%&’*+/=?^_`{|}~-]+@\S+\.\S+$`, 6 to 127 characters.
pub(super) fn check_email(field: &str, email: &str) -> Result<(), OmError> {
    let len = email.chars().count();
    if !(6..=127).contains(&len) {
        return Err(OmError::bad_request(format!("[{field} size must be between 6 and 127]")));
    }
    let valid = !email.chars().any(char::is_whitespace)
        && email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.find('.').is_some_and(|dot| dot > 0 && dot + 1 < domain.len())
        });
    if !valid {
        return Err(OmError::bad_request(format!(
            "[{field} must match \"^[\\S.!#$%&’*+/=?^_`{{|}}~-]+@\\S+\\.\\S+$\"]"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_reject_at_and_spaces() {
        assert!(check_user_name("jane.doe-1_x").is_ok());
        assert!(check_user_name("jäne").is_ok());
        assert!(check_user_name("jane@example.com").is_err());
        assert!(check_user_name("jane doe").is_err());
        assert!(check_user_name("").is_err());
        assert!(check_user_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn emails_need_a_dotted_domain() {
        assert!(check_email("email", "jdoe@example.com").is_ok());
        assert!(check_email("email", "jdoe@example").is_err());
        assert!(check_email("email", "jdoe@.com").is_err());
        assert!(check_email("email", "j doe@example.com").is_err());
    }
}
