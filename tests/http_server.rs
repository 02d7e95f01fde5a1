//! The listener over real sockets: routes, limits, health, HTTP/2 and HTTPS with a freshly made
//! certificate, and start-up failures on bad settings files.

mod support;

use std::io::Write;
use std::process::Command;

use reqwest::{Client, StatusCode};
use scimgate::app;
use scimgate::settings::Settings;
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::File::create(&path).and_then(|mut f| f.write_all(text.as_bytes())).expect("write file");
    path
}

/// Two routes, each with its own memory target and token, and a small body limit.
const TWO_ROUTES: &str = r#"
listen: 127.0.0.1:0
http:
  max_body_bytes: 4096
routes:
  alpha:
    target: { kind: memory }
    auth:
      tokens: [{ name: idp-a, value: token-a }]
  beta:
    target: { kind: memory }
    auth:
      tokens: [{ name: idp-b, value: token-b }]
"#;

async fn start(yaml: &str) -> (app::Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "scimgate.yaml", yaml);
    let settings = Settings::load(&path).expect("settings load");
    (app::start(&settings).await.expect("gateway starts"), dir)
}

fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name})
}

#[tokio::test]
async fn routes_are_isolated_and_authenticated_separately() {
    let (gw, _dir) = start(TWO_ROUTES).await;
    let http = Client::new();
    let a = gw.scim_base_url("alpha", false);
    let b = gw.scim_base_url("beta", false);

    let created = http.post(format!("{a}/Users")).bearer_auth("token-a").json(&user("ann")).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{a}/Users/")), "{location}");

    // The other route's token is refused, with a SCIM body and a challenge.
    let refused = http.get(format!("{a}/Users")).bearer_auth("token-b").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], "401");
    assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");

    // Route beta has its own target: ann is not there.
    let list: Value = http.get(format!("{b}/Users")).bearer_auth("token-b").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["totalResults"], 0);
    let list: Value = http.get(format!("{a}/Users")).bearer_auth("token-a").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["totalResults"], 1);

    // An unknown route is a SCIM 404, not an HTML page.
    let missing = http.get(format!("http://{}/gamma/scim/v2/Users", gw.local_addr)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()["content-type"], "application/scim+json");
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn limits_and_methods_are_answered_with_scim_errors() {
    let (gw, _dir) = start(TWO_ROUTES).await;
    let http = Client::new();
    let a = gw.scim_base_url("alpha", false);

    // Over the configured 4 KiB: 413, whether or not the client announced the length.
    let big = json!({"schemas": [USER], "userName": "big", "displayName": "x".repeat(8192)});
    let r = http.post(format!("{a}/Users")).bearer_auth("token-a").json(&big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "413");
    let chunks =
        futures_util::stream::iter((0..3).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 2048]))));
    let r = http
        .post(format!("{a}/Users"))
        .bearer_auth("token-a")
        .header("content-type", "application/scim+json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let r = http.delete(format!("{a}/Users")).bearer_auth("token-a").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().contains_key("allow"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "405");

    let r = http
        .post(format!("{a}/Users"))
        .bearer_auth("token-a")
        .header("content-type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_readiness_and_draining() {
    let (gw, _dir) = start(TWO_ROUTES).await;
    let http = Client::new();
    let root = format!("http://{}", gw.local_addr);
    assert_eq!(http.get(format!("{root}/healthz")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(http.get(format!("{root}/readyz")).send().await.unwrap().status(), StatusCode::OK);
    // Health endpoints need no token; SCIM ones do.
    assert_eq!(
        http.get(format!("{root}/alpha/scim/v2/ServiceProviderConfig")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Once draining starts, readiness fails so a load balancer stops sending traffic.
    gw.state.draining.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(http.get(format!("{root}/readyz")).send().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http2_with_prior_knowledge_on_plain_http() {
    let (gw, _dir) = start(TWO_ROUTES).await;
    let http = Client::builder().http2_prior_knowledge().build().unwrap();
    let r =
        http.get(format!("{}/Users", gw.scim_base_url("alpha", false))).bearer_auth("token-a").send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), StatusCode::OK);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn https_with_rustls_negotiates_http2_and_http1() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_pem = cert.cert.pem();
    let cert_file = write(&dir, "cert.pem", &cert_pem);
    let key_file = write(&dir, "key.pem", &cert.signing_key.serialize_pem());
    let yaml = format!(
        "listen: 127.0.0.1:0\ntls:\n  cert_file: {}\n  key_file: {}\nroutes:\n  main:\n    target: {{ kind: memory }}\n    auth:\n      tokens: [{{ name: idp, value: tls-token }}]\n",
        cert_file.display(),
        key_file.display()
    );
    let (gw, _d) = start(&yaml).await;
    let port = gw.local_addr.port();
    let root = reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap();
    let url = format!("https://localhost:{port}/main/scim/v2/Users");

    let h2 = Client::builder().add_root_certificate(root.clone()).build().unwrap();
    let r = h2.post(&url).bearer_auth("tls-token").json(&user("tess")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.version(), reqwest::Version::HTTP_2);

    let h1 = Client::builder().add_root_certificate(root).http1_only().build().unwrap();
    let r = h1.get(&url).bearer_auth("tls-token").send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["Resources"][0]["userName"], "tess");

    // A client that does not trust the certificate cannot talk to it at all.
    assert!(Client::new().get(&url).send().await.is_err());
    gw.shutdown().await.unwrap();
}

/// Runs `scimgate serve --config FILE` and returns its exit status and stderr.
fn serve_fails(yaml: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "bad.yaml", yaml);
    let out = Command::new(support::binary()).args(["serve", "--config"]).arg(&path).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), path.display().to_string())
}

#[test]
fn bad_settings_files_stop_start_up_naming_file_and_key() {
    let (ok, err, file) =
        serve_fails("listen: 127.0.0.1:0\nroutes:\n  main:\n    target: { kind: memory }\n    colour: red\n");
    assert!(!ok);
    assert!(err.contains(&file), "{err}");
    assert!(err.contains("colour"), "{err}");

    let (ok, err, file) = serve_fails("listen: 127.0.0.1:0\nhttp:\n  max_body_bytes: lots\nroutes: {}\n");
    assert!(!ok);
    assert!(err.contains(&file) && err.contains("max_body_bytes"), "{err}");

    let (ok, err, _) = serve_fails(
        "listen: 127.0.0.1:0\ntls:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\nroutes:\n  main:\n    target: { kind: memory }\n",
    );
    assert!(!ok);
    assert!(err.contains("/nonexistent/cert.pem"), "{err}");
}
