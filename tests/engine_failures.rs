//! Mapping engine acceptance: what the gateway says when the application fails half-way through
//! a multi-call operation (never a success it did not get, a detail naming the failed step, a
//! retry that converges), and hostile values that must reach the application percent-encoded.

#[path = "support/stub_backend.rs"]
mod stub_backend;

use serde_json::{Value, json};
use stub_backend::*;

/// Percent-encodes every byte outside RFC 3986 unreserved characters (the gateway's rule for
/// values inserted into URLs), independently of the gateway's own code.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn lines(seen: &[Recorded]) -> Vec<String> {
    seen.iter().map(Recorded::line).collect()
}

// === partial failures ===

/// A user created, then the role assignment fails: the IdP gets an error naming the failed step
/// (not 201), and sending the same request again finds the user instead of creating a second one.
#[tokio::test]
async fn create_then_failed_role_assignment_is_an_error_and_a_retry_converges() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: roles.value, native: "roles[]", create: false }
get: [{ name: read user, method: GET, url: "/users/{id}" }]
create:
  - { name: find user, method: GET, url: "/users/name/{scim.userName}", accept: [404], capture: { existing: $.id }, record: $ }
  - { name: create user, when: existing | empty, method: POST, url: /users, body: "{doc}", capture: { created: $.id }, record: $ }
  - name: assign role
    for_each: 'scim.roles | pluck("value")'
    method: PUT
    url: "/users/{existing | default(created)}/roles/{item}"
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    stub.on("GET", "/api/users/name/ann", Reply::json(404, json!({"message": "not found"})));
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u5", "login": "ann"})));
    stub.on("PUT", "/api/users/u5/roles/Admin", Reply::json(500, json!({"message": "role service down"})));
    let request = scim_user("ann", json!({"roles": [{"value": "Admin"}]}));

    let r = gw.post("/Users", request.clone()).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(r.detail().contains("assign role"), "the detail names the failed step: {}", r.detail());
    assert!(r.detail().contains("role service down"), "{}", r.detail());
    assert!(r.detail().contains("retrying"), "the detail says a retry is safe: {}", r.detail());
    assert_eq!(lines(&stub.take()), ["GET /api/users/name/ann", "POST /api/users", "PUT /api/users/u5/roles/Admin"]);

    // The IdP retries: the user is found, not created again, and the role is assigned.
    stub.get_json("/api/users/name/ann", json!({"id": "u5", "login": "ann"}));
    stub.on("PUT", "/api/users/u5/roles/Admin", Reply::empty(204));
    stub.get_json("/api/users/u5", json!({"id": "u5", "login": "ann", "roles": ["Admin"]}));
    let r = gw.post("/Users", request).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["id"], "u5");
    assert_eq!(lines(&stub.take()), ["GET /api/users/name/ann", "PUT /api/users/u5/roles/Admin", "GET /api/users/u5"]);
}

/// Ten members added one call each; the seventh fails. The PATCH is an error naming the step
/// and the member; the same PATCH again succeeds because each write is idempotent.
#[tokio::test]
async fn a_failed_member_write_among_ten_fails_the_patch_and_a_retry_converges() {
    let stub = Stub::start().await;
    let groups = r#"
id: { read: $.id }
attributes:
  - { scim: displayName, native: name }
members:
  read: { records: "$.members[*]", value: $ }
  add: { mode: each, steps: [{ name: add member, method: PUT, url: "/groups/{id}/members/{member}" }] }
  remove: { mode: each, steps: [{ name: remove member, method: DELETE, url: "/groups/{id}/members/{member}" }] }
get: [{ name: read group, method: GET, url: "/groups/{id}" }]
create: [{ method: POST, url: /groups, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/groups/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/groups/{id}" }]
list: { call: { method: GET, url: /groups }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", PLAIN_USERS, groups), &stub).await;
    stub.get_json("/api/groups/g1", json!({"id": "g1", "name": "eng", "members": []}));
    let ids: Vec<String> = (1..=10).map(|i| format!("u{i}")).collect();
    for id in &ids {
        stub.on("PUT", &format!("/api/groups/g1/members/{id}"), Reply::empty(204));
    }
    stub.on_seq(
        "PUT",
        "/api/groups/g1/members/u7",
        vec![Reply::json(500, json!({"message": "database busy"})), Reply::empty(204)],
    );
    let values: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    let ops = json!([{"op": "add", "path": "members", "value": values}]);

    let r = gw.patch("/Groups/g1", ops.clone()).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(r.detail().contains("add member") && r.detail().contains("u7"), "{}", r.detail());
    assert!(r.detail().contains("database busy"), "{}", r.detail());
    let seen = stub.take();
    let puts: Vec<&Recorded> = seen.iter().filter(|c| c.method == "PUT").collect();
    assert_eq!(puts.len(), 10, "every member was attempted: {:?}", lines(&seen));

    let r = gw.patch("/Groups/g1", ops).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    let mut put_paths: Vec<String> = seen.iter().filter(|c| c.method == "PUT").map(|c| c.path.clone()).collect();
    put_paths.sort();
    let mut expected: Vec<String> = ids.iter().map(|i| format!("/api/groups/g1/members/{i}")).collect();
    expected.sort();
    assert_eq!(put_paths, expected);
}

/// A field update applied, then the trigger that must follow it fails: an error, not a success.
#[tokio::test]
async fn a_failed_trigger_after_an_applied_update_is_an_error() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: displayName, native: name }
  - { scim: active, read: $.deleted, to_scim: ["default(false)", "not"] }
triggers:
  - attribute: active
    equals: false
    steps: [{ name: soft-delete user, method: DELETE, url: "/users/{id}" }]
get: [{ name: read user, method: GET, url: "/users/{id}" }]
create: [{ method: POST, url: /users, body: "{doc}" }]
update: { style: merge_patch, steps: [{ name: patch user, method: PATCH, url: "/users/{id}", body: "{changes}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann", "name": "Ann", "deleted": false}));
    stub.on("PATCH", "/api/users/u1", Reply::empty(204));
    stub.on(
        "DELETE",
        "/api/users/u1",
        Reply::json(503, json!({"message": "read-only mode"})).header("retry-after", "45"),
    );
    let r = gw.patch("/Users/u1", json!([{"op": "replace", "value": {"displayName": "Ann B", "active": false}}])).await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.header("retry-after"), Some("45"));
    assert!(r.detail().contains("soft-delete user"), "{}", r.detail());
    assert!(r.detail().contains("retrying"), "{}", r.detail());
    assert_eq!(lines(&stub.take()), ["GET /api/users/u1", "PATCH /api/users/u1", "DELETE /api/users/u1"]);
}

/// A batch member write that fails after the removals succeeded.
#[tokio::test]
async fn a_failed_batch_member_write_after_removals_is_an_error() {
    let stub = Stub::start().await;
    let groups = r#"
id: { read: $.id }
attributes:
  - { scim: displayName, native: name }
members:
  read: { records: "$.members[*]", value: $ }
  add: { mode: batch, steps: [{ name: add members, method: POST, url: "/groups/{id}/members", body: "{members}" }] }
  remove: { mode: batch, steps: [{ name: remove members, method: POST, url: "/groups/{id}/members/remove", body: "{members}" }] }
get: [{ name: read group, method: GET, url: "/groups/{id}" }]
create: [{ method: POST, url: /groups, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/groups/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/groups/{id}" }]
list: { call: { method: GET, url: /groups }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", PLAIN_USERS, groups), &stub).await;
    stub.get_json("/api/groups/g1", json!({"id": "g1", "name": "eng", "members": ["u1"]}));
    stub.on("POST", "/api/groups/g1/members/remove", Reply::empty(204));
    stub.on("POST", "/api/groups/g1/members", Reply::json(500, json!({"message": "boom"})));
    let r = gw.put("/Groups/g1", scim_group("eng", json!({"members": [{"value": "u2"}]}))).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(r.detail().contains("add members"), "{}", r.detail());
    assert!(r.detail().contains("retry"), "{}", r.detail());
    let seen = stub.take();
    let writes: Vec<&Recorded> = seen.iter().filter(|c| c.method == "POST").collect();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].json(), &json!(["u1"]));
    assert_eq!(writes[1].json(), &json!(["u2"]));
}

// === hostile values ===

/// Values that must travel as data, never as URL or header syntax.
const HOSTILE: [&str; 9] = [
    "a/b",
    "100% sure?#frag",
    "x y&z=1",
    "line\r\nX-Injected: yes",
    "Zoë 山田",
    "../../admin",
    "a..b",
    "%2E%2E",
    "...",
];

/// Values no URL path segment can carry: URL parsers resolve them (also when percent-encoded).
const DOT_SEGMENTS: [&str; 2] = [".", ".."];

fn hostile_users() -> &'static str {
    r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: displayName, native: name }
get: [{ name: read user, method: GET, url: "/users/{id}" }]
create: [{ name: upsert user, method: PUT, url: "/users/by-login/{scim.userName}", query: { tag: "{scim.displayName}" }, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ name: delete user, method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
filters:
  - attribute: userName
    call: { name: find by login, method: GET, url: /users, query: { login: "{value}" } }
    result: { records: "$.items[*]" }
  - attribute: externalId
    call: { name: read by ref, method: GET, url: "/refs/{value}" }
    result: single
"#
}

/// Ids arriving in the SCIM URL reach the application as one percent-encoded path segment; ids the
/// SCIM layer refuses (a `/` or a control character once decoded) and dot segments reach nothing.
#[tokio::test]
async fn hostile_ids_stay_one_encoded_path_segment() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", hostile_users(), PLAIN_GROUPS), &stub).await;
    for id in HOSTILE {
        let native_path = format!("/api/users/{}", enc(id));
        stub.get_json(&native_path, json!({"id": id, "login": "ann"}));
        let r = gw.get(&format!("/Users/{}", enc(id))).await;
        let seen = stub.take();
        if id.contains('/') || id.contains('\r') {
            assert_eq!(r.status, 404, "{id:?}: {:?}", r.body);
            assert!(seen.is_empty(), "{id:?}: {:?}", lines(&seen));
            continue;
        }
        assert_eq!(r.status, 200, "{id:?}: {:?}", r.body);
        assert_eq!(r.body["id"], id);
        assert_eq!(seen.len(), 1, "{id:?}: {:?}", lines(&seen));
        assert_eq!(seen[0].path, native_path, "{id:?}");
        assert_eq!(seen[0].query, None, "{id:?}");
        // The SCIM location names the same resource.
        let location = r.body["meta"]["location"].as_str().unwrap_or_default();
        assert!(location.ends_with(&format!("/Users/{}", enc(id))), "{id:?}: {location}");
    }
    // HTTP clients resolve `/Users/%2E%2E` themselves, so these go out on a raw connection.
    for (id, encoded) in [(".", "%2E"), ("..", "%2E%2E"), ("..", "%2e%2E")] {
        let (status, _) = raw_get(&gw, &format!("/Users/{encoded}")).await;
        assert_eq!(status, 404, "{id:?}");
        let seen = stub.take();
        assert!(seen.is_empty(), "{id:?}: {:?}", lines(&seen));
        let r = gw.patch(&format!("/Users/{encoded}x"), json!([{"op": "remove", "path": "displayName"}])).await;
        assert_eq!(r.status, 404, "{id:?}: {:?}", r.body);
        stub.take();
    }
}

/// Sends `GET {scim}{path}` byte for byte, as an IdP whose HTTP stack does not normalise paths
/// would, and returns the status and the raw answer.
async fn raw_get(gw: &Gateway, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = gw.scim.strip_prefix("http://").unwrap_or(&gw.scim);
    let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let mut conn = tokio::net::TcpStream::connect(host).await.expect("connect to the gateway");
    let request = format!(
        "GET /{prefix}{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {SCIM_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer).await;
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

/// Attribute values inserted into URL paths, query parameters and filter translations are
/// percent-encoded; the JSON body carries them unchanged. A value that would form a `.` or `..`
/// path segment is refused before anything is sent.
#[tokio::test]
async fn hostile_values_are_percent_encoded_in_paths_and_queries() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", hostile_users(), PLAIN_GROUPS), &stub).await;
    for value in HOSTILE.into_iter().chain(DOT_SEGMENTS) {
        let dots = DOT_SEGMENTS.contains(&value);
        let path = format!("/api/users/by-login/{}", enc(value));
        stub.on("PUT", &path, Reply::json(200, json!({"id": "u1", "login": value, "name": value})));
        stub.get_json("/api/users/u1", json!({"id": "u1", "login": value, "name": value}));
        let r = gw.post("/Users", scim_user(value, json!({"displayName": value}))).await;
        let seen = stub.take();
        if dots {
            assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{value:?}: {:?}", r.body);
            assert!(r.detail().contains("upsert user"), "{}", r.detail());
            assert!(seen.is_empty(), "{value:?}: {:?}", lines(&seen));
        } else {
            assert_eq!(r.status, 201, "{value:?}: {:?}", r.body);
            assert_eq!(seen.len(), 2, "{value:?}: {:?}", lines(&seen));
            assert_eq!(seen[0].method, "PUT");
            assert_eq!(seen[0].path, path, "{value:?}");
            assert_eq!(seen[0].query.as_deref(), Some(format!("tag={}", enc(value)).as_str()), "{value:?}");
            assert_eq!(seen[0].json(), &json!({"login": value, "name": value}), "{value:?}");
            assert!(seen.iter().all(|c| c.header("x-injected").is_none()), "{value:?}");
        }

        // Filter translations: a query parameter (any value) and a path segment.
        let filter = format!("userName eq {}", Value::String(value.to_owned()));
        stub.get_json(&format!("/api/users?login={}", enc(value)), json!({"items": [{"id": "u1", "login": value}]}));
        let r = gw.get(&format!("/Users?filter={}", enc(&filter))).await;
        assert_eq!(r.status, 200, "{value:?}: {:?}", r.body);
        assert_eq!(r.body["totalResults"], 1, "{value:?}");
        let seen = stub.take();
        assert_eq!(lines(&seen), [format!("GET /api/users?login={}", enc(value))], "{value:?}");

        let filter = format!("externalId eq {}", Value::String(value.to_owned()));
        let r = gw.get(&format!("/Users?filter={}", enc(&filter))).await;
        let seen = stub.take();
        if dots {
            assert_eq!(r.status, 400, "{value:?}: {:?}", r.body);
            assert!(seen.is_empty(), "{value:?}: {:?}", lines(&seen));
        } else {
            assert_eq!(r.status, 200, "{value:?}: {:?}", r.body);
            assert_eq!(lines(&seen), [format!("GET /api/refs/{}", enc(value))], "{value:?}");
        }
    }
}

/// A value that would break a header line is refused before anything is sent.
#[tokio::test]
async fn a_crlf_value_never_splits_a_header() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: create user, method: POST, url: /users, headers: { X-On-Behalf-Of: "{scim.userName}" }, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    let r = gw.post("/Users", scim_user("ann\r\nX-Injected: yes", json!({}))).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(r.detail().contains("X-On-Behalf-Of") || r.detail().contains("x-on-behalf-of"), "{}", r.detail());
    assert!(stub.take().is_empty(), "nothing was sent");

    // A clean value goes through in the header as given.
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u1"})));
    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann"}));
    let r = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(seen[0].header("x-on-behalf-of"), Some("ann"));
}
