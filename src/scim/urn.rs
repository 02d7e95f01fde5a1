//! Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3).

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Splits a URN-qualified attribute path such as
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` into the schema URN
/// and the remainder (`manager.value`). Returns `None` when `path` is not URN-qualified.
///
/// The attribute name is the text after the last `:`; SCIM attribute names cannot contain `:`.
pub fn split_qualified(path: &str) -> Option<(&str, &str)> {
    if !path.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return None;
    }
    let idx = path.rfind(':')?;
    let (uri, rest) = (&path[..idx], &path[idx + 1..]);
    if rest.is_empty() {
        return None;
    }
    Some((uri, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_qualified_paths() {
        assert_eq!(
            split_qualified("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            Some((ENTERPRISE_USER, "manager.value"))
        );
        assert_eq!(split_qualified("urn:ietf:params:scim:schemas:core:2.0:User:userName"), Some((USER, "userName")));
        assert_eq!(split_qualified("userName"), None);
        assert_eq!(split_qualified("urn:x:"), None);
    }
}
