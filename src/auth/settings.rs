//! Settings of inbound authentication beyond static tokens: trusted JWT issuers per route, the
//! Microsoft Entra ID preset, and the gateway's own OAuth2 token endpoint.
//!
//! These types are part of the settings file (`routes.*.auth.jwt`, `routes.*.auth.entra`,
//! `oauth`); they are checked and compiled by [`crate::auth`] when the gateway is built, so a
//! mistake stops start-up (or a reload) with the key that is wrong.

use std::path::PathBuf;

use serde::Deserialize;

/// A JWT issuer a route trusts: tokens whose `iss` matches are verified against the issuer's
/// JWKS. Exactly one of `issuer` / `issuer_prefix` and one of `jwks_url` / `discovery_url` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtIssuerSettings {
    /// The exact `iss` value.
    #[serde(default)]
    pub issuer: Option<String>,
    /// An `iss` prefix for multi-tenant issuers; it must end with `/` so that
    /// `https://sts.windows.net/` cannot match `https://sts.windows.net.evil/`.
    #[serde(default)]
    pub issuer_prefix: Option<String>,
    /// Where the issuer publishes its public keys.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// An OpenID Connect discovery document whose `jwks_uri` names the keys.
    #[serde(default)]
    pub discovery_url: Option<String>,
    /// Accepted `aud` values; a token must name at least one of them.
    pub audiences: Vec<String>,
    /// Accepted signature algorithms. Only asymmetric ones exist here: `none` and the HMAC
    /// family are refused at start-up, because an HMAC "secret" could be a public key.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Required `typ` header (e.g. `at+jwt`), compared without case and without `application/`.
    #[serde(default)]
    pub typ: Option<String>,
    /// When set, only these `sub` values are accepted.
    #[serde(default)]
    pub subjects: Option<Vec<String>>,
    /// When set, a token must carry at least one of these in `scope`, `scp` or `roles`;
    /// a valid token without any is answered 403 `insufficient_scope`.
    #[serde(default)]
    pub required_scopes: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
    /// Callers authenticated this way may only read.
    #[serde(default)]
    pub read_only: bool,
    /// How the issuer's keys are cached.
    #[serde(default)]
    pub cache: JwksCacheSettings,
}

/// Microsoft Entra ID app-only tokens (v1 `https://sts.windows.net/{tenant}/` and v2
/// `https://login.microsoftonline.com/{tenant}/v2.0` issuers), keys from the tenant's JWKS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraSettings {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The `aud` Entra puts in tokens for this application: its application id or App ID URI.
    pub audience: String,
    /// When set, only these `sub` values (service principal object ids) are accepted.
    #[serde(default)]
    pub subjects: Option<Vec<String>>,
    /// When set, a token must carry one of these app roles (`roles`) or scopes (`scp`).
    #[serde(default)]
    pub required_scopes: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
    /// Replaces the issuer (sovereign clouds, tests); default `https://sts.windows.net/{tenant}/`
    /// and `https://login.microsoftonline.com/{tenant}/v2.0`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Replaces the key URL; default
    /// `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    #[serde(default)]
    pub cache: JwksCacheSettings,
}

/// JWKS caching. Keys are kept for the `Cache-Control: max-age` the issuer sends (else
/// `ttl_secs`); a token naming an unknown key id triggers a refetch, at most once per
/// `min_refetch_interval_secs`; when the issuer cannot be reached, the last keys stay usable for
/// `max_stale_secs` past their lifetime.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwksCacheSettings {
    pub ttl_secs: u64,
    pub min_refetch_interval_secs: u64,
    pub max_stale_secs: u64,
    /// Time allowed for one fetch.
    pub fetch_timeout_secs: u64,
}

impl Default for JwksCacheSettings {
    fn default() -> Self {
        JwksCacheSettings {
            ttl_secs: 3600,
            min_refetch_interval_secs: 30,
            max_stale_secs: 6 * 3600,
            fetch_timeout_secs: 5,
        }
    }
}

fn default_algorithms() -> Vec<String> {
    ["RS256", "ES256", "PS256", "RS384", "ES384", "RS512", "PS384", "PS512", "EdDSA"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn default_leeway_secs() -> u64 {
    60
}

/// The gateway's OAuth2 token endpoint (`POST /oauth/token`, client credentials grant) and its
/// signing keys, also used for backends authenticated with `gateway_jwt` and published at
/// `/.well-known/jwks.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// The `iss` of issued tokens.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// Lifetime of issued access tokens (60 to 86400 seconds).
    #[serde(default = "default_token_lifetime_secs")]
    pub token_lifetime_secs: u64,
    /// PEM private keys (P-256 EC or RSA); the first signs, all are published.
    pub signing_keys: Vec<SigningKeySettings>,
    /// Clients allowed to obtain tokens.
    #[serde(default)]
    pub clients: Vec<OAuthClientSettings>,
}

fn default_issuer() -> String {
    "scimgate".to_owned()
}

fn default_token_lifetime_secs() -> u64 {
    3600
}

/// One signing key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeySettings {
    /// The key id (`kid`) put in token headers and the JWKS.
    pub kid: String,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// A client of the token endpoint. Exactly one of `secret_sha256`, `secret_env`, `secret_file`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientSettings {
    pub client_id: String,
    /// Hex SHA-256 of the secret, so the settings never hold it.
    #[serde(default)]
    pub secret_sha256: Option<String>,
    /// Name of an environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File holding the secret; surrounding whitespace is trimmed.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Routes the issued tokens are valid for (their `aud`).
    pub routes: Vec<String>,
    /// Scopes the client may obtain: `scim.read`, `scim.write`. Default: both, or `scim.read`
    /// for a read-only client.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub read_only: bool,
}
