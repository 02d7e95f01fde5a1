//! Helpers for the authentication tests: signing keys made at test time, a JWKS server that can
//! rotate keys, fail and stop, an application that counts the requests reaching it, and a real
//! gateway started from a settings file.

// Each test crate includes this module and uses a subset of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, StatusCode};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The SCIM User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// What the gateway presents to the counting application.
pub const BACKEND_TOKEN: &str = "backend-secret-token-7d1f";

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub pem: String,
    pub public_pem: String,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
}

impl TestKey {
    /// A fresh RSA-2048 key (signing RS256 by default).
    pub fn rsa(kid: &str) -> TestKey {
        let pair = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            .expect("generate an RSA key");
        Self::from_pair(kid, Algorithm::RS256, &pair)
    }

    /// A fresh P-256 key (ES256).
    pub fn ec(kid: &str) -> TestKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate an EC key");
        Self::from_pair(kid, Algorithm::ES256, &pair)
    }

    fn from_pair(kid: &str, alg: Algorithm, pair: &rcgen::KeyPair) -> TestKey {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let pem = pair.serialize_pem();
        let encoding = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
        }
        .expect("encoding key");
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).expect("jwk");
        jwk.common.key_id = Some(kid.to_owned());
        TestKey { kid: kid.to_owned(), alg, pem, public_pem: pair.public_key_pem(), encoding, jwk }
    }

    /// The same key material under another key id.
    pub fn with_kid(&self, kid: &str) -> TestKey {
        let mut k = self.clone();
        k.kid = kid.to_owned();
        k.jwk.common.key_id = Some(kid.to_owned());
        k
    }

    /// The public JWK as JSON.
    pub fn jwk_json(&self) -> Value {
        serde_json::to_value(&self.jwk).expect("jwk json")
    }

    /// Signs `claims` with this key's algorithm, `typ: JWT` and its kid.
    pub fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = Some(self.kid.clone());
        self.sign_with(h, claims)
    }

    /// Signs with an explicit header.
    pub fn sign_with(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// A token from raw JSON parts and a raw signature (for shapes no library would produce).
pub fn raw_token(header: &Value, payload: &Value, signature: &str) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{signature}", enc(header), enc(payload))
}

/// Serves `/keys` (a JWKS) and `/.well-known/openid-configuration`, counting requests; can fail
/// with 503 or stop altogether (listener and open connections).
pub struct JwksServer {
    pub addr: SocketAddr,
    state: Arc<JwksState>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

struct JwksState {
    keys: Mutex<Vec<Value>>,
    failing: Mutex<bool>,
    cache_control: Mutex<Option<String>>,
    delay: Mutex<std::time::Duration>,
    hits: AtomicUsize,
}

impl JwksServer {
    pub async fn start(keys: &[&TestKey]) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind JWKS server");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(JwksState {
            keys: Mutex::new(keys.iter().map(|k| k.jwk_json()).collect()),
            failing: Mutex::new(false),
            cache_control: Mutex::new(None),
            delay: Mutex::new(std::time::Duration::ZERO),
            hits: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/keys", axum::routing::get(serve_keys))
            .route("/.well-known/openid-configuration", axum::routing::get(serve_discovery))
            .with_state(state.clone());
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let conn_tasks = tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let conn = tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
                conn_tasks.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        JwksServer { addr, state, tasks }
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/keys", self.addr)
    }

    pub fn discovery_url(&self) -> String {
        format!("http://{}/.well-known/openid-configuration", self.addr)
    }

    /// Serves these keys from now on.
    pub fn set_keys(&self, keys: &[&TestKey]) {
        *self.state.keys.lock().unwrap() = keys.iter().map(|k| k.jwk_json()).collect();
    }

    /// Serves raw JWK documents from now on.
    pub fn set_raw_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    /// Answers 503 (still counting) when `failing`.
    pub fn set_failing(&self, failing: bool) {
        *self.state.failing.lock().unwrap() = failing;
    }

    /// Answers after `delay` from now on.
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    pub fn set_cache_control(&self, value: Option<&str>) {
        *self.state.cache_control.lock().unwrap() = value.map(str::to_owned);
    }

    /// Requests received (JWKS and discovery).
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Closes the listener and every open connection: the issuer is unreachable.
    pub fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve_keys(State(state): State<Arc<JwksState>>) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    if *state.failing.lock().unwrap() {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let keys = state.keys.lock().unwrap().clone();
    let mut resp = axum::Json(json!({ "keys": keys })).into_response();
    if let Some(cc) = state.cache_control.lock().unwrap().as_deref() {
        resp.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_str(cc).unwrap());
    }
    resp
}

async fn serve_discovery(State(state): State<Arc<JwksState>>, req: axum::extract::Request) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned();
    axum::Json(json!({ "issuer": "https://idp.test/", "jwks_uri": format!("http://{host}/keys") })).into_response()
}

/// A SCIM application behind the gateway that counts every request reaching it.
pub struct CountingApp {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    last_authorization: Arc<Mutex<Option<String>>>,
    task: JoinHandle<()>,
}

impl CountingApp {
    pub async fn start() -> CountingApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let last_authorization = Arc::new(Mutex::new(None));
        let (h, la) = (hits.clone(), last_authorization.clone());
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (h, la) = (h.clone(), la.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let auth = req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
                *la.lock().unwrap() = auth.map(str::to_owned);
                answer(req).await
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CountingApp { addr, hits, last_authorization, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The `Authorization` header of the last request.
    pub fn last_authorization(&self) -> Option<String> {
        self.last_authorization.lock().unwrap().clone()
    }
}

impl Drop for CountingApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A minimal SCIM service provider: empty lists, and creates echoed back with an id.
async fn answer(req: axum::extract::Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let scim = |status: StatusCode, v: Value| {
        let mut r = (status, v.to_string()).into_response();
        r.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/scim+json"));
        r
    };
    if method == http::Method::POST {
        let mut v: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
        v["id"] = json!("u-1");
        v["meta"] = json!({"resourceType": "User"});
        return scim(StatusCode::CREATED, v);
    }
    if let Some(id) = path.strip_prefix("/scim/v2/Users/") {
        return scim(
            StatusCode::OK,
            json!({"schemas": [USER], "id": id, "userName": "ann", "meta": {"resourceType": "User"}}),
        );
    }
    scim(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
        }),
    )
}

/// A route section forwarding to `app` through the shipped SCIM-to-SCIM mapping; `auth` is the
/// YAML of its `auth:` block, indented by six spaces.
pub fn mapped_route(name: &str, app: &CountingApp, auth: &str) -> String {
    format!(
        "  {name}:\n    target:\n      kind: mapping\n      file: builtin:scim\n      backend:\n        base_url: \"{}\"\n        auth: {{ type: bearer, token: \"{BACKEND_TOKEN}\" }}\n    auth:\n{auth}",
        app.base_url()
    )
}

/// A gateway started from a settings file written to a temporary directory.
pub struct Gateway {
    pub running: scimgate::app::Running,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl Gateway {
    /// Starts the gateway; `settings` may name `{dir}` for files written with [`Gateway::file`]
    /// beforehand (use [`Gateway::prepare`]).
    pub async fn start(settings: &str) -> Gateway {
        Self::start_in(tempfile::tempdir().expect("tempdir"), settings).await
    }

    /// A directory to put key files into before starting.
    pub fn prepare() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    pub async fn start_in(dir: tempfile::TempDir, settings: &str) -> Gateway {
        let text = settings.replace("{dir}", &dir.path().display().to_string());
        let path = dir.path().join("scimgate.yaml");
        std::fs::write(&path, text).expect("write settings");
        let settings = scimgate::settings::Settings::load(&path).expect("settings load");
        let running = scimgate::app::start(&settings).await.expect("gateway starts");
        Gateway { running, dir, http: reqwest::Client::new() }
    }

    pub fn root(&self) -> String {
        format!("http://{}", self.running.local_addr)
    }

    pub fn scim(&self, route: &str) -> String {
        format!("{}/{route}/scim/v2", self.root())
    }

    /// `GET /{route}/scim/v2/Users` with `authorization` as the raw header value.
    pub async fn get_users(&self, route: &str, authorization: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}/Users", self.scim(route)));
        if let Some(a) = authorization {
            req = req.header(http::header::AUTHORIZATION, a);
        }
        req.send().await.expect("gateway answers")
    }

    /// The status of `GET /{route}/scim/v2/Users` with a bearer token.
    pub async fn status_with(&self, route: &str, token: &str) -> u16 {
        self.get_users(route, Some(&format!("Bearer {token}"))).await.status().as_u16()
    }
}

/// Writes a file into `dir` and answers its path.
pub fn write_file(dir: &tempfile::TempDir, name: &str, content: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write file");
    path
}

/// Hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_').remove(b' ');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, KEEP).to_string().replace(' ', "+");
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// `POST /oauth/token` with a form body and optional Basic credentials.
pub async fn token_request(gw: &Gateway, basic: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> reqwest::Response {
    let mut req = gw
        .http
        .post(format!("{}/oauth/token", gw.root()))
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    req.send().await.expect("token endpoint answers")
}
