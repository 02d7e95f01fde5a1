//! Hostile input at the HTTP edge, each case with its asserted outcome, against a gateway in front
//! of an emulated OpenMetadata: ids and filter values built to escape a URL (`../`, `%2F`, `%00`,
//! CRLF, Unicode look-alikes, 10 KiB), filters nested 10,000 deep or 1 MiB long, bodies over the
//! limit, JSON nested 100,000 deep, duplicate keys, numbers beyond i64/f64, slow-header and
//! slow-body clients, malformed chunked encoding and PATCH requests with 100,000 operations.
//!
//! Values either get a clean 4xx or reach the application as data: what the emulator received is
//! checked (one path segment, percent-encoded, decoding back to the value). Throughout each case a
//! canary client keeps calling the gateway, and must get every answer, promptly.

#[path = "reliability_support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scimgate::app;
use scimgate::emulator::{RecordedRequest, ServerOptions};
use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Percent-encodes every byte outside RFC 3986 unreserved characters.
fn enc(s: &str) -> String {
    form_encode(s)
}

/// Decodes a percent-encoded path segment.
fn dec(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A gateway in front of OpenMetadata with tighter listener limits, so slow clients are cut off
/// within the test's time, and a body limit large enough to reach the PATCH operation limit.
async fn hostile_rig() -> Rig {
    let kind = Kind::OpenMetadata;
    let native = Native::start(kind, ServerOptions::default()).await;
    let mut s = settings(kind, connection(kind, native.addr()), &fast_backend());
    s.http.header_read_timeout_secs = 1;
    s.http.request_timeout_secs = 3;
    s.http.max_body_bytes = 8 * 1024 * 1024;
    let gateway = app::start(&s).await.expect("gateway starts");
    // The one-second header timeout also closes idle keep-alive connections after a second, so
    // the client must drop pooled connections before then: reusing one as the gateway closes it
    // is a race no server can win (the request meets a reset or an empty answer).
    let scim = Scim::with_pool_idle(gateway.scim_base_url(kind.mapping(), false), Duration::from_millis(400));
    Rig { gateway, native, scim }
}

/// A client that keeps reading `/ServiceProviderConfig` while a hostile case runs.
struct Canary {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Vec<(u16, Duration)>>,
}

impl Canary {
    fn start(scim: &Scim) -> Canary {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, scim) = (Arc::clone(&stop), scim.clone());
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let a = scim.get("/ServiceProviderConfig").await;
                seen.push((a.status, started.elapsed()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        });
        Canary { stop, task }
    }

    /// Every canary call was answered 200 within a second.
    async fn check(self, case: &str) {
        self.stop.store(true, Ordering::Relaxed);
        let seen = self.task.await.expect("the canary ran");
        assert!(!seen.is_empty(), "{case}: the canary made no call");
        for (status, took) in &seen {
            assert_eq!(*status, 200, "{case}: another client got {status}");
            assert!(*took < Duration::from_secs(1), "{case}: another client waited {took:?}");
        }
    }
}

/// Sends raw bytes on a fresh connection and reads what comes back until the peer closes or
/// `wait` passes without data. The text read (possibly empty).
async fn raw(addr: SocketAddr, request: &[u8], wait: Duration) -> String {
    raw_closing(addr, request, wait).await.0
}

/// Like [`raw`], also saying whether the gateway closed the connection.
async fn raw_closing(addr: SocketAddr, request: &[u8], wait: Duration) -> (String, bool) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    // The gateway may answer and close before all of a big request is written.
    let _ = tcp.write_all(request).await;
    read_until_quiet(&mut tcp, wait).await
}

async fn read_until_quiet(tcp: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let closed = loop {
        match tokio::time::timeout(wait, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Err(_) => break false,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// A `GET /Users?filter=…` request line and head, for requests too large for an HTTP client.
fn get_request(encoded_filter: &str) -> String {
    format!(
        "GET /openmetadata/scim/v2/Users?filter={encoded_filter} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
}

fn status_of(response: &str) -> Option<u16> {
    response.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn user_count(rig: &Rig) -> usize {
    rig.native.om().users().len()
}

/// The path segment after `prefix` in a native call, if the call went there.
fn segment_after<'a>(call: &'a RecordedRequest, prefix: &str) -> Option<&'a str> {
    call.path.strip_prefix(prefix)
}

// === ids ===

/// Hostile ids in the SCIM URL: refused with a clean 404 before any native call when they cannot
/// be one path segment (a `/` or a control character once decoded, dot segments); otherwise sent
/// to the application as exactly one percent-encoded segment that decodes back to the id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_are_refused_or_encoded() {
    let rig = hostile_rig().await;
    let canary = Canary::start(&rig.scim);
    let long = "a".repeat(10 * 1024);
    let ids: Vec<(&str, String)> = vec![
        ("dot-dot-slash", "../../api/v1/roles".to_owned()),
        ("encoded slash", "a/b".to_owned()),
        ("dot segment", "..".to_owned()),
        ("NUL", "abc\0def".to_owned()),
        ("CRLF", "abc\r\nX-Injected: yes".to_owned()),
        ("fullwidth solidus", "a\u{FF0F}b".to_owned()),
        ("division slash", "..\u{2215}admin".to_owned()),
        ("Cyrillic a", "\u{0430}dmin".to_owned()),
        ("right-to-left override", "user\u{202E}gnp.exe".to_owned()),
        ("zero-width space", "ad\u{200B}min".to_owned()),
        ("percent literal", "%2e%2e".to_owned()),
        ("10 KiB", long.clone()),
    ];
    for (what, id) in &ids {
        rig.native.requests().clear();
        let encoded = enc(id);
        for (method, body) in [
            ("GET", None),
            ("DELETE", None),
            (
                "PATCH",
                Some(
                    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}),
                ),
            ),
        ] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let a = rig.scim.send(m, &format!("/Users/{encoded}"), body.as_ref()).await;
            assert!(matches!(a.status, 400 | 404), "{what} {method}: {} {:?}", a.status, a.body);
            assert_eq!(a.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{what} {method}");
        }
        let calls = rig.native.requests().take();
        let one_segment = !id.contains('/') && !id.chars().any(char::is_control) && id != "..";
        if !one_segment {
            assert!(calls.is_empty(), "{what}: refused before reaching the application: {calls:?}");
            continue;
        }
        for call in &calls {
            let seg = segment_after(call, "/api/v1/users/").unwrap_or_else(|| panic!("{what}: call to {}", call.path));
            assert!(!seg.contains('/'), "{what}: one segment, got {seg}");
            assert_eq!(dec(seg), *id, "{what}: the segment decodes back to the id");
            assert!(seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)), "{what}: {seg}");
        }
    }
    // A literal `../` in the request line is not resolved into another route or resource.
    let addr = rig.gateway.local_addr;
    rig.native.requests().clear();
    for path in ["/openmetadata/scim/v2/Users/../../../healthz", "/openmetadata/scim/v2/Users/./../Groups"] {
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n");
        let resp = raw(addr, req.as_bytes(), Duration::from_secs(2)).await;
        let status = status_of(&resp);
        assert!(matches!(status, Some(400 | 404)), "{path}: {resp}");
    }
    assert!(
        rig.native.requests().take().iter().all(|c| !c.path.contains("..")),
        "no dot segment reached the application"
    );
    canary.check("hostile ids").await;
    rig.shutdown().await;
}

// === filter values ===

/// Hostile values in `userName eq "..."`: answered (an empty list, or 400 for values the filter
/// grammar refuses), and any native call carries the value as data: the by-name lookup as one
/// encoded segment, the search as an encoded query parameter that decodes back to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_filter_values_are_data() {
    let rig = hostile_rig().await;
    let canary = Canary::start(&rig.scim);
    let values = [
        "../../api/v1/roles",
        "a/b?c=d&e",
        "x\u{0000}y",
        "a\r\nX-Injected: yes",
        "\u{FF0E}\u{FF0E}\u{FF0F}admin",
        "\u{0430}dmin@example.com",
        "%2F%2e%2e",
        "q\" or userName pr",
    ];
    let long = "v".repeat(10 * 1024);
    for value in values.iter().copied().chain([long.as_str()]) {
        rig.native.requests().clear();
        let escaped = serde_json::to_string(value).expect("a JSON string");
        let filter = format!("userName eq {escaped}");
        let a = rig.scim.get(&format!("/Users?filter={}", enc(&filter))).await;
        assert!(matches!(a.status, 200 | 400), "{value:?}: {} {:?}", a.status, a.body);
        if a.status == 200 {
            assert_eq!(a.body["totalResults"], 0, "{value:?}: {:?}", a.body);
        } else {
            assert_eq!(a.scim_type(), Some("invalidFilter"), "{value:?}: {:?}", a.body);
        }
        for call in rig.native.requests().take() {
            if let Some(seg) = segment_after(&call, "/api/v1/users/name/") {
                assert!(!seg.contains('/') && !seg.is_empty(), "{value:?}: {}", call.path);
                assert!(dec(seg) != ".." && dec(seg) != ".", "{value:?}: {}", call.path);
            } else if call.path == "/api/v1/search/query" {
                let q = call.query_pairs().into_iter().find(|(k, _)| k == "q").map(|(_, v)| v);
                assert_eq!(q.as_deref(), Some(format!("scimUserName:{value}").as_str()), "{value:?}");
            } else {
                panic!("{value:?}: unexpected native call {}", call.path_and_query());
            }
        }
    }
    canary.check("hostile filter values").await;
    rig.shutdown().await;
}

/// Filters nested 10,000 deep, or 1 MiB long (in the URL and in a `.search` body): refused with
/// 400 invalidFilter, or by the listener with a 4xx, in bounded time, with no native call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_and_long_filters_are_refused() {
    let rig = hostile_rig().await;
    let canary = Canary::start(&rig.scim);
    rig.native.requests().clear();
    let deep_parens = format!("{}userName eq \"x\"{}", "(".repeat(10_000), ")".repeat(10_000));
    let deep_not = format!("{}userName eq \"x\"{}", "not (".repeat(10_000), ")".repeat(10_000));
    // Deep but short enough to pass the length check: the nesting limit must catch it.
    let deep_short = format!("{}userName eq \"x\"{}", "(".repeat(5_000), ")".repeat(5_000));
    let and_chain = vec!["userName eq \"x\""; 2_000].join(" and ");
    for (what, filter) in [
        ("10,000 parentheses", &deep_parens),
        ("10,000 nots", &deep_not),
        ("5,000 parentheses", &deep_short),
        ("2,000 ands", &and_chain),
    ] {
        let started = Instant::now();
        let query = enc(filter);
        if query.len() < 60 * 1024 {
            let a = rig.scim.get(&format!("/Users?filter={query}")).await;
            assert_eq!(a.status, 400, "{what}: {:?}", a.body);
            assert_eq!(a.scim_type(), Some("invalidFilter"), "{what}: {:?}", a.body);
        } else {
            // Near or past 64 KiB of URL the listener may refuse the request line itself (414).
            let resp = raw(rig.gateway.local_addr, get_request(&query).as_bytes(), Duration::from_secs(2)).await;
            assert!(matches!(status_of(&resp), Some(400 | 414)), "{what}: {}", &resp[..resp.len().min(200)]);
        }
        assert!(started.elapsed() < Duration::from_secs(2), "{what}: {:?}", started.elapsed());
        let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
        let a = rig.scim.post("/Users/.search", &search).await;
        assert_eq!(a.status, 400, "{what} via .search: {:?}", a.body);
    }
    let mib = format!("userName eq \"{}\"", "x".repeat(1024 * 1024));
    let a = rig
        .scim
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": mib}),
        )
        .await;
    assert_eq!(a.status, 400, "1 MiB filter in a body: {:?}", a.body);
    assert_eq!(a.scim_type(), Some("invalidFilter"));
    // In the URL, the listener refuses a 1 MiB request line itself.
    let resp = raw(rig.gateway.local_addr, get_request(&enc(&mib)).as_bytes(), Duration::from_secs(2)).await;
    assert!(matches!(status_of(&resp), Some(414 | 431)), "1 MiB URL: {}", &resp[..resp.len().min(200)]);
    assert!(rig.native.requests().is_empty(), "no refused filter reached the application");
    canary.check("deep and long filters").await;
    rig.shutdown().await;
}

// === bodies ===

/// Bodies over the limit (announced or streamed), JSON nested 100,000 deep, duplicate keys and
/// numbers beyond i64/f64: clean 4xx answers and nothing written; or, for duplicate keys, one
/// consistent reading that the application and the answer agree on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies() {
    let rig = hostile_rig().await;
    let canary = Canary::start(&rig.scim);
    let existing = rig.scim.post("/Users", &entra_user("num@example.com")).await;
    assert_eq!(existing.status, 201, "{:?}", existing.body);
    let before = user_count(&rig);

    // Announced as larger than the limit: 413 at once (the client may still be sending, and then
    // sees the connection closed under its body instead of the answer).
    let huge = json!({"schemas": [USER], "userName": "big@example.com", "displayName": "x".repeat(9 * 1024 * 1024)});
    let head = format!(
        "POST /openmetadata/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
        huge.to_string().len()
    );
    let resp = raw(rig.gateway.local_addr, head.as_bytes(), Duration::from_secs(2)).await;
    assert_eq!(status_of(&resp), Some(413), "{resp}");
    // The unread rest of the body ends the connection, and the answer says so, so that no client
    // sends its next request on it.
    assert!(resp.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{resp}");
    // So does any answer given before the body is read: a wrong token on a write with a body.
    let forged = head.replace(TOKEN, "not-the-token");
    let resp = raw(rig.gateway.local_addr, forged.as_bytes(), Duration::from_secs(2)).await;
    assert_eq!(status_of(&resp), Some(401), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{resp}");
    // Without a body the connection stays open.
    let bodiless = "GET /openmetadata/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-the-token\r\n\r\n";
    let (resp, closed) = raw_closing(rig.gateway.local_addr, bodiless.as_bytes(), Duration::from_millis(500)).await;
    assert_eq!(status_of(&resp), Some(401), "{resp}");
    assert!(!resp.to_ascii_lowercase().contains("connection: close") && !closed, "{resp}");
    let chunks = futures_util::stream::iter(
        (0..10).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1024 * 1024]))),
    );
    let r = rig
        .scim
        .http
        .post(format!("{}/Users", rig.scim.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    // The gateway answers 413 as soon as the limit is passed; the client may see the answer or
    // a connection closed under its still-streaming body.
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }

    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    for (what, body) in [("array", deep_array), ("object", deep_object)] {
        let started = Instant::now();
        let r = rig
            .scim
            .http
            .post(format!("{}/Users", rig.scim.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json")
            .body(body)
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status().as_u16(), 400, "JSON {what} 100,000 deep");
        let body: Value = r.json().await.expect("a SCIM error");
        assert_eq!(body["scimType"], "invalidSyntax", "{body}");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    for (what, body) in [
        (
            "beyond f64",
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"n1@example.com","displayName":1e400}"#,
        ),
        (
            "beyond i64",
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"n2@example.com","displayName":123456789012345678901234567890}"#,
        ),
        (
            "negative beyond i64",
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"n3@example.com","active":-99999999999999999999999}"#,
        ),
    ] {
        let r = rig
            .scim
            .http
            .post(format!("{}/Users", rig.scim.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json")
            .body(body)
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status().as_u16(), 400, "{what}");
        let e: Value = r.json().await.expect("a SCIM error");
        assert!(matches!(e["scimType"].as_str(), Some("invalidSyntax" | "invalidValue")), "{what}: {e}");
    }
    // The same numbers as PATCH values change nothing.
    let path = format!("/Users/{}", existing.id());
    for value in ["1e400", "123456789012345678901234567890"] {
        let body = format!(
            r#"{{"schemas":["{PATCH_OP}"],"Operations":[{{"op":"replace","path":"displayName","value":{value}}}]}}"#
        );
        let r = rig
            .scim
            .http
            .patch(format!("{}{path}", rig.scim.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json")
            .body(body)
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status().as_u16(), 400, "PATCH value {value}");
    }
    let native = rig.native.om().user(existing.id()).expect("the user");
    assert_eq!(native["displayName"], "num@example.com display", "unchanged: {native}");
    assert_eq!(user_count(&rig), before, "none of these created a user");

    // Duplicate keys: whichever reading the gateway takes, the application holds the same.
    let dup = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"first@example.com","userName":"second@example.com","displayName":"A","displayName":"B"}"#;
    let r = rig
        .scim
        .http
        .post(format!("{}/Users", rig.scim.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(dup)
        .send()
        .await
        .expect("answered");
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    match status {
        201 => {
            let id = body["id"].as_str().expect("an id");
            let native = rig.native.om().user(id).expect("created");
            assert_eq!(native["scimUserName"], body["userName"], "{native}");
            assert_eq!(native["displayName"], body["displayName"], "{native}");
            assert_eq!(user_count(&rig), before + 1);
        }
        400 => assert_eq!(user_count(&rig), before, "{body}"),
        other => panic!("duplicate keys: {other} {body}"),
    }
    canary.check("hostile bodies").await;
    rig.shutdown().await;
}

/// PATCH with 100,000 operations is refused (400) without touching the application; 10,000 (the
/// limit) is handled in bounded time and ends in one native write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_with_100000_operations() {
    let rig = hostile_rig().await;
    let canary = Canary::start(&rig.scim);
    let u = rig.scim.post("/Users", &entra_user("ops@example.com")).await;
    assert_eq!(u.status, 201, "{:?}", u.body);
    let path = format!("/Users/{}", u.id());
    let op = |i: usize| json!({"op": "replace", "path": "displayName", "value": format!("name {i}")});

    rig.native.requests().clear();
    let started = Instant::now();
    let a = rig.scim.patch(&path, Value::Array((0..100_000).map(op).collect())).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert!(a.detail().contains("10000"), "{}", a.detail());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(rig.native.requests().is_empty(), "refused before any native call");

    let started = Instant::now();
    let a = rig.scim.patch(&path, Value::Array((0..10_000).map(op).collect())).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["displayName"], "name 9999");
    assert!(started.elapsed() < Duration::from_secs(5), "10,000 operations took {:?}", started.elapsed());
    let writes = rig.native.requests().matching(&http::Method::PATCH, "/api/v1/users/");
    assert_eq!(writes.len(), 1, "one native write");
    assert_eq!(rig.native.om().user(u.id()).expect("user")["displayName"], "name 9999");
    canary.check("100,000 operations").await;
    rig.shutdown().await;
}

// === slow and malformed clients ===

/// A client trickling its request head, and one trickling its body, are cut off by the
/// listener's timeouts; other clients are served meanwhile; nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_and_slow_body_clients() {
    let rig = hostile_rig().await;
    let addr = rig.gateway.local_addr;
    let before = user_count(&rig);
    let canary = Canary::start(&rig.scim);

    let slow_head = tokio::spawn(async move {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let started = Instant::now();
        let head = format!("POST /openmetadata/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n");
        for b in head.bytes() {
            if tcp.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if started.elapsed() > Duration::from_secs(8) {
                break;
            }
        }
        (read_until_quiet(&mut tcp, Duration::from_secs(1)).await.0, started.elapsed())
    });
    let slow_body = tokio::spawn(async move {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let started = Instant::now();
        let body = json!({"schemas": [USER], "userName": "slow@example.com"}).to_string();
        let head = format!(
            "POST /openmetadata/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.expect("head");
        for b in body.bytes() {
            if tcp.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if started.elapsed() > Duration::from_secs(8) {
                break;
            }
        }
        (read_until_quiet(&mut tcp, Duration::from_secs(1)).await.0, started.elapsed())
    });
    let (head_resp, head_took) = slow_head.await.expect("slow head task");
    let (body_resp, body_took) = slow_body.await.expect("slow body task");
    assert!(head_took < Duration::from_secs(5), "slow head cut after {head_took:?}");
    assert!(head_resp.is_empty() || status_of(&head_resp) == Some(408), "slow head: {head_resp}");
    assert!(body_took < Duration::from_secs(6), "slow body cut after {body_took:?}");
    assert!(body_resp.is_empty() || matches!(status_of(&body_resp), Some(400 | 408 | 504)), "slow body: {body_resp}");
    assert_eq!(user_count(&rig), before, "neither slow client created anything");
    canary.check("slow clients").await;
    rig.shutdown().await;
}

/// Malformed chunked encoding, a Content-Length that disagrees with the chunked body (request
/// smuggling), and garbage instead of HTTP: refused with 400 or a closed connection; nothing
/// created; other clients served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_framing() {
    let rig = hostile_rig().await;
    let addr = rig.gateway.local_addr;
    let before = user_count(&rig);
    let canary = Canary::start(&rig.scim);
    let head = format!(
        "POST /openmetadata/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\n"
    );
    let body = json!({"schemas": [USER], "userName": "chunky@example.com"}).to_string();
    let cases: Vec<(&str, String)> = vec![
        ("chunk size not hex", format!("{head}Transfer-Encoding: chunked\r\n\r\nZZ\r\n{body}\r\n0\r\n\r\n")),
        ("chunk longer than announced", format!("{head}Transfer-Encoding: chunked\r\n\r\n5\r\n{body}\r\n0\r\n\r\n")),
        (
            "chunk size overflow",
            format!("{head}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n{body}\r\n0\r\n\r\n"),
        ),
        ("missing final chunk", format!("{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n", body.len())),
        ("two Content-Lengths", format!("{head}Content-Length: 3\r\nContent-Length: {}\r\n\r\n{body}", body.len())),
        ("not HTTP", "\x16\x03\x01\x02\x00garbage\r\n\r\n".to_owned()),
    ];
    for (what, request) in &cases {
        // Long enough for the gateway's 3 s request timeout to end a body that never ends.
        let resp = raw(addr, request.as_bytes(), Duration::from_secs(4)).await;
        match status_of(&resp) {
            Some(s) => assert!(((400..500).contains(&s) && s != 404) || s == 504, "{what}: {resp}"),
            None => assert!(resp.is_empty(), "{what}: not an HTTP answer: {resp}"),
        }
        assert_eq!(user_count(&rig), before, "{what}: nothing created");
    }
    // Content-Length and chunked together (request smuggling): RFC 9112 §6.3 lets a server refuse
    // it, or read the chunked body and close the connection after answering. Either way nothing
    // of a second, smuggled request may be read from the rest of the bytes.
    let smuggled = json!({"schemas": [USER], "userName": "smuggled@example.com"}).to_string();
    let smuggled_request = format!(
        "POST /openmetadata/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{smuggled}",
        smuggled.len()
    );
    let request = format!(
        "{head}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n{smuggled_request}",
        body.len()
    );
    let (resp, closed) = raw_closing(addr, request.as_bytes(), Duration::from_secs(4)).await;
    match status_of(&resp) {
        Some(201) => {
            assert!(closed, "the connection must be closed after such a request: {resp}");
            assert_eq!(resp.matches("HTTP/1.1").count(), 1, "one answer only: {resp}");
            assert!(rig.native.om().user_by_name("chunky_example.com").is_some(), "read as chunked");
        }
        Some(s) => assert!((400..500).contains(&s), "Content-Length with chunked: {resp}"),
        None => assert!(resp.is_empty(), "Content-Length with chunked: {resp}"),
    }
    assert!(rig.native.om().user_by_name("smuggled_example.com").is_none(), "nothing smuggled in");
    canary.check("malformed framing").await;
    rig.shutdown().await;
}
