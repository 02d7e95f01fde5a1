//! `/api/v1/roles`: list, read by id or name, and create. Roles are assigned through users' `roles` and teams'
//! `defaultRoles`; admin rights are the separate `isAdmin` flag.

use http::StatusCode;
use http::header::LOCATION;
use serde_json::Value;
use uuid::Uuid;

use super::error::{Body, OmError, check_entity_name};
use super::model::{Fields, Include, Meta, ROLE_FIELDS, Role, Store};
use super::paging::{PageRequest, result_list};
use super::users::{Key, key_text};
use crate::emulator::wire::{NativeRequest, Reply};

const CREATE_ROLE: &[&str] = &["name", "displayName", "description", "policies", "domains"];

fn find(store: &Store, key: &Key, include: Include) -> Result<Uuid, OmError> {
    let role = match key {
        Key::Id(raw) => Uuid::parse_str(raw).ok().and_then(|id| store.roles.get(&id)),
        Key::Name(name) => store.role_by_name(name),
    };
    match role {
        Some(r) if include.admits(r.meta.deleted) => Ok(r.id),
        _ => Err(Store::not_found("role", key_text(key))),
    }
}

/// `GET /v1/roles/{id}` and `/v1/roles/name/{name}`.
pub(super) fn get(store: &Store, req: &NativeRequest, key: &Key) -> Result<Reply, OmError> {
    let fields = Fields::parse(req.param("fields"), ROLE_FIELDS)?;
    let include = Include::parse(req.param("include"))?;
    let id = find(store, key, include)?;
    let role = store.roles.get(&id).ok_or_else(|| Store::not_found("role", id))?;
    Ok(Reply::json(StatusCode::OK, &store.render_role(role, &fields)))
}

/// `GET /v1/roles?limit&before&after&fields&include`.
pub(super) fn list(store: &Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let fields = Fields::parse(req.param("fields"), ROLE_FIELDS)?;
    let include = Include::parse(req.param("include"))?;
    let page = PageRequest::from_request(req, 10)?;
    let rows: Vec<(&str, &Role)> = store
        .role_names
        .iter()
        .filter_map(|(name, id)| store.roles.get(id).map(|r| (name.as_str(), r)))
        .filter(|(_, r)| include.admits(r.meta.deleted))
        .collect();
    Ok(Reply::json(StatusCode::OK, &result_list(&rows, &page, |r| store.render_role(r, &fields))))
}

/// `POST /v1/roles` with `CreateRole {name*, displayName, description, policies* [policy names]}`.
pub(super) fn create(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let value = req.json().map_err(OmError::bad_request)?;
    let body = Body::strict(&value, "org.openmetadata.schema.api.teams.CreateRole", CREATE_ROLE)?;
    let name = body.req_str("name")?;
    check_entity_name(&name, 128)?;
    let policies = body.opt_array("policies")?.ok_or_else(|| OmError::bad_request("[policies must not be null]"))?;
    if policies.is_empty() {
        return Err(OmError::bad_request("[policies size must be between 1 and 2147483647]"));
    }
    let policies = policies
        .iter()
        .map(|p| p.as_str().map(|s| (Uuid::new_v4(), s.to_owned())))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| OmError::bad_request("policies must be policy names"))?;
    if store.role_by_name(&name).is_some() {
        return Err(OmError::exists());
    }
    let role = Role {
        id: Uuid::new_v4(),
        name: name.clone(),
        display_name: body.opt_str("displayName")?,
        description: body.opt_str("description")?,
        policies,
        meta: Meta::new(&store.principal),
    };
    let id = role.id;
    store.role_names.insert(name, id);
    store.roles.insert(id, role);
    let fields = Fields::parse(Some("policies"), ROLE_FIELDS)?;
    let rendered: Value = store.roles.get(&id).map(|r| store.render_role(r, &fields)).unwrap_or(Value::Null);
    Ok(Reply::json(StatusCode::CREATED, &rendered).with_header(LOCATION, &store.href("roles", id)))
}
