//! Mapping engine acceptance: identity, attribute shapes per verb, transforms, multi-valued
//! selection and operation sequences. Each test writes a small mapping, runs a real gateway in
//! front of a scripted application and checks the exact native calls and the SCIM answer.

#[path = "support/stub_backend.rs"]
mod stub_backend;

use serde_json::{Value, json};
use stub_backend::*;

fn b64url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn server_assigned_id_is_read_from_the_answer_by_jsonpath() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.uid }
attributes:
  - { scim: userName, native: login }
get: [{ method: GET, url: "/users/{id}", record: $.data }]
create: [{ name: create user, method: POST, url: /users, body: "{doc}", record: $.data }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    stub.on("POST", "/api/users", Reply::json(201, json!({"data": {"uid": "u-17", "login": "ann"}})));
    stub.get_json("/api/users/u-17", json!({"data": {"uid": "u-17", "login": "ann"}}));

    let created = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["id"], "u-17");
    assert_eq!(created.body["userName"], "ann");
    assert!(created.header("location").is_some_and(|l| l.ends_with("/Users/u-17")), "{:?}", created.headers);

    let seen = stub.take();
    let lines: Vec<String> = seen.iter().map(Recorded::line).collect();
    assert_eq!(lines, ["POST /api/users", "GET /api/users/u-17"]);
    assert_eq!(seen[0].json(), &json!({"login": "ann"}));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));

    // An answer without the id at the JSONPath is not acknowledged as a created user.
    stub.on("POST", "/api/users", Reply::json(201, json!({"data": {"login": "bob"}})));
    let r = gw.post("/Users", scim_user("bob", json!({}))).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert!(r.detail().contains("$.uid"), "{}", r.detail());
}

/// DataHub-style identity: the native id is a URN computed from the userName, it travels
/// percent-encoded in paths, and the SCIM id is its unpadded base64url.
#[tokio::test]
async fn computed_urn_id_is_encoded_as_base64url() {
    let stub = Stub::start().await;
    let users = r#"
id:
  read: $.urn
  template: "urn:li:corpuser:{scim.userName}"
  encoding: base64url
attributes:
  - { native: urn, from: id, on: [create] }
  - { scim: userName, native: name }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: upsert user, method: PUT, url: "/users/{id}", body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    let record = json!({"urn": "urn:li:corpuser:ann", "name": "ann"});
    stub.on("PUT", "/api/users/urn%3Ali%3Acorpuser%3Aann", Reply::empty(204));
    stub.get_json("/api/users/urn%3Ali%3Acorpuser%3Aann", record);

    let created = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let scim_id = b64url("urn:li:corpuser:ann");
    assert_eq!(created.body["id"], scim_id.as_str());
    let seen = stub.take();
    assert_eq!(
        seen.iter().map(Recorded::line).collect::<Vec<_>>(),
        ["PUT /api/users/urn%3Ali%3Acorpuser%3Aann", "GET /api/users/urn%3Ali%3Acorpuser%3Aann"]
    );
    assert_eq!(seen[0].json(), &json!({"urn": "urn:li:corpuser:ann", "name": "ann"}));

    let got = gw.get(&format!("/Users/{scim_id}")).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["userName"], "ann");
    assert_eq!(stub.take_lines(), ["GET /api/users/urn%3Ali%3Acorpuser%3Aann"]);

    // A SCIM id that is not base64url cannot name a record: 404 without asking the application.
    let missing = gw.get("/Users/not%20base64!").await;
    assert_eq!(missing.status, 404, "{:?}", missing.body);
    assert!(stub.take().is_empty());
}

#[tokio::test]
async fn changing_an_immutable_key_is_refused_with_mutability() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login, immutable: true }
  - { scim: displayName, native: name }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ method: POST, url: /users, body: "{doc}" }]
update: { style: merge_patch, steps: [{ name: patch user, method: PATCH, url: "/users/{id}", body: "{changes}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann", "name": "Ann"}));

    let r = gw.patch("/Users/u1", json!([{"op": "replace", "path": "userName", "value": "anna"}])).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "mutability");
    assert!(r.detail().contains("userName"), "{}", r.detail());
    // Read, then nothing written.
    assert_eq!(stub.take_lines(), ["GET /api/users/u1"]);

    // A PUT repeating the same key is fine and writes only what changed.
    stub.on("PATCH", "/api/users/u1", Reply::json(200, json!({"id": "u1", "login": "ann", "name": "Ann B"})));
    let r = gw.put("/Users/u1", scim_user("ann", json!({"displayName": "Ann B"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["displayName"], "Ann B");
    let seen = stub.take();
    assert_eq!(seen.iter().map(Recorded::line).collect::<Vec<_>>(), ["GET /api/users/u1", "PATCH /api/users/u1"]);
    assert_eq!(seen[1].json(), &json!({"name": "Ann B"}));

    // A key the application lower-cases: a change of case alone changes nothing there.
    let stub2 = Stub::start().await;
    let lowered =
        users.replace("native: login, immutable: true }", "native: login, immutable: true, to_native: [lower] }");
    assert_ne!(lowered, users);
    let gw2 = Gateway::start(&mapping("", &lowered, PLAIN_GROUPS), &stub2).await;
    stub2.get_json("/api/users/u1", json!({"id": "u1", "login": "ann", "name": "Ann"}));
    let r = gw2.put("/Users/u1", scim_user("ANN", json!({"displayName": "Ann"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(stub2.take_lines(), ["GET /api/users/u1"], "nothing to write");
    let r = gw2.put("/Users/u1", scim_user("anna", json!({"displayName": "Ann"}))).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("mutability")), "{:?}", r.body);

    // /Schemas advertises the key as immutable.
    let schema = gw.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    let user_name = schema.body["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "userName"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(user_name["mutability"], "immutable", "{user_name}");
}

/// Collibra-style shapes: the create body and the update body name the same fields differently,
/// a read-only attribute comes from its own JSONPath, and constants go only where `on` says.
#[tokio::test]
async fn create_update_and_read_shapes_differ_per_verb() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, create: userName, update: username, read: $.userName }
  - { scim: 'emails[type eq "work"].value', create: emailAddress, update: email, read: $.emailAddress }
  - { scim: displayName, read: $.fullName, create: false, update: false }
  - { scim: title, native: profile.title, on: [update] }
  - { native: kind, value: person, on: [create] }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: create user, method: POST, url: /users, body: "{doc}" }]
update: { style: merge_patch, steps: [{ name: patch user, method: PATCH, url: "/users/{id}", body: "{changes}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    let record = json!({
        "id": "c1", "userName": "ann", "emailAddress": "a@x.org", "fullName": "Ann A", "profile": {"title": "Eng"}
    });
    stub.on("POST", "/api/users", Reply::json(201, record.clone()));
    stub.get_json("/api/users/c1", record);

    let emails = json!([{"type": "work", "value": "a@x.org"}]);
    let created = gw.post("/Users", scim_user("ann", json!({"emails": emails, "title": "Eng"}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let seen = stub.take();
    assert_eq!(seen.iter().map(Recorded::line).collect::<Vec<_>>(), ["POST /api/users", "GET /api/users/c1"]);
    assert_eq!(seen[0].json(), &json!({"userName": "ann", "emailAddress": "a@x.org", "kind": "person"}));
    // Read shape: JSONPaths and the native path, including the read-only attribute.
    assert_eq!(created.body["userName"], "ann");
    assert_eq!(created.body["emails"], json!([{"type": "work", "value": "a@x.org"}]));
    assert_eq!(created.body["displayName"], "Ann A");
    assert_eq!(created.body["title"], "Eng");

    stub.on("PATCH", "/api/users/c1", Reply::empty(204));
    let r = gw
        .patch(
            "/Users/c1",
            json!([
                {"op": "replace", "path": "userName", "value": "ann2"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.org"},
                {"op": "replace", "path": "title", "value": "Lead"}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        seen.iter().map(Recorded::line).collect::<Vec<_>>(),
        ["GET /api/users/c1", "PATCH /api/users/c1", "GET /api/users/c1"]
    );
    assert_eq!(seen[1].json(), &json!({"username": "ann2", "email": "b@x.org", "profile": {"title": "Lead"}}));
}

/// default, constant, coalesce, case, slug, split, format and `now` on the way to the
/// application; join and strip_prefix on the way back.
#[tokio::test]
async fn transforms_shape_native_values_both_ways() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login, to_native: [lower] }
  - { scim: userName, create: handle, update: false, read: false, to_native: [lower, "slug(8)"] }
  - { scim: displayName, native: display, to_native: ["coalesce(scim.title, scim.userName)"] }
  - { scim: title, native: title, to_native: ['default("Staff")'] }
  - { scim: nickName, native: tags, to_native: ['split(",")'], to_scim: ['join(",")'] }
  - { scim: externalId, native: ref, to_native: ['format("ext-{}")'], to_scim: ['strip_prefix("ext-")'] }
  - { scim: userName, create: shout, update: false, read: false, to_native: [upper] }
  - { scim: userName, create: origin, update: false, read: false, to_native: ['constant("scim")'] }
  - { native: meta, value: { system: scim, v: 2 }, on: [create] }
  - { native: audit.createdAt, from: "null | epoch_ms", on: [create] }
  - { native: audit.stamp, from: "null | now_iso", on: [create] }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: create user, method: POST, url: /users, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "t1"})));
    stub.get_json(
        "/api/users/t1",
        json!({
            "id": "t1", "login": "ann smith@x", "display": "Ann Smith@X", "title": "Staff",
            "tags": ["a", "b", "c"], "ref": "ext-E1"
        }),
    );
    let before = chrono::Utc::now();
    let created = gw.post("/Users", scim_user("Ann Smith@X", json!({"nickName": "a,b,c", "externalId": "E1"}))).await;
    let after = chrono::Utc::now();
    assert_eq!(created.status, 201, "{:?}", created.body);
    let seen = stub.take();
    assert_eq!(seen[0].line(), "POST /api/users");
    let mut body = seen[0].json().clone();
    let audit = body.as_object_mut().and_then(|o| o.remove("audit")).unwrap_or(Value::Null);
    assert_eq!(
        body,
        json!({
            "login": "ann smith@x", "handle": "ann_smit", "display": "Ann Smith@X", "title": "Staff",
            "tags": ["a", "b", "c"], "ref": "ext-E1", "shout": "ANN SMITH@X", "origin": "scim",
            "meta": {"system": "scim", "v": 2}
        })
    );
    let ms = audit["createdAt"].as_i64().unwrap_or_else(|| panic!("epoch ms: {audit}"));
    assert!((before.timestamp_millis()..=after.timestamp_millis()).contains(&ms), "{ms}");
    let stamp = audit["stamp"].as_str().unwrap_or_default();
    let stamp = chrono::DateTime::parse_from_rfc3339(stamp).unwrap_or_else(|e| panic!("{stamp}: {e}"));
    assert!(stamp >= before - chrono::Duration::milliseconds(1) && stamp <= after, "{stamp}");

    assert_eq!(created.body["userName"], "ann smith@x");
    assert_eq!(created.body["displayName"], "Ann Smith@X");
    assert_eq!(created.body["nickName"], "a,b,c");
    assert_eq!(created.body["externalId"], "E1");
    assert_eq!(created.body["title"], "Staff");
}

/// Enum tables both ways (an unknown value is refused, naming the allowed ones) and boolean
/// coercion of native text.
#[tokio::test]
async fn enum_maps_and_boolean_coercion() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - scim: active
    native: status
    to_native: ['map({"true": "ACTIVE", "false": "SUSPENDED"})']
    to_scim: ['map({"ACTIVE": true, "SUSPENDED": false}, false)']
  - scim: userType
    native: tier
    to_native: ['map({"Employee": 1, "Contractor": 2})']
    to_scim: ['map({"1": "Employee", "2": "Contractor"})']
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: create user, method: POST, url: /users, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "e1"})));
    stub.get_json("/api/users/e1", json!({"id": "e1", "login": "ann", "status": "LOCKED", "tier": 2}));
    let created = gw.post("/Users", scim_user("ann", json!({"active": true, "userType": "Contractor"}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take()[0].json(), &json!({"login": "ann", "status": "ACTIVE", "tier": 2}));
    // LOCKED is outside the read table: its default applies.
    assert_eq!(created.body["active"], false);
    assert_eq!(created.body["userType"], "Contractor");

    let refused = gw.post("/Users", scim_user("bob", json!({"userType": "Intern"}))).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.body["scimType"], "invalidValue");
    assert!(
        refused.detail().contains("Intern") && refused.detail().contains("Contractor, Employee"),
        "{}",
        refused.detail()
    );
    assert!(stub.take().is_empty(), "nothing is sent for a refused value");

    // Boolean coercion of native text on read.
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: active, native: enabled, to_native: [string], to_scim: [bool] }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ method: POST, url: /users, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    for (text, expected) in [("True", true), ("false", false), ("1", true), ("0", false)] {
        stub.get_json("/api/users/b1", json!({"id": "b1", "login": "ann", "enabled": text}));
        let got = gw.get("/Users/b1").await;
        assert_eq!(got.status, 200, "{:?}", got.body);
        assert_eq!(got.body["active"], expected, "native {text:?}");
    }
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "b1"})));
    let created = gw.post("/Users", scim_user("ann", json!({"active": false}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let posted = stub.take().into_iter().find(|r| r.method == "POST").map(|r| r.json().clone());
    assert_eq!(posted, Some(json!({"login": "ann", "enabled": "false"})));
}

/// `emails[type eq "work"].value` picks by type; `primary_or_first` and `primary_or_only` pick
/// one element of a multi-valued attribute, the latter refusing ambiguity with its own detail.
#[tokio::test]
async fn typed_multi_valued_selection_and_primary_rules() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: 'emails[type eq "work"].value', native: workEmail }
  - { scim: emails.value, select: primary_or_first, native: email, read: false }
  - scim: phoneNumbers.value
    select: { primary_or_only: { error: "give one phone number or mark one primary" } }
    native: phone
    read: false
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: create user, method: POST, url: /users, body: "{doc}" }]
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "m1"})));
    stub.get_json("/api/users/m1", json!({"id": "m1", "login": "ann", "workEmail": "w@x.org", "email": "h@x.org"}));

    let emails = json!([
        {"type": "home", "value": "h@x.org", "primary": true},
        {"type": "work", "value": "w@x.org"}
    ]);
    let created =
        gw.post("/Users", scim_user("ann", json!({"emails": emails, "phoneNumbers": [{"value": "+1 555"}]}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        stub.take()[0].json(),
        &json!({"login": "ann", "workEmail": "w@x.org", "email": "h@x.org", "phone": "+1 555"})
    );
    // Read back through the typed path only.
    assert_eq!(created.body["emails"], json!([{"type": "work", "value": "w@x.org"}]));

    // No primary: the first email; the only phone.
    let emails = json!([{"type": "work", "value": "w@x.org"}, {"type": "home", "value": "h@x.org"}]);
    let phones = json!([{"value": "1", "type": "work"}, {"value": "2", "type": "mobile", "primary": true}]);
    let created = gw.post("/Users", scim_user("ann", json!({"emails": emails, "phoneNumbers": phones}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        stub.take()[0].json(),
        &json!({"login": "ann", "workEmail": "w@x.org", "email": "w@x.org", "phone": "2"})
    );

    // Two phones, none primary: refused before any native call.
    let phones = json!([{"value": "1", "type": "work"}, {"value": "2", "type": "mobile"}]);
    let refused = gw.post("/Users", scim_user("ann", json!({"phoneNumbers": phones}))).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.body["scimType"], "invalidValue");
    assert_eq!(refused.detail(), "give one phone number or mark one primary");
    assert!(stub.take().is_empty());
}

/// A create made of several calls: a capture feeds later URLs, a step runs only `when` its
/// condition holds, a `for_each` step fans out once per element; `get` combines two calls.
#[tokio::test]
async fn operation_sequences_capture_condition_and_fan_out() {
    let stub = Stub::start().await;
    let top = "vars:\n  actor: scimgate\n";
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: title, read: $.profile.title, create: false, update: profile.title }
  - { scim: emails.value, select: primary_or_first, native: email, read: false }
  - { scim: roles.value, read: $._.role_names, create: false, update: false }
get:
  - { name: read user, method: GET, url: "/users/{id}", record: $ }
  - { name: read roles, method: GET, url: "/users/{id}/roles", capture_all: { role_names: "$.items[*].name" } }
create:
  - name: create user
    method: POST
    url: /users
    body: "{doc}"
    capture: { uid: $.id }
    record: $
  - name: set title
    when: scim.title
    method: PUT
    url: "/users/{uid}/profile"
    body: { title: "{scim.title}", by: "{vars.actor}" }
  - name: add alias
    for_each: 'scim.emails | pluck("value")'
    method: POST
    url: "/users/{uid}/aliases"
    body: { alias: "{item}", position: "{index}" }
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping(top, users, PLAIN_GROUPS), &stub).await;
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u9", "login": "ann"})));
    stub.on("PUT", "/api/users/u9/profile", Reply::empty(204));
    stub.on("POST", "/api/users/u9/aliases", Reply::empty(201));
    stub.get_json("/api/users/u9", json!({"id": "u9", "login": "ann", "profile": {"title": "Eng"}}));
    stub.get_json("/api/users/u9/roles", json!({"items": [{"name": "Steward"}, {"name": "Admin"}]}));

    let emails = json!([{"value": "a@x.org"}, {"value": "b@x.org"}]);
    let created = gw.post("/Users", scim_user("ann", json!({"title": "Eng", "emails": emails}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let seen = stub.take();
    let lines: Vec<String> = seen.iter().map(Recorded::line).collect();
    assert_eq!(lines[..2], ["POST /api/users", "PUT /api/users/u9/profile"]);
    assert_eq!(lines[2..4], ["POST /api/users/u9/aliases", "POST /api/users/u9/aliases"]);
    assert_eq!(lines[4..], ["GET /api/users/u9", "GET /api/users/u9/roles"]);
    assert_eq!(seen[1].json(), &json!({"title": "Eng", "by": "scimgate"}));
    let mut aliases: Vec<Value> = seen[2..4].iter().map(|r| r.json().clone()).collect();
    aliases.sort_by_key(|a| a["position"].as_u64());
    assert_eq!(aliases, [json!({"alias": "a@x.org", "position": 0}), json!({"alias": "b@x.org", "position": 1})]);
    assert_eq!(created.body["title"], "Eng");
    assert_eq!(created.body["roles"], json!([{"value": "Steward"}, {"value": "Admin"}]));

    // Without a title and emails, the conditional and fan-out steps send nothing.
    let created = gw.post("/Users", scim_user("ann", json!({}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take_lines(), ["POST /api/users", "GET /api/users/u9", "GET /api/users/u9/roles"]);
}

#[tokio::test]
async fn an_attribute_written_only_on_create_is_advertised_immutable() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: title, create: jobTitle, update: false, read: $.jobTitle }
  - { scim: displayName, native: name }
get: [{ method: GET, url: "/users/{id}" }]
create: [{ name: create user, method: POST, url: /users, body: "{doc}" }]
update: { style: put, steps: [{ name: write user, method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;
    let schemas = gw.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    let mutability = |name: &str| {
        schemas.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["mutability"].clone())
    };
    assert_eq!(mutability("title"), Some(json!("immutable")), "{}", schemas.body);
    assert_eq!(mutability("displayName"), Some(json!("readWrite")));

    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann", "jobTitle": "Engineer", "name": "Ann"}));
    let changed = gw.patch("/Users/u1", json!([{"op": "replace", "path": "title", "value": "Boss"}])).await;
    assert_eq!(changed.status, 400, "{:?}", changed.body);
    assert_eq!(changed.body["scimType"], "mutability");
    assert!(stub.take().iter().all(|r| r.method == "GET"), "nothing was written");
}

/// A create step marked `read_back: false` answers with its own record, saving the read-back,
/// unless something changed the record after it: a later step, or a trigger, that ran.
#[tokio::test]
async fn a_complete_create_answer_is_not_read_back_unless_changed_after() {
    let stub = Stub::start().await;
    let users = r#"
id: { read: $.id }
attributes:
  - { scim: userName, native: login }
  - { scim: displayName, native: name }
  - { scim: title, native: title, create: false }
  - { scim: active, native: enabled }
get: [{ method: GET, url: "/users/{id}" }]
create:
  - { name: create user, method: POST, url: /users, body: "{doc}", capture: { new_id: $.id }, read_back: false }
  - { name: set title, when: scim.title, method: PUT, url: "/users/{new_id}/title", body: { title: "{scim.title}" } }
update: { style: put, steps: [{ method: PUT, url: "/users/{id}", body: "{doc}" }] }
delete: [{ method: DELETE, url: "/users/{id}" }]
list: { call: { method: GET, url: /users }, records: "$.items[*]", paging: { style: offset, max_limit: 10 } }
triggers:
  - attribute: active
    equals: false
    on_create: true
    steps: [{ name: disable user, method: POST, url: "/users/{id}/disable" }]
"#;
    let gw = Gateway::start(&mapping("", users, PLAIN_GROUPS), &stub).await;

    // Nothing ran after the create: its answer is the SCIM answer, and no GET is sent (the stub
    // has no record to read, so a read-back would fail the request).
    let answer = json!({"id": "u1", "login": "ann", "name": "Ann (as stored)", "enabled": true});
    stub.on("POST", "/api/users", Reply::json(201, answer));
    let created = gw.post("/Users", scim_user("ann", json!({"displayName": "Ann", "active": true}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take_lines(), ["POST /api/users"]);
    assert_eq!(created.body["id"], "u1");
    assert_eq!(created.body["displayName"], "Ann (as stored)");
    assert_eq!(created.body["active"], true);

    // A later step ran: the create answer is stale, the record is read back.
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u2", "login": "bob", "enabled": true})));
    stub.on("PUT", "/api/users/u2/title", Reply::empty(204));
    stub.get_json("/api/users/u2", json!({"id": "u2", "login": "bob", "title": "Eng", "enabled": true}));
    let created = gw.post("/Users", scim_user("bob", json!({"title": "Eng", "active": true}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take_lines(), ["POST /api/users", "PUT /api/users/u2/title", "GET /api/users/u2"]);
    assert_eq!(created.body["title"], "Eng");

    // A trigger wrote after the create: read back too.
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u3", "login": "cy", "enabled": true})));
    stub.on("POST", "/api/users/u3/disable", Reply::empty(204));
    stub.get_json("/api/users/u3", json!({"id": "u3", "login": "cy", "enabled": false}));
    let created = gw.post("/Users", scim_user("cy", json!({"active": false}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take_lines(), ["POST /api/users", "POST /api/users/u3/disable", "GET /api/users/u3"]);
    assert_eq!(created.body["active"], false);
}

/// Without `read_back: false` a create answer, however complete it looks, is only where the new
/// id is found: the record is read back, so an answer that leaves fields out cannot lose them.
#[tokio::test]
async fn a_create_answer_is_read_back_by_default() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", PLAIN_USERS, PLAIN_GROUPS), &stub).await;
    stub.on("POST", "/api/users", Reply::json(201, json!({"id": "u1", "login": "ann"})));
    stub.get_json("/api/users/u1", json!({"id": "u1", "login": "ann", "name": "Ann"}));
    let created = gw.post("/Users", scim_user("ann", json!({"displayName": "Ann"}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take_lines(), ["POST /api/users", "GET /api/users/u1"]);
    assert_eq!(created.body["displayName"], "Ann");
}
