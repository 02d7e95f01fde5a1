//! `/api/v1/teams`: the typed team hierarchy, membership sub-resources, JSON Patch, delete and restore.

use std::collections::BTreeSet;

use http::StatusCode;
use http::header::LOCATION;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{Body, OmError, check_email, check_entity_name, ref_ids};
use super::model::{Fields, Include, Meta, Store, TEAM_FIELDS, Team, TeamData, TeamType};
use super::paging::{PageRequest, result_list};
use super::users::{Key, key_text, require_json_patch};
use crate::emulator::json_patch;
use crate::emulator::wire::{NativeRequest, Reply, now_ms};

/// The `CreateTeam` schema's properties.
const CREATE_TEAM: &[&str] = &[
    "name",
    "displayName",
    "description",
    "teamType",
    "email",
    "externalId",
    "profile",
    "parents",
    "children",
    "users",
    "defaultRoles",
    "policies",
    "owners",
    "owner",
    "isJoinable",
    "domains",
];

/// The `Team` entity's properties.
const TEAM_ENTITY: &[&str] = &[
    "id",
    "teamType",
    "name",
    "fullyQualifiedName",
    "email",
    "displayName",
    "externalId",
    "description",
    "version",
    "updatedAt",
    "updatedBy",
    "href",
    "profile",
    "parents",
    "children",
    "users",
    "userCount",
    "childrenCount",
    "owns",
    "owners",
    "isJoinable",
    "changeDescription",
    "deleted",
    "defaultRoles",
    "inheritedRoles",
    "policies",
    "domains",
];

const MAX_TEAM_NAME: usize = 128;

fn written_fields() -> Fields {
    Fields::parse(Some("users,defaultRoles,parents,children,owners,profile,domains"), TEAM_FIELDS).unwrap_or_default()
}

/// A team's full desired state: its own data plus the relationships stored on other entities.
struct TeamWrite {
    data: TeamData,
    users: Vec<Uuid>,
    children: Vec<Uuid>,
}

pub(super) fn find(store: &Store, key: &Key, include: Include) -> Result<Uuid, OmError> {
    let team = match key {
        Key::Id(raw) => Uuid::parse_str(raw).ok().and_then(|id| store.teams.get(&id)),
        Key::Name(name) => store.team_by_name(name),
    };
    match team {
        Some(t) if include.admits(t.meta.deleted) => Ok(t.id),
        _ => Err(Store::not_found("team", key_text(key))),
    }
}

fn team_type_of(store: &Store, id: Uuid) -> Result<&Team, OmError> {
    store.teams.get(&id).ok_or_else(|| Store::not_found("team", id))
}

/// Checks the hierarchy rules of `TeamRepository.populateParents/populateChildren` for a team of `team_type`.
fn check_hierarchy(
    store: &Store,
    this: Option<Uuid>,
    name: &str,
    team_type: TeamType,
    parents: &[Uuid],
    children: &[Uuid],
) -> Result<(), OmError> {
    if team_type == TeamType::Group && !children.is_empty() {
        return Err(OmError::bad_request(
            "Team of type Group can't have children of type team. Only users are allowed as part of the team",
        ));
    }
    if team_type.single_parent() && parents.len() > 1 {
        return Err(OmError::bad_request(format!("Team of type {} can have only 1 parents", team_type.as_str())));
    }
    for parent_id in parents {
        let parent = team_type_of(store, *parent_id)?;
        if !team_type.allowed_parents().contains(&parent.data.team_type) {
            return Err(OmError::bad_request(format!(
                "Team {} of type {} can't be of parent of team {name} of type {}",
                parent.name,
                parent.data.team_type.as_str(),
                team_type.as_str()
            )));
        }
        if let Some(this) = this
            && (*parent_id == this || is_descendant(store, *parent_id, this))
        {
            return Err(OmError::bad_request(format!("Team {name} can't be its own ancestor")));
        }
    }
    for child_id in children {
        let child = team_type_of(store, *child_id)?;
        if child.id == store.organization || !team_type.allowed_children().contains(&child.data.team_type) {
            return Err(OmError::bad_request(format!(
                "Team {name} of type {} can't have child team {} of type {}",
                team_type.as_str(),
                child.name,
                child.data.team_type.as_str()
            )));
        }
        if Some(child.id) == this {
            return Err(OmError::bad_request(format!("Team {name} can't be its own child")));
        }
    }
    Ok(())
}

/// Whether `candidate` sits below `ancestor`.
fn is_descendant(store: &Store, candidate: Uuid, ancestor: Uuid) -> bool {
    let mut stack = vec![candidate];
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(team) = store.teams.get(&id) else { continue };
        for parent in &team.data.parents {
            if *parent == ancestor {
                return true;
            }
            stack.push(*parent);
        }
    }
    false
}

fn check_policies(ids: &[Uuid]) -> Result<(), OmError> {
    match ids.first() {
        Some(id) => Err(Store::not_found("policy", id)),
        None => Ok(()),
    }
}

fn check_email_opt(email: &Option<String>) -> Result<(), OmError> {
    match email {
        Some(e) if !e.is_empty() => check_email("email", e),
        _ => Ok(()),
    }
}

/// Parses and validates a `CreateTeam` body.
fn parse_create(store: &Store, value: &Value) -> Result<(String, TeamWrite), OmError> {
    let body = Body::strict(value, "org.openmetadata.schema.api.teams.CreateTeam", CREATE_TEAM)?;
    let name = body.req_str("name")?;
    check_entity_name(&name, MAX_TEAM_NAME)?;
    let raw_type = body.req_str("teamType")?;
    let team_type = TeamType::parse(&raw_type).ok_or_else(|| {
        OmError::bad_request(format!(
            "Cannot deserialize value of type `TeamType` from String \"{raw_type}\": not one of the values accepted for Enum class: [Group, Department, Division, BusinessUnit, Organization]"
        ))
    })?;
    if team_type == TeamType::Organization {
        return Err(OmError::bad_request("Only one Organization is allowed"));
    }
    let email = body.opt_str("email")?.filter(|e| !e.is_empty());
    check_email_opt(&email)?;
    let parents = store.known_teams(&body.opt_uuids("parents")?.unwrap_or_default())?;
    let children = body.opt_uuids("children")?;
    if team_type == TeamType::Group && children.is_some() {
        return Err(OmError::bad_request(
            "Team of type Group can't have children of type team. Only users are allowed as part of the team",
        ));
    }
    let children = children.unwrap_or_default();
    check_hierarchy(store, None, &name, team_type, &parents, &children)?;
    check_policies(&body.opt_uuids("policies")?.unwrap_or_default())?;
    let mut owners = body.opt_array("owners")?.unwrap_or_default();
    owners.extend(body.opt_object("owner")?);
    let write = TeamWrite {
        data: TeamData {
            team_type,
            display_name: body.opt_str("displayName")?,
            description: body.opt_str("description")?,
            email,
            external_id: body.opt_str("externalId")?,
            profile: body.opt_object("profile")?,
            is_joinable: body.opt_bool("isJoinable")?.unwrap_or(true),
            parents,
            default_roles: store.known_roles(&body.opt_uuids("defaultRoles")?.unwrap_or_default())?,
            owners,
            domains: body.opt_array("domains")?.unwrap_or_default(),
        },
        users: store.known_users(&body.opt_uuids("users")?.unwrap_or_default())?,
        children,
    };
    Ok((name, write))
}

/// The type-change rules of `TeamUpdater.entitySpecificUpdate`.
fn check_type_change(store: &Store, team: &Team, new_type: TeamType, children: &[Uuid]) -> Result<(), OmError> {
    if team.data.team_type == new_type {
        return Ok(());
    }
    if team.id == store.organization || new_type == TeamType::Organization {
        return Err(OmError::bad_request("The type of the Organization team cannot be changed"));
    }
    if team.data.team_type == TeamType::Group {
        return Err(OmError::bad_request("Team of type Group cannot be updated"));
    }
    if new_type == TeamType::Group && !children.is_empty() {
        return Err(OmError::bad_request("Team of type Group cannot have children"));
    }
    Ok(())
}

/// Stores a team's desired state, including memberships and child links kept on other records. Returns whether
/// anything changed.
fn apply_write(store: &mut Store, id: Uuid, write: TeamWrite) -> bool {
    let old_users: BTreeSet<Uuid> = store.users.values().filter(|u| u.data.teams.contains(&id)).map(|u| u.id).collect();
    let new_users: BTreeSet<Uuid> = write.users.iter().copied().collect();
    let old_children: BTreeSet<Uuid> = store.team_children(id).iter().map(|t| t.id).collect();
    let new_children: BTreeSet<Uuid> = write.children.iter().copied().collect();
    let mut changed = old_users != new_users || old_children != new_children;
    for user in store.users.values_mut() {
        let member = user.data.teams.contains(&id);
        if member && !new_users.contains(&user.id) {
            user.data.teams.retain(|t| *t != id);
        } else if !member && new_users.contains(&user.id) {
            user.data.teams.push(id);
        }
    }
    if id != store.organization {
        for child in old_children.difference(&new_children) {
            if let Some(team) = store.teams.get_mut(child) {
                team.data.parents.retain(|p| *p != id);
            }
        }
        for child in new_children.difference(&old_children) {
            if let Some(team) = store.teams.get_mut(child) {
                team.data.parents.push(id);
            }
        }
    }
    let principal = store.principal.clone();
    if let Some(team) = store.teams.get_mut(&id) {
        changed |= team.data != write.data;
        team.data = write.data;
        if changed {
            team.meta.bump(&principal);
        }
    }
    changed
}

fn insert(store: &mut Store, name: String, write: TeamWrite) -> Uuid {
    let id = Uuid::new_v4();
    let team = Team { id, name, data: write.data.clone(), meta: Meta::new(&store.principal) };
    store.team_names.insert(team.name.clone(), id);
    store.teams.insert(id, team);
    apply_write(store, id, write);
    if let Some(team) = store.teams.get_mut(&id) {
        team.meta.version_tenths = 1;
    }
    id
}

fn render(store: &Store, id: Uuid, fields: &Fields) -> Value {
    store.teams.get(&id).map(|t| store.render_team(t, fields, Include::NonDeleted)).unwrap_or(Value::Null)
}

/// `POST /v1/teams`.
pub(super) fn create(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let body = req.json().map_err(OmError::bad_request)?;
    let (name, write) = parse_create(store, &body)?;
    if store.team_names.contains_key(&name) {
        return Err(OmError::exists());
    }
    let id = insert(store, name, write);
    let href = store.href("teams", id);
    Ok(Reply::json(StatusCode::CREATED, &render(store, id, &written_fields())).with_header(LOCATION, &href))
}

/// `PUT /v1/teams`: creates, or replaces the team with that name (relationships included).
pub(super) fn create_or_update(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let body = req.json().map_err(OmError::bad_request)?;
    let (name, write) = parse_create(store, &body)?;
    let Some(id) = store.team_names.get(&name).copied() else {
        let id = insert(store, name, write);
        let href = store.href("teams", id);
        return Ok(Reply::json(StatusCode::CREATED, &render(store, id, &written_fields())).with_header(LOCATION, &href));
    };
    let team = team_type_of(store, id)?;
    check_type_change(store, team, write.data.team_type, &write.children)?;
    check_hierarchy(store, Some(id), &name, write.data.team_type, &write.data.parents, &write.children)?;
    apply_write(store, id, write);
    Ok(Reply::json(StatusCode::OK, &render(store, id, &written_fields())))
}

/// `GET /v1/teams/{id}` and `/v1/teams/name/{name}`.
pub(super) fn get(store: &Store, req: &NativeRequest, key: &Key) -> Result<Reply, OmError> {
    let fields = Fields::parse(req.param("fields"), TEAM_FIELDS)?;
    let include = Include::parse(req.param("include"))?;
    let id = find(store, key, include)?;
    let team = team_type_of(store, id)?;
    Ok(Reply::json(StatusCode::OK, &store.render_team(team, &fields, include)))
}

/// `GET /v1/teams?limit&before&after&fields&parentTeam&isJoinable&include`.
pub(super) fn list(store: &Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let fields = Fields::parse(req.param("fields"), TEAM_FIELDS)?;
    let include = Include::parse(req.param("include"))?;
    let page = PageRequest::from_request(req, 10)?;
    let parent = match req.param("parentTeam").filter(|p| !p.is_empty()) {
        Some(name) => Some(store.team_by_name(name).ok_or_else(|| Store::not_found("team", name))?.id),
        None => None,
    };
    let joinable =
        req.param("isJoinable").map(|_| req.flag("isJoinable", true)).transpose().map_err(OmError::bad_request)?;
    let children: Option<BTreeSet<Uuid>> = parent.map(|p| store.team_children(p).iter().map(|t| t.id).collect());
    let rows: Vec<(&str, &Team)> = store
        .team_names
        .iter()
        .filter_map(|(name, id)| store.teams.get(id).map(|t| (name.as_str(), t)))
        .filter(|(_, t)| include.admits(t.meta.deleted))
        .filter(|(_, t)| children.as_ref().is_none_or(|c| c.contains(&t.id)))
        .filter(|(_, t)| joinable.is_none_or(|j| t.data.is_joinable == j))
        .collect();
    Ok(Reply::json(StatusCode::OK, &result_list(&rows, &page, |t| store.render_team(t, &fields, include))))
}

/// Reads the settable state back out of a patched `Team` document; `id` and `name` changes are ignored.
fn write_from_document(store: &Store, team: &Team, doc: &Value) -> Result<TeamWrite, OmError> {
    let body = Body::strict(doc, "org.openmetadata.schema.entity.teams.Team", TEAM_ENTITY)?;
    let raw_type = body.req_str("teamType")?;
    let team_type =
        TeamType::parse(&raw_type).ok_or_else(|| OmError::bad_request(format!("Unknown teamType {raw_type:?}")))?;
    let ids = |key: &str| -> Result<Vec<Uuid>, OmError> {
        match body.map.get(key).filter(|v| !v.is_null()) {
            Some(v) => ref_ids(v, key),
            None => Ok(Vec::new()),
        }
    };
    let parents = store.known_teams(&ids("parents")?)?;
    let children = ids("children")?;
    check_type_change(store, team, team_type, &children)?;
    check_hierarchy(store, Some(team.id), &team.name, team_type, &parents, &children)?;
    check_policies(&ids("policies")?)?;
    let email = body.opt_str("email")?.filter(|e| !e.is_empty());
    check_email_opt(&email)?;
    Ok(TeamWrite {
        data: TeamData {
            team_type,
            display_name: body.opt_str("displayName")?,
            description: body.opt_str("description")?,
            email,
            external_id: body.opt_str("externalId")?,
            profile: body.opt_object("profile")?,
            is_joinable: body.opt_bool("isJoinable")?.unwrap_or(true),
            parents,
            default_roles: store.known_roles(&ids("defaultRoles")?)?,
            owners: body.opt_array("owners")?.unwrap_or_default(),
            domains: body.opt_array("domains")?.unwrap_or_default(),
        },
        users: store.known_users(&ids("users")?)?,
        children,
    })
}

/// `PATCH /v1/teams/{id}` and `/v1/teams/name/{name}` with an RFC 6902 body.
pub(super) fn patch(store: &mut Store, req: &NativeRequest, key: &Key) -> Result<Reply, OmError> {
    let ops = require_json_patch(req)?;
    let id = find(store, key, Include::NonDeleted)?;
    let team = team_type_of(store, id)?;
    let doc = store.render_team(team, &Fields::all(TEAM_FIELDS), Include::NonDeleted);
    let patched = json_patch::apply(&doc, &ops).map_err(|e| OmError::bad_request(e.to_string()))?;
    let mut write = write_from_document(store, team, &patched)?;
    // Deleted members are hidden from the document but their membership is kept, as OpenMetadata keeps the
    // relationship rows of soft-deleted users.
    write.users.extend(store.users.values().filter(|u| u.meta.deleted && u.data.teams.contains(&id)).map(|u| u.id));
    apply_write(store, id, write);
    Ok(Reply::json(StatusCode::OK, &render(store, id, &written_fields())))
}

/// The teams below `id`, deepest last.
fn descendants(store: &Store, id: Uuid) -> Vec<Uuid> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(current) = stack.pop() {
        for child in store.team_children(current) {
            if !out.contains(&child.id) {
                out.push(child.id);
                stack.push(child.id);
            }
        }
    }
    out
}

/// `DELETE /v1/teams/{id}?recursive=&hardDelete=` and `/v1/teams/name/{name}`.
pub(super) fn delete(store: &mut Store, req: &NativeRequest, key: &Key) -> Result<Reply, OmError> {
    let hard = req.flag("hardDelete", false).map_err(OmError::bad_request)?;
    let recursive = req.flag("recursive", false).map_err(OmError::bad_request)?;
    let id = find(store, key, Include::All)?;
    if id == store.organization {
        return Err(OmError::bad_request("Organization team can't be deleted"));
    }
    let below = descendants(store, id);
    let live_children = below.iter().filter_map(|c| store.teams.get(c)).any(|t| !t.meta.deleted);
    if live_children && !recursive {
        return Err(OmError::bad_request("Entity team is not empty"));
    }
    let body = render(store, id, &written_fields());
    let principal = store.principal.clone();
    let mut affected = below;
    affected.push(id);
    if hard {
        for team_id in &affected {
            if let Some(team) = store.teams.remove(team_id) {
                store.team_names.remove(&team.name);
            }
            for user in store.users.values_mut() {
                user.data.teams.retain(|t| t != team_id);
            }
            for team in store.teams.values_mut() {
                team.data.parents.retain(|p| p != team_id);
            }
        }
        return Ok(Reply::json(StatusCode::OK, &body));
    }
    for team_id in &affected {
        if let Some(team) = store.teams.get_mut(team_id)
            && !team.meta.deleted
        {
            team.meta.deleted = true;
            team.meta.bump(&principal);
        }
    }
    let fields = written_fields();
    let body = store.teams.get(&id).map(|t| store.render_team(t, &fields, Include::All)).unwrap_or(body);
    Ok(Reply::json(StatusCode::OK, &body))
}

/// `PUT /v1/teams/restore {"id": …}`.
pub(super) fn restore(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let body = req.json().map_err(OmError::bad_request)?;
    let body = Body::strict(&body, "org.openmetadata.schema.api.data.RestoreEntity", &["id"])?;
    let id = find(store, &Key::Id(body.req_str("id")?), Include::All)?;
    let principal = store.principal.clone();
    if let Some(team) = store.teams.get_mut(&id)
        && team.meta.deleted
    {
        team.meta.deleted = false;
        team.meta.bump(&principal);
    }
    Ok(Reply::json(StatusCode::OK, &render(store, id, &written_fields())))
}

/// The `ChangeEvent` OpenMetadata answers membership sub-resource calls with.
fn change_event(store: &Store, id: Uuid, previous: Value, added: Vec<Value>, removed: Vec<Value>) -> Value {
    let Some(team) = store.teams.get(&id) else { return Value::Null };
    let mut fields_added = Vec::new();
    let mut fields_deleted = Vec::new();
    if !added.is_empty() {
        fields_added.push(json!({"name": "users", "newValue": Value::Array(added).to_string()}));
    }
    if !removed.is_empty() {
        fields_deleted.push(json!({"name": "users", "oldValue": Value::Array(removed).to_string()}));
    }
    json!({
        "id": Uuid::new_v4().to_string(),
        "eventType": "entityUpdated",
        "entityType": "team",
        "entityId": team.id.to_string(),
        "entityFullyQualifiedName": super::model::quote_name(&team.name),
        "previousVersion": previous,
        "currentVersion": team.meta.version(),
        "userName": store.principal,
        "timestamp": now_ms(),
        "changeDescription": {
            "fieldsAdded": fields_added,
            "fieldsUpdated": [],
            "fieldsDeleted": fields_deleted,
            "previousVersion": previous,
        },
    })
}

/// Sets the membership of `team_id` to `wanted`, returning the refs added and removed.
fn set_members(store: &mut Store, team_id: Uuid, wanted: &BTreeSet<Uuid>) -> (Vec<Value>, Vec<Value>) {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut changed_users = Vec::new();
    for user in store.users.values_mut() {
        let member = user.data.teams.contains(&team_id);
        if member && !wanted.contains(&user.id) {
            user.data.teams.retain(|t| *t != team_id);
            changed_users.push((user.id, false));
        } else if !member && wanted.contains(&user.id) {
            user.data.teams.push(team_id);
            changed_users.push((user.id, true));
        }
    }
    changed_users.sort_by_key(|(id, _)| store.users.get(id).map(|u| u.name.to_lowercase()));
    for (id, was_added) in changed_users {
        if let Some(user) = store.users.get(&id) {
            let r = store.user_ref(user);
            if was_added { added.push(r) } else { removed.push(r) }
        }
    }
    if !added.is_empty() || !removed.is_empty() {
        let principal = store.principal.clone();
        if let Some(team) = store.teams.get_mut(&team_id) {
            team.meta.bump(&principal);
        }
    }
    (added, removed)
}

/// `PUT /v1/teams/{teamId}/users` with `[{"id": …, "type": "user"}, …]`: replaces the whole member list.
pub(super) fn replace_users(store: &mut Store, req: &NativeRequest, team: &str) -> Result<Reply, OmError> {
    let id = find(store, &Key::Id(team.to_owned()), Include::NonDeleted)?;
    let body = req.json().map_err(OmError::bad_request)?;
    let wanted: BTreeSet<Uuid> = store.known_users(&ref_ids(&body, "users")?)?.into_iter().collect();
    let previous = team_type_of(store, id)?.meta.version();
    let (added, removed) = set_members(store, id, &wanted);
    Ok(Reply::json(StatusCode::OK, &change_event(store, id, previous, added, removed)))
}

/// `DELETE /v1/teams/{teamId}/users/{userId}`.
pub(super) fn remove_user(store: &mut Store, team: &str, user: &str) -> Result<Reply, OmError> {
    let id = find(store, &Key::Id(team.to_owned()), Include::NonDeleted)?;
    let user_id = Uuid::parse_str(user).ok().filter(|u| store.users.contains_key(u));
    let user_id = user_id.ok_or_else(|| Store::not_found("user", user))?;
    let mut wanted: BTreeSet<Uuid> =
        store.users.values().filter(|u| u.data.teams.contains(&id)).map(|u| u.id).collect();
    wanted.remove(&user_id);
    let previous = team_type_of(store, id)?.meta.version();
    let (added, removed) = set_members(store, id, &wanted);
    Ok(Reply::json(StatusCode::OK, &change_event(store, id, previous, added, removed)))
}

/// Seeds a team below a named parent (tests and demo data).
pub(super) fn seed_under(
    store: &mut Store,
    name: &str,
    team_type: &str,
    parent: Option<&str>,
) -> Result<Value, OmError> {
    let parents = match parent {
        Some(p) => vec![json!(store.team_by_name(p).ok_or_else(|| Store::not_found("team", p))?.id.to_string())],
        None => Vec::new(),
    };
    let body = json!({"name": name, "teamType": team_type, "parents": parents});
    let (name, write) = parse_create(store, &body)?;
    if store.team_names.contains_key(&name) {
        return Err(OmError::exists());
    }
    let id = insert(store, name, write);
    Ok(render(store, id, &written_fields()))
}
