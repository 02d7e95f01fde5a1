//! Collibra Core REST API 2.0 (`/rest/2.0`): users, user groups, roles, responsibilities and external-system
//! mappings.
//!
//! What it imitates (see the shared backend reference, §2):
//! - HTTP Basic authentication with the configured account; anything else is 401 with a
//!   `WWW-Authenticate: Basic` challenge.
//! - Users: `AddUserRequest` (`userName`, `emailAddress`, …) on `POST /users` and `POST /users/bulk`,
//!   `ChangeUserRequest` (`username`, `email`, `enabled`, …) on `PATCH /users/{id}` as a merge where `null` means
//!   "leave alone"; `enabled: false` deactivates (hidden from `GET /users` unless `includeDisabled=true`);
//!   `DELETE /users/{id}` is a hard delete answering **204**. `GET /users` searches `name` (case-insensitive,
//!   anywhere) in the `nameSearchFields`, has no `nameMatchMode`, and lists a group's members with `groupId`.
//! - User groups: `nameMatchMode` START/END/ANYWHERE (case-insensitive) and EXACT (case-sensitive); the built-in
//!   `Everyone` group appears only with `includeEveryone=true`; `POST`/`DELETE /userGroups/{id}/users {userIds}`;
//!   `DELETE /userGroups/{id}` answers **200**.
//! - Offset paging: `offset`, `limit` (0 means 1000, more than 1000 is a 400), `countLimit` (-1 counts all, 0
//!   leaves `total` out, n caps it) → `{total, offset, limit, results}`.
//! - Roles (seeded: global `Sysadmin`, `Catalog Author`, `Catalog`; resource roles `Owner`, `Steward`) and
//!   responsibilities: `POST /responsibilities {roleId, ownerId}` creates a global assignment,
//!   `GET /responsibilities?ownerIds=&roleIds=` finds it, `DELETE /responsibilities/{id}` (204) revokes it.
//! - Mappings (`/mappings`): external system id + external entity id ↔ a Collibra resource; add (201), find, get by
//!   id, by external ids or by external system and mapped resource (404 when missing), remove by any of the three
//!   (204 whether or not it existed). Deleting a user or group keeps its mappings but drops their
//!   `mappedResource`.
//! - Errors use `StandardErrorResponse`. A duplicate `userName` or group name is **400** with `errorCode`
//!   `userAlreadyExists` / `userGroupAlreadyExists` (the specification does not say; this is the assumption the
//!   backend reference recommends). User and group names are unique regardless of case.

mod error;
mod groups;
mod mappings;
mod model;
mod roles;
mod users;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::header::WWW_AUTHENTICATE;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use self::error::{CollibraError, default_code, envelope};
use self::model::Store;
use super::server::{self, Backend, Emulator, ServerOptions};
use super::wire::{Credentials, NativeRequest, Reply};
use super::{EmulatorError, Faults, RequestLog, SeedError};

/// How a Collibra emulator starts.
#[derive(Debug, Clone)]
pub struct CollibraConfig {
    /// The Basic-auth user name every request must carry.
    pub username: String,
    /// The Basic-auth password every request must carry.
    pub password: String,
    /// Listener, fault seed and request-log options.
    pub server: ServerOptions,
}

impl Default for CollibraConfig {
    fn default() -> Self {
        CollibraConfig {
            username: "collibra-emulator".to_owned(),
            password: "collibra-emulator-password".to_owned(),
            server: ServerOptions::default(),
        }
    }
}

impl CollibraConfig {
    /// The default configuration with another Basic account, for clients that are configured with their own
    /// service account (the shipped Collibra mapping names the user `scimgate`).
    pub fn with_account(username: impl Into<String>, password: impl Into<String>) -> Self {
        CollibraConfig { username: username.into(), password: password.into(), ..CollibraConfig::default() }
    }
}

/// A running Collibra emulator.
#[derive(Debug)]
pub struct CollibraEmulator {
    server: Emulator,
    app: Arc<App>,
}

#[derive(Debug)]
struct App {
    credentials: Credentials,
    store: Mutex<Store>,
}

impl App {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, SeedError> {
        let request = NativeRequest::synthetic(method, path, body).map_err(|message| {
            SeedError::new(
                StatusCode::BAD_REQUEST,
                envelope(StatusCode::BAD_REQUEST, "invalidRequest", &message).body_json(),
            )
        })?;
        SeedError::check(self.handle(&request))
    }
}

impl Backend for App {
    fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn error(&self, status: StatusCode, message: &str) -> Reply {
        envelope(status, default_code(status), message)
    }

    fn unauthorized(&self) -> Reply {
        envelope(StatusCode::UNAUTHORIZED, "notAuthenticated", "You are not authenticated. Please log in.")
            .with_header(WWW_AUTHENTICATE, "Basic realm=\"Collibra\"")
    }

    fn handle(&self, request: &NativeRequest) -> Reply {
        let mut store = self.store();
        route(&mut store, request).unwrap_or_else(|e| e.reply())
    }
}

fn route(store: &mut Store, req: &NativeRequest) -> Result<Reply, CollibraError> {
    let segs = req.segs();
    let not_found =
        || CollibraError::new(StatusCode::NOT_FOUND, "resourceNotFound", "The requested resource could not be found.");
    let Some(rest) = segs.strip_prefix(&["rest", "2.0"][..]) else {
        return Err(not_found());
    };
    match (req.method.as_str(), rest) {
        ("GET", ["users"]) => users::find_users(store, req),
        ("POST", ["users"]) => users::add(store, req),
        ("POST", ["users", "bulk"]) => users::add_bulk(store, req),
        ("GET", ["users", "email", email]) => users::get_by_email(store, email),
        ("GET", ["users", id]) => users::get(store, id),
        ("PATCH", ["users", id]) => users::change(store, req, id),
        ("DELETE", ["users", id]) => users::delete(store, id),
        ("PUT", ["users", id, "userGroups"]) => users::set_groups(store, req, id),
        ("POST", ["users", id, "userGroups"]) => users::add_groups(store, req, id),
        ("DELETE", ["users", id, "userGroups"]) => users::remove_groups(store, req, id),

        ("GET", ["userGroups"]) => groups::find_groups(store, req),
        ("POST", ["userGroups"]) => groups::add(store, req),
        ("GET", ["userGroups", id]) => groups::get(store, id),
        ("PATCH", ["userGroups", id]) => groups::change(store, req, id),
        ("DELETE", ["userGroups", id]) => groups::delete(store, id),
        ("POST", ["userGroups", id, "users"]) => groups::add_members(store, req, id),
        ("DELETE", ["userGroups", id, "users"]) => groups::remove_members(store, req, id),

        ("GET", ["roles"]) => roles::find_roles(store, req),
        ("GET", ["roles", id]) => roles::get_role(store, id),
        ("GET", ["responsibilities"]) => roles::find_responsibilities(store, req),
        ("POST", ["responsibilities"]) => roles::add_responsibility(store, req),
        ("GET", ["responsibilities", id]) => roles::get_responsibility(store, id),
        ("DELETE", ["responsibilities", id]) => roles::delete_responsibility(store, id),

        ("GET", ["mappings"]) => mappings::find(store, req),
        ("POST", ["mappings"]) => mappings::add(store, req),
        ("POST", ["mappings", "bulk"]) => mappings::add_bulk(store, req),
        ("GET", ["mappings", "externalSystem", system, "externalEntity", entity]) => {
            mappings::get_by_external_entity(store, system, entity)
        }
        ("DELETE", ["mappings", "externalSystem", system, "externalEntity", entity]) => {
            Ok(mappings::remove_by_external_entity(store, system, entity))
        }
        ("GET", ["mappings", "externalSystem", system, "mappedResource", resource]) => {
            mappings::get_by_mapped_resource(store, system, resource)
        }
        ("DELETE", ["mappings", "externalSystem", system, "mappedResource", resource]) => {
            Ok(mappings::remove_by_mapped_resource(store, system, resource))
        }
        ("GET", ["mappings", id]) => mappings::get(store, id),
        ("DELETE", ["mappings", id]) => mappings::remove(store, id),
        _ => Err(not_found()),
    }
}

impl CollibraEmulator {
    /// Starts the emulator with the `Everyone` group and the seeded roles.
    pub async fn start(config: CollibraConfig) -> Result<Self, EmulatorError> {
        let listener = server::bind(&config.server).await?;
        let app = Arc::new(App {
            credentials: Credentials::Basic { user: config.username.clone(), password: config.password.clone() },
            store: Mutex::new(Store::new()),
        });
        let backend: Arc<dyn Backend> = app.clone();
        let server = server::serve(listener, backend, &config.server)?;
        Ok(CollibraEmulator { server, app })
    }

    /// The shared server handle.
    pub fn server(&self) -> &Emulator {
        &self.server
    }

    /// `http://host:port`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `http://host:port/rest/2.0`, the base every Collibra path is relative to.
    pub fn api_url(&self) -> String {
        format!("{}/rest/2.0", self.server.base_url())
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// Every request received.
    pub fn requests(&self) -> &RequestLog {
        self.server.requests()
    }

    /// Stops the server.
    pub async fn shutdown(self) -> Result<(), EmulatorError> {
        self.server.shutdown().await
    }

    /// Every user, disabled ones included, sorted by user name (case-insensitive).
    pub fn users(&self) -> Vec<Value> {
        let store = self.app.store();
        let mut users: Vec<_> = store.users.values().collect();
        users.sort_by_key(|u| u.data.user_name.to_lowercase());
        users.into_iter().map(|u| store.render_user(u)).collect()
    }

    /// One user by id.
    pub fn user(&self, id: &str) -> Option<Value> {
        let store = self.app.store();
        let id = uuid::Uuid::parse_str(id).ok()?;
        store.users.get(&id).map(|u| store.render_user(u))
    }

    /// One user by user name (case-insensitive).
    pub fn user_by_name(&self, user_name: &str) -> Option<Value> {
        let store = self.app.store();
        store.user_by_name(user_name).map(|u| store.render_user(u))
    }

    /// Every user group except `Everyone`, sorted by name, each with a `members` array of user names (an
    /// addition to Collibra's shape, for assertions).
    pub fn groups(&self) -> Vec<Value> {
        let store = self.app.store();
        let mut groups: Vec<_> = store.groups.values().filter(|g| g.id != store.everyone).collect();
        groups.sort_by_key(|g| g.name.to_lowercase());
        groups.into_iter().map(|g| with_members(&store, g)).collect()
    }

    /// One user group by name (case-insensitive), with `members` as in [`Self::groups`].
    pub fn group_by_name(&self, name: &str) -> Option<Value> {
        let store = self.app.store();
        store.group_by_name(name).map(|g| with_members(&store, g))
    }

    /// The user names of a group's members in the order they were added; `None` for an unknown group.
    pub fn members_of(&self, group_name: &str) -> Option<Vec<String>> {
        let store = self.app.store();
        let group = store.group_by_name(group_name)?;
        Some(member_names(&store, group))
    }

    /// Every role, sorted by name.
    pub fn roles(&self) -> Vec<Value> {
        let store = self.app.store();
        let mut roles: Vec<_> = store.roles.values().collect();
        roles.sort_by_key(|r| r.name.to_lowercase());
        roles.into_iter().map(|r| store.render_role(r)).collect()
    }

    /// Every responsibility, oldest first.
    pub fn responsibilities(&self) -> Vec<Value> {
        let store = self.app.store();
        let mut all: Vec<_> = store.responsibilities.values().collect();
        all.sort_by_key(|r| (r.audit.created_on, r.id));
        all.into_iter().map(|r| store.render_responsibility(r)).collect()
    }

    /// Every external-system mapping, sorted by external system and external entity id.
    pub fn mappings(&self) -> Vec<Value> {
        let store = self.app.store();
        let mut all: Vec<_> = store.mappings.values().collect();
        all.sort_by(|a, b| {
            (&a.external_system_id, &a.external_entity_id).cmp(&(&b.external_system_id, &b.external_entity_id))
        });
        all.into_iter().map(|m| store.render_mapping(m)).collect()
    }

    /// Creates a user from an `AddUserRequest`, with the same validation as `POST /users`.
    pub fn seed_user(&self, add_user: Value) -> Result<Value, SeedError> {
        self.app.call(Method::POST, "/rest/2.0/users", Some(&add_user))
    }

    /// Creates a user group with this name.
    pub fn seed_group(&self, name: &str) -> Result<Value, SeedError> {
        self.app.call(Method::POST, "/rest/2.0/userGroups", Some(&json!({"name": name})))
    }

    /// Adds a role; `global` roles are assigned without a resource.
    pub fn seed_role(&self, name: &str, global: bool) -> Value {
        let mut store = self.app.store();
        let id = store.insert_role(name, global, "");
        store.roles.get(&id).map(|r| store.render_role(r)).unwrap_or(Value::Null)
    }
}

fn member_names(store: &Store, group: &model::Group) -> Vec<String> {
    group.members.iter().filter_map(|id| store.users.get(id)).map(|u| u.data.user_name.clone()).collect()
}

fn with_members(store: &Store, group: &model::Group) -> Value {
    let mut value = store.render_group(group);
    if let Some(o) = value.as_object_mut() {
        o.insert("members".into(), json!(member_names(store, group)));
    }
    value
}
