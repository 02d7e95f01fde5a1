//! `/rest/2.0/userGroups`: find, add, get, rename, delete (200, not 204), and member sub-resources.

use http::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::error::{Body, CollibraError, path_uuid};
use super::model::{Audit, Group, MatchMode, Paging, Store, descending};
use super::users::{join_group, leave_group, user_not_found};
use crate::emulator::wire::{NativeRequest, Reply};

fn group_not_found(id: impl std::fmt::Display) -> CollibraError {
    CollibraError::not_found("userGroupNotFound", "user group", id)
}

fn find(store: &Store, raw: &str) -> Result<Uuid, CollibraError> {
    let id = path_uuid(raw)?;
    if store.groups.contains_key(&id) { Ok(id) } else { Err(group_not_found(id)) }
}

fn check_name(store: &Store, name: &str, except: Option<Uuid>) -> Result<(), CollibraError> {
    let len = name.chars().count();
    if len == 0 || len > 255 || name.trim().is_empty() {
        return Err(CollibraError::invalid("Property 'name' must be between 1 and 255 characters long."));
    }
    if store.groups.values().any(|g| Some(g.id) != except && g.name.eq_ignore_ascii_case(name)) {
        return Err(CollibraError::new(
            StatusCode::BAD_REQUEST,
            "userGroupAlreadyExists",
            format!("A user group with name '{name}' already exists."),
        ));
    }
    Ok(())
}

fn render(store: &Store, id: Uuid) -> Value {
    store.groups.get(&id).map(|g| store.render_group(g)).unwrap_or(Value::Null)
}

/// `POST /userGroups {"name", "locallyManaged"}`.
pub(super) fn add(store: &mut Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let value = req.json().map_err(CollibraError::invalid)?;
    let body = Body::of(&value)?;
    let name = body.req_str("name")?;
    check_name(store, &name, None)?;
    let group = Group {
        id: Uuid::new_v4(),
        audit: Audit::new(store.actor),
        name,
        locally_managed: body.opt_bool("locallyManaged")?.unwrap_or(true),
        system: false,
        members: Vec::new(),
    };
    let id = group.id;
    store.groups.insert(id, group);
    Ok(Reply::json(StatusCode::CREATED, &render(store, id)))
}

/// `GET /userGroups/{userGroupId}`.
pub(super) fn get(store: &Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    Ok(Reply::json(StatusCode::OK, &render(store, id)))
}

/// `GET /userGroups?offset&limit&countLimit&name&nameMatchMode&userId&includeEveryone&sortOrder`.
pub(super) fn find_groups(store: &Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let paging = Paging::parse(req)?;
    let mode = MatchMode::parse(req.param("nameMatchMode"))?;
    let name = req.param("name").filter(|n| !n.is_empty());
    let user = req.param("userId").filter(|u| !u.is_empty()).map(path_uuid).transpose()?;
    let everyone = req.flag("includeEveryone", false).map_err(CollibraError::invalid)?;
    let desc = descending(req)?;
    let mut groups: Vec<&Group> = store
        .groups
        .values()
        .filter(|g| everyone || g.id != store.everyone)
        .filter(|g| name.is_none_or(|n| mode.matches(&g.name, n)))
        .filter(|g| user.is_none_or(|u| store.is_member(g, u)))
        .collect();
    groups.sort_by_cached_key(|g| (g.name.to_lowercase(), g.id));
    if desc {
        groups.reverse();
    }
    Ok(Reply::json(StatusCode::OK, &paging.respond(&groups, |g| store.render_group(g))))
}

fn mutable(store: &Store, id: Uuid) -> Result<(), CollibraError> {
    match store.groups.get(&id) {
        Some(g) if g.system => Err(CollibraError::new(
            StatusCode::BAD_REQUEST,
            "systemUserGroupImmutable",
            format!("The user group '{}' is built in and cannot be changed.", g.name),
        )),
        Some(_) => Ok(()),
        None => Err(group_not_found(id)),
    }
}

/// `PATCH /userGroups/{userGroupId} {"name"*, "locallyManaged"}`.
pub(super) fn change(store: &mut Store, req: &NativeRequest, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    mutable(store, id)?;
    let value = req.json().map_err(CollibraError::invalid)?;
    let body = Body::of(&value)?;
    let name = body.req_str("name")?;
    check_name(store, &name, Some(id))?;
    let locally_managed = body.opt_bool("locallyManaged")?;
    let actor = store.actor;
    if let Some(group) = store.groups.get_mut(&id) {
        let changed = group.name != name || locally_managed.is_some_and(|l| l != group.locally_managed);
        group.name = name;
        if let Some(l) = locally_managed {
            group.locally_managed = l;
        }
        if changed {
            group.audit.touch(actor);
        }
    }
    Ok(Reply::json(StatusCode::OK, &render(store, id)))
}

/// `DELETE /userGroups/{userGroupId}`: 200 with no body.
pub(super) fn delete(store: &mut Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    mutable(store, id)?;
    store.groups.remove(&id);
    store.responsibilities.retain(|_, r| r.owner != id);
    store.forget_mapped_resource(id);
    Ok(Reply::empty(StatusCode::OK))
}

/// The `userIds` of a membership body (a `userGroupId` in it is ignored, as the path wins).
fn user_ids(store: &Store, req: &NativeRequest) -> Result<Vec<Uuid>, CollibraError> {
    let value = req.json().map_err(CollibraError::invalid)?;
    let ids = Body::of(&value)?.req_uuids("userIds")?;
    match ids.iter().find(|id| !store.users.contains_key(id)) {
        Some(id) => Err(user_not_found(id)),
        None => Ok(ids),
    }
}

/// `POST /userGroups/{id}/users {"userIds"}`: answers the added users.
pub(super) fn add_members(store: &mut Store, req: &NativeRequest, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    mutable(store, id)?;
    let users = user_ids(store, req)?;
    for user in &users {
        join_group(store, *user, id);
    }
    let rendered: Vec<Value> = users.iter().filter_map(|u| store.users.get(u)).map(|u| store.render_user(u)).collect();
    Ok(Reply::json(StatusCode::OK, &Value::Array(rendered)))
}

/// `DELETE /userGroups/{id}/users {"userIds"}` (a DELETE with a body): 200 with no body.
pub(super) fn remove_members(store: &mut Store, req: &NativeRequest, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    mutable(store, id)?;
    let users = user_ids(store, req)?;
    for user in users {
        leave_group(store, user, id);
    }
    Ok(Reply::empty(StatusCode::OK))
}
