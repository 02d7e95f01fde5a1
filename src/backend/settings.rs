//! The `backend` section of a mapping file: how to reach the application.
//!
//! A mapping ships defaults (retries, limits, the kind of authentication); deployment settings
//! usually supply the base URL and credentials per route. [`BackendSettings::overlay`] merges the
//! two key by key. Doc comments on these types are the JSON Schema descriptions mapping authors
//! see, so they speak about the YAML keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::secret::Secret;

/// How to reach the application: base URL, authentication, TLS, timeouts, retries and limits.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BackendSettings {
    /// Base URL of the application's API (`http` or `https`), e.g.
    /// `https://acme.collibra.com/rest/2.0`. Call URLs are relative to it. Usually set per
    /// deployment rather than in the mapping.
    pub base_url: String,
    /// How the gateway authenticates to the application. Default: no authentication.
    pub auth: AuthSettings,
    /// TLS settings for `https` base URLs.
    pub tls: TlsSettings,
    /// Connection and request timeouts.
    pub timeouts: TimeoutSettings,
    /// Retries of failed calls. Only calls that cannot have been applied, or that are safe to
    /// repeat (GET, HEAD, PUT, DELETE, OPTIONS), are retried.
    pub retries: RetrySettings,
    /// Most calls in flight to this application at once, per gateway replica.
    pub concurrency: u32,
    /// How long a call may wait for one of the `concurrency` slots before the gateway answers
    /// 503 with `Retry-After: 1`, in milliseconds.
    pub queue_timeout_ms: u64,
    /// Stops calling an application that keeps failing, so it can recover and the IdP gets fast
    /// answers meanwhile.
    pub circuit_breaker: CircuitBreakerSettings,
    /// Extra headers sent with every call (e.g. `Accept: application/json`). For credentials use
    /// `auth` with `type: header`, which keeps the value out of files.
    pub headers: BTreeMap<String, String>,
    /// Largest answer body accepted from the application, in bytes; a larger answer fails the call.
    pub max_response_bytes: u64,
}

impl Default for BackendSettings {
    fn default() -> Self {
        BackendSettings {
            base_url: String::new(),
            auth: AuthSettings::None,
            tls: TlsSettings::default(),
            timeouts: TimeoutSettings::default(),
            retries: RetrySettings::default(),
            concurrency: 64,
            queue_timeout_ms: 1_000,
            circuit_breaker: CircuitBreakerSettings::default(),
            headers: BTreeMap::new(),
            max_response_bytes: 16 * 1024 * 1024,
        }
    }
}

/// How the gateway authenticates to the application, chosen with `type`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSettings {
    /// No credentials are sent.
    #[default]
    None,
    /// `Authorization: Bearer <token>` with a static token (an API key or personal access token).
    Bearer {
        /// The token.
        token: Secret,
    },
    /// HTTP Basic authentication (`Authorization: Basic …`).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// A static credential in a header of the application's choosing (e.g. `X-API-Key`).
    Header {
        /// Header name.
        name: String,
        /// Header value.
        value: Secret,
    },
    /// OAuth 2.0 client credentials grant (RFC 6749 §4.4): the gateway fetches an access token
    /// from `token_url`, caches it until shortly before it expires, and fetches a new one when
    /// the application answers 401.
    Oauth2ClientCredentials {
        /// The authorization server's token endpoint.
        token_url: String,
        /// Client identifier.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Space-separated scopes to request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// `audience` parameter some servers require (Auth0, Okta custom authorization servers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
        /// How the client authenticates to the token endpoint.
        #[serde(default)]
        auth_method: ClientAuthMethod,
    },
    /// A short-lived JWT signed with the gateway's own key, sent as a bearer token; the
    /// application verifies it against the gateway's `/.well-known/jwks.json`.
    GatewayJwt {
        /// `iss` claim: how the application knows the gateway, usually the gateway's public URL.
        issuer: String,
        /// `aud` claim: the application's identifier.
        audience: String,
        /// `sub` claim: the identity the gateway acts as in the application.
        subject: String,
        /// Lifetime of each token in seconds (1 to 86400). Tokens are reused until shortly before
        /// they expire.
        #[serde(default = "default_jwt_lifetime_secs")]
        lifetime_secs: u64,
        /// `scope` claim, if the application expects one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
}

impl AuthSettings {
    /// The `type` tag, as written in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthSettings::None => "none",
            AuthSettings::Bearer { .. } => "bearer",
            AuthSettings::Basic { .. } => "basic",
            AuthSettings::Header { .. } => "header",
            AuthSettings::Oauth2ClientCredentials { .. } => "oauth2_client_credentials",
            AuthSettings::GatewayJwt { .. } => "gateway_jwt",
        }
    }
}

fn default_jwt_lifetime_secs() -> u64 {
    300
}

/// How an OAuth 2.0 client proves its identity to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-encoded client id and secret.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// TLS settings for `https` base URLs. The system's trusted CAs are always used.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file of additional CA certificates to trust (a private CA), for the application and
    /// its token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate. Only for trying things out: anyone on the network path can
    /// then read and change the traffic, credentials included.
    pub insecure_skip_verify: bool,
    /// PEM certificate chain presented to the application (mutual TLS). Needs `client_key_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of `client_cert_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_file: Option<PathBuf>,
}

/// Connection and request timeouts, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TimeoutSettings {
    /// Longest time to open a connection (TCP and TLS).
    pub connect_ms: u64,
    /// Longest time for one attempt of a call, from sending to the end of the answer.
    pub request_ms: u64,
    /// Longest time an idle connection is kept for reuse; 0 opens a connection per call. Keep it
    /// below the application's own keep-alive timeout: a call sent on a connection the server is
    /// closing fails, and a write that fails that way cannot be retried safely.
    pub idle_ms: u64,
}

impl Default for TimeoutSettings {
    fn default() -> Self {
        // 4 s: under the 5 s keep-alive of Node.js servers, the shortest common default.
        TimeoutSettings { connect_ms: 5_000, request_ms: 30_000, idle_ms: 4_000 }
    }
}

/// Retries with exponential backoff and jitter.
///
/// A call is retried when it never reached the application (connection refused, DNS, TLS
/// handshake). Calls safe to repeat (GET, HEAD, PUT, DELETE, OPTIONS) are also retried after a
/// timeout, a broken connection, 502, 503, 504 or 429.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Total tries per call, the first included (1 disables retries).
    pub attempts: u32,
    /// Wait before the first retry, in milliseconds; it doubles per retry, with jitter.
    pub initial_backoff_ms: u64,
    /// Longest wait between tries, in milliseconds.
    pub max_backoff_ms: u64,
    /// A `Retry-After` on 429 or 503 up to this many seconds is waited out and the call retried;
    /// a longer one is passed on to the IdP.
    pub max_retry_after_secs: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings { attempts: 3, initial_backoff_ms: 100, max_backoff_ms: 2_000, max_retry_after_secs: 10 }
    }
}

/// After `failure_threshold` consecutive failures (no connection, timeout, broken answer, 5xx)
/// calls fail at once for `open_secs`; then one trial call is let through, and its success
/// resumes normal operation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitBreakerSettings {
    /// Consecutive failures that stop calls (0 turns the breaker off).
    pub failure_threshold: u32,
    /// How long calls stay stopped, in seconds.
    pub open_secs: u64,
}

impl Default for CircuitBreakerSettings {
    fn default() -> Self {
        CircuitBreakerSettings { failure_threshold: 5, open_secs: 10 }
    }
}

/// Why overrides could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OverlayError {
    #[error("backend overrides must be a mapping of keys")]
    NotAMapping,
    #[error("backend overrides: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// Sections whose keys are overridden one by one; every other key is replaced as a whole.
const SECTIONS: &[&str] = &["auth", "tls", "timeouts", "retries", "circuit_breaker", "headers"];

impl BackendSettings {
    /// These settings with a route's overrides applied, key by key.
    ///
    /// Top-level keys replace the mapping's. Inside `auth`, `tls`, `timeouts`, `retries`,
    /// `circuit_breaker` and `headers` each given key replaces the mapping's key of the same name,
    /// so a deployment can supply only `auth.client_secret`. An `auth` with a different `type`
    /// replaces the whole `auth` section, since credentials of one kind mean nothing to another.
    /// A `null` resets a key to its default. Unknown keys are errors, as in the mapping file.
    pub fn overlay(&self, overrides: &Value) -> Result<BackendSettings, OverlayError> {
        let Value::Object(over) = overrides else {
            return Err(OverlayError::NotAMapping);
        };
        let Value::Object(mut base) = serde_json::to_value(self)? else {
            return Err(OverlayError::NotAMapping);
        };
        for (key, value) in over {
            let merged = match (base.remove(key), value) {
                (_, Value::Null) => continue,
                (Some(Value::Object(mut section)), Value::Object(keys)) if SECTIONS.contains(&key.as_str()) => {
                    let changes_kind =
                        key == "auth" && keys.get("type").is_some_and(|t| Some(t) != section.get("type"));
                    if changes_kind {
                        Value::Object(keys.clone())
                    } else {
                        for (k, v) in keys {
                            if v.is_null() {
                                section.remove(k);
                            } else {
                                section.insert(k.clone(), v.clone());
                            }
                        }
                        Value::Object(section)
                    }
                }
                (_, v) => v.clone(),
            };
            base.insert(key.clone(), merged);
        }
        Ok(serde_json::from_value(Value::Object(base))?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_section_takes_every_default() {
        let s: BackendSettings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(s, BackendSettings::default());
        assert_eq!(s.retries.attempts, 3);
        assert_eq!(s.timeouts.request_ms, 30_000);
        assert_eq!(s.concurrency, 64);
        assert_eq!(s.circuit_breaker.failure_threshold, 5);
    }

    #[test]
    fn auth_kinds_parse_with_their_defaults() {
        let s: BackendSettings = serde_json::from_value(json!({
            "auth": {"type": "oauth2_client_credentials", "token_url": "https://idp/token",
                     "client_id": "c", "client_secret": {"env": "SECRET"}}
        }))
        .unwrap();
        let AuthSettings::Oauth2ClientCredentials { auth_method, client_secret, .. } = &s.auth else {
            panic!("wrong kind: {:?}", s.auth)
        };
        assert_eq!(*auth_method, ClientAuthMethod::ClientSecretBasic);
        assert_eq!(*client_secret, Secret::Env { env: "SECRET".into() });

        let s: BackendSettings = serde_json::from_value(json!({
            "auth": {"type": "gateway_jwt", "issuer": "i", "audience": "a", "subject": "s"}
        }))
        .unwrap();
        assert!(matches!(s.auth, AuthSettings::GatewayJwt { lifetime_secs: 300, .. }));
    }

    #[test]
    fn unknown_keys_are_rejected_everywhere() {
        for bad in [
            json!({"base_ur": "http://x"}),
            json!({"auth": {"type": "bearer", "token": "t", "tokn": "u"}}),
            json!({"retries": {"attempt": 2}}),
            json!({"auth": {"type": "kerberos"}}),
        ] {
            assert!(serde_json::from_value::<BackendSettings>(bad.clone()).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn overlay_merges_sections_key_by_key() {
        let mapping: BackendSettings = serde_json::from_value(json!({
            "base_url": "http://placeholder",
            "auth": {"type": "oauth2_client_credentials", "token_url": "https://idp/token",
                     "client_id": "shipped", "client_secret": {"env": "S"}, "scope": "users"},
            "retries": {"attempts": 5, "max_backoff_ms": 500},
            "headers": {"Accept": "application/json"}
        }))
        .unwrap();
        let merged = mapping
            .overlay(&json!({
                "base_url": "https://prod.example",
                "auth": {"client_id": "prod-client", "client_secret": {"file": "/run/secret"}},
                "retries": {"attempts": 2},
                "headers": {"X-Tenant": "t1"},
                "concurrency": 8
            }))
            .unwrap();
        assert_eq!(merged.base_url, "https://prod.example");
        assert_eq!(merged.concurrency, 8);
        assert_eq!(merged.retries.attempts, 2);
        assert_eq!(merged.retries.max_backoff_ms, 500, "untouched key kept");
        assert_eq!(merged.headers.len(), 2);
        let AuthSettings::Oauth2ClientCredentials { client_id, client_secret, scope, token_url, .. } = merged.auth
        else {
            panic!("kind changed")
        };
        assert_eq!(client_id, "prod-client");
        assert_eq!(client_secret, Secret::File { file: "/run/secret".into() });
        assert_eq!(scope.as_deref(), Some("users"));
        assert_eq!(token_url, "https://idp/token");
    }

    #[test]
    fn overlay_with_another_auth_type_replaces_auth() {
        let mapping: BackendSettings =
            serde_json::from_value(json!({"auth": {"type": "basic", "username": "u", "password": "p"}})).unwrap();
        let merged = mapping.overlay(&json!({"auth": {"type": "bearer", "token": {"env": "T"}}})).unwrap();
        assert_eq!(merged.auth, AuthSettings::Bearer { token: Secret::Env { env: "T".into() } });
    }

    #[test]
    fn overlay_null_resets_and_typos_fail() {
        let mapping: BackendSettings =
            serde_json::from_value(json!({"concurrency": 3, "tls": {"ca_file": "/ca.pem"}})).unwrap();
        let merged = mapping.overlay(&json!({"concurrency": null, "tls": {"ca_file": null}})).unwrap();
        assert_eq!(merged.concurrency, 64);
        assert_eq!(merged.tls.ca_file, None);
        assert!(mapping.overlay(&json!({"timeouts": {"request_secs": 3}})).is_err());
        assert!(matches!(mapping.overlay(&json!("x")), Err(OverlayError::NotAMapping)));
    }

    #[test]
    fn json_schema_describes_fields_and_denies_unknown_keys() {
        let schema = serde_json::to_value(schemars::schema_for!(BackendSettings)).unwrap();
        assert_eq!(schema["additionalProperties"], json!(false));
        let desc = schema["properties"]["queue_timeout_ms"]["description"].as_str().unwrap();
        assert!(desc.contains("concurrency"), "{desc}");
    }
}
