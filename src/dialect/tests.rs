//! Tests of the dialect layer, one file per entry point. Bodies are the ones the IdP behaviour reference
//! and its corpus record (case ids in comments), with placeholders filled in.

mod filter;
mod idempotence;
mod patch;
mod patch_request;
mod query;
mod resource;

use crate::scim::{ResourceKind, ResourceSchema};

fn user() -> ResourceSchema {
    ResourceSchema::rfc(ResourceKind::User)
}

fn group() -> ResourceSchema {
    ResourceSchema::rfc(ResourceKind::Group)
}
