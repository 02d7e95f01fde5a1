//! What a SCIM request is, for metrics, logs and audit: resource type, operation, and a path
//! template with the id replaced, so logs never carry ids (which can encode user names).

use std::borrow::Cow;

use http::Method;

/// The classification of one SCIM request path (relative to `/scim/v2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKind {
    /// `User`, `Group`, or empty for discovery and unknown paths.
    pub resource: &'static str,
    /// `create`, `get`, `list`, `search`, `replace`, `patch`, `delete`, `discovery` or `other`.
    pub operation: &'static str,
    /// The path with the resource id replaced by `{id}`; static for every path but discovery.
    pub template: Cow<'static, str>,
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
        let template = if discovery { Cow::Owned(format!("/{first}")) } else { Cow::Borrowed("/…") };
        return RequestKind { resource: "", operation, template, id: None };
    };
    let users = resource == "User";
    let pick = |u: &'static str, g: &'static str| Cow::Borrowed(if users { u } else { g });
    let (operation, template, id) = match (rest, method) {
        (None | Some(""), &Method::GET) => ("list", pick("/Users", "/Groups"), None),
        (None | Some(""), &Method::POST) => ("create", pick("/Users", "/Groups"), None),
        (Some(".search"), _) => ("search", pick("/Users/.search", "/Groups/.search"), None),
        (Some(id), m) if !id.contains('/') => {
            let op = match *m {
                Method::GET => "get",
                Method::PUT => "replace",
                Method::PATCH => "patch",
                Method::DELETE => "delete",
                _ => "other",
            };
            let decoded = percent_encoding::percent_decode_str(id).decode_utf8_lossy().into_owned();
            (op, pick("/Users/{id}", "/Groups/{id}"), Some(decoded))
        }
        _ => ("other", pick("/Users/…", "/Groups/…"), None),
    };
    RequestKind { resource, operation, template, id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_and_hides_ids() {
        let k = classify(&Method::PATCH, "/Users/dXJuOmxp%3D");
        assert_eq!((k.resource, k.operation, &*k.template), ("User", "patch", "/Users/{id}"));
        assert_eq!(classify(&Method::DELETE, "/Groups/g1").template, "/Groups/{id}");
        assert_eq!(classify(&Method::POST, "/Groups/.search").template, "/Groups/.search");
        assert_eq!(classify(&Method::GET, "/Groups").template, "/Groups");
        assert_eq!(k.id.as_deref(), Some("dXJuOmxp="));
        assert!(k.is_change());
        assert_eq!(classify(&Method::GET, "/Groups").operation, "list");
        assert_eq!(classify(&Method::POST, "/Groups").operation, "create");
        assert_eq!(classify(&Method::POST, "/Users/.search").operation, "search");
        assert_eq!(classify(&Method::GET, "/Schemas/urn:x").operation, "discovery");
        assert_eq!(classify(&Method::GET, "/schemas/urn:x").template, "/schemas");
        assert_eq!(classify(&Method::GET, "/Users/a/b").template, "/Users/…");
        assert!(!classify(&Method::GET, "/Users/a").is_change());
    }
}
