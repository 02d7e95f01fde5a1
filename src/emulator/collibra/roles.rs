//! `/rest/2.0/roles` and `/rest/2.0/responsibilities`: assigning a role creates a responsibility, a resource of
//! its own whose id must be found again to revoke it.

use http::StatusCode;
use uuid::Uuid;

use super::error::{Body, CollibraError, path_uuid};
use super::model::{Audit, MatchMode, Paging, Responsibility, Role, Store};
use crate::emulator::wire::{NativeRequest, Reply};

/// `type=GLOBAL|RESOURCE|ALL`.
fn kind_filter(req: &NativeRequest) -> Result<Option<bool>, CollibraError> {
    match req.param("type") {
        None | Some("") | Some("ALL") => Ok(None),
        Some("GLOBAL") => Ok(Some(true)),
        Some("RESOURCE") => Ok(Some(false)),
        Some(other) => Err(CollibraError::invalid(format!("type must be GLOBAL, RESOURCE or ALL, got {other:?}"))),
    }
}

/// `GET /roles?name&nameMatchMode&type&offset&limit&countLimit`.
pub(super) fn find_roles(store: &Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let paging = Paging::parse(req)?;
    let mode = MatchMode::parse(req.param("nameMatchMode"))?;
    let name = req.param("name").filter(|n| !n.is_empty());
    let global = kind_filter(req)?;
    let mut roles: Vec<&Role> = store
        .roles
        .values()
        .filter(|r| name.is_none_or(|n| mode.matches(&r.name, n)))
        .filter(|r| global.is_none_or(|g| r.global == g))
        .collect();
    roles.sort_by_cached_key(|r| (r.name.to_lowercase(), r.id));
    Ok(Reply::json(StatusCode::OK, &paging.respond(&roles, |r| store.render_role(r))))
}

/// `GET /roles/{roleId}`.
pub(super) fn get_role(store: &Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = path_uuid(raw)?;
    let role = store.roles.get(&id).ok_or_else(|| CollibraError::not_found("roleNotFound", "role", id))?;
    Ok(Reply::json(StatusCode::OK, &store.render_role(role)))
}

/// `POST /responsibilities {"roleId"*, "ownerId"*, "resourceId", "resourceType"}`: without a resource the
/// assignment is global.
pub(super) fn add_responsibility(store: &mut Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let value = req.json().map_err(CollibraError::invalid)?;
    let body = Body::of(&value)?;
    let missing = |k: &str| {
        CollibraError::new(StatusCode::BAD_REQUEST, "missingRequiredField", format!("Property '{k}' is required."))
    };
    let role_id = body.opt_uuid("roleId")?.ok_or_else(|| missing("roleId"))?;
    let owner = body.opt_uuid("ownerId")?.ok_or_else(|| missing("ownerId"))?;
    let resource = match body.opt_uuid("resourceId")? {
        Some(id) => Some((id, body.opt_str("resourceType")?.ok_or_else(|| missing("resourceType"))?)),
        None => None,
    };
    let role = store.roles.get(&role_id).ok_or_else(|| CollibraError::not_found("roleNotFound", "role", role_id))?;
    if !store.users.contains_key(&owner) && !store.groups.contains_key(&owner) {
        return Err(CollibraError::not_found("ownerNotFound", "user or user group", owner));
    }
    if role.global == resource.is_some() {
        let why = if role.global {
            "a global role cannot be assigned on a resource"
        } else {
            "a resource role needs a resource"
        };
        return Err(CollibraError::invalid(format!("Role '{}': {why}.", role.name)));
    }
    let duplicate =
        store.responsibilities.values().any(|r| r.role == role_id && r.owner == owner && r.resource == resource);
    if duplicate {
        return Err(CollibraError::new(
            StatusCode::BAD_REQUEST,
            "responsibilityAlreadyExists",
            "This responsibility already exists.",
        ));
    }
    let r = Responsibility { id: Uuid::new_v4(), audit: Audit::new(store.actor), role: role_id, owner, resource };
    let rendered = store.render_responsibility(&r);
    store.responsibilities.insert(r.id, r);
    Ok(Reply::json(StatusCode::CREATED, &rendered))
}

/// `GET /responsibilities?ownerIds&roleIds&resourceIds&type&offset&limit&countLimit`.
pub(super) fn find_responsibilities(store: &Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let paging = Paging::parse(req)?;
    let ids = |k: &str| req.params(k).map(path_uuid).collect::<Result<Vec<_>, _>>();
    let (owners, roles, resources) = (ids("ownerIds")?, ids("roleIds")?, ids("resourceIds")?);
    let global = kind_filter(req)?;
    let mut found: Vec<&Responsibility> = store
        .responsibilities
        .values()
        .filter(|r| owners.is_empty() || owners.contains(&r.owner))
        .filter(|r| roles.is_empty() || roles.contains(&r.role))
        .filter(|r| resources.is_empty() || r.resource.as_ref().is_some_and(|(id, _)| resources.contains(id)))
        .filter(|r| global.is_none_or(|g| r.resource.is_none() == g))
        .collect();
    found.sort_by_key(|r| (r.audit.created_on, r.id));
    Ok(Reply::json(StatusCode::OK, &paging.respond(&found, |r| store.render_responsibility(r))))
}

/// `GET /responsibilities/{id}`.
pub(super) fn get_responsibility(store: &Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = path_uuid(raw)?;
    let r = store
        .responsibilities
        .get(&id)
        .ok_or_else(|| CollibraError::not_found("responsibilityNotFound", "responsibility", id))?;
    Ok(Reply::json(StatusCode::OK, &store.render_responsibility(r)))
}

/// `DELETE /responsibilities/{id}`: 204.
pub(super) fn delete_responsibility(store: &mut Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = path_uuid(raw)?;
    store
        .responsibilities
        .remove(&id)
        .ok_or_else(|| CollibraError::not_found("responsibilityNotFound", "responsibility", id))?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
