//! The SCIM service: one SCIM request in, target calls, one SCIM response out.
//!
//! HTTP-agnostic on purpose: the server turns an HTTP request into a [`ScimRequest`] and a
//! [`ScimResponse`] back into HTTP, so the whole protocol flow (dialect → validation → target →
//! projection) is testable without sockets and reusable by the command-line tools.

pub mod body;
pub mod discovery;
mod unheld;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::Value;

use crate::dialect;
use crate::scim::filter::{self, AttrPath};
use crate::scim::list::{ListParams, list_response};
use crate::scim::projection::Projection;
use crate::scim::{Resource, ResourceKind, ResourceSchema, SchemaModel, ScimError, get_ci, resource, urn};
use crate::settings::{GroupPatchResponse, ScimSettings};
use crate::target::{ListQuery, Patched, RequestCtx, Target};

/// Limits and policies of the service, from settings.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub scim: ScimSettings,
    pub max_json_depth: usize,
    pub max_body_bytes: usize,
}

/// A SCIM request, already routed to this service and authenticated.
#[derive(Debug, Clone)]
pub struct ScimRequest {
    pub method: Method,
    /// The path below the SCIM base URL, still percent-encoded, e.g. `/Users/2819c223`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// The SCIM base URL as the client sees it, e.g. `https://gw.example/main/scim/v2`.
    pub base_url: String,
    pub ctx: RequestCtx,
    /// The caller may only read.
    pub read_only: bool,
}

/// A SCIM response; the server renders it as `application/scim+json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub location: Option<String>,
    /// Sent as `Allow` with 405 answers.
    pub allow: Option<&'static str>,
    pub retry_after: Option<Duration>,
}

impl ScimResponse {
    fn json(status: u16, body: Value) -> Self {
        ScimResponse { status, body: Some(body), location: None, allow: None, retry_after: None }
    }
    fn no_content() -> Self {
        ScimResponse { status: 204, body: None, location: None, allow: None, retry_after: None }
    }
    pub fn error(e: &ScimError) -> Self {
        ScimResponse { retry_after: e.retry_after, ..Self::json(e.status, e.to_json()) }
    }
}

/// The endpoint a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Collection(ResourceKind),
    Item(ResourceKind, String),
    Search(ResourceKind),
    RootSearch,
    ServiceProviderConfig,
    ResourceTypes,
    ResourceType(String),
    Schemas,
    Schema(String),
    Bulk,
    Me,
}

const ALLOW_COLLECTION: &str = "GET, POST";
const ALLOW_ITEM: &str = "GET, PUT, PATCH, DELETE";
const ALLOW_SEARCH: &str = "POST";
const ALLOW_DISCOVERY: &str = "GET";

fn parse_endpoint(path: &str) -> Result<Endpoint, ScimError> {
    let trimmed = path.trim_matches('/');
    let mut segs = trimmed.splitn(2, '/');
    let first = segs.next().unwrap_or("");
    let rest = segs.next();
    let decode = |s: &str| -> Result<String, ScimError> {
        let d = percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map_err(|_| ScimError::not_found("resource id is not valid UTF-8"))?;
        if d.is_empty() || d.contains('/') || d.chars().any(char::is_control) {
            return Err(ScimError::not_found("no resource has this id"));
        }
        Ok(d.into_owned())
    };
    let not_found = || ScimError::not_found(format!("no SCIM endpoint at {path}"));
    if let Some(kind) = ResourceKind::from_endpoint(first) {
        return match rest {
            None | Some("") => Ok(Endpoint::Collection(kind)),
            Some(".search") => Ok(Endpoint::Search(kind)),
            Some(id) if id.contains('/') => Err(not_found()),
            Some(id) => Ok(Endpoint::Item(kind, decode(id)?)),
        };
    }
    let eq = |name: &str| first.eq_ignore_ascii_case(name);
    match rest {
        None | Some("") if eq("ServiceProviderConfig") => Ok(Endpoint::ServiceProviderConfig),
        None | Some("") if eq("ResourceTypes") => Ok(Endpoint::ResourceTypes),
        None | Some("") if eq("Schemas") => Ok(Endpoint::Schemas),
        None | Some("") if eq(".search") => Ok(Endpoint::RootSearch),
        None | Some("") if eq("Bulk") => Ok(Endpoint::Bulk),
        None | Some("") if eq("Me") => Ok(Endpoint::Me),
        Some(name) if eq("ResourceTypes") && !name.contains('/') => Ok(Endpoint::ResourceType(decode(name)?)),
        Some(id) if eq("Schemas") && !id.contains('/') => Ok(Endpoint::Schema(decode(id)?)),
        _ => Err(not_found()),
    }
}

/// Serves SCIM for one route's target.
pub struct ScimService {
    target: Arc<dyn Target>,
    options: ServiceOptions,
}

impl ScimService {
    pub fn new(target: Arc<dyn Target>, options: ServiceOptions) -> Self {
        ScimService { target, options }
    }

    pub fn target(&self) -> &Arc<dyn Target> {
        &self.target
    }

    fn model(&self) -> &SchemaModel {
        self.target.schemas()
    }

    /// Handles one request; every failure becomes a SCIM error response.
    pub async fn handle(&self, req: ScimRequest) -> ScimResponse {
        match self.dispatch(&req).await {
            Ok(r) => r,
            Err(e) => ScimResponse::error(&e),
        }
    }

    async fn dispatch(&self, req: &ScimRequest) -> Result<ScimResponse, ScimError> {
        let endpoint = parse_endpoint(&req.path)?;
        let m = &req.method;
        let is_write = !matches!(*m, Method::GET | Method::HEAD)
            && !matches!(endpoint, Endpoint::Search(_) | Endpoint::RootSearch);
        if is_write && req.read_only {
            return Err(ScimError::forbidden("this client may only read"));
        }
        let not_allowed = |allow: &'static str| -> Result<ScimResponse, ScimError> {
            let e = ScimError::method_not_allowed(format!("{m} is not allowed here; allowed: {allow}"));
            Ok(ScimResponse { allow: Some(allow), ..ScimResponse::error(&e) })
        };
        let base = req.base_url.as_str();
        match endpoint {
            Endpoint::Collection(kind) => match *m {
                Method::GET => self.query(req, kind, QuerySource::Url).await,
                Method::POST => self.create(req, kind).await,
                _ => not_allowed(ALLOW_COLLECTION),
            },
            Endpoint::Search(kind) => match *m {
                Method::POST => self.query(req, kind, QuerySource::Body).await,
                _ => not_allowed(ALLOW_SEARCH),
            },
            Endpoint::Item(kind, id) => match *m {
                Method::GET => self.get(req, kind, &id).await,
                Method::PUT => self.replace(req, kind, &id).await,
                Method::PATCH => self.patch(req, kind, &id).await,
                Method::DELETE => {
                    self.target.delete(&req.ctx, kind, &id).await?;
                    Ok(ScimResponse::no_content())
                }
                _ => not_allowed(ALLOW_ITEM),
            },
            Endpoint::RootSearch if *m == Method::POST => self.root_search(req).await,
            Endpoint::RootSearch => not_allowed("POST"),
            Endpoint::Bulk | Endpoint::Me => {
                Err(ScimError::not_implemented("this endpoint is not supported by scimgate"))
            }
            _ if *m != Method::GET => not_allowed(ALLOW_DISCOVERY),
            Endpoint::ServiceProviderConfig => {
                let caps = discovery::Capabilities { max_results: self.options.scim.max_count };
                Ok(ScimResponse::json(200, discovery::service_provider_config(base, caps)))
            }
            Endpoint::ResourceTypes => {
                Ok(ScimResponse::json(200, discovery::list(discovery::resource_types(base, self.model()))))
            }
            Endpoint::ResourceType(name) => discovery::resource_types(base, self.model())
                .into_iter()
                .find(|r| r["id"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(&name)))
                .map(|r| ScimResponse::json(200, r))
                .ok_or_else(|| ScimError::not_found(format!("no resource type {name}"))),
            Endpoint::Schemas => Ok(ScimResponse::json(200, discovery::list(discovery::schemas(base, self.model())))),
            Endpoint::Schema(id) => self
                .model()
                .all_schemas()
                .into_iter()
                .find(|s| s.id.eq_ignore_ascii_case(&id))
                .map(|s| ScimResponse::json(200, discovery::schema(base, s)))
                .ok_or_else(|| ScimError::not_found(format!("no schema {id}"))),
        }
    }

    fn body_json(&self, req: &ScimRequest) -> Result<Value, ScimError> {
        if !body::acceptable_content_type(req.content_type.as_deref()) {
            return Err(ScimError::unsupported_media_type("send application/scim+json or application/json"));
        }
        body::parse_json(&req.body, self.options.max_json_depth)
    }

    fn url_projection(&self, req: &ScimRequest) -> Result<(Projection, dialect::QueryParams), ScimError> {
        let params = dialect::normalize_query(req.query.as_deref().unwrap_or(""))?;
        let projection = Projection::from_query(params.attributes.as_deref(), params.excluded_attributes.as_deref())?;
        Ok((projection, params))
    }

    /// Sets `schemas`, `meta.resourceType` and `meta.location`, then projects.
    fn render(&self, kind: ResourceKind, mut r: Resource, base: &str, projection: &Projection) -> Resource {
        let schema = self.model().for_kind(kind);
        let location =
            r.get("id").and_then(Value::as_str).map(|id| format!("{base}/{}/{}", kind.endpoint(), encode_id(id)));
        resource::stamp(schema, &mut r, location.as_deref());
        projection.apply(schema, r)
    }

    /// Whether an answer rendered with `projection` includes group members.
    fn shows_members(&self, kind: ResourceKind, projection: &Projection) -> bool {
        kind == ResourceKind::Group
            && projection
                .includes(self.model().for_kind(kind), &AttrPath { uri: None, name: "members".into(), sub: None })
    }

    /// Parses and checks a filter against everything SCIM defines, then decides the terms on
    /// attributes this target does not hold (see [`unheld`]).
    fn parse_filter(&self, schema: &ResourceSchema, text: &str) -> Result<unheld::Simplified, ScimError> {
        let limits = filter::Limits { max_len: self.options.scim.max_filter_len, ..filter::Limits::default() };
        let full = ResourceSchema::rfc(schema.kind);
        let f = filter::parse_with_limits(text, limits)?;
        let f = dialect::normalize_filter(&full, f);
        filter::validate(&f, &full)?;
        Ok(unheld::simplify_filter(&full, schema, f))
    }

    async fn query(
        &self,
        req: &ScimRequest,
        kind: ResourceKind,
        source: QuerySource,
    ) -> Result<ScimResponse, ScimError> {
        let q = match source {
            QuerySource::Url => {
                let (projection, p) = self.url_projection(req)?;
                QueryInput { projection, filter: p.filter, start_index: p.start_index, count: p.count }
            }
            QuerySource::Body => search_request(&self.body_json(req)?)?,
        };
        let page = self.page(&q)?;
        let filter = self.kind_filter(kind, &q)?;
        let (total, resources) = self.list_kind(req, kind, &q, filter, page.start_index, page.count).await?;
        Ok(ScimResponse::json(200, list_response(total, page.start_index, resources)))
    }

    /// `POST /.search` (RFC 7644 §3.4.3): one result list over users, then groups. A filter naming
    /// an attribute one resource type lacks selects nothing of that type.
    async fn root_search(&self, req: &ScimRequest) -> Result<ScimResponse, ScimError> {
        let q = search_request(&self.body_json(req)?)?;
        let page = self.page(&q)?;
        let users = self.kind_filter(ResourceKind::User, &q);
        let groups = self.kind_filter(ResourceKind::Group, &q);
        let (users, groups) = match (users, groups) {
            (Err(e), Err(_)) => return Err(e),
            (u, g) => (u.ok(), g.ok()),
        };
        let (mut total, mut resources) = match users {
            Some(f) => self.list_kind(req, ResourceKind::User, &q, f, page.start_index, page.count).await?,
            None => (0, Vec::new()),
        };
        if let Some(f) = groups {
            let start = page.start_index.saturating_sub(total).max(1);
            let count = page.count.saturating_sub(resources.len());
            let (t, more) = self.list_kind(req, ResourceKind::Group, &q, f, start, count).await?;
            total += t;
            resources.extend(more);
        }
        Ok(ScimResponse::json(200, list_response(total, page.start_index, resources)))
    }

    fn page(&self, q: &QueryInput) -> Result<ListParams, ScimError> {
        ListParams::from_query(
            q.start_index.as_deref(),
            q.count.as_deref(),
            self.options.scim.default_count,
            self.options.scim.max_count,
        )
    }

    /// The query's filter for one resource type, decided as far as the gateway can.
    fn kind_filter(&self, kind: ResourceKind, q: &QueryInput) -> Result<unheld::Simplified, ScimError> {
        match q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(f) => self.parse_filter(self.model().for_kind(kind), f),
            None => Ok(unheld::Simplified::All),
        }
    }

    /// One page of one resource type, rendered; the total counts every match.
    async fn list_kind(
        &self,
        req: &ScimRequest,
        kind: ResourceKind,
        q: &QueryInput,
        filter: unheld::Simplified,
        start_index: usize,
        count: usize,
    ) -> Result<(usize, Vec<Resource>), ScimError> {
        let schema = self.model().for_kind(kind);
        let filter = match filter {
            unheld::Simplified::All => None,
            unheld::Simplified::Filter(f) => Some(f),
            unheld::Simplified::None => return Ok((0, Vec::new())),
        };
        let with_members = kind == ResourceKind::Group
            && q.projection.includes(schema, &AttrPath { uri: None, name: "members".into(), sub: None });
        let query = ListQuery { filter, start_index, count, with_members };
        let result = self.target.list(&req.ctx, kind, &query).await?;
        let resources =
            result.resources.into_iter().map(|r| self.render(kind, r, &req.base_url, &q.projection)).collect();
        Ok((result.total_results, resources))
    }

    async fn get(&self, req: &ScimRequest, kind: ResourceKind, id: &str) -> Result<ScimResponse, ScimError> {
        let (projection, _) = self.url_projection(req)?;
        let r = if self.shows_members(kind, &projection) {
            self.target.get(&req.ctx, kind, id).await?
        } else {
            self.target.get_without_members(&req.ctx, kind, id).await?
        };
        Ok(ScimResponse::json(200, Value::Object(self.render(kind, r, &req.base_url, &projection))))
    }

    fn write_body(&self, req: &ScimRequest, kind: ResourceKind) -> Result<Resource, ScimError> {
        let schema = self.model().for_kind(kind);
        let body = dialect::normalize_resource(schema, self.body_json(req)?);
        resource::prepare_write(schema, body)
    }

    async fn create(&self, req: &ScimRequest, kind: ResourceKind) -> Result<ScimResponse, ScimError> {
        let (projection, _) = self.url_projection(req)?;
        let r = self.write_body(req, kind)?;
        let created = self.target.create(&req.ctx, kind, r).await?;
        let out = self.render(kind, created, &req.base_url, &Projection::default());
        let location = out.get("meta").and_then(|m| m.get("location")).and_then(Value::as_str).map(str::to_owned);
        let body = projection.apply(self.model().for_kind(kind), out);
        Ok(ScimResponse { location, ..ScimResponse::json(201, Value::Object(body)) })
    }

    async fn replace(&self, req: &ScimRequest, kind: ResourceKind, id: &str) -> Result<ScimResponse, ScimError> {
        let (projection, _) = self.url_projection(req)?;
        let r = self.write_body(req, kind)?;
        let replaced = self.target.replace(&req.ctx, kind, id, r).await?;
        Ok(ScimResponse::json(200, Value::Object(self.render(kind, replaced, &req.base_url, &projection))))
    }

    async fn patch(&self, req: &ScimRequest, kind: ResourceKind, id: &str) -> Result<ScimResponse, ScimError> {
        let (projection, params) = self.url_projection(req)?;
        let schema = self.model().for_kind(kind);
        let full = ResourceSchema::rfc(kind);
        let patch = dialect::normalize_patch(&full, self.body_json(req)?)?;
        let mut patch = unheld::prune_patch(&full, schema, patch);
        if patch.operations.len() > self.options.scim.max_patch_operations {
            return Err(ScimError::too_many(format!(
                "a PATCH may carry at most {} operations",
                self.options.scim.max_patch_operations
            )));
        }
        patch.operations.shrink_to_fit();
        let patched = self.target.patch(&req.ctx, kind, id, &patch).await?;
        let asked = params.attributes.is_some() || params.excluded_attributes.is_some();
        let policy = match kind {
            ResourceKind::User => GroupPatchResponse::Full,
            ResourceKind::Group => self.options.scim.group_patch_response,
        };
        if policy == GroupPatchResponse::NoContent && !asked {
            return Ok(ScimResponse::no_content());
        }
        let projection = if policy == GroupPatchResponse::WithoutMembers && !asked {
            Projection::from_query(None, Some("members"))?
        } else {
            projection
        };
        let r = match patched {
            Patched::Resource(r) => r,
            Patched::Applied if self.shows_members(kind, &projection) => self.target.get(&req.ctx, kind, id).await?,
            Patched::Applied => self.target.get_without_members(&req.ctx, kind, id).await?,
        };
        Ok(ScimResponse::json(200, Value::Object(self.render(kind, r, &req.base_url, &projection))))
    }
}

enum QuerySource {
    Url,
    Body,
}

struct QueryInput {
    projection: Projection,
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
}

/// Reads a `POST /.search` body (RFC 7644 §3.4.3).
fn search_request(body: &Value) -> Result<QueryInput, ScimError> {
    let obj = body.as_object().ok_or_else(|| ScimError::invalid_syntax("a SearchRequest must be a JSON object"))?;
    let get = |k: &str| get_ci(obj, k);
    if let Some(schemas) = get("schemas") {
        let ok = schemas.as_array().is_some_and(|a| a.iter().any(|s| s.as_str() == Some(urn::SEARCH_REQUEST)));
        if !ok {
            return Err(ScimError::invalid_syntax(format!("schemas must contain {}", urn::SEARCH_REQUEST)));
        }
    }
    let list = |k: &str| -> Result<Option<String>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ScimError::invalid_value(format!("{k} must list strings")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Some(v.join(","))),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be an array of strings"))),
        }
    };
    let scalar = |k: &str| -> Result<Option<String>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be a number or string"))),
        }
    };
    let projection = Projection::from_query(list("attributes")?.as_deref(), list("excludedAttributes")?.as_deref())?;
    Ok(QueryInput {
        projection,
        filter: scalar("filter")?,
        start_index: scalar("startIndex")?,
        count: scalar("count")?,
    })
}

/// Percent-encodes an id for use as one URL path segment.
pub fn encode_id(id: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

#[cfg(test)]
mod tests;
