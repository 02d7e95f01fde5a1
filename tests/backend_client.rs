//! The backend client against real HTTP servers on 127.0.0.1: credentials, OAuth2 tokens,
//! gateway JWTs, retries, Retry-After, limits, the circuit breaker, TLS, timeouts and broken
//! connections.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use scimgate::backend::{
    AnswerBody, AuthSettings, Backend, BackendError, BackendSettings, BreakerState, ClientAuthMethod, JwtSigner,
    JwtSignerError, NativeRequest, NativeResponse, Secret,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Stub servers

/// A request as the stub server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: String,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Reply = Response<Full<Bytes>>;
type Handler = Arc<dyn Fn(Seen, usize) -> std::pin::Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

struct Stub {
    addr: SocketAddr,
    scheme: &'static str,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }
    fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Seen, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Arc::new(move |seen, n| Box::pin(f(seen, n)))
}

/// An HTTP/1.1 + HTTP/2 server calling `f(request, index of this request)`.
async fn stub<F, Fut>(f: F) -> Stub
where
    F: Fn(Seen, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    serve(handler(f), None).await
}

async fn serve(handler: Handler, tls: Option<Arc<rustls::ServerConfig>>) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (handler, log, acceptor) = (Arc::clone(&handler), Arc::clone(&log), acceptor.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
                        let seen = Seen {
                            method: parts.method,
                            uri: parts.uri.to_string(),
                            version: parts.version,
                            headers: parts.headers,
                            body,
                        };
                        let n = {
                            let mut log = log.lock().unwrap();
                            log.push(seen.clone());
                            log.len() - 1
                        };
                        Ok::<_, Infallible>(handler(seen, n).await)
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
        }
    });
    Stub { addr, scheme, seen }
}

fn reply(status: u16, body: &str) -> Reply {
    Response::builder().status(status).body(Full::new(Bytes::from(body.to_owned()))).unwrap()
}

fn reply_with(status: u16, header: (&str, &str)) -> Reply {
    Response::builder().status(status).header(header.0, header.1).body(Full::new(Bytes::new())).unwrap()
}

fn json_reply(status: u16, v: Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap()
}

/// A raw TCP server that reads each request's head and then misbehaves with `f(stream)`;
/// returns its address and the number of connections accepted.
async fn raw_server<F, Fut>(f: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let f = Arc::new(f);
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let f = Arc::clone(&f);
            tokio::spawn(async move {
                if read_head(&mut tcp).await {
                    f(tcp).await;
                }
            });
        }
    });
    (addr, accepted)
}

/// Reads up to the end of a request head; false when the connection ends first.
async fn read_head(tcp: &mut tokio::net::TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Closes with a TCP reset rather than an orderly shutdown.
fn reset(tcp: tokio::net::TcpStream) {
    let _ = tcp.set_zero_linger();
    drop(tcp);
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Settings with fast retries, for tests.
fn settings(base: &str) -> BackendSettings {
    let mut s = BackendSettings { base_url: base.to_owned(), ..BackendSettings::default() };
    s.retries.initial_backoff_ms = 10;
    s.retries.max_backoff_ms = 40;
    s
}

fn backend(s: &BackendSettings) -> Backend {
    Backend::new("test", s, None).unwrap()
}

fn request(method: Method, url: String) -> NativeRequest {
    let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| Bytes::from_static(b"{\"a\":1}"));
    NativeRequest { method, url, headers: vec![], body, step: Arc::from("step-under-test"), answer: AnswerBody::Keep }
}

async fn get(b: &Backend, url: String) -> Result<NativeResponse, BackendError> {
    b.send(request(Method::GET, url)).await
}

async fn post(b: &Backend, url: String) -> Result<NativeResponse, BackendError> {
    b.send(request(Method::POST, url)).await
}

// ---------------------------------------------------------------------------------------------
// Static credentials, headers, redirects, answers

#[tokio::test]
async fn static_credentials_and_headers_arrive() {
    let s = stub(|_, _| async { reply(200, "ok") }).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "file-token\n").unwrap();

    let cases: Vec<(AuthSettings, &str, String)> = vec![
        (
            AuthSettings::Bearer { token: Secret::File { file: token_file.clone() } },
            "authorization",
            "Bearer file-token".to_owned(),
        ),
        (
            AuthSettings::Basic { username: "svc".into(), password: Secret::from("p@ss:word") },
            "authorization",
            format!("Basic {}", BASE64.encode("svc:p@ss:word")),
        ),
        (
            AuthSettings::Header { name: "X-API-Key".into(), value: Secret::from("k-123") },
            "x-api-key",
            "k-123".to_owned(),
        ),
    ];
    for (auth, header, expected) in cases {
        let mut st = settings(&s.base());
        st.auth = auth;
        st.headers.insert("Accept".into(), "application/json".into());
        st.headers.insert("X-Tenant".into(), "t1".into());
        let b = backend(&st);
        let mut req = request(Method::GET, s.url("/users"));
        req.headers.push((http::header::ACCEPT, http::HeaderValue::from_static("application/scim+json")));
        assert_eq!(b.send(req).await.unwrap().status, 200);
        let seen = s.seen().pop().unwrap();
        assert_eq!(seen.header(header), Some(expected.as_str()));
        assert_eq!(seen.header("x-tenant"), Some("t1"), "static header");
        assert_eq!(seen.header("accept"), Some("application/scim+json"), "a call's header wins over a static one");
        assert!(seen.header("user-agent").unwrap().starts_with("scimgate/"));
    }
    let b = backend(&settings(&s.base()));
    get(&b, s.url("/users")).await.unwrap();
    assert_eq!(s.seen().pop().unwrap().header("authorization"), None, "auth none sends nothing");
}

#[tokio::test]
async fn answers_of_any_status_come_back_and_redirects_are_not_followed() {
    let s = stub(|seen, _| async move {
        match seen.uri.as_str() {
            "/moved" => reply_with(302, ("location", "/elsewhere")),
            "/missing" => json_reply(404, json!({"message": "no such user"})),
            _ => json_reply(201, json!({"id": "u1"})),
        }
    })
    .await;
    let b = backend(&settings(&s.base()));
    let r = get(&b, s.url("/moved")).await.unwrap();
    assert_eq!(r.status, 302);
    assert_eq!(s.hits(), 1, "the redirect was not followed");
    let r = get(&b, s.url("/missing")).await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json().unwrap()["message"], "no such user");
    let r = post(&b, s.url("/users")).await.unwrap();
    assert_eq!((r.status, r.json().unwrap()["id"].clone()), (201, json!("u1")));
    let last = s.seen().pop().unwrap();
    assert_eq!(last.body, Bytes::from_static(b"{\"a\":1}"));
    assert_eq!(last.method, Method::POST);
}

#[tokio::test]
async fn urls_outside_the_base_url_are_refused_before_sending() {
    let s = stub(|_, _| async { reply(200, "") }).await;
    let mut st = settings(&s.url("/api"));
    st.auth = AuthSettings::Bearer { token: Secret::from("t") };
    let b = backend(&st);
    let e = get(&b, "http://127.0.0.2:1/api/users".into()).await.unwrap_err();
    assert!(matches!(e, BackendError::InvalidRequest { .. }), "{e:?}");
    let e = get(&b, s.url("/admin")).await.unwrap_err();
    assert!(matches!(e, BackendError::InvalidRequest { .. }), "{e:?}");
    assert_eq!(s.hits(), 0);
    assert_eq!(get(&b, s.url("/api/users")).await.unwrap().status, 200);
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let s = stub(|_, _| async { reply(200, &"x".repeat(100)) }).await;
    let mut st = settings(&s.base());
    st.max_response_bytes = 10;
    let e = get(&backend(&st), s.url("/big")).await.unwrap_err();
    assert!(matches!(e, BackendError::InvalidResponse { .. }), "{e:?}");
    assert!(e.may_have_applied());
}

#[tokio::test]
async fn a_success_only_its_status_is_wanted_from_is_read_to_its_end_and_dropped() {
    // Every answer on the one connection is longer than the limit.
    let (addr, accepted) = raw_server(|mut tcp| async move {
        let body = "x".repeat(100);
        loop {
            let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            if tcp.write_all(answer.as_bytes()).await.is_err() || !read_head(&mut tcp).await {
                return;
            }
        }
    })
    .await;
    let base = format!("http://{addr}");
    let mut st = settings(&base);
    st.max_response_bytes = 10;
    st.retries.attempts = 1;
    let b = backend(&st);
    for _ in 0..3 {
        let mut req = request(Method::PATCH, format!("{base}/teams/t1"));
        req.answer = AnswerBody::DropOnSuccess;
        let r = b.send(req).await.unwrap();
        assert_eq!((r.status, r.body.len()), (200, 0));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the answers were read to their end: the connection was reused");
    // The same answer, its body wanted, is over the limit.
    let e = b.send(request(Method::PATCH, format!("{base}/teams/t1"))).await.unwrap_err();
    assert!(e.to_string().contains("max_response_bytes (10)"), "{e}");
}

#[tokio::test]
async fn a_failure_keeps_its_body_when_only_the_status_was_wanted() {
    let s = stub(|_, _| async { reply(409, "name already taken") }).await;
    let mut req = request(Method::POST, s.url("/users"));
    req.answer = AnswerBody::DropOnSuccess;
    let r = backend(&settings(&s.base())).send(req).await.unwrap();
    assert_eq!((r.status, &r.body[..]), (409, &b"name already taken"[..]));
}

// ---------------------------------------------------------------------------------------------
// OAuth2 client credentials

/// A token endpoint handing out `tok-1`, `tok-2`, ... valid for `expires_in` seconds.
async fn token_server(expires_in: u64, delay: Duration) -> Stub {
    stub(move |_, n| async move {
        tokio::time::sleep(delay).await;
        json_reply(
            200,
            json!({"access_token": format!("tok-{}", n + 1), "token_type": "bearer", "expires_in": expires_in}),
        )
    })
    .await
}

fn oauth2(token_url: String, method: ClientAuthMethod) -> AuthSettings {
    AuthSettings::Oauth2ClientCredentials {
        token_url,
        client_id: "my client:1".into(),
        client_secret: Secret::from("s/e cret+%"),
        scope: Some("read write".into()),
        audience: None,
        auth_method: method,
    }
}

#[tokio::test]
async fn oauth2_token_is_fetched_once_shared_and_reused() {
    let tokens = token_server(3600, Duration::from_millis(100)).await;
    let app = stub(|_, _| async { reply(200, "ok") }).await;
    let mut st = settings(&app.base());
    st.auth = oauth2(tokens.url("/oauth/token"), ClientAuthMethod::ClientSecretBasic);
    let b = backend(&st);
    let calls = (0..8).map(|_| get(&b, app.url("/users")));
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.unwrap().status, 200);
    }
    get(&b, app.url("/users")).await.unwrap();
    assert_eq!(tokens.hits(), 1, "one fetch for concurrent and later calls");
    assert!(app.seen().iter().all(|s| s.header("authorization") == Some("Bearer tok-1")));
}

#[tokio::test]
async fn oauth2_client_secret_basic_form_encodes_the_credentials() {
    let tokens = token_server(3600, Duration::ZERO).await;
    let app = stub(|_, _| async { reply(200, "ok") }).await;
    let mut st = settings(&app.base());
    st.auth = oauth2(tokens.url("/oauth/token"), ClientAuthMethod::ClientSecretBasic);
    get(&backend(&st), app.url("/u")).await.unwrap();
    let req = tokens.seen().pop().unwrap();
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.header("content-type"), Some("application/x-www-form-urlencoded"));
    // RFC 6749 §2.3.1: "my client:1" and "s/e cret+%" are form-encoded, then Basic-encoded.
    let expected = format!("Basic {}", BASE64.encode("my+client%3A1:s%2Fe+cret%2B%25"));
    assert_eq!(req.header("authorization"), Some(expected.as_str()));
    let body = String::from_utf8(req.body.to_vec()).unwrap();
    let mut fields: Vec<&str> = body.split('&').collect();
    fields.sort_unstable();
    assert_eq!(fields, ["grant_type=client_credentials", "scope=read+write"]);
}

#[tokio::test]
async fn oauth2_client_secret_post_sends_the_credentials_in_the_form() {
    let tokens = token_server(3600, Duration::ZERO).await;
    let app = stub(|_, _| async { reply(200, "ok") }).await;
    let mut st = settings(&app.base());
    st.auth = AuthSettings::Oauth2ClientCredentials {
        token_url: tokens.url("/oauth/token"),
        client_id: "my client:1".into(),
        client_secret: Secret::from("s/e cret+%"),
        scope: None,
        audience: Some("https://api.example".into()),
        auth_method: ClientAuthMethod::ClientSecretPost,
    };
    get(&backend(&st), app.url("/u")).await.unwrap();
    let req = tokens.seen().pop().unwrap();
    assert_eq!(req.header("authorization"), None);
    let body = String::from_utf8(req.body.to_vec()).unwrap();
    let mut fields: Vec<&str> = body.split('&').collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "audience=https%3A%2F%2Fapi.example",
            "client_id=my+client%3A1",
            "client_secret=s%2Fe+cret%2B%25",
            "grant_type=client_credentials"
        ]
    );
}

#[tokio::test]
async fn oauth2_token_is_refreshed_after_it_expires() {
    // Valid for 3 s, so used for 2.4 s: room for two calls on a loaded machine.
    let tokens = token_server(3, Duration::ZERO).await;
    let app = stub(|_, _| async { reply(200, "ok") }).await;
    let mut st = settings(&app.base());
    st.auth = oauth2(tokens.url("/t"), ClientAuthMethod::ClientSecretBasic);
    let b = backend(&st);
    get(&b, app.url("/u")).await.unwrap();
    get(&b, app.url("/u")).await.unwrap();
    assert_eq!(tokens.hits(), 1);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    get(&b, app.url("/u")).await.unwrap();
    assert_eq!(tokens.hits(), 2, "expired token replaced");
    let auths: Vec<_> = app.seen().iter().map(|s| s.header("authorization").unwrap().to_owned()).collect();
    assert_eq!(auths, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once_with_a_new_one() {
    let tokens = token_server(3600, Duration::ZERO).await;
    // The application has revoked tok-1.
    let app = stub(|seen, _| async move {
        if seen.header("authorization") == Some("Bearer tok-1") { reply(401, "") } else { reply(201, "") }
    })
    .await;
    let mut st = settings(&app.base());
    st.auth = oauth2(tokens.url("/t"), ClientAuthMethod::ClientSecretBasic);
    st.retries.attempts = 1;
    let b = backend(&st);
    assert_eq!(post(&b, app.url("/u")).await.unwrap().status, 201, "even a POST: a 401 means nothing was done");
    assert_eq!(tokens.hits(), 2);
    assert_eq!(app.hits(), 2);
    get(&b, app.url("/u")).await.unwrap();
    assert_eq!(tokens.hits(), 2, "the new token is cached");

    // An application that refuses every token: exactly one refetch, then the 401 is returned.
    let refusing = stub(|_, _| async { reply(401, "") }).await;
    let tokens = token_server(3600, Duration::ZERO).await;
    let mut st = settings(&refusing.base());
    st.auth = oauth2(tokens.url("/t"), ClientAuthMethod::ClientSecretBasic);
    let r = get(&backend(&st), refusing.url("/u")).await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!((tokens.hits(), refusing.hits()), (2, 2));
}

#[tokio::test]
async fn token_endpoint_errors_are_auth_errors_and_nothing_is_sent() {
    let tokens = stub(|_, _| async {
        json_reply(401, json!({"error": "invalid_client", "error_description": "unknown client"}))
    })
    .await;
    let app = stub(|_, _| async { reply(200, "") }).await;
    let mut st = settings(&app.base());
    st.auth = oauth2(tokens.url("/t"), ClientAuthMethod::ClientSecretBasic);
    let e = post(&backend(&st), app.url("/u")).await.unwrap_err();
    let BackendError::Auth { reason } = &e else { panic!("{e:?}") };
    assert!(reason.contains("401") && reason.contains("invalid_client"), "{reason}");
    assert!(!reason.contains("s/e cret"), "{reason}");
    assert!(!e.may_have_applied());
    assert_eq!(app.hits(), 0);
}

// ---------------------------------------------------------------------------------------------
// Gateway-signed JWTs

fn es256_pem() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap().serialize_pem()
}

fn rs256_pem() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap().serialize_pem()
}

#[tokio::test]
async fn gateway_jwt_verifies_against_the_signers_jwks() {
    for (pem, alg) in [(es256_pem(), jsonwebtoken::Algorithm::ES256), (rs256_pem(), jsonwebtoken::Algorithm::RS256)] {
        let old = es256_pem();
        let signer =
            Arc::new(JwtSigner::from_pem_keys([("current", pem.as_bytes()), ("previous", old.as_bytes())]).unwrap());
        assert_eq!(signer.algorithm(), alg);
        assert_eq!(signer.kid(), "current");
        let app = stub(|_, _| async { reply(200, "") }).await;
        let mut st = settings(&app.base());
        st.auth = AuthSettings::GatewayJwt {
            issuer: "https://gateway.example".into(),
            audience: "collibra".into(),
            subject: "scim-provisioner".into(),
            lifetime_secs: 120,
            scope: Some("users:write".into()),
        };
        let b = Backend::new("jwt", &st, Some(Arc::clone(&signer))).unwrap();
        get(&b, app.url("/u")).await.unwrap();
        get(&b, app.url("/u")).await.unwrap();
        let seen = app.seen();
        let auth = seen[0].header("authorization").unwrap();
        assert_eq!(seen[1].header("authorization"), Some(auth), "the token is reused until near expiry");
        let jwt = auth.strip_prefix("Bearer ").unwrap();

        // Verify as the application would: key from the published JWKS, by kid.
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(signer.jwks()).unwrap();
        assert_eq!(jwks.keys.len(), 2);
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        assert_eq!((header.alg, header.kid.as_deref(), header.typ.as_deref()), (alg, Some("current"), Some("JWT")));
        let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find("current").unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.set_audience(&["collibra"]);
        validation.set_issuer(&["https://gateway.example"]);
        let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation).unwrap().claims;
        assert_eq!(claims["sub"], "scim-provisioner");
        assert_eq!(claims["scope"], "users:write");
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 120);
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 32));
        // The other key must not verify it.
        let other = jsonwebtoken::DecodingKey::from_jwk(jwks.find("previous").unwrap()).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.set_audience(&["collibra"]);
        assert!(jsonwebtoken::decode::<Value>(jwt, &other, &v).is_err());
    }
}

#[test]
fn jwt_signer_refuses_bad_keys() {
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap().serialize_pem();
    let err = JwtSigner::from_pem_keys([("k", p384.as_bytes())]).unwrap_err();
    assert!(matches!(err, JwtSignerError::UnsupportedKey { .. }), "{err:?}");
    let err = JwtSigner::from_pem_keys([("k", b"not a key".as_slice())]).unwrap_err();
    assert!(matches!(err, JwtSignerError::UnsupportedKey { .. }), "{err:?}");
    assert!(matches!(JwtSigner::from_pem_keys([]), Err(JwtSignerError::NoKeys)));
    let k = es256_pem();
    let err = JwtSigner::from_pem_keys([("a", k.as_bytes()), ("a", k.as_bytes())]).unwrap_err();
    assert!(matches!(err, JwtSignerError::DuplicateKid { .. }), "{err:?}");
    let err = JwtSigner::from_pem_keys([("a b", k.as_bytes())]).unwrap_err();
    assert!(matches!(err, JwtSignerError::InvalidKid { .. }), "{err:?}");
    let signer = JwtSigner::from_pem_keys([("a", k.as_bytes())]).unwrap();
    let jwks = signer.jwks();
    assert_eq!(jwks["keys"][0]["kid"], "a");
    assert_eq!(jwks["keys"][0]["use"], "sig");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part published");
    assert!(!format!("{signer:?}").contains("PRIVATE"));
}

// ---------------------------------------------------------------------------------------------
// Retries and Retry-After

#[tokio::test]
async fn a_503_is_retried_for_get_but_not_for_post() {
    let s = stub(|_, _| async { reply(503, "busy") }).await;
    let b = backend(&settings(&s.base()));
    let r = get(&b, s.url("/u")).await.unwrap();
    assert_eq!(r.status, 503, "the last answer comes back when tries run out");
    assert_eq!(s.hits(), 3);
    let r = post(&b, s.url("/u")).await.unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(s.hits(), 4, "POST sent once");
    assert_eq!(b.stats().attempts, 4);
}

#[tokio::test]
async fn a_transient_failure_then_success_returns_the_success() {
    let s = stub(|_, n| async move { if n == 0 { reply(502, "") } else { reply(200, "fine") } }).await;
    let b = backend(&settings(&s.base()));
    let mut req = request(Method::PUT, s.url("/u/1"));
    req.body = Some(Bytes::from_static(b"{}"));
    let r = b.send(req).await.unwrap();
    assert_eq!((r.status, r.body), (200, Bytes::from_static(b"fine")));
    assert_eq!(s.hits(), 2);
}

#[tokio::test]
async fn not_sent_is_retried_even_for_post() {
    // A port bound but not listening: connections are refused before anything is sent, and
    // no other test can take the port while the socket is held.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let b = backend(&settings(&format!("http://127.0.0.1:{port}")));
    let e = post(&b, format!("http://127.0.0.1:{port}/u")).await.unwrap_err();
    assert!(matches!(e, BackendError::NotSent { .. }), "{e:?}");
    assert!(!e.may_have_applied());
    assert_eq!(b.stats().attempts, 3, "all tries used");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out() {
    let s =
        stub(|_, n| async move { if n == 0 { reply_with(503, ("retry-after", "1")) } else { reply(200, "") } }).await;
    let b = backend(&settings(&s.base()));
    let started = Instant::now();
    assert_eq!(get(&b, s.url("/u")).await.unwrap().status, 200);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(s.hits(), 2);
}

#[tokio::test]
async fn a_long_retry_after_is_passed_on() {
    let s = stub(|_, _| async { reply_with(429, ("retry-after", "120")) }).await;
    let b = backend(&settings(&s.base()));
    let started = Instant::now();
    let r = get(&b, s.url("/u")).await.unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(s.hits(), 1);
    assert!(started.elapsed() < Duration::from_secs(30), "did not wait the 120 s");
}

// ---------------------------------------------------------------------------------------------
// Concurrency limit and circuit breaker

#[tokio::test]
async fn a_full_backend_answers_saturated() {
    // The first call holds the only slot far longer than the second waits for it.
    let s = stub(|_, _| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        reply(200, "")
    })
    .await;
    let mut st = settings(&s.base());
    st.concurrency = 1;
    st.queue_timeout_ms = 100;
    let b = backend(&st);
    let first = tokio::spawn({
        let (b, url) = (b.clone(), s.url("/slow"));
        async move { get(&b, url).await }
    });
    while s.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(b.stats().in_flight, 1);
    let started = Instant::now();
    let e = get(&b, s.url("/u")).await.unwrap_err();
    let BackendError::Saturated { retry_after } = e else { panic!("{e:?}") };
    assert_eq!(retry_after, Duration::from_secs(1));
    assert!(started.elapsed() >= Duration::from_millis(100), "waited for a slot first");
    assert!(!e.may_have_applied());
    assert_eq!(first.await.unwrap().unwrap().status, 200);
    assert_eq!(b.stats().in_flight, 0);
    assert_eq!(s.hits(), 1);
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_half_opens_and_closes() {
    let failing = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&failing);
    let s = stub(move |_, _| {
        let fail = flag.load(Ordering::SeqCst);
        async move { if fail { reply(500, "down") } else { reply(200, "up") } }
    })
    .await;
    let mut st = settings(&s.base());
    st.circuit_breaker.failure_threshold = 2;
    // Open for 2 s: the calls expected to fail fast have that long to run on a loaded machine.
    st.circuit_breaker.open_secs = 2;
    let b = backend(&st);

    assert_eq!(get(&b, s.url("/u")).await.unwrap().status, 500);
    assert_eq!(b.stats().breaker, BreakerState::Closed);
    assert_eq!(get(&b, s.url("/u")).await.unwrap().status, 500);
    assert_eq!(b.stats().breaker, BreakerState::Open);
    let e = get(&b, s.url("/u")).await.unwrap_err();
    let BackendError::CircuitOpen { retry_after } = e else { panic!("{e:?}") };
    assert_eq!(retry_after, Duration::from_secs(2));
    assert_eq!(s.hits(), 2, "failed fast without calling");

    // Half-open with the application still down: the probe fails and the breaker reopens.
    tokio::time::sleep(Duration::from_millis(2_050)).await;
    assert_eq!(b.stats().breaker, BreakerState::HalfOpen);
    assert_eq!(get(&b, s.url("/u")).await.unwrap().status, 500);
    assert_eq!(b.stats().breaker, BreakerState::Open);
    assert!(matches!(get(&b, s.url("/u")).await, Err(BackendError::CircuitOpen { .. })));
    assert_eq!(s.hits(), 3);

    // Recovered: the probe succeeds and calls flow again.
    failing.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2_050)).await;
    assert_eq!(get(&b, s.url("/u")).await.unwrap().status, 200);
    assert_eq!(b.stats().breaker, BreakerState::Closed);
    assert_eq!(get(&b, s.url("/u")).await.unwrap().status, 200);
    assert_eq!(s.hits(), 5);
}

/// 501 Not Implemented is an answer about the call, not about the application's health.
#[tokio::test]
async fn not_implemented_answers_leave_the_breaker_closed() {
    let s = stub(|_, _| async { reply(501, "no PATCH here") }).await;
    let mut st = settings(&s.base());
    st.circuit_breaker.failure_threshold = 2;
    let b = backend(&st);
    for _ in 0..3 {
        assert_eq!(get(&b, s.url("/u")).await.unwrap().status, 501);
        assert_eq!(b.stats().breaker, BreakerState::Closed);
    }
    assert_eq!(s.hits(), 3, "not retried, not refused");
}

// ---------------------------------------------------------------------------------------------
// Timeouts and broken connections

#[tokio::test]
async fn a_slow_answer_times_out() {
    // Long enough for the stub to see each request before the client gives up, even on a
    // loaded machine; the answer never comes in time.
    let s = stub(|_, _| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        reply(200, "")
    })
    .await;
    let mut st = settings(&s.base());
    st.timeouts.request_ms = 600;
    st.retries.attempts = 2;
    let b = backend(&st);
    let started = Instant::now();
    let e = post(&b, s.url("/u")).await.unwrap_err();
    assert!(matches!(e, BackendError::Timeout { .. }), "{e:?}");
    assert!(e.may_have_applied());
    assert!(started.elapsed() < Duration::from_secs(10), "did not wait for the answer");
    assert_eq!(s.hits(), 1, "POST not retried after a timeout");
    let e = get(&b, s.url("/u")).await.unwrap_err();
    assert!(matches!(e, BackendError::Timeout { .. }), "{e:?}");
    assert_eq!(s.hits(), 3, "GET retried");
}

#[tokio::test]
async fn a_connection_reset_mid_answer_is_outcome_unknown() {
    let (addr, accepted) = raw_server(|mut tcp| async move {
        let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial").await;
        let _ = tcp.flush().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        reset(tcp);
    })
    .await;
    let base = format!("http://{addr}");
    let b = backend(&settings(&base));
    let e = post(&b, format!("{base}/u")).await.unwrap_err();
    assert!(matches!(e, BackendError::OutcomeUnknown { .. }), "{e:?}");
    assert!(e.may_have_applied());
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "POST not retried");
    let e = get(&b, format!("{base}/u")).await.unwrap_err();
    assert!(matches!(e, BackendError::OutcomeUnknown { .. }), "{e:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "GET tried three times");
}

#[tokio::test]
async fn a_reset_after_the_request_is_read_is_outcome_unknown() {
    let (addr, accepted) = raw_server(|tcp| async move { reset(tcp) }).await;
    let base = format!("http://{addr}");
    let b = backend(&settings(&base));
    let e = post(&b, format!("{base}/u")).await.unwrap_err();
    assert!(matches!(e, BackendError::OutcomeUnknown { .. }), "{e:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_answer_in_many_chunks_is_read_whole_and_its_limit_holds() {
    // Chunked transfer coding, each chunk flushed on its own, so the client sees several frames.
    let (addr, _) = raw_server(|mut tcp| async move {
        let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await;
        for part in ["first,", "second,", "third"] {
            let _ = tcp.write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes()).await;
            let _ = tcp.flush().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = tcp.write_all(b"0\r\n\r\n").await;
        let _ = tcp.flush().await;
    })
    .await;
    let base = format!("http://{addr}");
    let mut st = settings(&base);
    let r = get(&backend(&st), format!("{base}/u")).await.unwrap();
    assert_eq!(r.body, Bytes::from_static(b"first,second,third"));
    // No Content-Length to refuse up front: the limit is enforced while reading.
    st.max_response_bytes = 12;
    st.retries.attempts = 1;
    let e = get(&backend(&st), format!("{base}/u")).await.unwrap_err();
    assert!(e.to_string().contains("max_response_bytes (12)"), "{e}");
}

#[tokio::test]
async fn a_tls_handshake_that_never_finishes_is_not_sent() {
    // Accepts connections and never says a word, so the ClientHello goes unanswered.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(tcp);
        }
    });
    let base = format!("https://{addr}");
    let mut st = settings(&base);
    st.timeouts.connect_ms = 100;
    st.timeouts.request_ms = 60_000;
    st.retries.attempts = 2;
    let b = backend(&st);
    let e = post(&b, format!("{base}/u")).await.unwrap_err();
    let BackendError::NotSent { reason, .. } = &e else { panic!("{e:?}") };
    assert!(reason.contains("connect_ms (100 ms)"), "{reason}");
    assert!(!e.may_have_applied());
    assert!(accepted.load(Ordering::SeqCst) >= 1, "the TCP connection was made; the handshake hung");
    assert_eq!(b.stats().attempts, 2, "nothing was sent, so even a POST is tried again");
}

#[tokio::test]
async fn the_token_endpoint_is_trusted_through_the_same_tls_settings() {
    let pki = Pki::new();
    let token = handler(|_, _| async {
        json_reply(200, json!({"access_token": "tls-tok", "token_type": "bearer", "expires_in": 3600}))
    });
    let tokens = serve(token, Some(server_tls(&pki, None))).await;
    let app = stub(|_, _| async { reply(200, "ok") }).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    let mut st = settings(&app.base());
    st.auth = oauth2(tokens.url("/oauth/token"), ClientAuthMethod::ClientSecretPost);
    let e = post(&backend(&st), app.url("/u")).await.unwrap_err();
    assert!(matches!(e, BackendError::Auth { .. }), "the CA is not trusted yet: {e:?}");
    assert_eq!((tokens.hits(), app.hits()), (0, 0));

    st.tls.ca_file = Some(ca_file);
    assert_eq!(post(&backend(&st), app.url("/u")).await.unwrap().status, 200);
    assert_eq!(app.seen()[0].header("authorization"), Some("Bearer tls-tok"));
}

/// Connections idle longer than `timeouts.idle_ms` are not reused: a server closing them on its
/// own keep-alive timeout could otherwise meet a write on its way out.
#[tokio::test]
async fn idle_connections_are_reused_only_within_idle_ms() {
    // Answers every request on a connection and never closes one itself.
    let (addr, accepted) = raw_server(|mut tcp| async move {
        loop {
            let answered = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await.is_ok();
            if !answered || !read_head(&mut tcp).await {
                return;
            }
        }
    })
    .await;
    let base = format!("http://{addr}");
    let connections_for = |idle_ms: u64, pause: Duration| {
        let (base, accepted) = (base.clone(), Arc::clone(&accepted));
        async move {
            let mut s = settings(&base);
            s.timeouts.idle_ms = idle_ms;
            let b = backend(&s);
            let before = accepted.load(Ordering::SeqCst);
            assert_eq!(get(&b, format!("{base}/u")).await.unwrap().status, 200);
            tokio::time::sleep(pause).await;
            assert_eq!(get(&b, format!("{base}/u")).await.unwrap().status, 200);
            accepted.load(Ordering::SeqCst) - before
        }
    };
    assert_eq!(connections_for(4_000, Duration::from_millis(200)).await, 1, "reused within idle_ms");
    assert_eq!(connections_for(100, Duration::from_millis(500)).await, 2, "not reused after idle_ms");
    assert_eq!(connections_for(0, Duration::ZERO).await, 2, "0: a connection per call");
}

// ---------------------------------------------------------------------------------------------
// TLS

struct Pki {
    ca_pem: String,
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "scimgate test CA");
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
        Pki { ca_pem: ca.pem(), ca }
    }

    /// A certificate signed by the CA: (cert PEM, cert DER, key PEM, key DER).
    fn issue(&self, names: &[&str], usage: rcgen::ExtendedKeyUsagePurpose) -> (String, Vec<u8>, String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), cert.der().to_vec(), key.serialize_pem(), key.serialize_der())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn server_tls(pki: &Pki, client_ca: Option<&str>) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let (_, cert_der, _, key_der) = pki.issue(&["127.0.0.1", "localhost"], rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    let builder =
        rustls::ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().unwrap();
    let builder = match client_ca {
        Some(_) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca.der().clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(vec![CertificateDer::from(cert_der)], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)))
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

fn version_reply() -> Handler {
    handler(|seen: Seen, _| async move { reply(200, &format!("{:?}", seen.version)) })
}

#[tokio::test]
async fn tls_with_a_custom_ca_works_and_negotiates_http2() {
    let pki = Pki::new();
    let s = serve(version_reply(), Some(server_tls(&pki, None))).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    let mut st = settings(&s.base());
    st.tls.ca_file = Some(ca_file);
    let b = backend(&st);
    let r = get(&b, s.url("/u")).await.unwrap();
    assert_eq!((r.status, r.body), (200, Bytes::from_static(b"HTTP/2.0")), "h2 chosen by ALPN");
}

#[tokio::test]
async fn tls_without_the_ca_fails_before_sending() {
    let pki = Pki::new();
    let s = serve(version_reply(), Some(server_tls(&pki, None))).await;
    let b = backend(&settings(&s.base()));
    let e = post(&b, s.url("/u")).await.unwrap_err();
    let BackendError::NotSent { reason, .. } = &e else { panic!("{e:?}") };
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    assert_eq!(s.hits(), 0);

    // Verification can be turned off explicitly, and only explicitly.
    let mut st = settings(&s.base());
    st.tls.insecure_skip_verify = true;
    assert_eq!(get(&backend(&st), s.url("/u")).await.unwrap().status, 200);
}

#[tokio::test]
async fn tls_client_certificates_are_presented() {
    let pki = Pki::new();
    let s = serve(version_reply(), Some(server_tls(&pki, Some(&pki.ca_pem)))).await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let (cert_pem, _, key_pem, _) = pki.issue(&["scimgate"], rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let mut st = settings(&s.base());
    st.tls.ca_file = Some(write("ca.pem", &pki.ca_pem));
    let without = backend(&st);
    let e = get(&without, s.url("/u")).await.unwrap_err();
    assert!(e.to_string().contains("CertificateRequired"), "the server demands a client certificate: {e}");
    st.tls.client_cert_file = Some(write("client.pem", &cert_pem));
    st.tls.client_key_file = Some(write("client.key", &key_pem));
    assert_eq!(get(&backend(&st), s.url("/u")).await.unwrap().status, 200);
}

// ---------------------------------------------------------------------------------------------
// Logs

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_the_call_but_not_credentials_or_data() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = stub(|_, _| async { json_reply(200, json!({"email": "alice@example.com"})) }).await;
    let mut st = settings(&s.base());
    st.auth = AuthSettings::Bearer { token: Secret::from("super-secret-token") };
    let b = backend(&st);
    let mut req = request(Method::POST, s.url("/users?userName=alice%40example.com"));
    req.body = Some(Bytes::from_static(b"{\"password\":\"hunter2\"}"));
    // Other tests in this process may have registered the event's callsite while no subscriber
    // wanted it, caching "never"; recompute now that this subscriber is in place.
    tracing::callsite::rebuild_interest_cache();
    b.send(req).await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("backend call"), "{text}");
    // The mapping step names the call; the concrete URL (which can carry personal data) is not logged.
    assert!(!text.contains("/users"), "{text}");
    assert!(text.contains("step-under-test") && text.contains("status=200"), "{text}");
    for secret in ["super-secret-token", "hunter2", "alice"] {
        assert!(!text.contains(secret), "`{secret}` logged: {text}");
    }
}
