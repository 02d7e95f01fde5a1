//! `/rest/2.0/mappings`: links from a resource in an external system (`externalSystemId` + `externalEntityId`) to a
//! Collibra resource (`mappedResourceId`), as the Core API's `MappingsApi` serves them.
//!
//! A mapping is found by its id, by its external ids, or by its external system and mapped resource; each pair is
//! unique. Removal never fails for a mapping that does not exist (204 either way). The answer names the mapped
//! resource as a reference `mappedResource {id, resourceType, name}`, not as `mappedResourceId`, and a deleted
//! resource leaves its mappings behind without that reference.
//!
//! What the specification leaves open and this emulator settles: a second mapping with the same external ids, or
//! for the same resource within one external system, is a 400 with `errorCode` `mappingAlreadyExists` (the
//! specification names 400 only for a duplicate mapping id); a `mappedResourceId` that names no user, user group
//! or role is a 404.

use http::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::error::{Body, CollibraError, path_uuid};
use super::model::{Audit, Mapping, Paging, Store};
use crate::emulator::wire::{NativeRequest, Reply};

/// `syncAction` values.
const SYNC_ACTIONS: &[&str] = &["ADD", "UPDATE", "REMOVE"];
/// `mappedResourceType` values a search may filter on.
const SEARCHABLE_TYPES: &[&str] = &["Asset", "Domain", "Community"];
/// Mapping ids with this prefix are reserved by Collibra.
const RESERVED_PREFIX: &str = "00000000-0000-0000-";

fn mapping_not_found(what: impl std::fmt::Display) -> CollibraError {
    CollibraError::new(StatusCode::NOT_FOUND, "mappingNotFound", format!("The mapping {what} could not be found."))
}

fn duplicate(message: String) -> CollibraError {
    CollibraError::new(StatusCode::BAD_REQUEST, "mappingAlreadyExists", message)
}

/// A string property bounded to `max` characters (`minLength` 1).
fn bounded(body: &Body<'_>, key: &str, max: usize) -> Result<Option<String>, CollibraError> {
    match body.opt_str(key)? {
        Some(v) if v.is_empty() || v.chars().count() > max => {
            Err(CollibraError::invalid(format!("Property '{key}' must be between 1 and {max} characters long.")))
        }
        other => Ok(other),
    }
}

fn required(body: &Body<'_>, key: &str, max: usize) -> Result<String, CollibraError> {
    bounded(body, key, max)?.ok_or_else(|| {
        CollibraError::new(StatusCode::BAD_REQUEST, "missingRequiredField", format!("Property '{key}' is required."))
    })
}

/// Validates an `AddMappingRequest` against the store (and against mappings added earlier in the same bulk call).
fn parse_add(store: &Store, value: &Value, earlier: &[Mapping]) -> Result<Mapping, CollibraError> {
    let body = Body::of(value)?;
    let external_system_id = required(&body, "externalSystemId", 36)?;
    let external_entity_id = required(&body, "externalEntityId", 255)?;
    let id = match body.opt_uuid("id")? {
        Some(id) if id.to_string().starts_with(RESERVED_PREFIX) => {
            return Err(CollibraError::invalid(format!("The mapping id '{id}' uses the reserved prefix.")));
        }
        Some(id) if store.mappings.contains_key(&id) || earlier.iter().any(|m| m.id == id) => {
            return Err(duplicate(format!("A mapping with the given ID '{id}' already exists.")));
        }
        Some(id) => id,
        None => Uuid::new_v4(),
    };
    let mapped_resource = body.opt_uuid("mappedResourceId")?;
    if let Some(resource) = mapped_resource
        && store.resource(resource).is_none()
    {
        return Err(CollibraError::not_found("resourceNotFound", "resource", resource));
    }
    let existing = || store.mappings.values().chain(earlier.iter());
    if existing().any(|m| m.external_system_id == external_system_id && m.external_entity_id == external_entity_id) {
        return Err(duplicate(format!(
            "A mapping for external entity '{external_entity_id}' of external system '{external_system_id}' already exists."
        )));
    }
    if let Some(resource) = mapped_resource
        && existing().any(|m| m.external_system_id == external_system_id && m.mapped_resource == Some(resource))
    {
        return Err(duplicate(format!(
            "A mapping for resource '{resource}' in external system '{external_system_id}' already exists."
        )));
    }
    Ok(Mapping {
        id,
        audit: Audit::new(store.actor),
        external_system_id,
        external_entity_id,
        external_entity_url: bounded(&body, "externalEntityUrl", 255)?,
        description: body.opt_str("description")?,
        mapped_resource,
        last_sync_date: body.opt_i64("lastSyncDate")?,
        sync_action: body.opt_enum("syncAction", SYNC_ACTIONS)?,
    })
}

fn render(store: &Store, id: Uuid) -> Value {
    store.mappings.get(&id).map(|m| store.render_mapping(m)).unwrap_or(Value::Null)
}

/// `POST /mappings` with an `AddMappingRequest`: 201 `Mapping`.
pub(super) fn add(store: &mut Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let value = req.json().map_err(CollibraError::invalid)?;
    let mapping = parse_add(store, &value, &[])?;
    let id = mapping.id;
    store.mappings.insert(id, mapping);
    Ok(Reply::json(StatusCode::CREATED, &render(store, id)))
}

/// `POST /mappings/bulk` with `[AddMappingRequest]`: all or nothing, 201 `[Mapping]`.
pub(super) fn add_bulk(store: &mut Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let value = req.json().map_err(CollibraError::invalid)?;
    let items = value.as_array().ok_or_else(|| CollibraError::invalid("The request body must be a JSON array."))?;
    let mut added: Vec<Mapping> = Vec::with_capacity(items.len());
    for item in items {
        let mapping = parse_add(store, item, &added)?;
        added.push(mapping);
    }
    let ids: Vec<Uuid> = added.iter().map(|m| m.id).collect();
    store.mappings.extend(added.into_iter().map(|m| (m.id, m)));
    let rendered: Vec<Value> = ids.into_iter().map(|id| render(store, id)).collect();
    Ok(Reply::json(StatusCode::CREATED, &Value::Array(rendered)))
}

/// `GET /mappings/{mappingId}`.
pub(super) fn get(store: &Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = path_uuid(raw)?;
    let mapping = store.mappings.get(&id).ok_or_else(|| mapping_not_found(format!("with id '{id}'")))?;
    Ok(Reply::json(StatusCode::OK, &store.render_mapping(mapping)))
}

fn by_external_entity<'a>(store: &'a Store, system: &str, entity: &str) -> Option<&'a Mapping> {
    store.mappings.values().find(|m| m.external_system_id == system && m.external_entity_id == entity)
}

fn by_mapped_resource<'a>(store: &'a Store, system: &str, resource: Uuid) -> Option<&'a Mapping> {
    store.mappings.values().find(|m| m.external_system_id == system && m.mapped_resource == Some(resource))
}

/// `GET /mappings/externalSystem/{externalSystemId}/externalEntity/{externalEntityId}`.
pub(super) fn get_by_external_entity(store: &Store, system: &str, entity: &str) -> Result<Reply, CollibraError> {
    let mapping = by_external_entity(store, system, entity)
        .ok_or_else(|| mapping_not_found(format!("for external entity '{entity}' of external system '{system}'")))?;
    Ok(Reply::json(StatusCode::OK, &store.render_mapping(mapping)))
}

/// `GET /mappings/externalSystem/{externalSystemId}/mappedResource/{mappedResourceId}` (the resource id is a UUID).
pub(super) fn get_by_mapped_resource(store: &Store, system: &str, raw: &str) -> Result<Reply, CollibraError> {
    let resource = path_uuid(raw)?;
    let mapping = by_mapped_resource(store, system, resource)
        .ok_or_else(|| mapping_not_found(format!("for resource '{resource}' in external system '{system}'")))?;
    Ok(Reply::json(StatusCode::OK, &store.render_mapping(mapping)))
}

/// `DELETE /mappings/{mappingId}`: 204, whether or not it existed.
pub(super) fn remove(store: &mut Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = path_uuid(raw)?;
    store.mappings.remove(&id);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `DELETE /mappings/externalSystem/{externalSystemId}/externalEntity/{externalEntityId}`: 204 either way.
pub(super) fn remove_by_external_entity(store: &mut Store, system: &str, entity: &str) -> Reply {
    store.mappings.retain(|_, m| !(m.external_system_id == system && m.external_entity_id == entity));
    Reply::empty(StatusCode::NO_CONTENT)
}

/// `DELETE /mappings/externalSystem/{externalSystemId}/mappedResource/{mappedResourceId}`: 204 either way. The
/// resource id is a plain string here, so text that is not a UUID simply matches nothing.
pub(super) fn remove_by_mapped_resource(store: &mut Store, system: &str, raw: &str) -> Reply {
    if let Ok(resource) = Uuid::parse_str(raw) {
        store.mappings.retain(|_, m| !(m.external_system_id == system && m.mapped_resource == Some(resource)));
    }
    Reply::empty(StatusCode::NO_CONTENT)
}

/// `GET /mappings?offset&limit&countLimit&externalSystemId&externalEntityId&mappedResourceType&syncAction`.
pub(super) fn find(store: &Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let paging = Paging::parse(req)?;
    let system = req.param("externalSystemId").filter(|s| !s.is_empty());
    let entity = req.param("externalEntityId").filter(|s| !s.is_empty());
    let kind = req.param("mappedResourceType").filter(|s| !s.is_empty());
    if let Some(kind) = kind
        && !SEARCHABLE_TYPES.contains(&kind)
    {
        return Err(CollibraError::invalid(format!(
            "mappedResourceType must be one of {SEARCHABLE_TYPES:?}, got {kind:?}"
        )));
    }
    let action = req.param("syncAction").filter(|s| !s.is_empty());
    if let Some(action) = action
        && !SYNC_ACTIONS.contains(&action)
    {
        return Err(CollibraError::invalid(format!("syncAction must be one of {SYNC_ACTIONS:?}, got {action:?}")));
    }
    let mut found: Vec<&Mapping> = store
        .mappings
        .values()
        .filter(|m| system.is_none_or(|s| m.external_system_id == s))
        .filter(|m| entity.is_none_or(|e| m.external_entity_id == e))
        // Only assets, domains and communities can be searched by type, and this emulator holds none of them.
        .filter(|m| {
            kind.is_none() || m.mapped_resource.and_then(|r| store.resource(r)).is_some_and(|(t, _)| Some(t) == kind)
        })
        .filter(|m| action.is_none_or(|a| m.sync_action.as_deref() == Some(a)))
        .collect();
    found.sort_by(|a, b| {
        (&a.external_system_id, &a.external_entity_id).cmp(&(&b.external_system_id, &b.external_entity_id))
    });
    Ok(Reply::json(StatusCode::OK, &paging.respond(&found, |m| store.render_mapping(m))))
}
