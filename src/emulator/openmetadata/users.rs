//! `/api/v1/users`: create, create-or-update, read, list, JSON Patch, soft/hard delete and restore.

use http::StatusCode;
use http::header::LOCATION;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{Body, OmError, check_email, check_user_name, ref_ids};
use super::model::{Fields, Include, Meta, Store, USER_FIELDS, User, UserData};
use super::paging::{PageRequest, result_list};
use crate::emulator::json_patch;
use crate::emulator::wire::{NativeRequest, Reply};

/// How a request names an entity: `/{id}` or `/name/{name}`.
#[derive(Debug, Clone)]
pub(super) enum Key {
    Id(String),
    Name(String),
}

/// The `CreateUser` schema's properties (`additionalProperties: false`).
const CREATE_USER: &[&str] = &[
    "name",
    "email",
    "displayName",
    "description",
    "externalId",
    "scimUserName",
    "timezone",
    "isBot",
    "botName",
    "isAdmin",
    "profile",
    "teams",
    "roles",
    "personas",
    "defaultPersona",
    "authenticationMechanism",
    "createPasswordType",
    "password",
    "confirmPassword",
    "domains",
];

/// The `User` entity's properties, which a JSON Patch result must stay within.
const USER_ENTITY: &[&str] = &[
    "id",
    "name",
    "fullyQualifiedName",
    "displayName",
    "description",
    "email",
    "externalId",
    "scimUserName",
    "timezone",
    "version",
    "updatedAt",
    "updatedBy",
    "href",
    "isBot",
    "isAdmin",
    "isEmailVerified",
    "deleted",
    "profile",
    "teams",
    "roles",
    "inheritedRoles",
    "personas",
    "defaultPersona",
    "domains",
    "follows",
    "owns",
    "authenticationMechanism",
    "changeDescription",
    "lastLoginTime",
    "lastActivityTime",
];

const CREATE_USER_CLASS: &str = "org.openmetadata.schema.api.teams.CreateUser";
const USER_CLASS: &str = "org.openmetadata.schema.entity.teams.User";

/// The fields a write answers with: relationships are shown, as OpenMetadata returns the entity it stored.
fn written_fields() -> Fields {
    Fields::parse(Some("teams,roles,profile,personas,defaultPersona,domains"), USER_FIELDS).unwrap_or_default()
}

/// Finds a user id by key among the entities `include` admits.
pub(super) fn find(store: &Store, key: &Key, include: Include) -> Result<Uuid, OmError> {
    let user = match key {
        Key::Id(raw) => Uuid::parse_str(raw).ok().and_then(|id| store.users.get(&id)),
        Key::Name(name) => store.user_by_name(name),
    };
    match user {
        Some(u) if include.admits(u.meta.deleted) => Ok(u.id),
        _ => Err(Store::not_found("user", key_text(key))),
    }
}

pub(super) fn key_text(key: &Key) -> &str {
    match key {
        Key::Id(s) | Key::Name(s) => s,
    }
}

fn domains_from_names(names: Vec<Value>) -> Result<Vec<Value>, OmError> {
    names
        .into_iter()
        .map(|n| match n {
            Value::String(s) => Ok(json!({"type": "domain", "name": s, "fullyQualifiedName": s})),
            other => Err(OmError::bad_request(format!("domains must be domain names, got {other}"))),
        })
        .collect()
}

/// Parses and validates a `CreateUser` body.
fn parse_create(store: &Store, value: &Value) -> Result<(String, UserData), OmError> {
    let body = Body::strict(value, CREATE_USER_CLASS, CREATE_USER)?;
    let name = body.req_str("name")?;
    check_user_name(&name)?;
    let email = body.req_str("email")?;
    check_email("email", &email)?;
    if let Some(kind) = body.opt_str("createPasswordType")?
        && kind != "ADMIN_CREATE"
        && kind != "USER_CREATE"
    {
        return Err(OmError::bad_request(format!(
            "createPasswordType must be ADMIN_CREATE or USER_CREATE, got {kind:?}"
        )));
    }
    for secret in ["password", "confirmPassword", "botName"] {
        body.opt_str(secret)?;
    }
    let teams = store.known_teams(&body.opt_uuids("teams")?.unwrap_or_default())?;
    let roles = store.known_roles(&body.opt_uuids("roles")?.unwrap_or_default())?;
    let data = UserData {
        display_name: body.opt_str("displayName")?,
        description: body.opt_str("description")?,
        email,
        external_id: body.opt_str("externalId")?,
        scim_user_name: body.opt_str("scimUserName")?,
        timezone: body.opt_str("timezone")?,
        is_bot: body.opt_bool("isBot")?.unwrap_or(false),
        is_admin: body.opt_bool("isAdmin")?.unwrap_or(false),
        is_email_verified: None,
        profile: body.opt_object("profile")?,
        teams,
        roles,
        personas: body.opt_array("personas")?.unwrap_or_default(),
        default_persona: body.opt_object("defaultPersona")?,
        domains: domains_from_names(body.opt_array("domains")?.unwrap_or_default())?,
        authentication_mechanism: body.opt_object("authenticationMechanism")?,
    };
    Ok((name, data))
}

fn check_unique_email(store: &Store, email: &str, except: Option<Uuid>) -> Result<(), OmError> {
    if !store.unique_email {
        return Ok(());
    }
    let taken = store.users.values().any(|u| Some(u.id) != except && u.data.email.eq_ignore_ascii_case(email));
    if taken {
        return Err(OmError::new(StatusCode::CONFLICT, format!("User with Email {email} already exists")));
    }
    Ok(())
}

fn insert(store: &mut Store, name: String, data: UserData) -> Uuid {
    let user = User { id: Uuid::new_v4(), name, data, meta: Meta::new(&store.principal) };
    let id = user.id;
    store.user_names.insert(user.name.to_lowercase(), id);
    store.users.insert(id, user);
    id
}

fn render(store: &Store, id: Uuid, fields: &Fields) -> Value {
    store.users.get(&id).map(|u| store.render_user(u, fields)).unwrap_or(Value::Null)
}

/// `POST /v1/users`.
pub(super) fn create(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let body = req.json().map_err(OmError::bad_request)?;
    let (name, data) = parse_create(store, &body)?;
    if store.user_by_name(&name).is_some() {
        return Err(OmError::exists());
    }
    check_unique_email(store, &data.email, None)?;
    let id = insert(store, name, data);
    let href = store.href("users", id);
    Ok(Reply::json(StatusCode::CREATED, &render(store, id, &written_fields())).with_header(LOCATION, &href))
}

/// `PUT /v1/users`: creates, or replaces every settable field of the user with that name.
pub(super) fn create_or_update(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let body = req.json().map_err(OmError::bad_request)?;
    let (name, mut data) = parse_create(store, &body)?;
    let Some(existing) = store.user_by_name(&name).map(|u| u.id) else {
        check_unique_email(store, &data.email, None)?;
        let id = insert(store, name, data);
        let href = store.href("users", id);
        return Ok(Reply::json(StatusCode::CREATED, &render(store, id, &written_fields())).with_header(LOCATION, &href));
    };
    check_unique_email(store, &data.email, Some(existing))?;
    let principal = store.principal.clone();
    if let Some(user) = store.users.get_mut(&existing) {
        data.is_email_verified = user.data.is_email_verified;
        if data.authentication_mechanism.is_none() {
            data.authentication_mechanism = user.data.authentication_mechanism.clone();
        }
        if user.data != data {
            user.data = data;
            user.meta.bump(&principal);
        }
    }
    Ok(Reply::json(StatusCode::OK, &render(store, existing, &written_fields())))
}

/// `GET /v1/users/{id}` and `/v1/users/name/{name}`.
pub(super) fn get(store: &Store, req: &NativeRequest, key: &Key) -> Result<Reply, OmError> {
    let fields = Fields::parse(req.param("fields"), USER_FIELDS)?;
    let include = Include::parse(req.param("include"))?;
    let id = find(store, key, include)?;
    Ok(Reply::json(StatusCode::OK, &render(store, id, &fields)))
}

/// `GET /v1/users?limit&before&after&fields&team&isAdmin&isBot&include`.
pub(super) fn list(store: &Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let fields = Fields::parse(req.param("fields"), USER_FIELDS)?;
    let include = Include::parse(req.param("include"))?;
    let page = PageRequest::from_request(req, 10)?;
    let team = match req.param("team").filter(|t| !t.is_empty()) {
        Some(name) => Some(store.team_by_name(name).ok_or_else(|| Store::not_found("team", name))?.id),
        None => None,
    };
    let is_admin =
        req.param("isAdmin").map(|_| req.flag("isAdmin", false)).transpose().map_err(OmError::bad_request)?;
    let is_bot = req.param("isBot").map(|_| req.flag("isBot", false)).transpose().map_err(OmError::bad_request)?;
    // The name index is already in list order.
    let rows: Vec<(&str, &User)> = store
        .user_names
        .iter()
        .filter_map(|(key, id)| store.users.get(id).map(|u| (key.as_str(), u)))
        .filter(|(_, u)| include.admits(u.meta.deleted))
        .filter(|(_, u)| team.is_none_or(|t| u.data.teams.contains(&t)))
        .filter(|(_, u)| is_admin.is_none_or(|a| u.data.is_admin == a))
        .filter(|(_, u)| is_bot.is_none_or(|b| u.data.is_bot == b))
        .collect();
    Ok(Reply::json(StatusCode::OK, &result_list(&rows, &page, |u| store.render_user(u, &fields))))
}

/// Reads the settable fields back out of a patched `User` document; server-owned fields (id, name, version,
/// deleted, …) are ignored as `restorePatchAttributes` does.
fn data_from_document(store: &Store, doc: &Value, old: &UserData) -> Result<UserData, OmError> {
    let body = Body::strict(doc, USER_CLASS, USER_ENTITY)?;
    let email = body.req_str("email")?;
    check_email("email", &email)?;
    let teams = match body.map.get("teams").filter(|v| !v.is_null()) {
        Some(v) => store.known_teams(&ref_ids(v, "teams")?)?,
        None => Vec::new(),
    };
    let roles = match body.map.get("roles").filter(|v| !v.is_null()) {
        Some(v) => store.known_roles(&ref_ids(v, "roles")?)?,
        None => Vec::new(),
    };
    Ok(UserData {
        display_name: body.opt_str("displayName")?,
        description: body.opt_str("description")?,
        email,
        external_id: body.opt_str("externalId")?,
        scim_user_name: body.opt_str("scimUserName")?,
        timezone: body.opt_str("timezone")?,
        is_bot: body.opt_bool("isBot")?.unwrap_or(false),
        is_admin: body.opt_bool("isAdmin")?.unwrap_or(false),
        is_email_verified: body.opt_bool("isEmailVerified")?,
        profile: body.opt_object("profile")?,
        teams,
        roles,
        personas: body.opt_array("personas")?.unwrap_or_default(),
        default_persona: body.opt_object("defaultPersona")?,
        domains: body.opt_array("domains")?.unwrap_or_default(),
        authentication_mechanism: old.authentication_mechanism.clone(),
    })
}

/// Rejects anything but `application/json-patch+json`, as the JAX-RS `@Consumes` does.
pub(super) fn require_json_patch(req: &NativeRequest) -> Result<Value, OmError> {
    if req.content_type().as_deref() != Some("application/json-patch+json") {
        return Err(OmError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "HTTP 415 Unsupported Media Type"));
    }
    req.json().map_err(OmError::bad_request)
}

/// `PATCH /v1/users/{id}` and `/v1/users/name/{name}` with an RFC 6902 body.
pub(super) fn patch(store: &mut Store, req: &NativeRequest, key: &Key) -> Result<Reply, OmError> {
    let ops = require_json_patch(req)?;
    let id = find(store, key, Include::NonDeleted)?;
    let user = store.users.get(&id).ok_or_else(|| Store::not_found("user", key_text(key)))?;
    let doc = store.render_user(user, &Fields::all(USER_FIELDS));
    let patched = json_patch::apply(&doc, &ops).map_err(|e| OmError::bad_request(e.to_string()))?;
    let data = data_from_document(store, &patched, &user.data)?;
    check_unique_email(store, &data.email, Some(id))?;
    let principal = store.principal.clone();
    if let Some(user) = store.users.get_mut(&id)
        && user.data != data
    {
        user.data = data;
        user.meta.bump(&principal);
    }
    Ok(Reply::json(StatusCode::OK, &render(store, id, &written_fields())))
}

/// `DELETE /v1/users/{id}?hardDelete=` and `/v1/users/name/{name}`: soft by default.
pub(super) fn delete(store: &mut Store, req: &NativeRequest, key: &Key) -> Result<Reply, OmError> {
    let hard = req.flag("hardDelete", false).map_err(OmError::bad_request)?;
    req.flag("recursive", false).map_err(OmError::bad_request)?;
    let id = find(store, key, Include::All)?;
    let principal = store.principal.clone();
    if hard {
        let body = render(store, id, &written_fields());
        if let Some(user) = store.users.remove(&id) {
            store.user_names.remove(&user.name.to_lowercase());
        }
        return Ok(Reply::json(StatusCode::OK, &body));
    }
    if let Some(user) = store.users.get_mut(&id)
        && !user.meta.deleted
    {
        user.meta.deleted = true;
        user.meta.bump(&principal);
    }
    Ok(Reply::json(StatusCode::OK, &render(store, id, &written_fields())))
}

/// `PUT /v1/users/restore {"id": …}`: undoes a soft delete.
pub(super) fn restore(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let body = req.json().map_err(OmError::bad_request)?;
    let body = Body::strict(&body, "org.openmetadata.schema.api.data.RestoreEntity", &["id"])?;
    let raw = body.req_str("id")?;
    let id = find(store, &Key::Id(raw), Include::All)?;
    let principal = store.principal.clone();
    if let Some(user) = store.users.get_mut(&id)
        && user.meta.deleted
    {
        user.meta.deleted = false;
        user.meta.bump(&principal);
    }
    Ok(Reply::json(StatusCode::OK, &render(store, id, &written_fields())))
}
