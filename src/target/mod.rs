//! The interface every target implements, and the built-in `memory` target.
//!
//! The SCIM layer speaks only to [`Target`]: it has already normalised the IdP's dialect, validated
//! the request against the route's schema and parsed filters and PATCH operations. A target holds or
//! forwards the resources; it never sees raw HTTP.

pub mod memory;
mod sharded;

use std::sync::Arc;

use async_trait::async_trait;

use crate::scim::filter::Filter;
use crate::scim::patch::PatchRequest;
use crate::scim::{Resource, ResourceKind, SchemaModel, ScimError};

/// Who is calling and under which request id; passed to every target call for logs and audit.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    /// Taken from `client-request-id` / `X-Request-Id`, or generated.
    pub request_id: String,
    /// The route name (first path segment).
    pub route: Arc<str>,
    /// The authenticated client, for audit; never a credential.
    pub principal: Option<Arc<str>>,
}

/// A list/query request after parsing: filter, 1-based `start_index`, clamped `count`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based; already clamped to ≥ 1.
    pub start_index: usize,
    /// Already clamped to `0..=max_count`.
    pub count: usize,
    /// False when the caller excluded `members` (groups): a target may skip fetching them.
    pub with_members: bool,
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPage {
    /// All matches, not only this page.
    pub total_results: usize,
    /// The page, at most `count` resources starting at `start_index`.
    pub resources: Vec<Resource>,
}

/// Result of a PATCH: the resource after the change, when the target has it at hand.
#[derive(Debug, Clone, PartialEq)]
pub enum Patched {
    /// The new state of the resource.
    Resource(Resource),
    /// Applied, but the new state was not read back (e.g. big group membership changes).
    Applied,
}

/// A provisioning target: where users and groups live.
///
/// Contract for implementors:
/// - Ids are opaque strings chosen by the target; they must be stable and never contain `/`-decoded
///   surprises (the SCIM layer percent-decodes the path segment before calling).
/// - Returned resources carry `id`, `schemas` and `meta` (`resourceType`, `location` relative to the
///   resource endpoint is filled in by the SCIM layer if absent).
/// - A success means the change is durable in the target; partial failures are errors.
#[async_trait]
pub trait Target: Send + Sync + 'static {
    /// What this target can hold; drives `/Schemas`, `/ResourceTypes` and request validation.
    fn schemas(&self) -> &SchemaModel;

    /// Creates a resource. `resource` is normalised and validated (no read-only attributes).
    async fn create(&self, ctx: &RequestCtx, kind: ResourceKind, resource: Resource) -> Result<Resource, ScimError>;

    /// Reads one resource by id; `404` when absent.
    async fn get(&self, ctx: &RequestCtx, kind: ResourceKind, id: &str) -> Result<Resource, ScimError>;

    /// Reads one resource without its group members, for answers that will not show them (Entra
    /// reads groups with `excludedAttributes=members`). Targets where members cost extra native
    /// calls override it.
    async fn get_without_members(&self, ctx: &RequestCtx, kind: ResourceKind, id: &str) -> Result<Resource, ScimError> {
        self.get(ctx, kind, id).await
    }

    /// Lists resources matching `query.filter`; the SCIM layer applies projection afterwards.
    async fn list(&self, ctx: &RequestCtx, kind: ResourceKind, query: &ListQuery) -> Result<ListPage, ScimError>;

    /// Replaces a resource (PUT). `resource` is normalised; read-only attributes removed.
    async fn replace(
        &self,
        ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
        resource: Resource,
    ) -> Result<Resource, ScimError>;

    /// Applies a PATCH atomically from the IdP's point of view.
    async fn patch(
        &self,
        ctx: &RequestCtx,
        kind: ResourceKind,
        id: &str,
        patch: &PatchRequest,
    ) -> Result<Patched, ScimError>;

    /// Deletes a resource; `404` when absent.
    async fn delete(&self, ctx: &RequestCtx, kind: ResourceKind, id: &str) -> Result<(), ScimError>;

    /// Whether the target can take requests now (for `/readyz`).
    async fn ready(&self) -> bool {
        true
    }
}
