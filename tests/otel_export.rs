//! With the `otel` feature, spans reach an OTLP/HTTP collector (`cargo test --features otel --test
//! otel_export`; `.ci/run` runs it). The collector here is a local HTTP server that records posts.
#![cfg(feature = "otel")]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

type Posts = Arc<Mutex<Vec<(String, usize)>>>;

async fn collect(State(posts): State<Posts>, headers: HeaderMap, body: Bytes) -> &'static str {
    let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    posts.lock().unwrap().push((kind, body.len()));
    ""
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_http() {
    let posts: Posts = Arc::default();
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(collect)).with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut child = Command::new(support::binary())
        .args(["demo", "--target", "memory", "--listen", "127.0.0.1:0", "--token", "otel-token"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the demo prints its URL").unwrap();
        if line == "SCIM base URL:" {
            break lines.next().unwrap().unwrap();
        }
    };
    let status =
        reqwest::Client::new().get(format!("{base}/Users")).bearer_auth("otel-token").send().await.unwrap().status();
    assert_eq!(status, 200);
    // SIGTERM: the gateway drains, then flushes its spans on the way out.
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while posts.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no spans reached the collector");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.wait();
    let posts = posts.lock().unwrap();
    assert!(posts.iter().all(|(kind, len)| kind.contains("protobuf") && *len > 0), "{posts:?}");
}
