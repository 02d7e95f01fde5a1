//! `scimgate demo`: a gateway with no settings file, in front of an in-process emulation of a
//! shipped target, so the product can be tried (and tested end to end) on any machine.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::app::{self, Running, StartError};
use crate::emulator::{
    CollibraConfig, CollibraEmulator, DataHubConfig, DataHubEmulator, EmulatorError, OpenMetadataConfig,
    OpenMetadataEmulator,
};
use crate::settings::{AuthSettings, RouteSettings, Settings, StaticTokenSettings, TargetSettings};

/// What the demo gateway fronts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoTarget {
    /// An emulated OpenMetadata (REST API v1) through `mappings/openmetadata.yaml`.
    Openmetadata,
    /// An emulated Collibra (REST Core API 2.0) through `mappings/collibra.yaml`.
    Collibra,
    /// An emulated DataHub (OpenAPI v3) through `mappings/datahub.yaml`.
    Datahub,
    /// A second, in-process SCIM service through `mappings/scim.yaml`.
    Scim,
    /// The built-in memory target, with no mapping.
    Memory,
}

impl DemoTarget {
    /// The route name, which is also the shipped mapping's name.
    pub fn name(self) -> &'static str {
        match self {
            DemoTarget::Openmetadata => "openmetadata",
            DemoTarget::Collibra => "collibra",
            DemoTarget::Datahub => "datahub",
            DemoTarget::Scim => "scim",
            DemoTarget::Memory => "memory",
        }
    }

    /// One line saying what answers behind the gateway.
    pub fn describe(self) -> &'static str {
        match self {
            DemoTarget::Openmetadata => "an emulated OpenMetadata REST API, through mappings/openmetadata.yaml",
            DemoTarget::Collibra => "an emulated Collibra REST Core API 2.0, through mappings/collibra.yaml",
            DemoTarget::Datahub => "an emulated DataHub OpenAPI v3, through mappings/datahub.yaml",
            DemoTarget::Scim => "a second SCIM service (in-memory), through mappings/scim.yaml",
            DemoTarget::Memory => "the in-memory target",
        }
    }
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the emulated application: {0}")]
    Emulator(#[from] EmulatorError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// The application behind the demo gateway, kept alive as long as the demo runs.
#[derive(Debug)]
pub enum Backend {
    OpenMetadata(OpenMetadataEmulator),
    Collibra(CollibraEmulator),
    DataHub(DataHubEmulator),
    /// The SCIM service the SCIM-to-SCIM mapping forwards to.
    Scim(Box<Running>),
    Memory,
}

/// A running demo: the gateway, its route and token, and the application behind it.
pub struct Demo {
    pub gateway: Running,
    pub target: DemoTarget,
    pub token: String,
    pub backend: Backend,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo").field("target", &self.target).field("addr", &self.gateway.local_addr).finish()
    }
}

/// The token the demo's inner SCIM service accepts from the gateway.
const INNER_SCIM_TOKEN: &str = "scim-backend-demo-token";

impl Demo {
    /// Starts the application (emulated, or the memory target) and the gateway in front of it.
    pub async fn start(target: DemoTarget, listen: SocketAddr, token: &str) -> Result<Demo, DemoError> {
        let (backend, overrides) = match target {
            DemoTarget::Openmetadata => {
                let em = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await?;
                let overrides = json!({
                    "base_url": format!("{}/api", em.base_url()),
                    "auth": {"type": "bearer", "token": OpenMetadataConfig::default().token},
                });
                (Backend::OpenMetadata(em), Some(overrides))
            }
            DemoTarget::Collibra => {
                let config = CollibraConfig::default();
                let em = CollibraEmulator::start(config.clone()).await?;
                let overrides = json!({
                    "base_url": em.api_url(),
                    "auth": {"type": "basic", "username": config.username, "password": config.password},
                });
                (Backend::Collibra(em), Some(overrides))
            }
            DemoTarget::Datahub => {
                let config = DataHubConfig::default();
                let em = DataHubEmulator::start(config.clone()).await?;
                let overrides = json!({
                    "base_url": em.base_url(),
                    "auth": {"type": "bearer", "token": config.token},
                });
                (Backend::DataHub(em), Some(overrides))
            }
            DemoTarget::Scim => {
                let inner_settings = memory_settings(SocketAddr::from(([127, 0, 0, 1], 0)), "app", INNER_SCIM_TOKEN);
                let inner = app::start(&inner_settings).await?;
                let overrides = json!({
                    "base_url": inner.scim_base_url("app", false),
                    "auth": {"type": "bearer", "token": INNER_SCIM_TOKEN},
                });
                (Backend::Scim(Box::new(inner)), Some(overrides))
            }
            DemoTarget::Memory => (Backend::Memory, None),
        };
        let settings = match overrides {
            Some(backend) => mapping_settings(listen, target.name(), token, backend),
            None => memory_settings(listen, target.name(), token),
        };
        let gateway = app::start(&settings).await?;
        Ok(Demo { gateway, target, token: token.to_owned(), backend })
    }

    /// The SCIM base URL IdPs and testers use.
    pub fn base_url(&self) -> String {
        self.gateway.scim_base_url(self.target.name(), false)
    }

    /// Stops the gateway, then the application behind it.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let result = self.gateway.shutdown().await;
        match self.backend {
            Backend::OpenMetadata(em) => em.shutdown().await.map_err(std::io::Error::other)?,
            Backend::Collibra(em) => em.shutdown().await.map_err(std::io::Error::other)?,
            Backend::DataHub(em) => em.shutdown().await.map_err(std::io::Error::other)?,
            Backend::Scim(inner) => inner.shutdown().await?,
            Backend::Memory => {}
        }
        result
    }
}

fn route(target: TargetSettings, token: &str) -> RouteSettings {
    RouteSettings {
        target,
        auth: AuthSettings {
            tokens: vec![StaticTokenSettings {
                name: "demo".into(),
                value: Some(token.to_owned()),
                value_env: None,
                value_file: None,
                sha256: None,
                read_only: false,
            }],
            ..Default::default()
        },
    }
}

fn settings(listen: SocketAddr, route_name: &str, route: RouteSettings) -> Settings {
    Settings { listen, routes: BTreeMap::from([(route_name.to_owned(), route)]), ..Settings::default() }
}

/// One route `route_name` in front of the memory target.
pub fn memory_settings(listen: SocketAddr, route_name: &str, token: &str) -> Settings {
    settings(listen, route_name, route(TargetSettings::Memory, token))
}

/// One route in front of the shipped mapping of the same name, with `backend` overrides.
fn mapping_settings(listen: SocketAddr, name: &str, token: &str, backend: Value) -> Settings {
    let file = PathBuf::from(format!("{}{name}", crate::mapping::builtin::PREFIX));
    settings(listen, name, route(TargetSettings::Mapping { file, backend: Some(backend) }, token))
}
