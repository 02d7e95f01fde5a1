//! What an operator relies on: hot reload under load, graceful shutdown on SIGTERM, and the
//! listener's limits, each over real sockets.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use scimgate::emulator::{FaultRule, OpenMetadataConfig, OpenMetadataEmulator};
use serde_json::Value;
use support::write_atomically;

const TOKEN: &str = "operations-token";

fn settings_yaml(max_count: usize, mapping_file: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\nscim:\n  max_count: {max_count}\nroutes:\n  main:\n    target: {{ kind: memory }}\n    auth:\n      tokens: [{{ name: idp, value: {TOKEN} }}]\n  app:\n    target:\n      kind: mapping\n      file: {mapping_file}\n      backend: {{ base_url: 'http://127.0.0.1:9/scim/v2', auth: {{ type: bearer, token: backend-token }} }}\n    auth:\n      tokens: [{{ name: idp, value: {TOKEN} }}]\n"
    )
}

fn reloads(result: &str) -> f64 {
    let text = scimgate::observe::metrics().render();
    text.lines()
        .find(|l| l.starts_with(&format!("scimgate_config_reloads_total{{result=\"{result}\"}}")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn max_results(http: &Client, base: &str) -> Option<u64> {
    let r = http.get(format!("{base}/ServiceProviderConfig")).bearer_auth(TOKEN).send().await.ok()?;
    let v: Value = r.json().await.ok()?;
    v["filter"]["maxResults"].as_u64()
}

/// 20 reloads, valid and broken alternating (broken settings, then a broken mapping), while clients
/// send requests without pause: no request fails, valid changes show, broken ones are counted and
/// not applied, and the memory target keeps its users.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_reload_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("app.yaml");
    let good_mapping = scimgate::mapping::builtin::source("scim").unwrap();
    write_atomically(&mapping, good_mapping);
    let settings_file = dir.path().join("scimgate.yaml");
    write_atomically(&settings_file, &settings_yaml(100, "app.yaml"));
    let settings = scimgate::settings::Settings::load(&settings_file).unwrap();
    let running = Arc::new(scimgate::app::start(&settings).await.unwrap());
    let watcher = scimgate::reload::spawn(Arc::clone(&running), settings_file.clone()).unwrap();
    let base = running.scim_base_url("main", false);
    let http = Client::new();
    let created = http
        .post(format!("{base}/Users"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, sent, failed, http, base) = (stop.clone(), sent.clone(), failed.clone(), http.clone(), base.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = http
                    .get(format!("{base}/Users?filter=userName%20eq%20%22kept%22"))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::OK);
                sent.fetch_add(1, Ordering::Relaxed);
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    let mut current = 100;
    for i in 0..20 {
        let (applied_before, rejected_before) = (reloads("applied"), reloads("rejected"));
        if i % 2 == 0 {
            current = 200 + i;
            write_atomically(&mapping, good_mapping);
            write_atomically(&settings_file, &settings_yaml(current, "app.yaml"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while max_results(&http, &base).await != Some(current as u64) {
                assert!(Instant::now() < deadline, "reload {i} did not take effect");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // The counter moves right after the swap; wait for it rather than race it.
            while reloads("applied") <= applied_before {
                assert!(Instant::now() < deadline, "reload {i} was not counted");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        } else {
            if i % 4 == 1 {
                write_atomically(
                    &settings_file,
                    "listen: 127.0.0.1:0\nroutes:\n  main:\n    target: { kind: nowhere }\n",
                );
            } else {
                write_atomically(&mapping, "apiVersion: scimgate/v1\nname: broken\nusers: { id: { read: '$[' } }\n");
                write_atomically(&settings_file, &settings_yaml(999, "app.yaml"));
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while reloads("rejected") <= rejected_before {
                assert!(Instant::now() < deadline, "broken reload {i} was not reported");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(max_results(&http, &base).await, Some(current as u64), "broken reload {i} was applied");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    assert!(sent.load(Ordering::Relaxed) > 100, "the clients kept sending");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed during reloads");
    let list: Value = http.get(format!("{base}/Users")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["totalResults"], 1, "the memory target keeps its users across reloads");
    running.shutdown().await.unwrap();
    watcher.await.unwrap();
}

/// An OpenMetadata emulator whose user reads take `delay`, and settings for a gateway in front of it.
async fn slow_backend(delay: Duration, extra_http: &str) -> (OpenMetadataEmulator, String) {
    let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.unwrap();
    om.faults().add(FaultRule::delay(delay).method(http::Method::GET).path_prefix("/api/v1/users"));
    let yaml = format!(
        "listen: 127.0.0.1:0\nhttp:\n  header_read_timeout_secs: 1\n{extra_http}routes:\n  om:\n    target:\n      kind: mapping\n      file: builtin:openmetadata\n      backend:\n        base_url: {}/api\n        auth: {{ type: bearer, token: openmetadata-emulator-token }}\n    auth:\n      tokens: [{{ name: idp, value: {TOKEN} }}]\n",
        om.base_url()
    );
    (om, yaml)
}

/// Waits until the emulator has received a user read (the request is then in flight at the gateway).
async fn until_backend_reached(om: &OpenMetadataEmulator) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while om.requests().matching(&http::Method::GET, "/api/v1/users").is_empty() {
        assert!(Instant::now() < deadline, "the request never reached the application");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_in_flight_request_finish() {
    let (om, yaml) = slow_backend(Duration::from_millis(1500), "").await;
    let gw = support::Gateway::serve(&yaml, "om", TOKEN);
    let http = Client::new();
    let url = format!("{}/Users", gw.base_url);
    let in_flight = tokio::spawn({
        let http = http.clone();
        async move { http.get(url).bearer_auth(TOKEN).send().await.map(|r| r.status()) }
    });
    until_backend_reached(&om).await;
    let killed = std::process::Command::new("kill").args(["-TERM", &gw.pid().to_string()]).status().unwrap();
    assert!(killed.success());
    // New connections are refused while the slow request drains (well before its 1.5 s are up).
    let addr: SocketAddr = gw.root_url.trim_start_matches("http://").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
        assert!(Instant::now() < deadline, "the listener still accepts after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!in_flight.is_finished(), "the slow request was cut short");
    let status = in_flight.await.unwrap().expect("the in-flight request is answered");
    assert_eq!(status, StatusCode::OK);
    let mut gw = gw;
    assert_eq!(gw.wait_exit(Duration::from_secs(10)), Some(0), "exit code 0 after draining");
    om.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_slow_headers_and_over_concurrency() {
    let (om, yaml) = slow_backend(Duration::from_millis(1500), "  max_concurrent_requests: 1\n").await;
    let gw = support::Gateway::serve(&yaml, "om", TOKEN);
    let addr: SocketAddr = gw.root_url.trim_start_matches("http://").parse().unwrap();

    // A client that never finishes its request head is cut off after header_read_timeout_secs.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /om/scim/v2/Users HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let n = slow.read(&mut buf).unwrap_or(0);
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "slow header not cut off: {answer}");
    assert!(started.elapsed() < Duration::from_secs(4), "cut off after {:?}", started.elapsed());

    // An idle keep-alive connection is closed after the same timeout.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = idle.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let n = idle.read(&mut buf).unwrap_or(0);
    assert!(n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"), "idle connection kept open");
    assert!(started.elapsed() < Duration::from_secs(4), "idle connection closed after {:?}", started.elapsed());

    // One slow request holds the only slot: the next is refused with 503 and Retry-After.
    let http = Client::new();
    let url = format!("{}/Users", gw.base_url);
    let first = tokio::spawn({
        let (http, url) = (http.clone(), url.clone());
        async move { http.get(url).bearer_auth(TOKEN).send().await.map(|r| r.status()) }
    });
    until_backend_reached(&om).await;
    let second = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(second.headers().contains_key("retry-after"));
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["status"], "503");
    assert_eq!(first.await.unwrap().unwrap(), StatusCode::OK);
    om.shutdown().await.unwrap();
}

/// A client over its rate limit gets 429 with Retry-After; another client is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "listen: 127.0.0.1:0\nhttp:\n  rate_limit: { requests_per_second: 0.5, burst: 2 }\nroutes:\n  main:\n    target: { kind: memory }\n    auth:\n      tokens:\n        - { name: noisy, value: noisy-token }\n        - { name: quiet, value: quiet-token }\n",
    )
    .unwrap();
    let settings = scimgate::settings::Settings::load(&file).unwrap();
    let running = scimgate::app::start(&settings).await.unwrap();
    let url = format!("{}/Users", running.scim_base_url("main", false));
    let http = Client::new();
    for _ in 0..2 {
        assert_eq!(http.get(&url).bearer_auth("noisy-token").send().await.unwrap().status(), StatusCode::OK);
    }
    let refused = http.get(&url).bearer_auth("noisy-token").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_eq!(http.get(&url).bearer_auth("quiet-token").send().await.unwrap().status(), StatusCode::OK);
    running.shutdown().await.unwrap();
}
