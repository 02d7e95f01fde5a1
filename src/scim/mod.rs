//! The SCIM 2.0 protocol core (RFC 7643/7644), with no I/O.

pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod urn;

pub use error::{ScimError, ScimType};
pub use schema::{ResourceKind, ResourceSchema, SchemaModel};

/// A SCIM resource as JSON: always an object.
pub type Resource = serde_json::Map<String, serde_json::Value>;

/// The member of `object` named `key` in any case: SCIM attribute names and message keys are
/// case-insensitive (RFC 7643 §2.1), and IdPs spell them differently. The exact spelling wins
/// when several are present.
pub fn get_ci<'a>(object: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> Option<&'a serde_json::Value> {
    object.get(key).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}
