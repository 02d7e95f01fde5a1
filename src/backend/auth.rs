//! The credential a backend adds to every call.
//!
//! Static credentials are rendered once. OAuth2 access tokens (RFC 6749 §4.4) and gateway-signed
//! JWTs are cached until shortly before they expire; concurrent callers share one fetch. When the
//! application rejects an OAuth2 token with 401, the client drops it so the retry fetches anew.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue};
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use serde_json::Value;

use super::client::error_chain;
use super::error::{BackendBuildError, BackendError};
use super::jwt_signer::JwtSigner;
use super::secret::SecretValue;
use super::settings::{AuthSettings, ClientAuthMethod};

/// Token endpoint answers beyond this size are refused (a token answer is a few kilobytes).
const MAX_TOKEN_ANSWER_BYTES: u64 = 64 * 1024;
/// `expires_in` is optional (RFC 6749 §5.1); assume an hour when absent.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A credential header, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub(crate) name: HeaderName,
    pub(crate) value: HeaderValue,
}

pub(crate) enum Authenticator {
    None,
    Static(Credential),
    OAuth2(Box<OAuth2>),
    GatewayJwt(Box<GatewayJwt>),
}

/// Resolves a secret, naming the key in errors.
fn secret(key: &'static str, s: &super::Secret) -> Result<SecretValue, BackendBuildError> {
    s.resolve().map_err(|source| BackendBuildError::Secret { key, source })
}

/// A header value that HTTP/2 never puts in its compression table and `Debug` never shows.
fn sensitive(key: &str, text: &str) -> Result<HeaderValue, BackendBuildError> {
    let mut v = HeaderValue::from_str(text)
        .map_err(|_| BackendBuildError::invalid(key, "contains characters not allowed in an HTTP header"))?;
    v.set_sensitive(true);
    Ok(v)
}

impl Authenticator {
    /// Prepares the credential. `http` is the backend's client, also used for token requests.
    pub(crate) fn build(
        settings: &AuthSettings,
        signer: Option<Arc<JwtSigner>>,
        http: reqwest::Client,
        request_timeout: Duration,
    ) -> Result<Self, BackendBuildError> {
        Ok(match settings {
            AuthSettings::None => Authenticator::None,
            AuthSettings::Bearer { token } => {
                let token = secret("auth.token", token)?;
                let value = sensitive("auth.token", &format!("Bearer {}", token.expose()))?;
                Authenticator::Static(Credential { name: AUTHORIZATION, value })
            }
            AuthSettings::Basic { username, password } => {
                if username.contains(':') {
                    return Err(BackendBuildError::invalid("auth.username", "must not contain `:` (RFC 7617)"));
                }
                let password = secret("auth.password", password)?;
                let encoded = BASE64.encode(format!("{username}:{}", password.expose()));
                let value = sensitive("auth.password", &format!("Basic {encoded}"))?;
                Authenticator::Static(Credential { name: AUTHORIZATION, value })
            }
            AuthSettings::Header { name, value } => {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| BackendBuildError::invalid("auth.name", format!("`{name}` is not a header name")))?;
                let value = sensitive("auth.value", secret("auth.value", value)?.expose())?;
                Authenticator::Static(Credential { name, value })
            }
            AuthSettings::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
                audience,
                auth_method,
            } => {
                let url = reqwest::Url::parse(token_url)
                    .map_err(|e| BackendBuildError::invalid("auth.token_url", format!("`{token_url}`: {e}")))?;
                if !matches!(url.scheme(), "https" | "http") {
                    return Err(BackendBuildError::invalid("auth.token_url", "must be an http or https URL"));
                }
                if client_id.is_empty() {
                    return Err(BackendBuildError::invalid("auth.client_id", "must not be empty"));
                }
                Authenticator::OAuth2(Box::new(OAuth2 {
                    http,
                    timeout: request_timeout,
                    token_url: url,
                    client_id: client_id.clone(),
                    client_secret: secret("auth.client_secret", client_secret)?,
                    scope: scope.clone(),
                    audience: audience.clone(),
                    method: *auth_method,
                    cache: token_cache(),
                }))
            }
            AuthSettings::GatewayJwt { issuer, audience, subject, lifetime_secs, scope } => {
                let signer = signer.ok_or(BackendBuildError::MissingSigner)?;
                if !(1..=86_400).contains(lifetime_secs) {
                    return Err(BackendBuildError::invalid("auth.lifetime_secs", "must be between 1 and 86400"));
                }
                Authenticator::GatewayJwt(Box::new(GatewayJwt {
                    signer,
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                    subject: subject.clone(),
                    lifetime: Duration::from_secs(*lifetime_secs),
                    scope: scope.clone(),
                    cache: token_cache(),
                }))
            }
        })
    }

    /// The credential for the next call, fetching or minting a token if none is cached.
    pub(crate) async fn credential(&self) -> Result<Option<Credential>, BackendError> {
        let auth_error = |e: Arc<String>| BackendError::Auth { reason: e.to_string() };
        match self {
            Authenticator::None => Ok(None),
            Authenticator::Static(c) => Ok(Some(c.clone())),
            Authenticator::OAuth2(o) => {
                let token = o.cache.try_get_with((), async { o.fetch().await.map(Arc::new) }).await;
                Ok(Some(Credential { name: AUTHORIZATION, value: token.map_err(auth_error)?.value.clone() }))
            }
            Authenticator::GatewayJwt(j) => {
                let token = j.cache.try_get_with((), async { j.mint().map(Arc::new) }).await;
                Ok(Some(Credential { name: AUTHORIZATION, value: token.map_err(auth_error)?.value.clone() }))
            }
        }
    }

    /// Whether a 401 answer should drop the credential and retry once: only fetched tokens
    /// can be revoked or rotated early by their issuer.
    pub(crate) fn refreshes_on_401(&self) -> bool {
        matches!(self, Authenticator::OAuth2(_))
    }

    /// Drops the cached token if it is still `used`, so the next call fetches a new one. A token
    /// another call has already replaced is kept, so a burst of 401s triggers one fetch.
    pub(crate) async fn discard(&self, used: &Credential) {
        if let Authenticator::OAuth2(o) = self {
            o.cache
                .entry(())
                .and_compute_with(|entry| async move {
                    match entry {
                        Some(e) if e.value().value == used.value => Op::Remove,
                        _ => Op::Nop,
                    }
                })
                .await;
        }
    }
}

/// A cached token and how long it may be used.
#[derive(Debug)]
struct Token {
    value: HeaderValue,
    usable_for: Duration,
}

struct TokenExpiry;

impl Expiry<(), Arc<Token>> for TokenExpiry {
    fn expire_after_create(&self, _: &(), token: &Arc<Token>, _: Instant) -> Option<Duration> {
        Some(token.usable_for)
    }
}

fn token_cache() -> Cache<(), Arc<Token>> {
    Cache::builder().max_capacity(1).expire_after(TokenExpiry).build()
}

/// How long a token valid for `lifetime` is used: until a fifth of its life, at most a minute,
/// remains, so a call never leaves with a token about to expire in flight.
fn usable_for(lifetime: Duration) -> Duration {
    lifetime - (lifetime / 5).min(Duration::from_secs(60))
}

fn bearer(token: &str) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the token contains characters not allowed in an HTTP header".to_owned())?;
    v.set_sensitive(true);
    Ok(v)
}

pub(crate) struct OAuth2 {
    http: reqwest::Client,
    timeout: Duration,
    token_url: reqwest::Url,
    client_id: String,
    client_secret: SecretValue,
    scope: Option<String>,
    audience: Option<String>,
    method: ClientAuthMethod,
    cache: Cache<(), Arc<Token>>,
}

impl OAuth2 {
    /// One token request (RFC 6749 §4.4.2). Errors name the endpoint's status and OAuth error
    /// code, never the credentials.
    async fn fetch(&self) -> Result<Token, String> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience));
        }
        let mut request = self
            .http
            .post(self.token_url.clone())
            .timeout(self.timeout)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json");
        match self.method {
            ClientAuthMethod::ClientSecretBasic => {
                // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
                let pair = format!("{}:{}", form_encode(&self.client_id), form_encode(self.client_secret.expose()));
                let mut value = HeaderValue::from_str(&format!("Basic {}", BASE64.encode(pair)))
                    .map_err(|_| "the client credentials cannot be sent in a header".to_owned())?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            ClientAuthMethod::ClientSecretPost => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", self.client_secret.expose()));
            }
        }
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect();
        let where_ = format!("token endpoint {}", self.token_url.origin().ascii_serialization());
        let response = request
            .body(body.join("&"))
            .send()
            .await
            .map_err(|e| format!("{where_}: {}", error_chain(&e.without_url())))?;
        let status = response.status();
        let body = read_limited(response, MAX_TOKEN_ANSWER_BYTES).await.map_err(|e| format!("{where_}: {e}"))?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            let code = json.as_ref().and_then(|j| j.get("error")).and_then(Value::as_str).unwrap_or("no error code");
            let detail = json
                .as_ref()
                .and_then(|j| j.get("error_description"))
                .and_then(Value::as_str)
                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            return Err(format!("{where_} answered {}: {code}{detail}", status.as_u16()));
        }
        let json = json.ok_or_else(|| format!("{where_}: the answer is not JSON"))?;
        let token = json
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("{where_}: the answer has no access_token"))?;
        if let Some(kind) = json.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(format!("{where_}: token_type `{kind}` is not supported (only Bearer)"));
        }
        // Some servers send `expires_in` as a string.
        let lifetime = match json.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64().map(Duration::from_secs),
            Some(Value::String(s)) => s.trim().parse().ok().map(Duration::from_secs),
            _ => None,
        }
        .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        Ok(Token { value: bearer(token)?, usable_for: usable_for(lifetime) })
    }
}

pub(crate) struct GatewayJwt {
    signer: Arc<JwtSigner>,
    issuer: String,
    audience: String,
    subject: String,
    lifetime: Duration,
    scope: Option<String>,
    cache: Cache<(), Arc<Token>>,
}

impl GatewayJwt {
    fn mint(&self) -> Result<Token, String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut claims = serde_json::json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": self.subject,
            "iat": now,
            "exp": now + self.lifetime.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let (Some(scope), Some(map)) = (&self.scope, claims.as_object_mut()) {
            map.insert("scope".into(), Value::String(scope.clone()));
        }
        let jwt = self.signer.sign(&claims).map_err(|e| e.to_string())?;
        Ok(Token { value: bearer(&jwt)?, usable_for: usable_for(self.lifetime) })
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (WHATWG URL §5.2): alphanumerics
/// and `*-._` stay, space becomes `+`, every other byte is percent-encoded.
pub(crate) fn form_encode(s: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_').remove(b' ');
    percent_encoding::utf8_percent_encode(s, KEEP).to_string().replace(' ', "+")
}

enum ReadError {
    TooLarge(u64),
    Broken(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(limit) => write!(f, "the answer is larger than {limit} bytes"),
            ReadError::Broken(reason) => write!(f, "the answer broke off: {reason}"),
        }
    }
}

/// Reads a body up to `limit` bytes, refusing larger ones without buffering them.
async fn read_limited(mut response: reqwest::Response, limit: u64) -> Result<Bytes, ReadError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| ReadError::Broken(error_chain(&e.without_url())))? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(ReadError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_follows_the_urlencoded_rules() {
        assert_eq!(form_encode("a b+c/d:e%f*g-h.i_j~k"), "a+b%2Bc%2Fd%3Ae%25f*g-h.i_j%7Ek");
        assert_eq!(form_encode("é"), "%C3%A9");
    }

    #[test]
    fn tokens_are_used_until_shortly_before_expiry() {
        assert_eq!(usable_for(Duration::from_secs(3600)), Duration::from_secs(3540));
        assert_eq!(usable_for(Duration::from_secs(100)), Duration::from_secs(80));
        assert_eq!(usable_for(Duration::from_secs(1)), Duration::from_millis(800));
        assert_eq!(usable_for(Duration::ZERO), Duration::ZERO);
    }
}
