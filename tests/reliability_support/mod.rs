//! Shared rig of the reliability tests: an emulated application with its fault knobs, a gateway in
//! front of it started in process with chosen backend settings (timeouts, retries, breaker), and a
//! small SCIM client that keeps status, `Retry-After` and body of every answer.

// Each test crate includes this module and uses a subset of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Client, Method};
use scimgate::app::{self, Running};
use scimgate::emulator::{
    CollibraConfig, CollibraEmulator, DataHubConfig, DataHubEmulator, Faults, OpenMetadataConfig, OpenMetadataEmulator,
    RequestLog, ServerOptions,
};
use scimgate::observe::audit::AuditSettings;
use scimgate::settings::{AuthSettings, RouteSettings, Settings, StaticTokenSettings, TargetSettings};
use serde_json::{Value, json};

/// The bearer token the gateway accepts from the simulated IdP.
pub const TOKEN: &str = "reliability-idp-token";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Which shipped mapping and emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OpenMetadata,
    Collibra,
    DataHub,
}

impl Kind {
    pub fn mapping(self) -> &'static str {
        match self {
            Kind::OpenMetadata => "openmetadata",
            Kind::Collibra => "collibra",
            Kind::DataHub => "datahub",
        }
    }
}

/// A running emulated application.
#[derive(Debug)]
pub enum Native {
    OpenMetadata(OpenMetadataEmulator),
    Collibra(CollibraEmulator),
    DataHub(DataHubEmulator),
}

impl Native {
    /// Starts the emulator of `kind` with these listener options (address, fault seed).
    pub async fn start(kind: Kind, server: ServerOptions) -> Native {
        match kind {
            Kind::OpenMetadata => Native::OpenMetadata(
                OpenMetadataEmulator::start(OpenMetadataConfig { server, ..Default::default() })
                    .await
                    .expect("OpenMetadata emulator starts"),
            ),
            Kind::Collibra => Native::Collibra(
                CollibraEmulator::start(CollibraConfig { server, ..Default::default() })
                    .await
                    .expect("Collibra emulator starts"),
            ),
            Kind::DataHub => Native::DataHub(
                DataHubEmulator::start(DataHubConfig { server, ..Default::default() })
                    .await
                    .expect("DataHub emulator starts"),
            ),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Native::OpenMetadata(_) => Kind::OpenMetadata,
            Native::Collibra(_) => Kind::Collibra,
            Native::DataHub(_) => Kind::DataHub,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        match self {
            Native::OpenMetadata(e) => e.server().addr(),
            Native::Collibra(e) => e.server().addr(),
            Native::DataHub(e) => e.server().addr(),
        }
    }

    pub fn faults(&self) -> &Faults {
        match self {
            Native::OpenMetadata(e) => e.faults(),
            Native::Collibra(e) => e.faults(),
            Native::DataHub(e) => e.faults(),
        }
    }

    pub fn requests(&self) -> &RequestLog {
        match self {
            Native::OpenMetadata(e) => e.requests(),
            Native::Collibra(e) => e.requests(),
            Native::DataHub(e) => e.requests(),
        }
    }

    pub fn om(&self) -> &OpenMetadataEmulator {
        match self {
            Native::OpenMetadata(e) => e,
            other => panic!("not OpenMetadata: {:?}", other.kind()),
        }
    }

    pub fn collibra(&self) -> &CollibraEmulator {
        match self {
            Native::Collibra(e) => e,
            other => panic!("not Collibra: {:?}", other.kind()),
        }
    }

    pub fn datahub(&self) -> &DataHubEmulator {
        match self {
            Native::DataHub(e) => e,
            other => panic!("not DataHub: {:?}", other.kind()),
        }
    }

    pub async fn shutdown(self) {
        let stopped = match self {
            Native::OpenMetadata(e) => e.shutdown().await,
            Native::Collibra(e) => e.shutdown().await,
            Native::DataHub(e) => e.shutdown().await,
        };
        stopped.expect("the emulator stops cleanly");
    }
}

/// How the gateway reaches and authenticates to an emulator of `kind` listening at `addr`.
pub fn connection(kind: Kind, addr: SocketAddr) -> Value {
    let root = format!("http://{addr}");
    match kind {
        Kind::OpenMetadata => json!({
            "base_url": format!("{root}/api"),
            "auth": {"type": "bearer", "token": OpenMetadataConfig::default().token},
        }),
        Kind::Collibra => {
            let c = CollibraConfig::default();
            json!({
                "base_url": format!("{root}/rest/2.0"),
                "auth": {"type": "basic", "username": c.username, "password": c.password},
            })
        }
        Kind::DataHub => json!({
            "base_url": root,
            "auth": {"type": "bearer", "token": DataHubConfig::default().token},
        }),
    }
}

/// Settings of one route named after the mapping, with `connection` and `extra` merged as the
/// route's backend overrides (`extra` wins key by key at the top level).
pub fn settings(kind: Kind, connection: Value, extra: &Value) -> Settings {
    let mut backend = connection;
    if let (Some(b), Some(e)) = (backend.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let file = PathBuf::from(format!("{}{}", scimgate::mapping::builtin::PREFIX, kind.mapping()));
    let route = RouteSettings {
        target: TargetSettings::Mapping { file, backend: Some(backend) },
        auth: AuthSettings {
            tokens: vec![StaticTokenSettings {
                name: "idp".into(),
                value: Some(TOKEN.to_owned()),
                value_env: None,
                value_file: None,
                sha256: None,
                read_only: false,
            }],
            ..Default::default()
        },
    };
    Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        routes: BTreeMap::from([(kind.mapping().to_owned(), route)]),
        audit: AuditSettings::Off,
        ..Settings::default()
    }
}

/// A gateway in front of an emulator.
pub struct Rig {
    pub gateway: Running,
    pub native: Native,
    pub scim: Scim,
}

impl Rig {
    /// An emulator of `kind` (fault seed `seed`) and a gateway with backend overrides `extra`.
    pub async fn start(kind: Kind, seed: u64, extra: Value) -> Rig {
        let native = Native::start(kind, ServerOptions { fault_seed: seed, ..Default::default() }).await;
        let gateway =
            app::start(&settings(kind, connection(kind, native.addr()), &extra)).await.expect("the gateway starts");
        let scim = Scim::new(gateway.scim_base_url(kind.mapping(), false));
        Rig { gateway, native, scim }
    }

    pub async fn shutdown(self) {
        self.gateway.shutdown().await.expect("the gateway stops");
        self.native.shutdown().await;
    }
}

/// Backend settings that keep the tests fast but keep every mechanism on: short backoff, a
/// breaker that reopens quickly.
pub fn fast_backend() -> Value {
    json!({
        "retries": {"attempts": 3, "initial_backoff_ms": 10, "max_backoff_ms": 50, "max_retry_after_secs": 2},
        "circuit_breaker": {"failure_threshold": 5, "open_secs": 1},
        "timeouts": {"connect_ms": 1000, "request_ms": 2000},
    })
}

/// One SCIM answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Answer {
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }

    pub fn scim_type(&self) -> Option<&str> {
        self.body["scimType"].as_str()
    }

    pub fn id(&self) -> &str {
        self.body["id"].as_str().unwrap_or_default()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Retry-After` in whole seconds (the gateway always sends seconds).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.as_deref().and_then(|v| v.trim().parse().ok())
    }
}

/// A SCIM client of the gateway, as an IdP would use it.
#[derive(Clone)]
pub struct Scim {
    pub http: Client,
    pub base: String,
}

impl Scim {
    pub fn new(base: String) -> Scim {
        Scim::with_pool_idle(base, Duration::from_secs(90))
    }

    /// A client that reuses a pooled connection only within `idle`: below the gateway's own idle
    /// close, so that no request takes a connection at the moment the gateway closes it.
    pub fn with_pool_idle(base: String, idle: Duration) -> Scim {
        // Generous: some tests make the gateway wait out timeouts and retries on purpose.
        let http =
            Client::builder().timeout(Duration::from_secs(60)).pool_idle_timeout(idle).build().expect("client builds");
        Scim { http, base }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let shown: String = path.chars().take(120).collect();
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {shown}…: the gateway did not answer: {e:?}"));
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.text().await.unwrap_or_default();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Answer { status, retry_after, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, ops: Value) -> Answer {
        self.send(Method::PATCH, path, Some(&json!({"schemas": [PATCH_OP], "Operations": ops}))).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    /// `GET /Users?filter=userName eq "<name>"` (Entra's matching query): the ids found, or the
    /// failed answer.
    pub async fn find_user(&self, user_name: &str) -> Result<Vec<String>, Answer> {
        let filter = format!("userName eq \"{user_name}\"");
        self.find("/Users", &filter).await
    }

    /// `GET /Groups?excludedAttributes=members&filter=displayName eq "<name>"`.
    pub async fn find_group(&self, display_name: &str) -> Result<Vec<String>, Answer> {
        let filter = format!("displayName eq \"{display_name}\"");
        self.find("/Groups", &filter).await
    }

    async fn find(&self, path: &str, filter: &str) -> Result<Vec<String>, Answer> {
        let query = form_encode(filter);
        let a = self.get(&format!("{path}?excludedAttributes=members&filter={query}")).await;
        if a.status != 200 {
            return Err(a);
        }
        Ok(a.body["Resources"]
            .as_array()
            .map(|rs| rs.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// An Entra-shaped new user (core + enterprise schemas, a primary work email, `roles: []`).
pub fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": format!("ext-{user_name}"),
        "userName": user_name,
        "active": true,
        "displayName": format!("{user_name} display"),
        "emails": [{"primary": true, "type": "work", "value": format!("{user_name}@example.com")}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": user_name, "familyName": "Example", "givenName": user_name},
        "roles": [],
    })
}

/// An Entra-shaped new group (with Entra's extra schema URI and no members).
pub fn entra_group(display_name: &str) -> Value {
    json!({
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": format!("ext-{display_name}"),
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    })
}
