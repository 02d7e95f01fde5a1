//! OpenMetadata REST (`/api/v1`): users, typed hierarchical teams, roles and the user search index.
//!
//! What it imitates (see the shared backend reference, §1):
//! - `Authorization: Bearer <token>`; anything else is 401 `{"code":401,"message":…}`.
//! - Users: `POST`/`PUT /users` with `CreateUser` (`additionalProperties: false`, name `^[\w\-.]+$` of 1–64
//!   characters, so `@` is a 400), UUID arrays for `teams`/`roles` on create and entity references on read,
//!   case-insensitive unique names (409 `Entity already exists`, soft-deleted users included), JSON Patch
//!   (`application/json-patch+json` only, `remove` by index, `add …/-`), soft delete (`deleted: true`, hidden
//!   unless `include=deleted|all`), `hardDelete=true`, `PUT /users/restore {id}`, cursor paging with `total`.
//! - Teams: an `Organization` root; `teamType` rules for parents and children; `PUT /teams/{id}/users` replaces
//!   the members, `DELETE /teams/{id}/users/{userId}` removes one, both answering a change event; membership is
//!   visible as `team.users` and as `user.teams` (a user without teams shows Organization) and through
//!   `GET /users?team=`.
//! - Roles `DataConsumer` and `DataSteward` are seeded; Organization's default role flows into every user's
//!   `inheritedRoles`.
//! - `GET /search/query?q=email.keyword:x&index=user_search_index` finds users by email, lagging writes by
//!   [`OpenMetadataConfig::search_lag`].
//!
//! Behaviour the reference leaves open and this emulator settles: restoring a user or team that is not deleted
//! answers 200 with it unchanged; soft-deleting an already deleted one answers 200; `PUT` replaces every settable
//! field (absent relationships are cleared); changing `name` through a patch is ignored.

mod error;
mod model;
mod paging;
mod roles;
mod search;
mod teams;
mod users;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

use self::error::{OmError, envelope};
use self::model::{Fields, Include, Store, TEAM_FIELDS, USER_FIELDS};
use self::users::Key;
use super::server::{self, Backend, Emulator, ServerOptions};
use super::wire::{Credentials, NativeRequest, Reply};
use super::{EmulatorError, Faults, RequestLog, SeedError};

/// How an OpenMetadata emulator starts.
#[derive(Debug, Clone)]
pub struct OpenMetadataConfig {
    /// The bearer token every request must carry.
    pub token: String,
    /// The principal the token stands for, reported as `updatedBy`.
    pub principal: String,
    /// Reject a second user with the same email (409), as OpenMetadata does under basic auth.
    pub unique_email: bool,
    /// How long a write takes to become visible in `/search/query`.
    pub search_lag: Duration,
    /// Listener, fault seed and request-log options.
    pub server: ServerOptions,
}

impl Default for OpenMetadataConfig {
    fn default() -> Self {
        OpenMetadataConfig {
            token: "openmetadata-emulator-token".to_owned(),
            principal: "admin".to_owned(),
            unique_email: false,
            search_lag: Duration::ZERO,
            server: ServerOptions::default(),
        }
    }
}

/// A running OpenMetadata emulator.
#[derive(Debug)]
pub struct OpenMetadataEmulator {
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

    /// Runs a request in process, as seeding does.
    fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, SeedError> {
        let request = NativeRequest::synthetic(method, path, body).map_err(|message| {
            SeedError::new(StatusCode::BAD_REQUEST, envelope_body(StatusCode::BAD_REQUEST, &message))
        })?;
        SeedError::check(self.handle(&request))
    }
}

fn envelope_body(status: StatusCode, message: &str) -> Value {
    envelope(status, message).body_json()
}

impl Backend for App {
    fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn error(&self, status: StatusCode, message: &str) -> Reply {
        envelope(status, message)
    }

    fn unauthorized(&self) -> Reply {
        envelope(StatusCode::UNAUTHORIZED, "Not Authorized! Token not present or invalid")
    }

    fn handle(&self, request: &NativeRequest) -> Reply {
        let mut store = self.store();
        route(&mut store, request).unwrap_or_else(|e| e.reply())
    }
}

fn route(store: &mut Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let segs = req.segs();
    let Some(rest) = segs.strip_prefix(&["api", "v1"][..]) else {
        return Err(OmError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found"));
    };
    let id = |s: &str| Key::Id(s.to_owned());
    let name = |s: &str| Key::Name(s.to_owned());
    match (req.method.as_str(), rest) {
        ("GET", ["users"]) => users::list(store, req),
        ("POST", ["users"]) => users::create(store, req),
        ("PUT", ["users"]) => users::create_or_update(store, req),
        ("PUT", ["users", "restore"]) => users::restore(store, req),
        ("GET", ["users", "name", n]) => users::get(store, req, &name(n)),
        ("PATCH", ["users", "name", n]) => users::patch(store, req, &name(n)),
        ("DELETE", ["users", "name", n]) => users::delete(store, req, &name(n)),
        ("GET", ["users", i]) => users::get(store, req, &id(i)),
        ("PATCH", ["users", i]) => users::patch(store, req, &id(i)),
        ("DELETE", ["users", i]) => users::delete(store, req, &id(i)),

        ("GET", ["teams"]) => teams::list(store, req),
        ("POST", ["teams"]) => teams::create(store, req),
        ("PUT", ["teams"]) => teams::create_or_update(store, req),
        ("PUT", ["teams", "restore"]) => teams::restore(store, req),
        ("GET", ["teams", "name", n]) => teams::get(store, req, &name(n)),
        ("PATCH", ["teams", "name", n]) => teams::patch(store, req, &name(n)),
        ("DELETE", ["teams", "name", n]) => teams::delete(store, req, &name(n)),
        ("PUT", ["teams", t, "users"]) => teams::replace_users(store, req, t),
        ("DELETE", ["teams", t, "users", u]) => teams::remove_user(store, t, u),
        ("GET", ["teams", i]) => teams::get(store, req, &id(i)),
        ("PATCH", ["teams", i]) => teams::patch(store, req, &id(i)),
        ("DELETE", ["teams", i]) => teams::delete(store, req, &id(i)),

        ("GET", ["roles"]) => roles::list(store, req),
        ("POST", ["roles"]) => roles::create(store, req),
        ("GET", ["roles", "name", n]) => roles::get(store, req, &name(n)),
        ("GET", ["roles", i]) => roles::get(store, req, &id(i)),

        ("GET", ["search", "query"]) => search::query(store, req),
        _ => Err(OmError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found")),
    }
}

impl OpenMetadataEmulator {
    /// Starts the emulator with an `Organization` team and the `DataConsumer` and `DataSteward` roles.
    pub async fn start(config: OpenMetadataConfig) -> Result<Self, EmulatorError> {
        let listener = server::bind(&config.server).await?;
        let addr = listener.local_addr().map_err(|source| EmulatorError::Bind { addr: config.server.bind, source })?;
        let store =
            Store::new(format!("http://{addr}"), config.principal.clone(), config.unique_email, config.search_lag);
        let app = Arc::new(App { credentials: Credentials::Bearer(config.token.clone()), store: Mutex::new(store) });
        let backend: Arc<dyn Backend> = app.clone();
        let server = server::serve(listener, backend, &config.server)?;
        Ok(OpenMetadataEmulator { server, app })
    }

    /// The shared server handle.
    pub fn server(&self) -> &Emulator {
        &self.server
    }

    /// `http://host:port`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `http://host:port/api/v1`, the base every OpenMetadata path is relative to.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.server.base_url())
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

    /// Every stored user, soft-deleted ones included, sorted by name, rendered with all fields (`teams`, `roles`,
    /// `inheritedRoles`, `profile`, …).
    pub fn users(&self) -> Vec<Value> {
        let store = self.app.store();
        let fields = Fields::all(USER_FIELDS);
        let mut users: Vec<_> = store.users.values().collect();
        users.sort_by_key(|u| u.name.to_lowercase());
        users.into_iter().map(|u| store.render_user(u, &fields)).collect()
    }

    /// One user by id, deleted or not, with all fields.
    pub fn user(&self, id: &str) -> Option<Value> {
        let store = self.app.store();
        let id = uuid::Uuid::parse_str(id).ok()?;
        store.users.get(&id).map(|u| store.render_user(u, &Fields::all(USER_FIELDS)))
    }

    /// One user by (case-insensitive) name, deleted or not, with all fields.
    pub fn user_by_name(&self, name: &str) -> Option<Value> {
        let store = self.app.store();
        store.user_by_name(name).map(|u| store.render_user(u, &Fields::all(USER_FIELDS)))
    }

    /// Every team (Organization included), sorted by name, with all fields; `users` lists deleted members too.
    pub fn teams(&self) -> Vec<Value> {
        let store = self.app.store();
        let fields = Fields::all(TEAM_FIELDS);
        let mut teams: Vec<_> = store.teams.values().collect();
        teams.sort_by(|a, b| a.name.cmp(&b.name));
        teams.into_iter().map(|t| store.render_team(t, &fields, Include::All)).collect()
    }

    /// One team by (case-sensitive) name, with all fields.
    pub fn team_by_name(&self, name: &str) -> Option<Value> {
        let store = self.app.store();
        store.team_by_name(name).map(|t| store.render_team(t, &Fields::all(TEAM_FIELDS), Include::All))
    }

    /// Every role, sorted by name, with its policies.
    pub fn roles(&self) -> Vec<Value> {
        let store = self.app.store();
        let fields = Fields::all(model::ROLE_FIELDS);
        let mut roles: Vec<_> = store.roles.values().collect();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        roles.into_iter().map(|r| store.render_role(r, &fields)).collect()
    }

    /// One role by name.
    pub fn role_by_name(&self, name: &str) -> Option<Value> {
        let store = self.app.store();
        store.role_by_name(name).map(|r| store.render_role(r, &Fields::all(model::ROLE_FIELDS)))
    }

    /// Creates a user from a `CreateUser` body, with the same validation as `POST /users`.
    pub fn seed_user(&self, create_user: Value) -> Result<Value, SeedError> {
        self.app.call(Method::POST, "/api/v1/users", Some(&create_user))
    }

    /// Creates a team from a `CreateTeam` body (parents as UUIDs), with the same validation as `POST /teams`.
    pub fn seed_team(&self, create_team: Value) -> Result<Value, SeedError> {
        self.app.call(Method::POST, "/api/v1/teams", Some(&create_team))
    }

    /// Creates a team of `team_type` (`Group`, `Department`, `Division`, `BusinessUnit`) under the team named
    /// `parent`, or under Organization.
    pub fn seed_team_under(&self, name: &str, team_type: &str, parent: Option<&str>) -> Result<Value, SeedError> {
        let mut store = self.app.store();
        teams::seed_under(&mut store, name, team_type, parent)
            .map_err(|e| SeedError::new(e.status, envelope_body(e.status, &e.message)))
    }

    /// Creates a role from a `CreateRole` body (`policies` is a non-empty list of policy names).
    pub fn seed_role(&self, create_role: Value) -> Result<Value, SeedError> {
        self.app.call(Method::POST, "/api/v1/roles", Some(&create_role))
    }
}
