//! Captures every log line (all crates, TRACE level) of a run through every credential path and
//! checks that no token, secret or client secret appears in them.

mod auth_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use auth_support::{
    BACKEND_TOKEN, CountingApp, Gateway, JwksServer, TestKey, mapped_route, now, token_request, write_file,
};
use base64::Engine;
use serde_json::{Value, json};

const STATIC_TOKEN: &str = "static-token-never-logged-4e1c";
const WRONG_STATIC: &str = "static-token-never-logged-4e1d";
const CLIENT_SECRET: &str = "client-secret-never-logged-77aa";
const WRONG_SECRET: &str = "wrong-secret-never-logged-0f0f";

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_credential_appears_in_the_logs() {
    let buffer = Buffer::default();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");

    let idp_key = TestKey::rsa("idp-1");
    let jwks = JwksServer::start(&[&idp_key]).await;
    let app = CountingApp::start().await;
    let dir = Gateway::prepare();
    write_file(&dir, "gw.pem", &TestKey::ec("gw-1").pem);
    write_file(&dir, "client.secret", CLIENT_SECRET);
    let auth = format!(
        "      tokens: [{{ name: idp-static, value: \"{STATIC_TOKEN}\" }}]\n      jwt:\n        - issuer: \"https://idp.test/\"\n          jwks_url: \"{}\"\n          audiences: [scimgate]\n",
        jwks.jwks_url()
    );
    let settings = format!(
        "listen: 127.0.0.1:0\noauth:\n  signing_keys: [{{ kid: gw-1, key_file: \"{{dir}}/gw.pem\" }}]\n  clients:\n    - {{ client_id: entra, secret_file: \"{{dir}}/client.secret\", routes: [app] }}\nroutes:\n{}",
        mapped_route("app", &app, &auth)
    );
    let gw = Gateway::start_in(dir, &settings).await;
    let grant = ("grant_type", "client_credentials");

    // Every path: good and bad client secrets, Basic and post; the issued token; IdP JWTs good,
    // expired and badly signed; static tokens good and bad; the backend's own token.
    let resp = token_request(&gw, Some(("entra", CLIENT_SECRET)), &[grant]).await;
    let issued: Value = resp.json().await.unwrap();
    let access_token = issued["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(token_request(&gw, Some(("entra", WRONG_SECRET)), &[grant]).await.status(), 401);
    assert_eq!(
        token_request(&gw, None, &[grant, ("client_id", "entra"), ("client_secret", WRONG_SECRET)]).await.status(),
        401
    );
    let t = now();
    let good_jwt = idp_key.sign(&json!({"iss": "https://idp.test/", "aud": "scimgate", "sub": "svc", "exp": t + 600}));
    let expired_jwt =
        idp_key.sign(&json!({"iss": "https://idp.test/", "aud": "scimgate", "sub": "svc", "exp": t - 600}));
    let forged_jwt = TestKey::rsa("idp-1")
        .sign(&json!({"iss": "https://idp.test/", "aud": "scimgate", "sub": "svc", "exp": t + 600}));
    for (token, want) in [
        (access_token.as_str(), 200),
        (good_jwt.as_str(), 200),
        (expired_jwt.as_str(), 401),
        (forged_jwt.as_str(), 401),
        (STATIC_TOKEN, 200),
        (WRONG_STATIC, 401),
    ] {
        assert_eq!(gw.status_with("app", token).await, want);
    }
    assert!(app.last_authorization().is_some_and(|a| a.contains(BACKEND_TOKEN)));
    gw.running.shutdown().await.unwrap();

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("authentication rejected"), "the capture works");
    assert!(logs.contains("access token issued"), "the capture works");
    assert!(logs.contains("token request refused"), "the capture works");
    let basic = |id: &str, s: &str| base64::engine::general_purpose::STANDARD.encode(format!("{id}:{s}"));
    let signature = |jwt: &str| jwt.rsplit('.').next().unwrap().to_owned();
    let secrets = [
        ("static token", STATIC_TOKEN.to_owned()),
        ("wrong static token", WRONG_STATIC.to_owned()),
        ("client secret", CLIENT_SECRET.to_owned()),
        ("wrong client secret", WRONG_SECRET.to_owned()),
        ("Basic credentials", basic("entra", CLIENT_SECRET)),
        ("issued access token", access_token.clone()),
        ("issued token signature", signature(&access_token)),
        ("IdP token", good_jwt.clone()),
        ("IdP token signature", signature(&good_jwt)),
        ("expired token", expired_jwt.clone()),
        ("forged token", forged_jwt.clone()),
        ("backend token", BACKEND_TOKEN.to_owned()),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "the {what} appears in the logs");
    }
}
