//! What a SCIM request is, for metrics, logs and audit: resource type, operation, and a path
//! template with the id replaced, so logs never carry ids (which can encode user names).

use http::Method;

/// The classification of one SCIM request path (relative to `/scim/v2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKind {
    /// `User`, `Group`, or empty for discovery and unknown paths.
    pub resource: &'static str,
    /// `create`, `get`, `list`, `search`, `replace`, `patch`, `delete`, `discovery` or `other`.
    pub operation: &'static str,
    /// The path with the resource id replaced by `{id}`.
    pub template: String,
    /// The resource id in the path, percent-decoded.
    pub id: Option<String>,
}

impl RequestKind {
    /// Whether the request changes provisioning state (and so gets an audit event).
    pub fn is_change(&self) -> bool {
        matches!(self.operation, "create" | "replace" | "patch" | "delete")
    }
}

pub fn classify(method: &Method, path: &str) -> RequestKind {
    let trimmed = path.trim_start_matches('/');
    let (first, rest) = match trimmed.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (trimmed, None),
    };
    let resource = if first.eq_ignore_ascii_case("Users") {
        "User"
    } else if first.eq_ignore_ascii_case("Groups") {
        "Group"
    } else {
        let discovery =
            ["ServiceProviderConfig", "ResourceTypes", "Schemas"].iter().any(|d| first.eq_ignore_ascii_case(d));
        let operation = if discovery {
            "discovery"
        } else if first == ".search" {
            "search"
        } else {
            "other"
        };
        let template = if discovery { format!("/{first}") } else { "/…".to_owned() };
        return RequestKind { resource: "", operation, template, id: None };
    };
    let endpoint = if resource == "User" { "/Users" } else { "/Groups" };
    let (operation, template, id) = match (rest, method) {
        (None | Some(""), &Method::GET) => ("list", endpoint.to_owned(), None),
        (None | Some(""), &Method::POST) => ("create", endpoint.to_owned(), None),
        (Some(".search"), _) => ("search", format!("{endpoint}/.search"), None),
        (Some(id), m) if !id.contains('/') => {
            let op = match *m {
                Method::GET => "get",
                Method::PUT => "replace",
                Method::PATCH => "patch",
                Method::DELETE => "delete",
                _ => "other",
            };
            let decoded = percent_encoding::percent_decode_str(id).decode_utf8_lossy().into_owned();
            (op, format!("{endpoint}/{{id}}"), Some(decoded))
        }
        _ => ("other", format!("{endpoint}/…"), None),
    };
    RequestKind { resource, operation, template, id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_and_hides_ids() {
        let k = classify(&Method::PATCH, "/Users/dXJuOmxp%3D");
        assert_eq!((k.resource, k.operation, k.template.as_str()), ("User", "patch", "/Users/{id}"));
        assert_eq!(k.id.as_deref(), Some("dXJuOmxp="));
        assert!(k.is_change());
        assert_eq!(classify(&Method::GET, "/Groups").operation, "list");
        assert_eq!(classify(&Method::POST, "/Groups").operation, "create");
        assert_eq!(classify(&Method::POST, "/Users/.search").operation, "search");
        assert_eq!(classify(&Method::GET, "/Schemas/urn:x").operation, "discovery");
        assert_eq!(classify(&Method::GET, "/Users/a/b").template, "/Users/…");
        assert!(!classify(&Method::GET, "/Users/a").is_change());
    }
}
