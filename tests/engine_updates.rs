//! Mapping engine acceptance: update styles (RFC 6902 JSON Patch, merge-PATCH, read-modify-write
//! PUT, per-key upserts), attribute triggers, cached lookups, native error mapping and backend
//! credentials, checked call by call against a scripted application.

#[path = "support/stub_backend.rs"]
mod stub_backend;

use serde_json::{Value, json};
use stub_backend::*;

/// A users spec whose attributes and update style are given; get/create/delete/list are plain.
fn users_with(attributes: &str, update: &str, extra: &str) -> String {
    format!(
        r#"
id: {{ read: $.id }}
attributes:
{attributes}
get: [{{ name: read user, method: GET, url: "/users/{{id}}" }}]
create: [{{ name: create user, method: POST, url: /users, body: "{{doc}}" }}]
update:
{update}
delete: [{{ name: delete user, method: DELETE, url: "/users/{{id}}" }}]
list: {{ call: {{ method: GET, url: /users }}, records: "$.items[*]", paging: {{ style: offset, max_limit: 10 }} }}
{extra}
"#
    )
}

/// A `json_patch` update whose one step sends `{patch}`, with `headers` after its Content-Type.
fn json_patch_update(headers: &str) -> String {
    format!(
        r#"  style: json_patch
  steps:
    - name: patch user
      method: PATCH
      url: "/users/{{id}}"
      headers: {{ Content-Type: application/json-patch+json{headers} }}
      body: "{{patch}}""#
    )
}

fn lines(seen: &[Recorded]) -> Vec<String> {
    seen.iter().map(Recorded::line).collect()
}

#[tokio::test]
async fn json_patch_style_sends_rfc6902_operations_from_the_current_record() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: name, immutable: true }
  - { scim: displayName, native: displayName }
  - { scim: title, native: profile.title }
  - { scim: nickName, native: profile.nick }
  - { scim: externalId, native: "ids[]", to_native: ['split(",")'], to_scim: ['join(",")'] }"#,
        &json_patch_update(""),
        "",
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users/u1",
        json!({
            "id": "u1", "name": "ann", "displayName": "Ann", "href": "http://app/u1",
            "profile": {"title": "Eng", "nick": "annie"}, "ids": ["a"]
        }),
    );
    let echoed = json!({
        "id": "u1", "name": "ann", "displayName": "Ann B", "profile": {"nick": "an"}, "ids": ["a", "b"]
    });
    stub.on("PATCH", "/api/users/u1", Reply::json(200, echoed));
    let r = gw
        .patch(
            "/Users/u1",
            json!([
                {"op": "replace", "path": "displayName", "value": "Ann B"},
                {"op": "remove", "path": "title"},
                {"op": "replace", "path": "nickName", "value": "an"},
                {"op": "replace", "path": "externalId", "value": "a,b"}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    // The application's answer is the updated record: no read-back.
    assert_eq!(lines(&seen), ["GET /api/users/u1", "PATCH /api/users/u1"]);
    assert_eq!(seen[1].header("content-type"), Some("application/json-patch+json"));
    assert_eq!(
        seen[1].json(),
        &json!([
            {"op": "replace", "path": "/displayName", "value": "Ann B"},
            {"op": "replace", "path": "/ids", "value": ["a", "b"]},
            {"op": "replace", "path": "/profile/nick", "value": "an"},
            {"op": "remove", "path": "/profile/title"}
        ])
    );
    assert_eq!(r.body["displayName"], "Ann B");
    assert_eq!(r.body["nickName"], "an");
    assert_eq!(r.body["externalId"], "a,b");
    assert!(r.body.get("title").is_none(), "{:?}", r.body);
}

/// The read before a JSON Patch keeps only the fields the change uses: a field no attribute
/// reads or writes is in no operation, and one a template names (`old.etag`) is still there.
#[tokio::test]
async fn json_patch_style_sees_the_fields_its_templates_name() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: name, immutable: true }
  - { scim: displayName, native: displayName }
  - { scim: title, update: profile.title, read: false }"#,
        &json_patch_update(r#", If-Match: "{old.etag}""#),
        "",
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users/u1",
        json!({
            "id": "u1", "name": "ann", "displayName": "Ann", "etag": "v7",
            "profile": {"title": "Eng", "nick": "annie"}, "teams": [{"id": "t1"}, {"id": "t2"}]
        }),
    );
    stub.on("PATCH", "/api/users/u1", Reply::empty(204));
    let r = gw
        .patch(
            "/Users/u1",
            json!([
                {"op": "replace", "path": "displayName", "value": "Ann B"},
                {"op": "replace", "path": "title", "value": "Lead"}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["GET /api/users/u1", "PATCH /api/users/u1", "GET /api/users/u1"]);
    assert_eq!(seen[1].header("if-match"), Some("v7"));
    assert_eq!(
        seen[1].json(),
        &json!([
            {"op": "replace", "path": "/displayName", "value": "Ann B"},
            {"op": "replace", "path": "/profile/title", "value": "Lead"}
        ])
    );
}

/// Collibra-style merge-PATCH where null means "leave alone": only changed fields are sent and a
/// cleared one is sent as `clear_with` (arrays as `[]`).
#[tokio::test]
async fn merge_patch_style_sends_changes_and_clears_with_the_configured_value() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: username }
  - { scim: displayName, native: firstName }
  - { scim: title, native: jobTitle }
  - { scim: nickName, native: aliases, to_native: ['split(",")'], to_scim: ['join(",")'] }"#,
        r#"  style: merge_patch
  clear_with: ""
  steps: [{ name: patch user, method: PATCH, url: "/users/{id}", body: "{changes}" }]"#,
        "",
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users/c1",
        json!({"id": "c1", "username": "ann", "firstName": "Ann", "jobTitle": "Eng", "aliases": ["x", "y"], "enabled": true}),
    );
    stub.on("PATCH", "/api/users/c1", Reply::empty(204));
    let r = gw
        .patch(
            "/Users/c1",
            json!([
                {"op": "remove", "path": "displayName"},
                {"op": "remove", "path": "nickName"},
                {"op": "replace", "path": "title", "value": "Lead"}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["GET /api/users/c1", "PATCH /api/users/c1", "GET /api/users/c1"]);
    assert_eq!(seen[1].json(), &json!({"firstName": "", "jobTitle": "Lead", "aliases": []}));
}

/// Read-modify-write: the whole native record goes back, fields the mapping does not know
/// included.
#[tokio::test]
async fn put_style_writes_back_the_whole_record() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: login }
  - { scim: displayName, native: name }
  - { scim: title, native: settings.title }"#,
        r#"  style: put
  steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }]"#,
        "",
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    let record = json!({
        "id": "u1", "login": "ann", "name": "Ann", "createdBy": "sys",
        "settings": {"theme": "dark", "title": "Eng"}, "teams": [{"id": "t1"}]
    });
    stub.get_json("/api/users/u1", record);
    stub.on("PUT", "/api/users/u1", Reply::empty(200));
    let replacement = scim_user("ann", json!({"displayName": "Ann B"}));
    let r = gw.put("/Users/u1", replacement).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["GET /api/users/u1", "PUT /api/users/u1", "GET /api/users/u1"]);
    assert_eq!(
        seen[1].json(),
        &json!({
            "id": "u1", "login": "ann", "name": "Ann B", "createdBy": "sys",
            "settings": {"theme": "dark"}, "teams": [{"id": "t1"}]
        })
    );
}

/// `forward_patch`: a PATCH whose operations name only attributes mapped one to one is sent on as
/// one PATCH with native names, without reading the record; the answer is the new state when it
/// is the record, and is read back when it is not. Anything else takes the read-modify-write path.
#[tokio::test]
async fn forward_patch_sends_the_operations_when_every_attribute_maps_one_to_one() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: userName }
  - { scim: displayName, native: displayName }
  - { scim: title, native: jobTitle }
  - { scim: emails, native: emails }
  - { scim: nickName, native: nick, to_native: [lower] }"#,
        r#"  style: put
  steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }]
  forward_patch:
    - name: patch user
      method: PATCH
      url: "/users/{id}"
      body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: "{operations}" }"#,
        "",
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    let record = |title: &str, name: &str| {
        json!({"id": "u1", "userName": "ann", "displayName": name, "jobTitle": title, "nick": "an",
               "emails": [{"value": "ann@example.com", "type": "work"}]})
    };

    // Forwarded; the application echoes the record.
    stub.on("PATCH", "/api/users/u1", Reply::json(200, record("Lead", "Ann B")));
    let r = gw
        .patch(
            "/Users/u1",
            json!([
                {"op": "Replace", "path": "title", "value": "Lead"},
                {"op": "replace", "value": {"displayName": "Ann B"}}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["PATCH /api/users/u1"]);
    assert_eq!(
        seen[0].json(),
        &json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "jobTitle", "value": "Lead"},
            {"op": "replace", "value": {"displayName": "Ann B"}}
        ]})
    );
    assert_eq!((r.body["title"].as_str(), r.body["displayName"].as_str()), (Some("Lead"), Some("Ann B")));

    // Forwarded; an answer without the record is followed by a read.
    stub.on("PATCH", "/api/users/u1", Reply::empty(204));
    stub.get_json("/api/users/u1", record("Staff", "Ann B"));
    let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "title", "value": "Staff"}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(stub.take_lines(), ["PATCH /api/users/u1", "GET /api/users/u1"]);
    assert_eq!(r.body["title"], "Staff");

    // A value filter, or an attribute with a transform: read, apply here, write back.
    stub.on("PUT", "/api/users/u1", Reply::empty(200));
    for ops in [
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@example.com"}]),
        json!([{"op": "replace", "path": "title", "value": "X"}, {"op": "replace", "path": "nickName", "value": "B"}]),
    ] {
        let r = gw.patch("/Users/u1", ops.clone()).await;
        assert_eq!(r.status, 200, "{ops}: {:?}", r.body);
        assert_eq!(stub.take_lines(), ["GET /api/users/u1", "PUT /api/users/u1", "GET /api/users/u1"], "{ops}");
    }

    // A bad value is refused as before, after the read that gives the 404 precedence.
    let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "title", "value": 7}])).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{:?}", r.body);
    assert_eq!(stub.take_lines(), ["GET /api/users/u1"]);

    // The application's 404 is the IdP's 404.
    let r = gw.patch("/Users/u2", json!([{"op": "replace", "path": "title", "value": "Lead"}])).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(stub.take_lines(), ["PATCH /api/users/u2"]);
}

/// A computed or constant field under the native key of an attribute mapped one to one is written
/// again by the read-modify-write whenever that key is written, so a PATCH of the attribute is not
/// forwarded: the application applying it would leave the field out.
#[tokio::test]
async fn forward_patch_leaves_a_native_key_that_also_holds_a_computed_field_to_read_modify_write() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: userName }
  - { scim: name, native: fullName }
  - { scim: title, native: jobTitle }
  - { native: fullName.origin, value: idp }"#,
        r#"  style: put
  steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }]
  forward_patch:
    - { name: patch user, method: PATCH, url: "/users/{id}", body: { Operations: "{operations}" } }"#,
        "",
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    let record = json!({"id": "u1", "userName": "ann", "jobTitle": "Eng",
                        "fullName": {"givenName": "Ann", "origin": "idp"}});
    stub.get_json("/api/users/u1", record.clone());
    stub.on("PATCH", "/api/users/u1", Reply::json(200, record.clone()));
    stub.on("PUT", "/api/users/u1", Reply::empty(200));

    let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "title", "value": "Lead"}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(stub.take_lines(), ["PATCH /api/users/u1"], "jobTitle holds nothing else");

    let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "name", "value": {"givenName": "Anne"}}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["GET /api/users/u1", "PUT /api/users/u1", "GET /api/users/u1"]);
    assert_eq!(seen[1].json()["fullName"], json!({"givenName": "Anne", "origin": "idp"}), "{:?}", seen[1].json());
}

/// A read's transforms see `vars` when they name it, and work without it when they do not.
#[tokio::test]
async fn read_transforms_see_vars_when_they_name_them() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: userName, to_scim: [lower] }
  - { scim: title, native: jobTitle, to_scim: ["default(vars.department)"] }"#,
        r#"  style: put
  steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }]"#,
        "",
    );
    let gw = Gateway::start(&mapping("vars:\n  department: Sales\n", &users, PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users/u1", json!({"id": "u1", "userName": "ANN"}));
    stub.get_json("/api/users/u2", json!({"id": "u2", "userName": "Bob", "jobTitle": "Eng"}));
    for (id, user_name, title) in [("u1", "ann", "Sales"), ("u2", "bob", "Eng")] {
        let r = gw.get(&format!("/Users/{id}")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!((r.body["userName"].as_str(), r.body["title"].as_str()), (Some(user_name), Some(title)));
    }
}

/// An application that does not take PATCH (405 Method Not Allowed, or a SCIM service's 501 Not
/// Implemented) has changed nothing: the PATCH is read, applied and written back instead, and
/// later PATCHes skip the refused call. After a write, the same answer is an error as any other.
#[tokio::test]
async fn forward_patch_falls_back_to_read_modify_write_when_the_application_refuses_patch() {
    let attributes = r#"  - { scim: userName, native: userName }
  - { scim: title, native: jobTitle }"#;
    let record = |title: &str| json!({"id": "u1", "userName": "ann", "jobTitle": title});
    for refusal in [405, 501] {
        let stub = Stub::start().await;
        let users = users_with(
            attributes,
            r#"  style: put
  steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }]
  forward_patch: [{ name: patch user, method: PATCH, url: "/users/{id}", body: { Operations: "{operations}" } }]"#,
            "",
        );
        let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
        stub.on("PATCH", "/api/users/u1", Reply::json(refusal, json!({"detail": "PATCH is not supported"})));
        stub.on("PUT", "/api/users/u1", Reply::empty(200));
        for (before, title) in [("Eng", "Lead"), ("Lead", "Staff")] {
            // The read before the change, then the read-back after it.
            stub.on_seq(
                "GET",
                "/api/users/u1",
                vec![Reply::json(200, record(before)), Reply::json(200, record(title))],
            );
            let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "title", "value": title}])).await;
            assert_eq!((r.status, r.body["title"].as_str()), (200, Some(title)), "{refusal}: {:?}", r.body);
            let seen = stub.take();
            let expected: &[&str] = if title == "Lead" {
                &["PATCH /api/users/u1", "GET /api/users/u1", "PUT /api/users/u1", "GET /api/users/u1"]
            } else {
                // The refusal is remembered: no second refused call.
                &["GET /api/users/u1", "PUT /api/users/u1", "GET /api/users/u1"]
            };
            assert_eq!(lines(&seen), expected, "{refusal}");
            let put = seen.iter().find(|c| c.line().starts_with("PUT")).expect("a PUT");
            assert_eq!(put.json()["jobTitle"], title, "{refusal}");
        }
    }

    // A refusal after an earlier step wrote something is not a fallback: the change is partial.
    let stub = Stub::start().await;
    let users = users_with(
        attributes,
        r#"  style: put
  steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }]
  forward_patch:
    - { name: note change, method: POST, url: "/audit", body: { user: "{id}" } }
    - { name: patch user, method: PATCH, url: "/users/{id}", body: { Operations: "{operations}" } }"#,
        "",
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    stub.on("POST", "/api/audit", Reply::empty(204));
    stub.on("PATCH", "/api/users/u1", Reply::json(405, json!({"detail": "PATCH is not supported"})));
    let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "title", "value": "Lead"}])).await;
    assert!(r.status >= 500, "{:?}", r.body);
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("405") && detail.contains("earlier call"), "{detail}");
    assert_eq!(stub.take_lines(), ["POST /api/audit", "PATCH /api/users/u1"]);
}

/// DataHub-style aspects: one upsert per changed top-level key, carrying the whole aspect with
/// its computed companions refreshed; nothing is written when nothing changed.
#[tokio::test]
async fn per_key_style_upserts_each_changed_aspect_whole() {
    let stub = Stub::start().await;
    let top = "vars:\n  actor: urn:li:corpuser:scimgate\n";
    let users = users_with(
        r#"  - { scim: userName, create: key.value.username, update: false, read: $.key.value.username }
  - { scim: displayName, native: info.value.displayName }
  - { scim: title, native: info.value.title }
  - scim: active
    native: status.value.status
    to_native: ['map({"true": "ACTIVE", "false": "SUSPENDED"})']
    to_scim: ['map({"ACTIVE": true, "SUSPENDED": false})']
  - { native: status.value.lastModified.actor, from: vars.actor }"#,
        r#"  style: per_key
  steps:
    - name: write aspect
      method: POST
      url: "/entities/{id}/{key}"
      query: { async: "false" }
      body: "{value}""#,
        "",
    );
    let gw = Gateway::start(&mapping(top, &users, PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users/e1",
        json!({
            "id": "e1",
            "key": {"value": {"username": "ann"}},
            "info": {"value": {"displayName": "Ann", "title": "Eng", "extra": "keep"}},
            "status": {"value": {"status": "ACTIVE", "lastModified": {"actor": "someone", "time": 1}}}
        }),
    );
    stub.on("POST", "/api/entities/e1/info", Reply::empty(200));
    stub.on("POST", "/api/entities/e1/status", Reply::empty(200));

    let r = gw.patch("/Users/e1", json!([{"op": "replace", "path": "displayName", "value": "Ann B"}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["GET /api/users/e1", "POST /api/entities/e1/info?async=false", "GET /api/users/e1"]);
    assert_eq!(seen[1].json(), &json!({"value": {"displayName": "Ann B", "title": "Eng", "extra": "keep"}}));

    let r = gw
        .patch(
            "/Users/e1",
            json!([
                {"op": "replace", "path": "title", "value": "Lead"},
                {"op": "replace", "path": "active", "value": false}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        lines(&seen),
        [
            "GET /api/users/e1",
            "POST /api/entities/e1/info?async=false",
            "POST /api/entities/e1/status?async=false",
            "GET /api/users/e1"
        ]
    );
    assert_eq!(seen[1].json(), &json!({"value": {"displayName": "Ann", "title": "Lead", "extra": "keep"}}));
    assert_eq!(
        seen[2].json(),
        &json!({"value": {"status": "SUSPENDED", "lastModified": {"actor": "urn:li:corpuser:scimgate", "time": 1}}})
    );

    // The same value again: nothing to write, and the record just read is the answer.
    let r = gw.patch("/Users/e1", json!([{"op": "replace", "path": "displayName", "value": "Ann"}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["displayName"], "Ann");
    assert_eq!(stub.take_lines(), ["GET /api/users/e1"], "no write for an unchanged value");
}

/// OpenMetadata-style `active`: false is a soft DELETE after the field update (and on create);
/// true is a restore call before it.
#[tokio::test]
async fn active_false_soft_deletes_and_active_true_restores() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: name }
  - { scim: displayName, native: displayName }
  - { scim: active, read: $.deleted, to_scim: ["default(false)", "not"] }"#,
        r#"  style: merge_patch
  steps: [{ name: patch user, method: PATCH, url: "/users/{id}", body: "{changes}" }]"#,
        r#"triggers:
  - attribute: active
    equals: false
    on_create: true
    steps: [{ name: soft-delete user, method: DELETE, url: "/users/{id}", query: { hardDelete: "false" } }]
  - attribute: active
    equals: true
    before_update: true
    steps: [{ name: restore user, method: PUT, url: /users/restore, body: { id: "{id}" } }]"#,
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users/u1", json!({"id": "u1", "name": "ann", "displayName": "Ann", "deleted": false}));
    stub.on("PATCH", "/api/users/u1", Reply::empty(204));
    stub.on("DELETE", "/api/users/u1", Reply::empty(200));
    stub.on("PUT", "/api/users/restore", Reply::empty(200));

    let r = gw.patch("/Users/u1", json!([{"op": "replace", "value": {"active": false, "displayName": "Ann B"}}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        lines(&seen),
        ["GET /api/users/u1", "PATCH /api/users/u1", "DELETE /api/users/u1?hardDelete=false", "GET /api/users/u1"]
    );
    assert_eq!(seen[1].json(), &json!({"displayName": "Ann B"}));

    stub.get_json("/api/users/u1", json!({"id": "u1", "name": "ann", "displayName": "Ann B", "deleted": true}));
    let r = gw.patch("/Users/u1", json!([{"op": "replace", "value": {"active": true, "displayName": "Ann C"}}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        lines(&seen),
        ["GET /api/users/u1", "PUT /api/users/restore", "PATCH /api/users/u1", "GET /api/users/u1"]
    );
    assert_eq!(seen[1].json(), &json!({"id": "u1"}));

    // Setting active to the value it already has triggers nothing.
    let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "active", "value": false}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(stub.take_lines(), ["GET /api/users/u1"]);

    // Created inactive: the soft delete follows the create.
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u2"})));
    stub.on("DELETE", "/api/users/u2", Reply::empty(200));
    stub.get_json("/api/users/u2", json!({"id": "u2", "name": "bob", "deleted": true}));
    let r = gw.post("/Users", scim_user("bob", json!({"active": false}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(stub.take_lines(), ["POST /api/users", "DELETE /api/users/u2?hardDelete=false", "GET /api/users/u2"]);
}

/// `active` as a status write: any change of the attribute runs the trigger with the new value.
#[tokio::test]
async fn active_change_writes_a_status_resource() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: name }
  - { scim: active, read: $.state, to_scim: ['map({"enabled": true, "disabled": false})'] }"#,
        r#"  style: put
  steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }]"#,
        r#"triggers:
  - attribute: active
    steps:
      - name: write status
        method: POST
        url: "/users/{id}/status"
        body: { status: '{value | string | map({"true": "enabled", "false": "disabled"})}' }"#,
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users/s1", json!({"id": "s1", "name": "ann", "state": "enabled"}));
    stub.on("POST", "/api/users/s1/status", Reply::empty(204));
    let r = gw.patch("/Users/s1", json!([{"op": "replace", "path": "active", "value": false}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["GET /api/users/s1", "POST /api/users/s1/status", "GET /api/users/s1"]);
    assert_eq!(seen[1].json(), &json!({"status": "disabled"}));

    stub.get_json("/api/users/s1", json!({"id": "s1", "name": "ann", "state": "disabled"}));
    let r = gw.patch("/Users/s1", json!([{"op": "replace", "path": "active", "value": true}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(seen[1].json(), &json!({"status": "enabled"}));
}

/// A `put` after a trigger: a trigger before the update changes the record, so the record is read
/// again before it is sent back whole (the old one would undo the trigger); a trigger after the
/// update makes the update's answer stale, so the record is read back for the IdP's answer.
#[tokio::test]
async fn put_updates_and_answers_see_what_triggers_changed() {
    let stub = Stub::start().await;
    let users = users_with(
        r#"  - { scim: userName, native: login }
  - { scim: name.familyName, native: last }
  - { scim: active, native: enabled, update: false }"#,
        r#"  style: put
  steps: [{ name: put user, method: PUT, url: "/users/{id}", body: "{doc}" }]"#,
        r#"triggers:
  - attribute: active
    equals: true
    before_update: true
    steps: [{ name: enable user, method: POST, url: "/users/{id}/enable" }]
  - attribute: active
    equals: false
    steps: [{ name: disable user, method: POST, url: "/users/{id}/disable" }]"#,
    );
    let gw = Gateway::start(&mapping("", &users, PLAIN_GROUPS), &stub).await;
    let rec = |enabled: bool, last: &str| json!({"id": "a1", "login": "ann", "last": last, "enabled": enabled});
    stub.on_seq("GET", "/api/users/a1", vec![Reply::json(200, rec(false, "Lee")), Reply::json(200, rec(true, "Lee"))]);
    stub.on("POST", "/api/users/a1/enable", Reply::empty(204));
    stub.on("PUT", "/api/users/a1", Reply::json(200, rec(true, "Smith")));

    // Entra (without aadOptscim062020) enabling and renaming in one PATCH.
    let ops = json!([{"op": "Replace", "value": {"active": "True", "name.familyName": "Smith"}}]);
    let r = gw.patch("/Users/a1", ops).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        lines(&seen),
        ["GET /api/users/a1", "POST /api/users/a1/enable", "GET /api/users/a1", "PUT /api/users/a1"]
    );
    assert_eq!(seen[3].json(), &rec(true, "Smith"), "the PUT keeps what the trigger enabled");
    assert_eq!((r.body["active"].as_bool(), r.body["name"]["familyName"].as_str()), (Some(true), Some("Smith")));

    // Disabling and renaming: the PUT's answer still says enabled; the read after the trigger does not.
    stub.on_seq(
        "GET",
        "/api/users/a1",
        vec![Reply::json(200, rec(true, "Smith")), Reply::json(200, rec(false, "Lee"))],
    );
    stub.on("PUT", "/api/users/a1", Reply::json(200, rec(true, "Lee")));
    stub.on("POST", "/api/users/a1/disable", Reply::empty(204));
    let ops = json!([{"op": "Replace", "path": "name.familyName", "value": "Lee"}, {"op": "Replace", "path": "active", "value": "False"}]);
    let r = gw.patch("/Users/a1", ops).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        lines(&seen),
        ["GET /api/users/a1", "PUT /api/users/a1", "POST /api/users/a1/disable", "GET /api/users/a1"]
    );
    assert_eq!((r.body["active"].as_bool(), r.body["name"]["familyName"].as_str()), (Some(false), Some("Lee")));
}

/// Role name → id through a lookup call, cached: the second request for the same role makes no
/// lookup call; an unknown role is refused naming it; `on_missing: null` leaves a field out.
#[tokio::test]
async fn lookups_resolve_names_and_are_cached() {
    let stub = Stub::start().await;
    let top = r#"lookups:
  role:
    call: { name: find role, method: GET, url: "/roles/name/{value}" }
    result: $.id
    cache_ttl_secs: 600
  team:
    call: { method: GET, url: /teams, query: { name: "{value}" } }
    result: $.items[0].id
    on_missing: "null"
"#;
    let users = users_with(
        r#"  - { scim: userName, native: login }
  - { scim: roles.value, native: "roles[]", read: false, to_native: ['lookup("role")'] }
  - { scim: userType, native: teamId, read: false, to_native: ['lookup("team")'] }"#,
        r#"  style: put
  steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }]"#,
        "",
    );
    let gw = Gateway::start(&mapping(top, &users, PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/roles/name/Admin", json!({"id": "r-admin", "name": "Admin"}));
    stub.get_json("/api/roles/name/Data%20Steward", json!({"id": "r-steward", "name": "Data Steward"}));
    stub.get_json("/api/teams?name=Sales", json!({"items": [{"id": "t-sales"}]}));
    stub.get_json("/api/teams?name=Nowhere", json!({"items": []}));
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u1"})));
    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann"}));

    let roles = json!([{"value": "Admin"}, {"value": "Data Steward"}]);
    let r = gw.post("/Users", scim_user("ann", json!({"roles": roles, "userType": "Sales"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        lines(&seen),
        [
            "GET /api/roles/name/Admin",
            "GET /api/roles/name/Data%20Steward",
            "GET /api/teams?name=Sales",
            "POST /api/users",
            "GET /api/users/u1"
        ]
    );
    assert_eq!(seen[3].json(), &json!({"login": "ann", "roles": ["r-admin", "r-steward"], "teamId": "t-sales"}));

    // Cached: no lookup call the second time.
    let r = gw.post("/Users", scim_user("bob", json!({"roles": [{"value": "Admin"}], "userType": "Nowhere"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["GET /api/teams?name=Nowhere", "POST /api/users", "GET /api/users/u1"]);
    assert_eq!(seen[1].json(), &json!({"login": "bob", "roles": ["r-admin"]}));

    // An unknown role (404) fails the request before anything is written.
    let r = gw.post("/Users", scim_user("eve", json!({"roles": [{"value": "Ghost"}]}))).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(r.detail().contains("Ghost"), "{}", r.detail());
    assert_eq!(stub.take_lines(), ["GET /api/roles/name/Ghost"]);
}

#[tokio::test]
async fn native_errors_become_scim_errors() {
    let stub = Stub::start().await;
    let top = r#"errors:
  - when: { status: [400], body_contains: "Already Taken" }
    scim: { status: 409, scim_type: uniqueness, detail: "App says: {message}" }
  - when: { status: [409] }
    scim: { status: 409, scim_type: uniqueness, detail: "duplicate ({status}): {message}" }
"#;
    let users = users_with(
        "  - { scim: userName, native: login }",
        "  style: put\n  steps: [{ method: PUT, url: \"/users/{id}\", body: \"{doc}\" }]",
        "",
    );
    let gw = Gateway::start(&mapping(top, &users, PLAIN_GROUPS), &stub).await;

    stub.on("POST", "/api/users", Reply::json(409, json!({"code": 409, "message": "user ann exists"})));
    let r = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert_eq!(r.detail(), "duplicate (409): user ann exists");

    stub.on("POST", "/api/users", Reply::json(400, json!({"userMessage": "login already taken"})));
    let r = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (409, Some("uniqueness")), "{:?}", r.body);
    assert_eq!(r.detail(), "App says: login already taken");

    // Other 4xx: 400 invalidValue with the application's message and the step.
    stub.on("POST", "/api/users", Reply::json(422, json!({"message": "login too short"})));
    let r = gw.post("/Users", scim_user("a", json!({}))).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{:?}", r.body);
    assert!(r.detail().contains("create user") && r.detail().contains("login too short"), "{}", r.detail());

    // Throttling and unavailability pass on with Retry-After.
    stub.on("POST", "/api/users", Reply::json(429, json!({"message": "slow down"})).header("retry-after", "120"));
    let r = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.header("retry-after"), Some("120"));
    stub.on("GET", "/api/users/u1", Reply::json(503, json!({"message": "maintenance"})).header("retry-after", "30"));
    let r = gw.get("/Users/u1").await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.header("retry-after"), Some("30"));

    // A server error is a bad gateway naming the step; a native 404 is a SCIM 404.
    stub.on("POST", "/api/users", Reply::json(500, json!({"message": "NullPointerException"})));
    let r = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(r.detail().contains("create user") && r.detail().contains("500"), "{}", r.detail());
    stub.on("GET", "/api/users/u1", Reply::json(404, json!({"message": "no such user"})));
    let r = gw.get("/Users/u1").await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(stub.take().len(), 7, "each SCIM request made exactly one native call (no retries configured)");
}

/// Rules keyed on the SCIM operation also cover the calls a trigger makes; `expect` turns an
/// existence check's 200 into a failure the rules can name; refused credentials are the
/// gateway's problem (502), not the IdP's.
#[tokio::test]
async fn error_rules_match_the_operation_and_expected_statuses() {
    let stub = Stub::start().await;
    let top = r#"errors:
  - when: { status: [200], operation: create }
    scim: { status: 409, scim_type: uniqueness, detail: "a user with this login exists" }
  - when: { status: [409], operation: update }
    scim: { status: 400, scim_type: invalidValue, detail: "cannot restore: {message}" }
"#;
    let users = r#"
id: { read: $.id, template: "{scim.userName}" }
attributes:
  - { scim: userName, native: id, update: false }
  - { scim: active, read: $.deleted, to_scim: ["default(false)", "not"] }
triggers:
  - attribute: active
    equals: true
    steps: [{ name: restore user, method: PUT, url: /users/restore, body: { id: "{id}" } }]
get: [{ method: GET, url: "/users/{id}" }]
create:
  - { name: check login is free, method: HEAD, url: "/users/{id}", expect: [404] }
  - { name: create user, method: PUT, url: "/users/{id}", body: "{doc}" }
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping(top, users, PLAIN_GROUPS), &stub).await;
    stub.on("HEAD", "/api/users/ann", Reply::empty(200));
    let r = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (409, Some("uniqueness")), "{:?}", r.body);
    assert_eq!(r.detail(), "a user with this login exists");
    assert_eq!(stub.take_lines(), ["HEAD /api/users/ann"]);

    stub.on("HEAD", "/api/users/bob", Reply::empty(404));
    stub.on("PUT", "/api/users/bob", Reply::empty(201));
    stub.get_json("/api/users/bob", json!({"id": "bob", "deleted": false}));
    let r = gw.post("/Users", scim_user("bob", json!({}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(lines(&seen), ["HEAD /api/users/bob", "PUT /api/users/bob", "GET /api/users/bob"]);
    assert_eq!(seen[1].json(), &json!({"id": "bob"}));

    // The restore call of an update fails with 409: the `update` rule applies, not the default.
    stub.get_json("/api/users/bob", json!({"id": "bob", "deleted": true}));
    stub.on("PUT", "/api/users/restore", Reply::json(409, json!({"message": "the user is not deleted"})));
    let r = gw.patch("/Users/bob", json!([{"op": "replace", "path": "active", "value": true}])).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{:?}", r.body);
    assert_eq!(r.detail(), "cannot restore: the user is not deleted");

    // The application refuses the gateway's credential.
    stub.on("GET", "/api/users/bob", Reply::json(401, json!({"message": "token expired"})));
    let r = gw.get("/Users/bob").await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(r.detail().contains("credentials"), "{}", r.detail());
}

/// The credential and static headers go with every native call (lookups included); the IdP's own
/// token never reaches the application.
#[tokio::test]
async fn backend_credentials_accompany_every_call() {
    let stub = Stub::start().await;
    let top = r#"lookups:
  role:
    call: { method: GET, url: "/roles/{value}" }
    result: $.id
"#;
    let users = users_with(
        r#"  - { scim: userName, native: login }
  - { scim: roles.value, native: "roles[]", read: false, to_native: ['lookup("role")'] }"#,
        "  style: put\n  steps: [{ method: PUT, url: \"/users/{id}\", body: \"{doc}\" }]",
        "",
    );
    let text = mapping(top, &users, PLAIN_GROUPS)
        .replace("  retries:", "  headers: { Accept: application/json, X-Tenant: acme }\n  retries:");
    let gw = Gateway::start(&text, &stub).await;
    stub.get_json("/api/roles/Admin", json!({"id": "r1"}));
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u1"})));
    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann"}));
    let r = gw.post("/Users", scim_user("ann", json!({"roles": [{"value": "Admin"}]}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(seen.len(), 3);
    let bearer = format!("Bearer {BACKEND_TOKEN}");
    for call in &seen {
        assert_eq!(call.header("authorization"), Some(bearer.as_str()), "{}", call.line());
        assert_eq!(call.header("x-tenant"), Some("acme"), "{}", call.line());
        assert_eq!(call.header("accept"), Some("application/json"), "{}", call.line());
        assert!(call.headers.iter().all(|(_, v)| !v.contains(SCIM_TOKEN)), "{}", call.line());
    }

    // Another credential kind: an API key header instead of a bearer token.
    let stub = Stub::start().await;
    let text = mapping(
        "",
        &users_with(
            "  - { scim: userName, native: login }",
            "  style: put\n  steps: [{ method: PUT, url: \"/users/{id}\", body: \"{doc}\" }]",
            "",
        ),
        PLAIN_GROUPS,
    )
    .replace(
        &format!("auth: {{ type: bearer, token: {BACKEND_TOKEN} }}"),
        "auth: { type: header, name: X-Api-Key, value: k-123 }",
    );
    let gw = Gateway::start(&text, &stub).await;
    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann"}));
    assert_eq!(gw.get("/Users/u1").await.status, 200);
    let seen = stub.take();
    assert_eq!(seen[0].header("x-api-key"), Some("k-123"));
    assert_eq!(seen[0].header("authorization"), None);
    let _ = Value::Null;
}
