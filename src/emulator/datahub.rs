//! DataHub's OpenAPI v3 entity API (`/openapi/v3`) for `corpuser` and `corpGroup`, with the relationship
//! endpoint that lists a group's members.
//!
//! What it imitates (see the shared backend reference, §3.1–3.2):
//! - `Authorization: Bearer <token>`; anything else is 401 `{"error": …}`.
//! - Entities are a URN plus aspects, written and read wrapped as `{"<aspect>": {"value": …}}`. A write replaces
//!   the whole aspect. Aspects are validated (e.g. `corpUserInfo.active`, `corpUserStatus.lastModified` and the
//!   three `corpGroupInfo` arrays are required); unknown aspect names are a 400.
//! - `POST /entity/{type}` upserts a batch and is asynchronous by default (202; `async=false` → 200);
//!   `POST /entity/{type}/{urn}/{aspect}` upserts one aspect (synchronous by default). With
//!   [`DataHubConfig::async_lag`] set, asynchronous writes become visible only after that lag.
//! - `GET` an entity (optionally `aspects=`), `HEAD` for existence (204/404), one aspect, `batchGet`, scroll with
//!   `count`/`scrollId` ordered by URN (`query` matches indexed fields and lags writes by
//!   [`DataHubConfig::search_lag`]; `totalCount` with [`DataHubConfig::scroll_total_count`]), cross-type
//!   `POST /entity/scroll`.
//!   The single-aspect write defaults to `createIfNotExists=true`, a create that is refused with 422 when the aspect
//!   exists; `createIfNotExists=false` replaces it.
//! - `DELETE` is a hard delete (200, no body); the soft-delete flag is the `status` aspect's `removed`, which
//!   hides an entity from `HEAD` and scrolls unless `includeSoftDelete=true`. Deleting a group does not touch its
//!   members' `groupMembership` aspects (they keep naming it); only the graph index forgets the edges.
//! - `GET /relationship/corpGroup/{urn}?relationshipType[]=IsMemberOfGroup&direction=INCOMING` reads the graph
//!   index built from the users' `groupMembership` (and `nativeGroupMembership` for `IsMemberOfNativeGroup`).
//! - Scroll `query` is matched against the fields DataHub indexes (the `search` module lists them), including
//!   `customProperties:"key=value"`.
//! - A 404 has an empty body; URNs in paths are percent-decoded (`urn%3Ali%3Acorpuser%3Aa%2Fb`).

mod entities;
mod error;
mod model;
mod relationships;
mod search;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

use self::error::{DhError, envelope};
use self::model::{Kind, Store};
use super::server::{self, Backend, Emulator, ServerOptions};
use super::wire::{Credentials, NativeRequest, Reply};
use super::{EmulatorError, Faults, RequestLog, SeedError};

/// How a DataHub emulator starts.
#[derive(Debug, Clone)]
pub struct DataHubConfig {
    /// The personal access token every request must carry as a bearer token.
    pub token: String,
    /// How long an asynchronous write takes to become visible (zero: immediately).
    pub async_lag: Duration,
    /// How long a write takes to reach scroll/search results.
    pub search_lag: Duration,
    /// Add `totalCount` to scroll results, as some DataHub builds do.
    pub scroll_total_count: bool,
    /// Listener, fault seed and request-log options.
    pub server: ServerOptions,
}

impl Default for DataHubConfig {
    fn default() -> Self {
        DataHubConfig {
            token: "datahub-emulator-token".to_owned(),
            async_lag: Duration::ZERO,
            search_lag: Duration::ZERO,
            scroll_total_count: false,
            server: ServerOptions::default(),
        }
    }
}

/// A running DataHub emulator.
#[derive(Debug)]
pub struct DataHubEmulator {
    server: Emulator,
    app: Arc<App>,
}

#[derive(Debug)]
struct App {
    credentials: Credentials,
    store: Mutex<Store>,
}

impl App {
    /// The store with every asynchronous write that is due applied.
    fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.settle();
        store
    }
}

impl Backend for App {
    fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn error(&self, status: StatusCode, message: &str) -> Reply {
        if status == StatusCode::NOT_FOUND { Reply::empty(status) } else { envelope(status, message) }
    }

    fn unauthorized(&self) -> Reply {
        envelope(StatusCode::UNAUTHORIZED, "Unauthorized to perform this action. Please provide a valid token.")
    }

    fn handle(&self, request: &NativeRequest) -> Reply {
        let mut store = self.store();
        route(&mut store, request).unwrap_or_else(|e| e.reply())
    }
}

fn route(store: &mut Store, req: &NativeRequest) -> Result<Reply, DhError> {
    let segs = req.segs();
    let Some(rest) = segs.strip_prefix(&["openapi", "v3"][..]) else {
        return Err(DhError::empty(StatusCode::NOT_FOUND));
    };
    let kind = Kind::from_path;
    match (req.method.as_str(), rest) {
        ("POST", ["entity", "scroll"]) => entities::scroll_across(store, req),
        ("GET", ["entity", t]) => entities::scroll(store, req, kind(t)?),
        ("POST", ["entity", t]) => entities::upsert_batch(store, req, kind(t)?),
        ("POST", ["entity", t, "batchGet"]) => entities::batch_get(store, req, kind(t)?),
        ("GET", ["entity", t, urn]) => entities::get(store, req, kind(t)?, urn),
        ("HEAD", ["entity", t, urn]) => entities::head(store, req, kind(t)?, urn),
        ("DELETE", ["entity", t, urn]) => entities::delete(store, req, kind(t)?, urn),
        ("GET", ["entity", t, urn, aspect]) => entities::get_aspect(store, req, kind(t)?, urn, aspect),
        ("HEAD", ["entity", t, urn, aspect]) => entities::head_aspect(store, req, kind(t)?, urn, aspect),
        ("POST", ["entity", t, urn, aspect]) => entities::upsert_aspect(store, req, kind(t)?, urn, aspect),
        ("PATCH", ["entity", t, urn, aspect]) => entities::patch_aspect(store, req, kind(t)?, urn, aspect),
        ("DELETE", ["entity", t, urn, aspect]) => entities::delete_aspect(store, kind(t)?, urn, aspect),
        ("GET", ["relationship", t, urn]) => relationships::related(store, req, kind(t)?, urn),
        _ => Err(DhError::empty(StatusCode::NOT_FOUND)),
    }
}

impl DataHubEmulator {
    /// Starts an empty emulator.
    pub async fn start(config: DataHubConfig) -> Result<Self, EmulatorError> {
        let listener = server::bind(&config.server).await?;
        let app = Arc::new(App {
            credentials: Credentials::Bearer(config.token.clone()),
            store: Mutex::new(Store::new(config.async_lag, config.search_lag, config.scroll_total_count)),
        });
        let backend: Arc<dyn Backend> = app.clone();
        let server = server::serve(listener, backend, &config.server)?;
        Ok(DataHubEmulator { server, app })
    }

    /// The shared server handle.
    pub fn server(&self) -> &Emulator {
        &self.server
    }

    /// `http://host:port`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `http://host:port/openapi/v3`.
    pub fn api_url(&self) -> String {
        format!("{}/openapi/v3", self.server.base_url())
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

    /// One entity with all its aspects (`{"urn": …, "<aspect>": {"value": …}}`), soft-deleted or not.
    pub fn entity(&self, urn: &str) -> Option<Value> {
        self.app.store().render(urn, &[], false)
    }

    fn all_of(&self, kind: Kind) -> Vec<Value> {
        let store = self.app.store();
        store
            .entities
            .iter()
            .filter(|(_, e)| e.kind == kind)
            .filter_map(|(urn, _)| store.render(urn, &[], false))
            .collect()
    }

    /// Every `corpuser` entity, ordered by URN.
    pub fn users(&self) -> Vec<Value> {
        self.all_of(Kind::CorpUser)
    }

    /// Every `corpGroup` entity, ordered by URN.
    pub fn groups(&self) -> Vec<Value> {
        self.all_of(Kind::CorpGroup)
    }

    /// The user `urn:li:corpuser:{username}`.
    pub fn user(&self, username: &str) -> Option<Value> {
        self.entity(&format!("urn:li:corpuser:{username}"))
    }

    /// The group `urn:li:corpGroup:{name}`.
    pub fn group(&self, name: &str) -> Option<Value> {
        self.entity(&format!("urn:li:corpGroup:{name}"))
    }

    /// URNs of the users whose stored `groupMembership` or `nativeGroupMembership` aspect names the group, sorted.
    /// This reads the aspects, so it still lists members of a group that was deleted without cleaning them up.
    pub fn members_of(&self, group_urn: &str) -> Vec<String> {
        let store = self.app.store();
        let names = |e: &model::Entity, aspect: &str, field: &str| {
            e.aspect(aspect)
                .and_then(|a| a.get(field))
                .and_then(Value::as_array)
                .is_some_and(|groups| groups.iter().any(|g| g.as_str() == Some(group_urn)))
        };
        store
            .entities
            .iter()
            .filter(|(_, e)| e.kind == Kind::CorpUser)
            .filter(|(_, e)| names(e, "groupMembership", "groups") || names(e, "nativeGroupMembership", "nativeGroups"))
            .map(|(urn, _)| urn.clone())
            .collect()
    }

    /// The graph index's edges ending at `urn` (`(relationship, source)`), as the relationship endpoint sees them
    /// with `direction=INCOMING`, soft-deleted sources included.
    pub fn incoming_edges(&self, urn: &str) -> Vec<(String, String)> {
        let store = self.app.store();
        store
            .edges()
            .into_iter()
            .filter(|e| e.destination == urn)
            .map(|e| (e.relationship.to_owned(), e.source))
            .collect()
    }

    /// Asynchronous writes accepted but not visible yet.
    pub fn pending_writes(&self) -> usize {
        self.app.store().pending.len()
    }

    /// Makes every pending asynchronous write visible now.
    pub fn apply_pending(&self) {
        let mut store = self.app.store();
        store.settle_all();
    }

    /// Upserts a batch of entities of `entity_type` (`corpuser` or `corpGroup`) synchronously, with the same
    /// validation as `POST /openapi/v3/entity/{type}`; returns the echoed aspects.
    pub fn seed(&self, entity_type: &str, entities: Value) -> Result<Value, SeedError> {
        let path = format!("/openapi/v3/entity/{entity_type}?async=false");
        let request = NativeRequest::synthetic(Method::POST, &path, Some(&entities)).map_err(|message| {
            SeedError::new(StatusCode::BAD_REQUEST, envelope(StatusCode::BAD_REQUEST, &message).body_json())
        })?;
        SeedError::check(self.app.handle(&request))
    }
}
