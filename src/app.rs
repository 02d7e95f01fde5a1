//! Wiring: settings → routes, targets and services → a running gateway.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{RouteAuth, StaticTokens};
use crate::server::{self, AppState, Gateway, ListenOptions, Route};
use crate::service::{ScimService, ServiceOptions};
use crate::settings::{RouteSettings, Settings, TargetSettings};
use crate::target::Target;
use crate::target::memory::MemoryTarget;

/// Why the gateway could not start; each names the setting or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error("route `{route}`: {source}")]
    Token { route: String, source: crate::auth::StaticTokenError },
    #[error(transparent)]
    Tls(#[from] crate::server::tls::TlsError),
    #[error("{0}")]
    Mapping(String),
    #[error("route `{route}`: backend: {message}")]
    Backend { route: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Loads a mapping and connects it to its backend, with the route's overrides applied.
pub fn mapped_target(
    route: &str,
    file: &std::path::Path,
    overrides: Option<&serde_json::Value>,
) -> Result<Arc<dyn Target>, StartError> {
    let (mut mapping, warnings) = crate::mapping::builtin::load(file).map_err(|d| StartError::Mapping(d.render()))?;
    if !warnings.items.is_empty() {
        tracing::warn!(route, file = %file.display(), "{}", warnings.render());
    }
    if let Some(o) = overrides {
        mapping.backend = mapping
            .backend
            .overlay(o)
            .map_err(|e| StartError::Backend { route: route.to_owned(), message: format!("backend overrides: {e}") })?;
    }
    let backend = crate::backend::Backend::new(route, &mapping.backend, None)
        .map_err(|e| StartError::Backend { route: route.to_owned(), message: e.to_string() })?;
    let base_url = mapping.backend.base_url.clone();
    Ok(Arc::new(crate::engine::MappedTarget::new(Arc::new(mapping), Arc::new(backend), base_url)))
}

/// Builds one route from its settings. Existing targets are reused by name so that a reload does
/// not lose the memory target's contents.
fn build_route(
    name: &str,
    rs: &RouteSettings,
    settings: &Settings,
    existing: Option<&Arc<dyn Target>>,
) -> Result<Route, StartError> {
    let target: Arc<dyn Target> = match (&rs.target, existing) {
        (TargetSettings::Memory, Some(t)) => t.clone(),
        (TargetSettings::Memory, None) => Arc::new(MemoryTarget::new()),
        (TargetSettings::Mapping { file, backend }, _) => mapped_target(name, file, backend.as_ref())?,
    };
    let env = |k: &str| std::env::var(k).ok();
    let static_tokens = StaticTokens::from_settings(&rs.auth.tokens, &env)
        .map_err(|source| StartError::Token { route: name.to_owned(), source })?;
    let options = ServiceOptions {
        scim: settings.scim.clone(),
        max_json_depth: settings.http.max_json_depth,
        max_body_bytes: settings.http.max_body_bytes,
    };
    Ok(Route {
        name: Arc::from(name),
        auth: RouteAuth { static_tokens },
        service: ScimService::new(target, options),
        realm: format!("scimgate/{name}"),
    })
}

/// Builds the request-serving state from validated settings.
pub fn build_gateway(settings: &Settings, previous: Option<&Gateway>) -> Result<Gateway, StartError> {
    let mut routes = HashMap::new();
    for (name, rs) in &settings.routes {
        let existing = previous.and_then(|g| g.routes.get(name)).map(|r| r.service.target());
        routes.insert(name.clone(), Arc::new(build_route(name, rs, settings, existing)?));
    }
    Ok(Gateway { routes, http: settings.http.clone(), https: settings.tls.is_some() })
}

/// A running gateway.
pub struct Running {
    pub local_addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl Running {
    /// The SCIM base URL of `route` (plain HTTP listeners only print `http`).
    pub fn scim_base_url(&self, route: &str, https: bool) -> String {
        let scheme = if https { "https" } else { "http" };
        format!("{scheme}://{}/{route}/scim/v2", self.local_addr)
    }

    /// Starts draining: readiness fails at once, new connections are refused, in-flight requests
    /// finish within the grace period.
    pub fn begin_shutdown(&self) {
        self.state.draining.store(true, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
    }

    /// Waits for the listener to finish draining.
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    pub async fn shutdown(self) -> std::io::Result<()> {
        self.begin_shutdown();
        self.wait().await
    }
}

/// Binds and serves `settings`.
pub async fn start(settings: &Settings) -> Result<Running, StartError> {
    crate::server::tls::install_crypto_provider();
    let gateway = build_gateway(settings, None)?;
    let tls = match &settings.tls {
        Some(t) => Some(server::tls::server_config(&t.cert_file, &t.key_file)?),
        None => None,
    };
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Bind { addr: settings.listen, source })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind { addr: settings.listen, source })?;
    let state = AppState::new(gateway);
    let app = server::router(state.clone());
    let (tx, mut rx) = watch::channel(false);
    let options = ListenOptions {
        tls,
        header_read_timeout: Duration::from_secs(settings.http.header_read_timeout_secs.max(1)),
        shutdown_grace: Duration::from_secs(30),
    };
    let task = tokio::spawn(async move {
        server::serve(listener, app, options, async move {
            let _ = rx.wait_for(|v| *v).await;
        })
        .await
    });
    Ok(Running { local_addr, state, shutdown: tx, task })
}
