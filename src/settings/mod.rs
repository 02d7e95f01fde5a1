//! Gateway settings: a YAML file plus `SCIMGATE_*` environment overrides.
//!
//! Nested keys are overridden with a double underscore between levels, e.g.
//! `SCIMGATE_HTTP__MAX_BODY_BYTES=2097152` overrides `http.max_body_bytes` and
//! `SCIMGATE_ROUTES__MAIN__AUTH__REALM=x` overrides `routes.main.auth.realm`. Environment keys are
//! case-insensitive and always lower-cased, which is why every settings key is snake_case.
//! Secrets are never written inline in production: tokens name an environment variable or a file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `scimgate serve` needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on, e.g. `0.0.0.0:8443`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// HTTPS with a PEM certificate chain and key; plain HTTP when absent.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default)]
    pub scim: ScimSettings,
    /// Routes by name: `/{name}/scim/v2/...`.
    pub routes: BTreeMap<String, RouteSettings>,
    /// Where the audit stream of provisioning changes goes (stdout by default).
    #[serde(default)]
    pub audit: crate::observe::audit::AuditSettings,
    /// The gateway's signing keys and OAuth2 token endpoint (`POST /oauth/token`).
    #[serde(default)]
    pub oauth: Option<crate::auth::settings::OAuthSettings>,
}

impl Default for Settings {
    /// No routes (so not valid on its own): a base for settings built in code.
    fn default() -> Self {
        Settings {
            listen: default_listen(),
            tls: None,
            http: HttpSettings::default(),
            scim: ScimSettings::default(),
            routes: BTreeMap::new(),
            audit: Default::default(),
            oauth: None,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file holding the certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM file holding the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// Limits and timeouts of the HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Deepest accepted JSON nesting; deeper bodies get 400 invalidSyntax before parsing.
    pub max_json_depth: usize,
    /// Time allowed for a client to send the request head (slow-header clients are cut off).
    pub header_read_timeout_secs: u64,
    /// Time allowed to handle one request end to end, including the target's work.
    pub request_timeout_secs: u64,
    /// Requests handled at once; beyond it the gateway answers 503 with Retry-After.
    pub max_concurrent_requests: usize,
    /// How long in-flight requests may still run once shutdown (SIGTERM) begins.
    pub shutdown_grace_secs: u64,
    /// Optional per-client limit (by authenticated client name); beyond it 429 with Retry-After.
    pub rate_limit: Option<crate::server::rate_limit::RateLimitSettings>,
    /// Base URL the IdP uses to reach the gateway (for `Location` and `meta.location`), when a
    /// proxy in front changes scheme or host. Derived from the request otherwise.
    pub public_base_url: Option<String>,
    /// Threads serving requests; by default one per CPU the process may use (its cgroup quota
    /// and affinity). Fewer than the CPUs keep tail latency low when the gateway shares them with
    /// the application, as a sidecar does. Read at start-up only.
    pub worker_threads: Option<usize>,
    /// Adds a `Server-Timing` header to SCIM answers: `gateway` (the gateway's own time) and
    /// `app` (time waiting on the application), in milliseconds. Off by default: it tells
    /// clients how long the application took.
    pub server_timing: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 1024 * 1024,
            max_json_depth: 64,
            header_read_timeout_secs: 10,
            request_timeout_secs: 60,
            max_concurrent_requests: 1024,
            shutdown_grace_secs: 30,
            rate_limit: None,
            public_base_url: None,
            worker_threads: None,
            server_timing: false,
        }
    }
}

/// SCIM protocol knobs shared by all routes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimSettings {
    /// Page size when the IdP sends no `count`.
    pub default_count: usize,
    /// Largest page served; larger `count` values are lowered to it.
    pub max_count: usize,
    /// Longest filter accepted, in bytes.
    pub max_filter_len: usize,
    /// Most operations in one PATCH request.
    pub max_patch_operations: usize,
    /// What a successful group PATCH answers; see [`GroupPatchResponse`].
    pub group_patch_response: GroupPatchResponse,
}

impl Default for ScimSettings {
    fn default() -> Self {
        ScimSettings {
            default_count: 100,
            max_count: 1000,
            max_filter_len: 16 * 1024,
            max_patch_operations: 10_000,
            group_patch_response: GroupPatchResponse::default(),
        }
    }
}

/// The answer to a successful group PATCH. Entra prefers 204 and must not receive big member
/// lists; some testers insist on 200 with a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroupPatchResponse {
    /// 200 with the group without `members` (unless the request asks for them with `attributes`).
    #[default]
    WithoutMembers,
    /// 204 No Content (unless the request carries `attributes`, which RFC 7644 §3.5.2 answers with 200).
    NoContent,
    /// 200 with the whole group, members included.
    Full,
}

/// One route: a target and who may call it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    pub target: TargetSettings,
    #[serde(default)]
    pub auth: AuthSettings,
}

/// Where a route's resources live.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetSettings {
    /// Users and groups held in process memory, lost on restart. For trying and testing only.
    Memory,
    /// An application reached through a mapping file.
    Mapping {
        /// The mapping file; a relative path is resolved against the settings file's directory.
        /// `builtin:NAME` names a mapping shipped inside the binary (`openmetadata`, `collibra`,
        /// `datahub`, `scim`).
        file: PathBuf,
        /// Overrides of the mapping's `backend` section, key by key (base URL, credentials, TLS,
        /// timeouts), so one mapping serves several deployments.
        #[serde(default)]
        backend: Option<serde_json::Value>,
    },
}

/// Credentials a route accepts.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Static bearer tokens.
    #[serde(default)]
    pub tokens: Vec<StaticTokenSettings>,
    /// Trusted JWT issuers.
    #[serde(default)]
    pub jwt: Vec<crate::auth::settings::JwtIssuerSettings>,
    /// Microsoft Entra ID app-only tokens of one tenant.
    #[serde(default)]
    pub entra: Option<crate::auth::settings::EntraSettings>,
}

/// A static bearer token. Exactly one of `value`, `value_env`, `value_file` or `sha256` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticTokenSettings {
    /// Names the client in logs and audit events.
    pub name: String,
    /// The token itself (discouraged outside tests: prefer `value_env` or `value_file`).
    #[serde(default)]
    pub value: Option<String>,
    /// Name of an environment variable holding the token.
    #[serde(default)]
    pub value_env: Option<String>,
    /// File holding the token (e.g. a mounted Kubernetes Secret); surrounding whitespace is trimmed.
    #[serde(default)]
    pub value_file: Option<PathBuf>,
    /// Hex SHA-256 of the token, so the settings never hold the secret.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Only GET/search requests are allowed.
    #[serde(default)]
    pub read_only: bool,
}

/// A settings file that could not be used; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings file {file}: {message}")]
    Invalid { file: String, message: String },
}

/// Top-level settings keys; only `SCIMGATE_<KEY>...` variables naming one of them are overrides.
const TOP_LEVEL_KEYS: [&str; 7] = ["LISTEN", "TLS", "HTTP", "SCIM", "ROUTES", "AUDIT", "OAUTH"];

/// Whether an environment variable overrides a setting. Other `SCIMGATE_*` variables (the
/// command line's `SCIMGATE_CONFIG` and `SCIMGATE_LOG`, secrets a token's `value_env` names) are
/// left alone rather than rejected as unknown keys.
fn is_override(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix("SCIMGATE_") else { return false };
    let head = rest.split("__").next().unwrap_or_default();
    TOP_LEVEL_KEYS.contains(&head)
}

impl Settings {
    /// Reads `path`, applies `SCIMGATE_*` overrides from the process environment and validates.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// As [`Settings::load`] with an explicit environment (tests never mutate the process env).
    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let file = path.display().to_string();
        let invalid = |message: String| SettingsError::Invalid { file: file.clone(), message };
        let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read: {e}")))?;
        let overrides: config::Map<String, String> = env.into_iter().filter(|(k, _)| is_override(k)).collect();
        let built = config::Config::builder()
            .add_source(config::File::from_str(&text, config::FileFormat::Yaml))
            .add_source(
                config::Environment::with_prefix("SCIMGATE")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(overrides)),
            )
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let mut settings: Settings = built.try_deserialize().map_err(|e| invalid(e.to_string()))?;
        settings.validate().map_err(invalid)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for route in settings.routes.values_mut() {
            if let TargetSettings::Mapping { file, .. } = &mut route.target
                && file.is_relative()
                && !file.to_string_lossy().starts_with(crate::mapping::builtin::PREFIX)
            {
                *file = dir.join(&*file);
            }
        }
        Ok(settings)
    }

    /// Checks that serde cannot express; the message names the key.
    fn validate(&self) -> Result<(), String> {
        if self.routes.is_empty() {
            return Err("key `routes`: at least one route is required".into());
        }
        for (name, route) in &self.routes {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(format!("key `routes.{name}`: a route name is letters, digits, `-` and `_` only"));
            }
            if matches!(name.as_str(), "healthz" | "readyz" | "metrics" | "oauth" | ".well-known") {
                return Err(format!("key `routes.{name}`: `{name}` is reserved"));
            }
            for (i, t) in route.auth.tokens.iter().enumerate() {
                let set = [t.value.is_some(), t.value_env.is_some(), t.value_file.is_some(), t.sha256.is_some()];
                if set.iter().filter(|s| **s).count() != 1 {
                    return Err(format!(
                        "key `routes.{name}.auth.tokens[{i}]`: set exactly one of value, value_env, value_file, sha256"
                    ));
                }
            }
        }
        if self.scim.max_count == 0 {
            return Err("key `scim.max_count`: must be at least 1".into());
        }
        if self.http.max_body_bytes < 1024 {
            return Err("key `http.max_body_bytes`: must be at least 1024".into());
        }
        if self.http.worker_threads == Some(0) {
            return Err("key `http.worker_threads`: must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    const MIN: &str = "routes:\n  main:\n    target: { kind: memory }\n    auth:\n      tokens:\n        - { name: a, value: s3cret }\n";

    #[test]
    fn loads_defaults_and_routes() {
        let f = write(MIN);
        let s = Settings::load_with_env(f.path(), []).unwrap();
        assert_eq!(s.listen.port(), 8080);
        assert_eq!(s.http.max_body_bytes, 1024 * 1024);
        assert!(matches!(s.routes["main"].target, TargetSettings::Memory));
    }

    #[test]
    fn worker_threads_default_to_the_cpus_and_cannot_be_zero() {
        let f = write(MIN);
        assert_eq!(Settings::load_with_env(f.path(), []).unwrap().http.worker_threads, None);
        let env = [("SCIMGATE_HTTP__WORKER_THREADS".to_owned(), "3".to_owned())];
        assert_eq!(Settings::load_with_env(f.path(), env).unwrap().http.worker_threads, Some(3));
        let f = write(&format!("http: {{ worker_threads: 0 }}\n{MIN}"));
        let e = Settings::load_with_env(f.path(), []).unwrap_err().to_string();
        assert!(e.contains("http.worker_threads"), "{e}");
    }

    #[test]
    fn mapping_targets_resolve_relative_files_and_take_backend_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.yaml");
        std::fs::write(
            &path,
            "routes:\n  om:\n    target:\n      kind: mapping\n      file: maps/om.yaml\n      backend: { base_url: \"http://x\" }\n",
        )
        .unwrap();
        let env = [("SCIMGATE_ROUTES__OM__TARGET__BACKEND__BASE_URL".to_string(), "http://y".to_string())];
        let s = Settings::load_with_env(&path, env).unwrap();
        let TargetSettings::Mapping { file, backend } = &s.routes["om"].target else { panic!("not a mapping") };
        assert_eq!(file, &dir.path().join("maps/om.yaml"));
        assert_eq!(backend.as_ref().unwrap()["base_url"], "http://y");
    }

    #[test]
    fn env_overrides_nested_keys() {
        let f = write(MIN);
        let env = [
            ("SCIMGATE_HTTP__MAX_BODY_BYTES".to_string(), "4096".to_string()),
            ("SCIMGATE_LISTEN".to_string(), "127.0.0.1:9000".to_string()),
            ("OTHER".to_string(), "x".to_string()),
            // Not settings: the command line's own variables and secrets named by `value_env`.
            ("SCIMGATE_CONFIG".to_string(), "/etc/scimgate.yaml".to_string()),
            ("SCIMGATE_LOG".to_string(), "debug".to_string()),
            ("SCIMGATE_IDP_TOKEN".to_string(), "secret".to_string()),
        ];
        let s = Settings::load_with_env(f.path(), env).unwrap();
        assert_eq!(s.http.max_body_bytes, 4096);
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
    }

    #[test]
    fn errors_name_file_and_key() {
        let f = write("routes:\n  main:\n    target: { kind: memory }\nhttp:\n  max_body_bytes: lots\n");
        let e = Settings::load_with_env(f.path(), []).unwrap_err().to_string();
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        assert!(e.contains("max_body_bytes"), "{e}");

        let f = write("routes:\n  main:\n    target: { kind: memory }\n    colour: blue\n");
        let e = Settings::load_with_env(f.path(), []).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");

        let f =
            write("routes:\n  main:\n    target: { kind: memory }\n    auth:\n      tokens:\n        - { name: a }\n");
        let e = Settings::load_with_env(f.path(), []).unwrap_err().to_string();
        assert!(e.contains("routes.main.auth.tokens[0]"), "{e}");
    }
}
