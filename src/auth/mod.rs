//! Inbound authentication: turns the `Authorization` header into a [`Principal`] or a rejection.
//!
//! A route accepts the credential kinds its settings list: static tokens (`static_token`), JWTs
//! of trusted issuers verified against their cached JWKS (`jwt`, [`JwksCache`]), and tokens the
//! gateway issued itself at its OAuth2 token endpoint ([`TokenEndpoint`], throttled by
//! [`FailureLimiter`]). Rejections tell the client only a coarse class ([`RejectionKind`]); the
//! precise [`Reason`] goes to logs and [`metrics()`], and no credential is ever logged or echoed.

mod jwks;
mod jwt;
mod limiter;
pub mod metrics;
mod oauth;
mod rejection;
pub mod settings;
mod static_token;
mod verified;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use jsonwebtoken::Algorithm;

pub use jwks::JwksCache;
pub use jwt::{ISSUED_TYP, SCOPE_READ, SCOPE_WRITE};
pub use limiter::{FailureLimiter, LimiterSettings};
pub use metrics::{AuthMetrics, CredentialKind, metrics};
pub use oauth::{MAX_TOKEN_REQUEST_BYTES, TokenEndpoint, TokenReply, TokenRequest};
pub use rejection::{Reason, Rejection, RejectionKind};
pub use static_token::{StaticTokenError, StaticTokens};

use crate::backend::{JwtSigner, JwtSignerError};
use crate::settings::AuthSettings;
use jwks::{CacheTimes, KeyLocation, VerifyKey};
use jwt::{IssuedClients, IssuerMatch, IssuerRules, JwtIssuer, KeySource};
use settings::{EntraSettings, JwksCacheSettings, JwtIssuerSettings, OAuthSettings};
use verified::{Verified, VerifiedTokens};

/// Longest bearer token looked at; longer ones are refused before any decoding. Real access
/// tokens are a few kilobytes (Entra's, with groups, stay well under this).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The configured client name or the token's subject (never the credential).
    pub name: Arc<str>,
    /// Only reads are allowed.
    pub read_only: bool,
}

/// Extracts the token from an `Authorization` header value. The scheme is case-insensitive
/// (RFC 7235 §2.1), so `bearer x` is accepted.
pub fn bearer_token(header: Option<&[u8]>) -> Result<&str, Rejection> {
    let raw = header.ok_or(Rejection::MISSING)?;
    let text = std::str::from_utf8(raw).map_err(|_| Rejection::MALFORMED)?;
    let (scheme, token) = text.trim().split_once(' ').ok_or(Rejection::MALFORMED)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::MALFORMED);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(Rejection::MALFORMED);
    }
    Ok(token)
}

/// Authentication settings that cannot be used; names the settings key and never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthSetupError {
    #[error("key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error(transparent)]
    Token(#[from] StaticTokenError),
    #[error("key `oauth.signing_keys`: {0}")]
    Signer(#[from] JwtSignerError),
}

impl AuthSetupError {
    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        AuthSetupError::Invalid { key: key.into(), message: message.into() }
    }
}

/// The credentials one route accepts.
#[derive(Clone, Default)]
pub struct RouteAuth {
    pub static_tokens: StaticTokens,
    issuers: Vec<Arc<JwtIssuer>>,
    verified: VerifiedTokens,
}

impl std::fmt::Debug for RouteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<_> = self.issuers.iter().map(|i| &i.issuers).collect();
        f.debug_struct("RouteAuth").field("static_tokens", &self.static_tokens).field("issuers", &issuers).finish()
    }
}

impl RouteAuth {
    /// Static tokens only.
    pub fn new(static_tokens: StaticTokens) -> Self {
        RouteAuth { static_tokens, issuers: Vec::new(), verified: VerifiedTokens::default() }
    }

    /// Compiles a route's `auth` settings: static tokens, trusted JWT issuers, the Entra preset,
    /// and the gateway's own tokens when a client of the token endpoint may use this route.
    pub fn from_settings(
        route: &str,
        settings: &AuthSettings,
        gateway: &GatewayAuth,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AuthSetupError> {
        let static_tokens = StaticTokens::from_settings(&settings.tokens, env)?;
        let mut issuers = Vec::new();
        for (i, s) in settings.jwt.iter().enumerate() {
            issuers.push(Arc::new(jwt_issuer(&format!("routes.{route}.auth.jwt[{i}]"), s)?));
        }
        if let Some(entra) = &settings.entra {
            issuers.push(Arc::new(entra_issuer(&format!("routes.{route}.auth.entra"), entra)?));
        }
        if let Some(own) = gateway.route_issuer(route) {
            issuers.push(Arc::new(own));
        }
        Ok(RouteAuth { static_tokens, issuers, verified: VerifiedTokens::default() })
    }

    /// Whether only static tokens are accepted.
    pub fn is_static_only(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Authenticates the `Authorization` header value, counting the outcome.
    pub async fn authenticate(&self, header: Option<&[u8]>) -> Result<Principal, Rejection> {
        let (kind, outcome) = self.check(header).await;
        match &outcome {
            Ok(_) => metrics().accepted(kind),
            Err(r) => metrics().rejected(kind, r.reason_code()),
        }
        outcome
    }

    async fn check(&self, header: Option<&[u8]>) -> (CredentialKind, Result<Principal, Rejection>) {
        let token = match bearer_token(header) {
            Ok(t) => t,
            Err(r) => return (CredentialKind::None, Err(r)),
        };
        let jwt_shaped = !self.issuers.is_empty() && jwt::looks_like_jwt(token);
        let kind = if jwt_shaped { CredentialKind::Jwt } else { CredentialKind::Static };
        if token.len() > MAX_TOKEN_BYTES {
            return (kind, Err(Reason::TooLarge.into()));
        }
        let digest = static_token::digest(token);
        if let Some(p) = self.static_tokens.verify_digest(&digest) {
            return (CredentialKind::Static, Ok(p));
        }
        if !jwt_shaped {
            return (kind, Err(Reason::UnknownToken.into()));
        }
        if let Some(hit) = self.verified.get(&digest, jsonwebtoken::get_current_timestamp()) {
            // Still signed by one of the issuer's current keys: not rotated out, not dropped as
            // too stale, and the same key object (a refetch makes new ones, so it is checked once
            // more against the new set).
            if let Some(issuer) = self.issuers.get(hit.issuer)
                && issuer.key(hit.kid.as_deref()).await.is_ok_and(|k| Arc::ptr_eq(&k, &hit.key))
            {
                metrics().jwt_cache_hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return (issuer.kind(), Ok(hit.principal));
            }
            self.verified.forget(&digest);
        }
        let unverified = match jwt::parse_unverified(token) {
            Ok(u) => u,
            Err(r) => return (kind, Err(r.into())),
        };
        let Some(iss) = unverified.iss.as_deref() else {
            return (kind, Err(Reason::MissingClaim.into()));
        };
        let mut first: Option<(CredentialKind, Reason)> = None;
        for (index, issuer) in self.issuers.iter().enumerate().filter(|(_, i)| i.trusts(iss)) {
            match issuer.verify(token, &unverified).await {
                Ok(accepted) => {
                    let kind = issuer.kind();
                    let principal = accepted.principal.clone();
                    let entry = Verified {
                        principal: accepted.principal,
                        issuer: index,
                        kid: unverified.kid.clone(),
                        key: accepted.key,
                        valid_until: accepted.valid_until,
                    };
                    self.verified.insert(digest, entry);
                    return (kind, Ok(principal));
                }
                Err(r) => {
                    first.get_or_insert((issuer.kind(), r));
                }
            }
        }
        let (kind, reason) = first.unwrap_or((kind, Reason::UnknownIssuer));
        (kind, Err(reason.into()))
    }
}

fn parse_url(key: &str, url: &str) -> Result<reqwest::Url, AuthSetupError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| AuthSetupError::invalid(key, format!("`{url}`: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
        return Err(AuthSetupError::invalid(key, format!("`{url}` is not an http(s) URL")));
    }
    Ok(parsed)
}

fn cache_times(key: &str, c: &JwksCacheSettings) -> Result<CacheTimes, AuthSetupError> {
    if c.ttl_secs == 0 || c.min_refetch_interval_secs == 0 {
        return Err(AuthSetupError::invalid(
            format!("{key}.cache"),
            "ttl_secs and min_refetch_interval_secs must be at least 1",
        ));
    }
    Ok(CacheTimes::from(c))
}

fn remote_keys(key: &str, location: KeyLocation, cache: &JwksCacheSettings) -> Result<KeySource, AuthSetupError> {
    let times = cache_times(key, cache)?;
    let cache = JwksCache::shared(location, times).map_err(|e| AuthSetupError::invalid(key, e))?;
    Ok(KeySource::Remote(cache))
}

fn check_leeway(key: &str, leeway: u64) -> Result<u64, AuthSetupError> {
    if leeway > 600 {
        return Err(AuthSetupError::invalid(format!("{key}.leeway_secs"), "must be at most 600"));
    }
    Ok(leeway)
}

fn check_subjects(key: &str, subjects: &Option<Vec<String>>) -> Result<(), AuthSetupError> {
    if subjects.as_ref().is_some_and(Vec::is_empty) {
        return Err(AuthSetupError::invalid(format!("{key}.subjects"), "an empty list would accept no one; omit it"));
    }
    Ok(())
}

/// Compiles one `auth.jwt` entry.
fn jwt_issuer(key: &str, s: &JwtIssuerSettings) -> Result<JwtIssuer, AuthSetupError> {
    let issuer = match (&s.issuer, &s.issuer_prefix) {
        (Some(exact), None) if !exact.is_empty() => IssuerMatch::Exact(exact.clone()),
        (None, Some(prefix)) => {
            let has_host = prefix.split_once("://").is_some_and(|(_, rest)| rest.len() > 1);
            if !prefix.ends_with('/') || !has_host {
                return Err(AuthSetupError::invalid(
                    format!("{key}.issuer_prefix"),
                    "must be a URL with a host and end with `/`, so no other host can match it",
                ));
            }
            IssuerMatch::Prefix(prefix.clone())
        }
        _ => return Err(AuthSetupError::invalid(key, "set exactly one of issuer, issuer_prefix (non-empty)")),
    };
    let location = match (&s.jwks_url, &s.discovery_url) {
        (Some(u), None) => KeyLocation::Jwks(parse_url(&format!("{key}.jwks_url"), u)?),
        (None, Some(u)) => KeyLocation::Discovery(parse_url(&format!("{key}.discovery_url"), u)?),
        _ => return Err(AuthSetupError::invalid(key, "set exactly one of jwks_url, discovery_url")),
    };
    if s.audiences.is_empty() || s.audiences.iter().any(String::is_empty) {
        return Err(AuthSetupError::invalid(format!("{key}.audiences"), "name at least one non-empty audience"));
    }
    let mut algorithms = Vec::new();
    for name in &s.algorithms {
        let alg = Algorithm::from_str(name).map_err(|_| {
            AuthSetupError::invalid(format!("{key}.algorithms"), format!("`{name}` is not a supported algorithm"))
        })?;
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(AuthSetupError::invalid(
                format!("{key}.algorithms"),
                format!("`{name}` is refused: a shared-secret algorithm cannot be verified with public keys"),
            ));
        }
        algorithms.push(alg);
    }
    if algorithms.is_empty() {
        return Err(AuthSetupError::invalid(format!("{key}.algorithms"), "name at least one algorithm"));
    }
    check_subjects(key, &s.subjects)?;
    let rules = IssuerRules {
        issuers: vec![issuer],
        audiences: s.audiences.clone(),
        algorithms,
        typ: s.typ.clone(),
        subjects: s.subjects.clone(),
        required_scopes: s.required_scopes.clone(),
        leeway: check_leeway(key, s.leeway_secs)?,
        read_only: s.read_only,
    };
    Ok(JwtIssuer::new(rules, remote_keys(key, location, &s.cache)?, None))
}

/// Compiles the Entra preset: the tenant's v1 and v2 issuers, its JWKS, RS256.
fn entra_issuer(key: &str, s: &EntraSettings) -> Result<JwtIssuer, AuthSetupError> {
    let tenant = &s.tenant_id;
    if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(AuthSetupError::invalid(
            format!("{key}.tenant_id"),
            "must be a tenant id (letters, digits, `-`, `.`)",
        ));
    }
    if s.audience.is_empty() {
        return Err(AuthSetupError::invalid(format!("{key}.audience"), "must not be empty"));
    }
    let issuers = match &s.issuer {
        Some(i) => vec![IssuerMatch::Exact(i.clone())],
        None => vec![
            IssuerMatch::Exact(format!("https://sts.windows.net/{tenant}/")),
            IssuerMatch::Exact(format!("https://login.microsoftonline.com/{tenant}/v2.0")),
        ],
    };
    let jwks =
        s.jwks_url.clone().unwrap_or_else(|| format!("https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"));
    let location = KeyLocation::Jwks(parse_url(&format!("{key}.jwks_url"), &jwks)?);
    check_subjects(key, &s.subjects)?;
    let rules = IssuerRules {
        issuers,
        audiences: vec![s.audience.clone()],
        algorithms: vec![Algorithm::RS256],
        typ: None,
        subjects: s.subjects.clone(),
        required_scopes: s.required_scopes.clone(),
        leeway: check_leeway(key, s.leeway_secs)?,
        read_only: s.read_only,
    };
    Ok(JwtIssuer::new(rules, remote_keys(key, location, &s.cache)?, None))
}

/// The gateway's own keys and token endpoint, shared by all routes.
#[derive(Debug, Default)]
pub struct GatewayAuth {
    signer: Option<Arc<JwtSigner>>,
    endpoint: Option<Arc<TokenEndpoint>>,
    issuer: String,
    /// Per route, the token endpoint's clients that may use it.
    clients_by_route: HashMap<String, IssuedClients>,
}

impl GatewayAuth {
    /// Compiles the `oauth` settings. `routes` are the configured route names; the failure
    /// limiter of `previous` is kept, so a reload does not forgive failed attempts.
    pub fn from_settings(
        oauth: Option<&OAuthSettings>,
        routes: &[&str],
        env: &dyn Fn(&str) -> Option<String>,
        previous: Option<&GatewayAuth>,
    ) -> Result<Self, AuthSetupError> {
        let Some(oauth) = oauth else { return Ok(GatewayAuth::default()) };
        let mut pems = Vec::with_capacity(oauth.signing_keys.len());
        for (i, k) in oauth.signing_keys.iter().enumerate() {
            let pem = std::fs::read(&k.key_file).map_err(|e| {
                AuthSetupError::invalid(
                    format!("oauth.signing_keys[{i}].key_file"),
                    format!("cannot read {}: {e}", k.key_file.display()),
                )
            })?;
            pems.push((k.kid.as_str(), pem));
        }
        let signer = Arc::new(JwtSigner::from_pem_keys(pems.iter().map(|(k, p)| (*k, p.as_slice())))?);
        let limiter = previous
            .and_then(|p| p.endpoint.as_ref())
            .map(|e| e.limiter())
            .unwrap_or_else(|| Arc::new(FailureLimiter::new(LimiterSettings::default())));
        let endpoint = TokenEndpoint::from_settings(oauth, signer.clone(), routes, env, limiter)?;
        let mut clients_by_route: HashMap<String, IssuedClients> = HashMap::new();
        for c in &oauth.clients {
            for r in &c.routes {
                clients_by_route.entry(r.clone()).or_default().insert(c.client_id.clone(), c.read_only);
            }
        }
        Ok(GatewayAuth {
            signer: Some(signer),
            endpoint: Some(Arc::new(endpoint)),
            issuer: oauth.issuer.clone(),
            clients_by_route,
        })
    }

    /// The signing keys, for backends authenticated with `gateway_jwt`.
    pub fn signer(&self) -> Option<Arc<JwtSigner>> {
        self.signer.clone()
    }

    /// `POST /oauth/token`, when configured.
    pub fn token_endpoint(&self) -> Option<&TokenEndpoint> {
        self.endpoint.as_deref()
    }

    /// The public keys served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Option<serde_json::Value> {
        self.signer.as_ref().map(|s| s.jwks())
    }

    /// The issuer entry that accepts this gateway's tokens on `route`.
    fn route_issuer(&self, route: &str) -> Option<JwtIssuer> {
        let signer = self.signer.as_ref()?;
        let clients = self.clients_by_route.get(route)?.clone();
        let keys: Vec<Arc<VerifyKey>> =
            signer.jwk_set().keys.iter().filter_map(VerifyKey::from_jwk).map(Arc::new).collect();
        let rules = IssuerRules {
            issuers: vec![IssuerMatch::Exact(self.issuer.clone())],
            audiences: vec![route.to_owned()],
            algorithms: signer.algorithms(),
            typ: Some(ISSUED_TYP.to_owned()),
            subjects: None,
            required_scopes: Vec::new(),
            leeway: 60,
            read_only: false,
        };
        Some(JwtIssuer::new(rules, KeySource::Local(keys), Some(clients)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict_otherwise() {
        assert_eq!(bearer_token(Some(b"Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some(b"bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some(b"BEARER  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(Rejection::MISSING));
        assert_eq!(bearer_token(Some(b"Basic dXNlcjpwYXNz")), Err(Rejection::MALFORMED));
        assert_eq!(bearer_token(Some(b"Bearer")), Err(Rejection::MALFORMED));
        assert_eq!(bearer_token(Some(b"Bearer ")), Err(Rejection::MALFORMED));
        assert_eq!(bearer_token(Some(b"Bearer a b")), Err(Rejection::MALFORMED));
        assert_eq!(bearer_token(Some(&[0x42, 0xff, 0x20, 0x61])), Err(Rejection::MALFORMED));
    }
}
