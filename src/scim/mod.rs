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
