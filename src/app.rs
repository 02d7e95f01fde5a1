//! Wiring: settings → routes, targets and services → a running gateway.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{GatewayAuth, RouteAuth};
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
    #[error("authentication settings: {0}")]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error(transparent)]
    Tls(#[from] crate::server::tls::TlsError),
    #[error("{0}")]
    Mapping(String),
    #[error("route `{route}`: backend: {message}")]
    Backend { route: String, message: String },
    #[error("cannot open the audit stream: {0}")]
    Audit(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Loads a mapping and connects it to its backend, with the route's overrides applied. `signer`
/// holds the gateway's keys for backends authenticated with `gateway_jwt`.
pub fn mapped_target(
    route: &str,
    file: &std::path::Path,
    overrides: Option<&serde_json::Value>,
    signer: Option<Arc<crate::backend::JwtSigner>>,
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
    let backend = crate::backend::Backend::new(route, &mapping.backend, signer)
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
    gateway_auth: &GatewayAuth,
) -> Result<Route, StartError> {
    let target: Arc<dyn Target> = match (&rs.target, existing) {
        (TargetSettings::Memory, Some(t)) => t.clone(),
        (TargetSettings::Memory, None) => Arc::new(MemoryTarget::new()),
        (TargetSettings::Mapping { file, backend }, _) => {
            mapped_target(name, file, backend.as_ref(), gateway_auth.signer())?
        }
    };
    let env = |k: &str| std::env::var(k).ok();
    let auth = RouteAuth::from_settings(name, &rs.auth, gateway_auth, &env).map_err(|e| match e {
        crate::auth::AuthSetupError::Token(source) => StartError::Token { route: name.to_owned(), source },
        other => StartError::Auth(other),
    })?;
    let options = ServiceOptions {
        scim: settings.scim.clone(),
        max_json_depth: settings.http.max_json_depth,
        max_body_bytes: settings.http.max_body_bytes,
    };
    Ok(Route {
        name: Arc::from(name),
        auth,
        service: ScimService::new(target, options),
        realm: format!("scimgate/{name}"),
    })
}

/// Builds the request-serving state from validated settings.
pub fn build_gateway(settings: &Settings, previous: Option<&Gateway>) -> Result<Gateway, StartError> {
    let env = |k: &str| std::env::var(k).ok();
    let names: Vec<&str> = settings.routes.keys().map(String::as_str).collect();
    let gateway_auth = Arc::new(GatewayAuth::from_settings(
        settings.oauth.as_ref(),
        &names,
        &env,
        previous.map(|g| &*g.gateway_auth),
    )?);
    let mut routes = HashMap::new();
    for (name, rs) in &settings.routes {
        let existing = previous.and_then(|g| g.routes.get(name)).map(|r| r.service.target());
        routes.insert(name.clone(), Arc::new(build_route(name, rs, settings, existing, &gateway_auth)?));
    }
    Ok(Gateway { routes, http: settings.http.clone(), https: settings.tls.is_some(), gateway_auth })
}

/// A running gateway.
pub struct Running {
    pub local_addr: SocketAddr,
    pub state: AppState,
    /// The serving certificate, reloaded with the settings.
    cert: Option<Arc<server::tls::ReloadableCert>>,
    /// What the listener was started with; these need a restart to change.
    fixed: FixedSettings,
    shutdown: watch::Sender<bool>,
    task: std::sync::Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

/// Settings a reload cannot change (the listener is already bound and configured).
#[derive(Debug, Clone, PartialEq)]
struct FixedSettings {
    listen: SocketAddr,
    tls: bool,
    max_concurrent_requests: usize,
}

impl FixedSettings {
    fn of(s: &Settings) -> Self {
        FixedSettings {
            listen: s.listen,
            tls: s.tls.is_some(),
            max_concurrent_requests: s.http.max_concurrent_requests,
        }
    }
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

    /// Waits for the listener to finish draining (only the first caller waits).
    pub async fn wait(&self) -> std::io::Result<()> {
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        match task {
            Some(task) => match task.await {
                Ok(r) => r,
                Err(e) => Err(std::io::Error::other(e)),
            },
            None => Ok(()),
        }
    }

    pub async fn shutdown(&self) -> std::io::Result<()> {
        self.begin_shutdown();
        self.wait().await
    }

    /// A receiver that turns `true` when shutdown begins.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Reads `path` again and, if the settings, every mapping and the certificate are valid,
    /// swaps them in atomically; otherwise the running configuration stays and the error says why
    /// (a mapping error with its file:line:col).
    pub fn reload(&self, path: &std::path::Path) -> Result<(), StartError> {
        let outcome = self.try_reload(path);
        crate::observe::metrics().record_reload(outcome.is_ok());
        match &outcome {
            Ok(()) => tracing::info!(file = %path.display(), "configuration reloaded"),
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "configuration not reloaded; the previous one stays in force")
            }
        }
        outcome
    }

    fn try_reload(&self, path: &std::path::Path) -> Result<(), StartError> {
        let settings = Settings::load(path)?;
        if FixedSettings::of(&settings) != self.fixed {
            tracing::warn!("listen, tls (on or off) and http.max_concurrent_requests take effect only after a restart");
        }
        let current = self.state.gateway.load_full();
        let gateway = build_gateway(&settings, Some(&current))?;
        if let Some(cert) = &self.cert {
            cert.reload()?;
        }
        self.state.gateway.store(Arc::new(gateway));
        Ok(())
    }

    /// Files whose change should trigger a reload: the settings file, the mapping files and the
    /// certificate.
    pub fn watched_files(&self, settings_file: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = vec![settings_file.to_owned()];
        if let Ok(settings) = Settings::load(settings_file) {
            for route in settings.routes.values() {
                if let TargetSettings::Mapping { file, .. } = &route.target
                    && !file.to_string_lossy().starts_with(crate::mapping::builtin::PREFIX)
                {
                    files.push(file.clone());
                }
            }
        }
        if let Some(cert) = &self.cert {
            files.extend(cert.files().iter().map(|p| p.to_path_buf()));
        }
        files
    }
}

/// Binds and serves `settings`.
pub async fn start(settings: &Settings) -> Result<Running, StartError> {
    crate::server::tls::install_crypto_provider();
    crate::observe::audit::init(&settings.audit).map_err(StartError::Audit)?;
    let gateway = build_gateway(settings, None)?;
    let cert = match &settings.tls {
        Some(t) => Some(server::tls::ReloadableCert::load(&t.cert_file, &t.key_file)?),
        None => None,
    };
    let tls = cert.clone().map(server::tls::server_config);
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
        shutdown_grace: Duration::from_secs(settings.http.shutdown_grace_secs),
    };
    let task = tokio::spawn(async move {
        server::serve(listener, app, options, async move {
            let _ = rx.wait_for(|v| *v).await;
        })
        .await
    });
    let task = std::sync::Mutex::new(Some(task));
    Ok(Running { local_addr, state, cert, fixed: FixedSettings::of(settings), shutdown: tx, task })
}
