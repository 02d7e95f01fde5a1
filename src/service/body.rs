//! Request body decoding: media type, size and nesting checks before JSON parsing.

use serde_json::Value;

use crate::scim::ScimError;

/// Whether a `Content-Type` is one SCIM accepts: `application/scim+json` or `application/json`
/// (RFC 7644 §3.8 asks for the former; Okta's test suite sends the latter), any parameters.
/// A missing header is tolerated.
pub fn acceptable_content_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
        || essence.is_empty()
}

/// Rejects JSON nested deeper than `max_depth` without building it, so hostile bodies cost one pass.
pub fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), ScimError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(ScimError::invalid_syntax(format!(
                        "request body is nested deeper than {max_depth} levels"
                    )));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses a JSON request body; errors are 400 invalidSyntax with the position.
pub fn parse_json(bytes: &[u8], max_depth: usize) -> Result<Value, ScimError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("request body is empty; a JSON object is required"));
    }
    check_depth(bytes, max_depth)?;
    serde_json::from_slice(bytes).map_err(|e| ScimError::invalid_syntax(format!("request body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert!(acceptable_content_type(Some("application/scim+json")));
        assert!(acceptable_content_type(Some("application/json; charset=utf-8")));
        assert!(acceptable_content_type(Some("Application/SCIM+JSON;charset=UTF-8")));
        assert!(acceptable_content_type(None));
        assert!(!acceptable_content_type(Some("text/plain")));
        assert!(!acceptable_content_type(Some("application/x-www-form-urlencoded")));
    }

    #[test]
    fn depth_limit_counts_only_structure() {
        assert!(check_depth(br#"{"a":[{"b":"[[[[[[[[[[[[["}]}"#, 3).is_ok());
        assert!(check_depth(br#"{"a":[{"b":[1]}]}"#, 3).is_err());
        assert!(check_depth(br#"{"a":"\"{{{{{"}"#, 1).is_ok());
        let deep = "[".repeat(100_000);
        assert_eq!(check_depth(deep.as_bytes(), 64).unwrap_err().status, 400);
    }

    #[test]
    fn parse_errors_are_invalid_syntax() {
        let e = parse_json(br#"{"acve": tre, "userName": "x""#, 64).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.scim_type, Some(crate::scim::ScimType::InvalidSyntax));
        assert!(parse_json(b"  ", 64).is_err());
        assert!(parse_json(br#"{"a":1}"#, 64).is_ok());
    }
}
