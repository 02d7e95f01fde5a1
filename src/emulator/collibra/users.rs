//! `/rest/2.0/users`: find, add (single and bulk), get, merge-PATCH, delete, and a user's group memberships.
//!
//! Create and update name the same fields differently (`userName`/`emailAddress` on `AddUserRequest`,
//! `username`/`email` on `ChangeUserRequest`), and an update changes only properties that are present and not
//! `null`, so `null` never clears anything.

use http::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::error::{Body, CollibraError, check_email, check_user_name, path_uuid};
use super::model::{Audit, Paging, Store, User, UserData, descending};
use crate::emulator::wire::{NativeRequest, Reply};

const GENDERS: &[&str] = &["MALE", "FEMALE", "UNKNOWN"];
const LICENSES: &[&str] = &["CONSUMER", "AUTHOR"];
const NAME_FIELDS: &[&str] =
    &["USERNAME", "FIRSTNAME", "LASTNAME", "LASTNAME_FIRSTNAME", "FIRSTNAME_LASTNAME", "EMAIL"];

pub(super) fn user_not_found(id: impl std::fmt::Display) -> CollibraError {
    CollibraError::not_found("userNotFound", "user", id)
}

fn duplicate_name(name: &str) -> CollibraError {
    CollibraError::new(
        StatusCode::BAD_REQUEST,
        "userAlreadyExists",
        format!("A user with user name '{name}' already exists."),
    )
}

fn find(store: &Store, raw: &str) -> Result<Uuid, CollibraError> {
    let id = path_uuid(raw)?;
    if store.users.contains_key(&id) { Ok(id) } else { Err(user_not_found(id)) }
}

fn objects(body: &Body<'_>, key: &str) -> Result<Option<Vec<Value>>, CollibraError> {
    let Some(items) = body.opt_array(key)? else { return Ok(None) };
    if let Some(bad) = items.iter().find(|v| !v.is_object()) {
        return Err(CollibraError::invalid(format!("Property '{key}' must hold objects, got {bad}.")));
    }
    Ok(Some(items))
}

fn check_groups(store: &Store, ids: &[Uuid]) -> Result<(), CollibraError> {
    match ids.iter().find(|id| !store.groups.contains_key(id)) {
        Some(id) => Err(CollibraError::not_found("userGroupNotFound", "user group", id)),
        None => Ok(()),
    }
}

/// Validates an `AddUserRequest`; returns the user and the groups to join.
fn parse_add(store: &Store, value: &Value) -> Result<(UserData, Vec<Uuid>), CollibraError> {
    let body = Body::of(value)?;
    let user_name = body.req_str("userName")?;
    check_user_name("userName", &user_name)?;
    let email = body.req_str("emailAddress")?;
    check_email("emailAddress", &email)?;
    let groups = body.opt_uuids("userGroupIds")?.unwrap_or_default();
    check_groups(store, &groups)?;
    let data = UserData {
        user_name,
        email,
        first_name: body.opt_str("firstName")?,
        last_name: body.opt_str("lastName")?,
        gender: body.opt_enum("gender", GENDERS)?.unwrap_or_else(|| "UNKNOWN".to_owned()),
        language: body.opt_str("language")?,
        enabled: true,
        license_type: body.opt_enum("licenseType", LICENSES)?.unwrap_or_else(|| "CONSUMER".to_owned()),
        additional_emails: objects(&body, "additionalEmailAddresses")?.unwrap_or_default(),
        phones: objects(&body, "phones")?.unwrap_or_default(),
        addresses: objects(&body, "addresses")?.unwrap_or_default(),
        instant_messaging: objects(&body, "instantMessagingAccounts")?.unwrap_or_default(),
        websites: objects(&body, "websites")?.unwrap_or_default(),
    };
    Ok((data, groups))
}

fn insert(store: &mut Store, data: UserData, groups: &[Uuid]) -> Uuid {
    let user = User { id: Uuid::new_v4(), audit: Audit::new(store.actor), data };
    let id = user.id;
    store.users.insert(id, user);
    join(store, id, groups);
    id
}

/// Adds `user` to `groups` (Everyone is implicit and never stored).
fn join(store: &mut Store, user: Uuid, groups: &[Uuid]) {
    let (actor, everyone) = (store.actor, store.everyone);
    for group_id in groups.iter().filter(|g| **g != everyone) {
        if let Some(group) = store.groups.get_mut(group_id)
            && !group.members.contains(&user)
        {
            group.members.push(user);
            group.audit.touch(actor);
        }
    }
}

fn leave(store: &mut Store, user: Uuid, groups: &[Uuid]) {
    let actor = store.actor;
    for group_id in groups {
        if let Some(group) = store.groups.get_mut(group_id) {
            let before = group.members.len();
            group.members.retain(|m| *m != user);
            if group.members.len() != before {
                group.audit.touch(actor);
            }
        }
    }
}

fn render(store: &Store, id: Uuid) -> Value {
    store.users.get(&id).map(|u| store.render_user(u)).unwrap_or(Value::Null)
}

/// `POST /users`.
pub(super) fn add(store: &mut Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let body = req.json().map_err(CollibraError::invalid)?;
    let (data, groups) = parse_add(store, &body)?;
    if store.user_by_name(&data.user_name).is_some() {
        return Err(duplicate_name(&data.user_name));
    }
    let id = insert(store, data, &groups);
    Ok(Reply::json(StatusCode::CREATED, &render(store, id)))
}

/// `POST /users/bulk`: all or nothing.
pub(super) fn add_bulk(store: &mut Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let body = req.json().map_err(CollibraError::invalid)?;
    let items = body.as_array().ok_or_else(|| CollibraError::invalid("The request body must be a JSON array."))?;
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let (data, groups) = parse_add(store, item)?;
        let clash = store.user_by_name(&data.user_name).is_some()
            || parsed.iter().any(|(d, _): &(UserData, Vec<Uuid>)| d.user_name.eq_ignore_ascii_case(&data.user_name));
        if clash {
            return Err(duplicate_name(&data.user_name));
        }
        parsed.push((data, groups));
    }
    let ids: Vec<Uuid> = parsed.into_iter().map(|(data, groups)| insert(store, data, &groups)).collect();
    let created: Vec<Value> = ids.into_iter().map(|id| render(store, id)).collect();
    Ok(Reply::json(StatusCode::CREATED, &Value::Array(created)))
}

/// `GET /users/{userId}`.
pub(super) fn get(store: &Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    Ok(Reply::json(StatusCode::OK, &render(store, id)))
}

/// `GET /users/email/{emailAddress}` (deprecated, still served).
pub(super) fn get_by_email(store: &Store, email: &str) -> Result<Reply, CollibraError> {
    let user = store.users.values().find(|u| u.data.email.eq_ignore_ascii_case(email)).ok_or_else(|| {
        CollibraError::new(
            StatusCode::NOT_FOUND,
            "userNotFound",
            format!("No user with e-mail address '{email}' exists."),
        )
    })?;
    Ok(Reply::json(StatusCode::OK, &store.render_user(user)))
}

/// The text a `nameSearchFields` value searches in.
fn search_text(user: &User, field: &str) -> String {
    let d = &user.data;
    let first = d.first_name.as_deref().unwrap_or("");
    let last = d.last_name.as_deref().unwrap_or("");
    match field {
        "USERNAME" => d.user_name.clone(),
        "FIRSTNAME" => first.to_owned(),
        "LASTNAME" => last.to_owned(),
        "LASTNAME_FIRSTNAME" => format!("{last} {first}"),
        "FIRSTNAME_LASTNAME" => format!("{first} {last}"),
        _ => d.email.clone(),
    }
}

/// `GET /users?offset&limit&countLimit&name&nameSearchFields&userId&groupId&onlyLoggedIn&includeDisabled&sortField&sortOrder`.
pub(super) fn find_users(store: &Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let paging = Paging::parse(req)?;
    let mut fields: Vec<&str> = req.params("nameSearchFields").collect();
    if let Some(bad) = fields.iter().find(|f| !NAME_FIELDS.contains(f)) {
        return Err(CollibraError::invalid(format!("nameSearchFields must be one of {NAME_FIELDS:?}, got {bad:?}")));
    }
    if fields.is_empty() {
        fields = NAME_FIELDS[..5].to_vec();
    }
    let name = req.param("name").filter(|n| !n.is_empty()).map(str::to_lowercase);
    let ids = req.params("userId").map(path_uuid).collect::<Result<Vec<_>, _>>()?;
    let group = match req.param("groupId").filter(|g| !g.is_empty()) {
        Some(raw) => {
            let id = path_uuid(raw)?;
            Some(store.groups.get(&id).ok_or_else(|| CollibraError::not_found("userGroupNotFound", "user group", id))?)
        }
        None => None,
    };
    let include_disabled = req.flag("includeDisabled", false).map_err(CollibraError::invalid)?;
    let only_logged_in = req.flag("onlyLoggedIn", false).map_err(CollibraError::invalid)?;
    let sort_field = req.param("sortField").filter(|s| !s.is_empty()).unwrap_or("USERNAME");
    if !NAME_FIELDS.contains(&sort_field) {
        return Err(CollibraError::invalid(format!("sortField must be one of {NAME_FIELDS:?}, got {sort_field:?}")));
    }
    let desc = descending(req)?;
    let mut users: Vec<&User> = store
        .users
        .values()
        // Nobody logs in to an emulator.
        .filter(|_| !only_logged_in)
        .filter(|u| include_disabled || u.data.enabled)
        .filter(|u| ids.is_empty() || ids.contains(&u.id))
        .filter(|u| group.is_none_or(|g| store.is_member(g, u.id)))
        .filter(|u| name.as_deref().is_none_or(|n| fields.iter().any(|f| search_text(u, f).to_lowercase().contains(n))))
        .collect();
    users.sort_by_cached_key(|u| (search_text(u, sort_field).to_lowercase(), u.id));
    if desc {
        users.reverse();
    }
    Ok(Reply::json(StatusCode::OK, &paging.respond(&users, |u| store.render_user(u))))
}

/// `PATCH /users/{userId}` with a `ChangeUserRequest`: present, non-null properties are changed, nothing else.
pub(super) fn change(store: &mut Store, req: &NativeRequest, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    let value = req.json().map_err(CollibraError::invalid)?;
    let body = Body::of(&value)?;
    let mut data = store.users.get(&id).map(|u| u.data.clone()).ok_or_else(|| user_not_found(id))?;
    if let Some(name) = body.opt_str("username")? {
        check_user_name("username", &name)?;
        if store.users.values().any(|u| u.id != id && u.data.user_name.eq_ignore_ascii_case(&name)) {
            return Err(duplicate_name(&name));
        }
        data.user_name = name;
    }
    if let Some(email) = body.opt_str("email")? {
        check_email("email", &email)?;
        data.email = email;
    }
    if let Some(v) = body.opt_bool("enabled")? {
        data.enabled = v;
    }
    if let Some(v) = body.opt_str("firstName")? {
        data.first_name = Some(v);
    }
    if let Some(v) = body.opt_str("lastName")? {
        data.last_name = Some(v);
    }
    if let Some(v) = body.opt_enum("gender", GENDERS)? {
        data.gender = v;
    }
    if let Some(v) = body.opt_str("language")? {
        data.language = Some(v);
    }
    if let Some(v) = body.opt_enum("licenseType", LICENSES)? {
        data.license_type = v;
    }
    if let Some(v) = objects(&body, "additionalEmailAddresses")? {
        data.additional_emails = v;
    }
    if let Some(v) = objects(&body, "phones")? {
        data.phones = v;
    }
    if let Some(v) = objects(&body, "addresses")? {
        data.addresses = v;
    }
    if let Some(v) = objects(&body, "instantMessagingAccounts")? {
        data.instant_messaging = v;
    }
    if let Some(v) = objects(&body, "websites")? {
        data.websites = v;
    }
    let actor = store.actor;
    if let Some(user) = store.users.get_mut(&id)
        && user.data != data
    {
        user.data = data;
        user.audit.touch(actor);
    }
    Ok(Reply::json(StatusCode::OK, &render(store, id)))
}

/// `DELETE /users/{userId}`: a hard delete answering 204; memberships and responsibilities go with it, and
/// mappings to the user lose their reference.
pub(super) fn delete(store: &mut Store, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    store.users.remove(&id);
    let groups: Vec<Uuid> = store.groups.keys().copied().collect();
    leave(store, id, &groups);
    store.responsibilities.retain(|_, r| r.owner != id);
    store.forget_mapped_resource(id);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

fn group_ids(req: &NativeRequest, store: &Store) -> Result<Vec<Uuid>, CollibraError> {
    let value = req.json().map_err(CollibraError::invalid)?;
    let ids = Body::of(&value)?.req_uuids("userGroupIds")?;
    check_groups(store, &ids)?;
    Ok(ids)
}

fn groups_of(store: &Store, user: Uuid) -> Vec<Value> {
    let mut groups: Vec<_> =
        store.groups.values().filter(|g| g.id != store.everyone && g.members.contains(&user)).collect();
    groups.sort_by_key(|g| g.name.to_lowercase());
    groups.into_iter().map(|g| store.render_group(g)).collect()
}

/// `PUT /users/{userId}/userGroups {userGroupIds}`: the user ends up in exactly these groups.
pub(super) fn set_groups(store: &mut Store, req: &NativeRequest, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    let wanted = group_ids(req, store)?;
    let current: Vec<Uuid> = store.groups.values().filter(|g| g.members.contains(&id)).map(|g| g.id).collect();
    let dropped: Vec<Uuid> = current.into_iter().filter(|g| !wanted.contains(g)).collect();
    leave(store, id, &dropped);
    join(store, id, &wanted);
    Ok(Reply::json(StatusCode::OK, &Value::Array(groups_of(store, id))))
}

/// `POST /users/{userId}/userGroups {userGroupIds}`: adds the user to these groups.
pub(super) fn add_groups(store: &mut Store, req: &NativeRequest, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    let wanted = group_ids(req, store)?;
    join(store, id, &wanted);
    let added: Vec<Value> = wanted.iter().filter_map(|g| store.groups.get(g)).map(|g| store.render_group(g)).collect();
    Ok(Reply::json(StatusCode::OK, &Value::Array(added)))
}

/// `DELETE /users/{userId}/userGroups {userGroupIds}`: 204.
pub(super) fn remove_groups(store: &mut Store, req: &NativeRequest, raw: &str) -> Result<Reply, CollibraError> {
    let id = find(store, raw)?;
    let groups = group_ids(req, store)?;
    leave(store, id, &groups);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Membership changes made from the group side share the user-side helpers.
pub(super) fn join_group(store: &mut Store, user: Uuid, group: Uuid) {
    join(store, user, &[group]);
}

pub(super) fn leave_group(store: &mut Store, user: Uuid, group: Uuid) {
    leave(store, user, &[group]);
}
