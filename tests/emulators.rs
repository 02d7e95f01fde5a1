//! The backend emulators driven over real HTTP with `reqwest`: the native CRUD flows, paging walks, soft delete
//! and restore, error envelopes, authentication, the request log, and every fault knob.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Client, RequestBuilder};
use scimgate::emulator::{
    CollibraConfig, CollibraEmulator, DataHubConfig, DataHubEmulator, FaultRule, OpenMetadataConfig,
    OpenMetadataEmulator, ServerOptions,
};
use serde_json::{Value, json};

fn client() -> Client {
    // Several crypto providers may be linked; reqwest's rustls needs one chosen before the first client.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Client::builder().no_proxy().build().expect("reqwest client")
}

/// Sends a request and returns the status and the body as JSON (`Null` when empty or not JSON).
async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let bytes = response.bytes().await.expect("body read");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Sends a request and returns status, headers and raw body.
async fn send_raw(request: RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body read");
    (status, headers, bytes.to_vec())
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|items| items.iter().filter_map(|i| i.get(key).and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default()
}

// === OpenMetadata ===

struct Om {
    emu: OpenMetadataEmulator,
    http: Client,
    token: String,
}

impl Om {
    async fn start() -> Om {
        Self::with(OpenMetadataConfig::default()).await
    }

    async fn with(config: OpenMetadataConfig) -> Om {
        let token = config.token.clone();
        let emu = OpenMetadataEmulator::start(config).await.expect("OpenMetadata emulator starts");
        Om { emu, http: client(), token }
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.emu.api_url())).bearer_auth(&self.token)
    }

    async fn create_user(&self, body: Value) -> Value {
        let (status, user) = send(self.req(Method::POST, "/users").json(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user
    }

    async fn team_id(&self, name: &str) -> String {
        let (status, team) = send(self.req(Method::GET, &format!("/teams/name/{name}"))).await;
        assert_eq!(status, StatusCode::OK, "{team}");
        team["id"].as_str().expect("team id").to_owned()
    }
}

fn json_patch(builder: RequestBuilder, ops: Value) -> RequestBuilder {
    builder.header("content-type", "application/json-patch+json").body(ops.to_string())
}

#[tokio::test]
async fn openmetadata_user_create_read_patch_and_validation() {
    let om = Om::start().await;
    om.emu.seed_team_under("Engineering", "Department", None).expect("department");
    om.emu.seed_team_under("platform", "Group", Some("Engineering")).expect("group");
    let platform = om.team_id("platform").await;
    let (_, steward) = send(om.req(Method::GET, "/roles/name/DataSteward")).await;
    let steward = steward["id"].as_str().expect("role id").to_owned();

    let (status, headers, raw) = send_raw(om.req(Method::POST, "/users").json(&json!({
        "name": "jdoe", "email": "jdoe@example.com", "displayName": "Jane Doe", "externalId": "00u1ab",
        "teams": [platform], "roles": [steward]
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let created: Value = serde_json::from_slice(&raw).expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(headers["location"], format!("{}/users/{id}", om.emu.api_url()).as_str());
    assert_eq!(created["version"], json!(0.1));
    assert_eq!(created["deleted"], json!(false));
    assert_eq!(created["fullyQualifiedName"], "jdoe");
    // The request carried UUIDs; the answer carries entity references.
    assert_eq!(created["teams"][0]["id"], platform.as_str());
    assert_eq!(created["teams"][0]["type"], "team");
    assert_eq!(created["teams"][0]["name"], "platform");
    assert_eq!(created["roles"][0]["name"], "DataSteward");

    let (status, plain) = send(om.req(Method::GET, &format!("/users/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(plain.get("teams").is_none(), "relationships only when asked for in fields: {plain}");
    let (_, with) = send(om.req(Method::GET, "/users/name/jdoe?fields=teams,roles")).await;
    assert_eq!(names(&with["teams"], "name"), ["platform"]);
    assert_eq!(names(&with["inheritedRoles"], "name"), ["DataConsumer"], "Organization's default role");
    let (status, bad_field) = send(om.req(Method::GET, "/users/name/jdoe?fields=teams,nonsense")).await;
    assert_eq!((status, bad_field["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)));

    let (status, patched) = send(json_patch(
        om.req(Method::PATCH, &format!("/users/{id}")),
        json!([
            {"op": "replace", "path": "/displayName", "value": "Jane Q. Doe"},
            {"op": "remove", "path": "/roles/0"},
            {"op": "add", "path": "/teams/-", "value": {"id": om.team_id("Engineering").await, "type": "team"}}
        ]),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["displayName"], "Jane Q. Doe");
    assert_eq!(patched["version"], json!(0.2));
    assert_eq!(names(&patched["teams"], "name"), ["Engineering", "platform"]);
    assert_eq!(patched["roles"], json!([]));

    let (status, err) =
        send(json_patch(om.req(Method::PATCH, "/users/name/jdoe"), json!([{"op": "remove", "path": "/roles/3"}])))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "remove needs an existing index: {err}");
    let (status, _) = send(
        om.req(Method::PATCH, "/users/name/jdoe")
            .json(&json!([{"op": "replace", "path": "/displayName", "value": "x"}])),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, dup) =
        send(om.req(Method::POST, "/users").json(&json!({"name": "JDoe", "email": "x@example.com"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(dup, json!({"code": 409, "message": "Entity already exists"}));

    for (body, expected) in [
        (json!({"name": "jane@example.com", "email": "jane@example.com"}), StatusCode::BAD_REQUEST),
        (json!({"name": "jane", "email": "jane@example.com", "nickname": "j"}), StatusCode::BAD_REQUEST),
        (json!({"name": "jane"}), StatusCode::BAD_REQUEST),
        (json!({"name": "jane", "email": "not-an-email"}), StatusCode::BAD_REQUEST),
        (json!({"name": "jane", "email": "jane@example.com", "teams": ["not-a-uuid"]}), StatusCode::BAD_REQUEST),
        (
            json!({"name": "jane", "email": "jane@example.com", "teams": ["7a2b921b-f623-4eb5-9736-649788ad842c"]}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, err) = send(om.req(Method::POST, "/users").json(&body)).await;
        assert_eq!(status, expected, "{body} → {err}");
        assert_eq!(err["code"], json!(expected.as_u16()));
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(om.emu.user_by_name("jane").is_none(), "rejected creates store nothing");
    assert_eq!(om.emu.users().len(), 1);
}

#[tokio::test]
async fn openmetadata_put_creates_then_replaces() {
    let om = Om::start().await;
    let body = json!({"name": "ana", "email": "ana@example.com", "displayName": "Ana"});
    let (status, first) = send(om.req(Method::PUT, "/users").json(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, same) = send(om.req(Method::PUT, "/users").json(&body)).await;
    assert_eq!((status, same["version"].clone()), (StatusCode::OK, json!(0.1)), "no change, no new version");
    let (status, changed) =
        send(om.req(Method::PUT, "/users").json(&json!({"name": "ana", "email": "ana@example.com"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["id"], first["id"]);
    assert_eq!(changed["version"], json!(0.2));
    assert!(changed.get("displayName").is_none(), "PUT replaces: an absent field is cleared");
}

#[tokio::test]
async fn openmetadata_soft_delete_is_hidden_until_restored_and_hard_delete_removes() {
    let om = Om::start().await;
    let user = om.create_user(json!({"name": "sam", "email": "sam@example.com"})).await;
    let id = user["id"].as_str().expect("id");

    let (status, deleted) = send(om.req(Method::DELETE, &format!("/users/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["deleted"], json!(true));
    let (status, missing) = send(om.req(Method::GET, &format!("/users/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["message"], format!("user instance for {id} not found"));
    let (status, _) = send(om.req(Method::GET, &format!("/users/{id}?include=deleted"))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = send(om.req(Method::GET, "/users")).await;
    assert_eq!(listed["paging"]["total"], 0);
    let (_, all) = send(om.req(Method::GET, "/users?include=all")).await;
    assert_eq!(names(&all["data"], "name"), ["sam"]);
    let (status, dup) =
        send(om.req(Method::POST, "/users").json(&json!({"name": "sam", "email": "s@example.com"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "a soft-deleted name is still taken: {dup}");

    let (status, restored) = send(om.req(Method::PUT, "/users/restore").json(&json!({"id": id}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restored["deleted"], json!(false));
    let (status, _) = send(om.req(Method::GET, "/users/name/sam")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = send(om.req(Method::DELETE, "/users/name/sam?hardDelete=true")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(om.req(Method::GET, &format!("/users/{id}?include=all"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(om.emu.users().is_empty());
}

#[tokio::test]
async fn openmetadata_cursor_paging_walks_forward_and_back() {
    let om = Om::start().await;
    for i in 0..25 {
        om.emu.seed_user(json!({"name": format!("user{i:02}"), "email": format!("u{i}@example.com")})).expect("seed");
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let path = match &after {
            Some(cursor) => format!("/users?limit=10&after={}", enc(cursor)),
            None => "/users?limit=10".to_owned(),
        };
        let (status, page) = send(om.req(Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["paging"]["total"], 25);
        assert_eq!(page["paging"].get("before").is_some(), after.is_some(), "{page}");
        seen.extend(names(&page["data"], "name"));
        pages.push(page.clone());
        match page["paging"]["after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).map(|i| format!("user{i:02}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages.len(), 3);
    let before = pages[2]["paging"]["before"].as_str().expect("last page has before");
    let (_, back) = send(om.req(Method::GET, &format!("/users?limit=10&before={}", enc(before)))).await;
    assert_eq!(names(&back["data"], "name"), names(&pages[1]["data"], "name"));
    let (status, _) = send(om.req(Method::GET, "/users?limit=2&before=x&after=y")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, zero) = send(om.req(Method::GET, "/users?limit=0")).await;
    assert_eq!((zero["data"].clone(), zero["paging"]["total"].clone()), (json!([]), json!(25)));
}

#[tokio::test]
async fn openmetadata_team_hierarchy_and_membership() {
    let om = Om::start().await;
    let (status, org) = send(om.req(Method::GET, "/teams/name/Organization?fields=defaultRoles")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(org["teamType"], "Organization");
    assert_eq!(names(&org["defaultRoles"], "name"), ["DataConsumer"]);

    om.emu.seed_team_under("Engineering", "Department", None).expect("department");
    let eng = om.team_id("Engineering").await;
    let (status, group) = send(om.req(Method::POST, "/teams").json(&json!({
        "name": "data-platform", "displayName": "Data Platform", "teamType": "Group", "parents": [eng]
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["id"].as_str().expect("id").to_owned();
    assert_eq!(names(&group["parents"], "name"), ["Engineering"]);

    for (body, why) in [
        (json!({"name": "sub", "teamType": "Group", "parents": [group_id]}), "a Group has no child teams"),
        (json!({"name": "org2", "teamType": "Organization"}), "only one Organization"),
        (
            json!({"name": "bu", "teamType": "BusinessUnit", "parents": [eng]}),
            "a BusinessUnit cannot sit under a Department",
        ),
        (json!({"name": "x", "teamType": "Squad"}), "unknown team type"),
        (json!({"name": "x"}), "teamType is required"),
    ] {
        let (status, err) = send(om.req(Method::POST, "/teams").json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {err}");
    }
    let (_, eng_children) = send(om.req(Method::GET, "/teams/name/Engineering?fields=children,parents")).await;
    assert_eq!(names(&eng_children["children"], "name"), ["data-platform"]);
    assert_eq!(names(&eng_children["parents"], "name"), ["Organization"]);

    let a = om.create_user(json!({"name": "alice", "email": "alice@example.com"})).await;
    let b = om.create_user(json!({"name": "bob", "email": "bob@example.com"})).await;
    let c = om.create_user(json!({"name": "carol", "email": "carol@example.com"})).await;
    assert_eq!(names(&a["teams"], "name"), ["Organization"], "a user without teams belongs to Organization");

    let (status, event) = send(om.req(Method::PUT, &format!("/teams/{group_id}/users")).json(&json!([
        {"id": a["id"], "type": "user"}, {"id": b["id"], "type": "user"}
    ])))
    .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["eventType"], "entityUpdated");
    assert_eq!(event["entityId"], group_id.as_str());
    assert_eq!(event["changeDescription"]["fieldsAdded"][0]["name"], "users");

    let (_, members) = send(om.req(Method::GET, "/users?team=data-platform&fields=teams")).await;
    assert_eq!(names(&members["data"], "name"), ["alice", "bob"]);
    assert_eq!(names(&members["data"][0]["teams"], "name"), ["data-platform"]);

    // Replacing the list removes whoever is not in it.
    let (status, _) = send(om.req(Method::PUT, &format!("/teams/{group_id}/users")).json(&json!([
        {"id": b["id"], "type": "user"}, {"id": c["id"], "type": "user"}
    ])))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, team) = send(om.req(Method::GET, &format!("/teams/{group_id}?fields=users,userCount"))).await;
    assert_eq!(names(&team["users"], "name"), ["bob", "carol"]);
    assert_eq!(team["userCount"], 2);
    let (_, eng_count) = send(om.req(Method::GET, "/teams/name/Engineering?fields=userCount")).await;
    assert_eq!(eng_count["userCount"], 2, "userCount includes sub-teams");

    let (status, _) =
        send(om.req(Method::DELETE, &format!("/teams/{group_id}/users/{}", b["id"].as_str().unwrap_or("")))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, team) = send(om.req(Method::GET, &format!("/teams/{group_id}?fields=users"))).await;
    assert_eq!(names(&team["users"], "name"), ["carol"]);

    // JSON Patch on the team: remove the member at index 0, add alice back with add /users/-.
    let (status, patched) = send(json_patch(
        om.req(Method::PATCH, &format!("/teams/{group_id}")),
        json!([
            {"op": "remove", "path": "/users/0"},
            {"op": "add", "path": "/users/-", "value": {"id": a["id"], "type": "user"}},
            {"op": "replace", "path": "/displayName", "value": "Data Platform Team"}
        ]),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(names(&patched["users"], "name"), ["alice"]);
    assert_eq!(patched["displayName"], "Data Platform Team");
    let (status, _) = send(json_patch(
        om.req(Method::PATCH, "/teams/name/data-platform"),
        json!([{"op": "replace", "path": "/teamType", "value": "Department"}]),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a Group cannot change its type");

    let (status, err) = send(om.req(Method::DELETE, "/teams/name/Engineering")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a team with children needs recursive=true: {err}");
    let (status, _) = send(om.req(Method::DELETE, "/teams/name/Organization")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(om.req(Method::DELETE, &format!("/teams/{group_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, alice) = send(om.req(Method::GET, "/users/name/alice?fields=teams")).await;
    assert_eq!(names(&alice["teams"], "name"), ["Organization"], "soft-deleted teams are not shown");
    let (status, restored) = send(om.req(Method::PUT, "/teams/restore").json(&json!({"id": group_id}))).await;
    assert_eq!((status, restored["deleted"].clone()), (StatusCode::OK, json!(false)));
    let (_, alice) = send(om.req(Method::GET, "/users/name/alice?fields=teams")).await;
    assert_eq!(names(&alice["teams"], "name"), ["data-platform"]);

    let stored = om.emu.team_by_name("data-platform").expect("stored team");
    assert_eq!(names(&stored["users"], "name"), ["alice"]);
}

#[tokio::test]
async fn openmetadata_roles_are_seeded_and_looked_up_by_name() {
    let om = Om::start().await;
    for role in ["DataConsumer", "DataSteward"] {
        let (status, body) = send(om.req(Method::GET, &format!("/roles/name/{role}?fields=policies"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["name"], role);
        assert!(!body["policies"].as_array().is_none_or(Vec::is_empty));
    }
    let (status, _) = send(om.req(Method::GET, "/roles/name/Admin")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(om.req(Method::POST, "/roles").json(&json!({"name": "Auditor"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "policies are required");
    let (status, _) =
        send(om.req(Method::POST, "/roles").json(&json!({"name": "Auditor", "policies": ["AuditPolicy"]}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = send(om.req(Method::GET, "/roles?limit=10")).await;
    assert_eq!(names(&list["data"], "name"), ["Auditor", "DataConsumer", "DataSteward"]);
}

#[tokio::test]
async fn openmetadata_search_finds_users_by_email_after_the_index_lag() {
    // Long enough that the early search surely comes before it, even on a loaded machine.
    let lag = Duration::from_millis(1500);
    let om = Om::with(OpenMetadataConfig { search_lag: lag, ..OpenMetadataConfig::default() }).await;
    om.create_user(json!({"name": "jane.doe", "email": "Jane.Doe@example.com"})).await;
    let search =
        |q: &str| om.req(Method::GET, &format!("/search/query?q={}&index=user_search_index&from=0&size=1", enc(q)));
    let (status, early) = send(search("email.keyword:Jane.Doe@example.com")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(early["hits"]["total"]["value"], 0, "the index lags writes");
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    let (_, found) = send(search("email.keyword:Jane.Doe@example.com")).await;
    assert_eq!(found["hits"]["total"]["value"], 1);
    let source = &found["hits"]["hits"][0]["_source"];
    assert_eq!(source["name"], "jane.doe");
    assert_eq!(source["fullyQualifiedName"], "\"jane.doe\"", "dotted names are quoted in the FQN");
    let (_, exact) = send(search("email.keyword:jane.doe@example.com")).await;
    assert_eq!(exact["hits"]["total"]["value"], 0, "keyword match is case-sensitive");
}

// === Collibra ===

struct Collibra {
    emu: CollibraEmulator,
    http: Client,
    user: String,
    password: String,
}

impl Collibra {
    async fn start() -> Collibra {
        let config = CollibraConfig::default();
        let (user, password) = (config.username.clone(), config.password.clone());
        let emu = CollibraEmulator::start(config).await.expect("Collibra emulator starts");
        Collibra { emu, http: client(), user, password }
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.emu.api_url())).basic_auth(&self.user, Some(&self.password))
    }

    async fn add_user(&self, user_name: &str, first: &str, last: &str) -> String {
        let (status, user) = send(self.req(Method::POST, "/users").json(&json!({
            "userName": user_name, "emailAddress": format!("{user_name}@example.com"), "firstName": first, "lastName": last
        })))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user["id"].as_str().expect("id").to_owned()
    }
}

#[tokio::test]
async fn collibra_user_create_merge_patch_and_delete() {
    let c = Collibra::start().await;
    let (status, user) = send(c.req(Method::POST, "/users").json(&json!({
        "userName": "jdoe", "emailAddress": "jdoe@example.com", "firstName": "Jane", "lastName": "Doe"
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = user["id"].as_str().expect("id").to_owned();
    assert_eq!(user["resourceType"], "User");
    assert_eq!(user["userName"], "jdoe");
    assert_eq!(user["emailAddress"], "jdoe@example.com");
    assert_eq!((user["enabled"].clone(), user["userSource"].clone()), (json!(true), json!("INTERNAL")));
    assert!(user["createdOn"].is_i64() && user["createdBy"].is_string());

    // Updates name the fields differently; the create names are not update fields, and null leaves alone.
    let (status, patched) = send(c.req(Method::PATCH, &format!("/users/{id}")).json(&json!({
        "email": "jane.doe@example.com", "userName": "ignored", "emailAddress": "ignored@example.com",
        "firstName": null, "lastName": "Dough"
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["emailAddress"], "jane.doe@example.com");
    assert_eq!(patched["userName"], "jdoe");
    assert_eq!(patched["firstName"], "Jane", "null does not clear");
    assert_eq!(patched["lastName"], "Dough");
    let (_, renamed) = send(c.req(Method::PATCH, &format!("/users/{id}")).json(&json!({"username": "jane.doe"}))).await;
    assert_eq!(renamed["userName"], "jane.doe");

    let (status, dup) =
        send(c.req(Method::POST, "/users").json(&json!({"userName": "JANE.DOE", "emailAddress": "x@example.com"})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(dup["errorCode"], "userAlreadyExists");
    assert_eq!(dup["statusCode"], 400);
    assert_eq!(dup["titleMessage"], "Bad Request");
    assert!(dup["helpMessage"].is_string() && dup["userMessage"].is_string());
    let (status, err) =
        send(c.req(Method::POST, "/users").json(&json!({"userName": " padded", "emailAddress": "p@example.com"})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = send(c.req(Method::POST, "/users").json(&json!({"userName": "nomail"}))).await;
    assert_eq!((status, err["errorCode"].clone()), (StatusCode::BAD_REQUEST, json!("missingRequiredField")));

    let (status, by_mail) = send(c.req(Method::GET, "/users/email/jane.doe@example.com")).await;
    assert_eq!((status, by_mail["id"].clone()), (StatusCode::OK, json!(id)));

    let (status, headers, body) = send_raw(c.req(Method::DELETE, &format!("/users/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{headers:?}");
    assert!(body.is_empty());
    let (status, missing) = send(c.req(Method::GET, &format!("/users/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["errorCode"], "userNotFound");
    assert_eq!(missing["statusCode"], 404);
    assert!(c.emu.users().is_empty());
}

#[tokio::test]
async fn collibra_disabled_users_and_name_search() {
    let c = Collibra::start().await;
    let jdoe = c.add_user("jdoe", "Jane", "Doe").await;
    c.add_user("bsmith", "Bob", "Smith").await;
    c.add_user("doemaster", "Zed", "Zulu").await;
    let (_, doe) = send(c.req(Method::GET, "/users?name=doe&nameSearchFields=LASTNAME")).await;
    assert_eq!(names(&doe["results"], "userName"), ["jdoe"]);
    let (_, doe_any) = send(c.req(Method::GET, "/users?name=DOE")).await;
    assert_eq!(names(&doe_any["results"], "userName"), ["doemaster", "jdoe"], "anywhere, case-insensitive");
    let (_, mail_only) = send(c.req(Method::GET, "/users?name=example.com")).await;
    assert_eq!(mail_only["total"], 0, "EMAIL is not searched by default");
    let (_, mail) = send(c.req(Method::GET, "/users?name=example.com&nameSearchFields=EMAIL")).await;
    assert_eq!(mail["total"], 3);
    let (_, full) = send(c.req(Method::GET, "/users?name=jane%20doe&nameSearchFields=FIRSTNAME_LASTNAME")).await;
    assert_eq!(names(&full["results"], "userName"), ["jdoe"]);

    let (status, off) = send(c.req(Method::PATCH, &format!("/users/{jdoe}")).json(&json!({"enabled": false}))).await;
    assert_eq!((status, off["enabled"].clone()), (StatusCode::OK, json!(false)));
    let (_, active) = send(c.req(Method::GET, "/users")).await;
    assert_eq!(names(&active["results"], "userName"), ["bsmith", "doemaster"]);
    let (_, every) = send(c.req(Method::GET, "/users?includeDisabled=true&sortOrder=DESC")).await;
    assert_eq!(names(&every["results"], "userName"), ["jdoe", "doemaster", "bsmith"]);
    let (_, on) = send(c.req(Method::PATCH, &format!("/users/{jdoe}")).json(&json!({"enabled": true}))).await;
    assert_eq!(on["enabled"], json!(true));
}

#[tokio::test]
async fn collibra_offset_paging_and_count_limit() {
    let c = Collibra::start().await;
    for i in 0..12 {
        c.emu
            .seed_user(json!({"userName": format!("u{i:02}"), "emailAddress": format!("u{i}@example.com")}))
            .expect("seed");
    }
    let mut walked = Vec::new();
    for offset in (0..12).step_by(5) {
        let (status, page) = send(c.req(Method::GET, &format!("/users?offset={offset}&limit=5"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (page["total"].clone(), page["offset"].clone(), page["limit"].clone()),
            (json!(12), json!(offset), json!(5))
        );
        walked.extend(names(&page["results"], "userName"));
    }
    assert_eq!(walked, (0..12).map(|i| format!("u{i:02}")).collect::<Vec<_>>());
    let (_, uncounted) = send(c.req(Method::GET, "/users?limit=2&countLimit=0")).await;
    assert!(uncounted.get("total").is_none(), "{uncounted}");
    let (_, capped) = send(c.req(Method::GET, "/users?limit=2&countLimit=5")).await;
    assert_eq!(capped["total"], 5);
    let (_, default_limit) = send(c.req(Method::GET, "/users?limit=0")).await;
    assert_eq!(default_limit["limit"], 1000);
    let (status, err) = send(c.req(Method::GET, "/users?limit=1001")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
}

#[tokio::test]
async fn collibra_groups_membership_and_name_match_modes() {
    let c = Collibra::start().await;
    let (status, group) = send(c.req(Method::POST, "/userGroups").json(&json!({"name": "Data Stewards"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(group["resourceType"], "UserGroup");
    let gid = group["id"].as_str().expect("id").to_owned();
    let (status, dup) = send(c.req(Method::POST, "/userGroups").json(&json!({"name": "data stewards"}))).await;
    assert_eq!((status, dup["errorCode"].clone()), (StatusCode::BAD_REQUEST, json!("userGroupAlreadyExists")));

    let (_, exact) = send(c.req(Method::GET, "/userGroups?name=data%20stewards&nameMatchMode=EXACT")).await;
    assert_eq!(exact["total"], 0, "EXACT is case-sensitive");
    let (_, exact) = send(c.req(Method::GET, "/userGroups?name=Data%20Stewards&nameMatchMode=EXACT")).await;
    assert_eq!(exact["total"], 1);
    let (_, start) = send(c.req(Method::GET, "/userGroups?name=data&nameMatchMode=START")).await;
    assert_eq!(start["total"], 1);
    let (_, plain) = send(c.req(Method::GET, "/userGroups")).await;
    assert_eq!(names(&plain["results"], "name"), ["Data Stewards"]);
    let (_, everyone) = send(c.req(Method::GET, "/userGroups?includeEveryone=true")).await;
    assert_eq!(names(&everyone["results"], "name"), ["Data Stewards", "Everyone"]);

    let a = c.add_user("alice", "Alice", "A").await;
    let b = c.add_user("bob", "Bob", "B").await;
    let (status, added) =
        send(c.req(Method::POST, &format!("/userGroups/{gid}/users")).json(&json!({"userIds": [a, b]}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&added, "userName"), ["alice", "bob"], "the answer is the users, not the group");
    let (_, members) = send(c.req(Method::GET, &format!("/users?groupId={gid}"))).await;
    assert_eq!(names(&members["results"], "userName"), ["alice", "bob"]);
    let (_, of_alice) = send(c.req(Method::GET, &format!("/userGroups?userId={a}"))).await;
    assert_eq!(names(&of_alice["results"], "name"), ["Data Stewards"]);

    let (status, _, body) = send_raw(
        c.req(Method::DELETE, &format!("/userGroups/{gid}/users")).json(&json!({"userIds": [a], "userGroupId": gid})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(c.emu.members_of("Data Stewards"), Some(vec!["bob".to_owned()]));
    let (status, err) = send(
        c.req(Method::POST, &format!("/userGroups/{gid}/users"))
            .json(&json!({"userIds": ["2c40d3a4-0000-4000-8000-000000000000"]})),
    )
    .await;
    assert_eq!((status, err["errorCode"].clone()), (StatusCode::NOT_FOUND, json!("userNotFound")));

    // The user side: PUT replaces the user's groups.
    let (_, other) = send(c.req(Method::POST, "/userGroups").json(&json!({"name": "Auditors"}))).await;
    let other = other["id"].as_str().expect("id").to_owned();
    let (status, now) =
        send(c.req(Method::PUT, &format!("/users/{b}/userGroups")).json(&json!({"userGroupIds": [other]}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&now, "name"), ["Auditors"]);
    assert_eq!(c.emu.members_of("Data Stewards"), Some(vec![]));

    let (status, renamed) =
        send(c.req(Method::PATCH, &format!("/userGroups/{gid}")).json(&json!({"name": "Stewards"}))).await;
    assert_eq!((status, renamed["name"].clone()), (StatusCode::OK, json!("Stewards")));
    let (status, _, body) = send_raw(c.req(Method::DELETE, &format!("/userGroups/{gid}"))).await;
    assert_eq!(status, StatusCode::OK, "group delete is 200, unlike user delete");
    assert!(body.is_empty());
    assert!(c.emu.group_by_name("Stewards").is_none());
}

#[tokio::test]
async fn collibra_roles_are_assigned_through_responsibilities() {
    let c = Collibra::start().await;
    let user = c.add_user("jdoe", "Jane", "Doe").await;
    let (_, roles) = send(c.req(Method::GET, "/roles?name=Sysadmin&nameMatchMode=EXACT&type=GLOBAL")).await;
    assert_eq!(roles["total"], 1);
    let role = roles["results"][0]["id"].as_str().expect("role id").to_owned();
    let (status, r) =
        send(c.req(Method::POST, "/responsibilities").json(&json!({"roleId": role, "ownerId": user}))).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["role"]["name"], "Sysadmin");
    assert_eq!(r["owner"], json!({"id": user, "resourceType": "User"}));
    assert!(r.get("baseResource").is_none(), "a global assignment has no resource");
    let (status, _) =
        send(c.req(Method::POST, "/responsibilities").json(&json!({"roleId": role, "ownerId": user}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, found) = send(c.req(Method::GET, &format!("/responsibilities?ownerIds={user}&roleIds={role}"))).await;
    assert_eq!(found["total"], 1);
    let rid = found["results"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(rid, r["id"].as_str().expect("id"));
    let (status, _) = send(c.req(Method::DELETE, &format!("/responsibilities/{rid}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, gone) = send(c.req(Method::GET, &format!("/responsibilities?ownerIds={user}"))).await;
    assert_eq!(gone["total"], 0);
    assert!(c.emu.responsibilities().is_empty());
}

// === DataHub ===

struct Dh {
    emu: DataHubEmulator,
    http: Client,
    token: String,
}

impl Dh {
    async fn with(config: DataHubConfig) -> Dh {
        let token = config.token.clone();
        let emu = DataHubEmulator::start(config).await.expect("DataHub emulator starts");
        Dh { emu, http: client(), token }
    }

    async fn start() -> Dh {
        Self::with(DataHubConfig::default()).await
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.emu.api_url())).bearer_auth(&self.token)
    }
}

fn corp_user(name: &str, email: &str) -> Value {
    json!({
        "urn": format!("urn:li:corpuser:{name}"),
        "corpUserKey": {"value": {"username": name}},
        "corpUserInfo": {"value": {"active": true, "displayName": name, "email": email}},
        "corpUserStatus": {"value": {"status": "ACTIVE", "lastModified": {"time": 1_718_000_000_000_i64, "actor": "urn:li:corpuser:scim-gw"}}}
    })
}

#[tokio::test]
async fn datahub_upsert_read_back_and_aspect_wrapping() {
    let dh = Dh::start().await;
    let (status, echoed) = send(
        dh.req(Method::POST, "/entity/corpuser?async=false").json(&json!([corp_user("jdoe", "jdoe@example.com")])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert_eq!(echoed[0]["urn"], "urn:li:corpuser:jdoe");
    assert_eq!(echoed[0]["corpUserInfo"]["value"]["email"], "jdoe@example.com");

    let (status, entity) = send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:jdoe")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entity["corpUserKey"], json!({"value": {"username": "jdoe"}}));
    assert_eq!(entity["corpUserInfo"]["value"]["active"], json!(true));
    let (_, only) =
        send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:jdoe?aspects=corpUserStatus&systemMetadata=true"))
            .await;
    let mut keys: Vec<&String> = only.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["corpUserStatus", "urn"]);
    assert!(only["corpUserStatus"]["systemMetadata"]["lastObserved"].is_i64());
    let (status, aspect) = send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:jdoe/corpUserInfo")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(aspect["value"]["displayName"], "jdoe");

    let (status, _, body) = send_raw(dh.req(Method::HEAD, "/entity/corpuser/urn:li:corpuser:jdoe")).await;
    assert_eq!((status, body.len()), (StatusCode::NO_CONTENT, 0));
    let (status, _, body) = send_raw(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty(), "DataHub answers 404 without a body");
    let (status, _, _) = send_raw(dh.req(Method::HEAD, "/entity/corpuser/urn:li:corpuser:nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) =
        send_raw(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:jdoe/groupMembership")).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_FOUND, 0));

    // A write replaces the whole aspect; replacing an existing one needs createIfNotExists=false.
    let (status, _) = send(
        dh.req(Method::POST, "/entity/corpuser/urn:li:corpuser:jdoe/corpUserInfo?async=false&createIfNotExists=false")
            .json(&json!({"value": {"active": false, "title": "Analyst"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored = dh.emu.user("jdoe").expect("stored");
    assert_eq!(stored["corpUserInfo"]["value"], json!({"active": false, "title": "Analyst"}));

    let (_, batch) = send(dh.req(Method::POST, "/entity/corpuser/batchGet").json(&json!([
        {"urn": "urn:li:corpuser:jdoe", "corpUserInfo": {}}, {"urn": "urn:li:corpuser:nobody"}
    ])))
    .await;
    assert_eq!(batch.as_array().map(Vec::len), Some(1));
    assert!(batch[0].get("corpUserStatus").is_none());
}

#[tokio::test]
async fn datahub_rejects_invalid_aspects_urns_and_bodies() {
    let dh = Dh::start().await;
    for (path, body, why) in [
        (
            "/entity/corpuser?async=false",
            json!([{"urn": "urn:li:corpuser:x", "corpUserInfo": {"value": {"displayName": "X"}}}]),
            "corpUserInfo.active is required",
        ),
        (
            "/entity/corpGroup?async=false",
            json!([{"urn": "urn:li:corpGroup:eng", "corpGroupInfo": {"value": {"displayName": "Eng", "admins": [], "members": []}}}]),
            "corpGroupInfo needs admins, members and groups",
        ),
        (
            "/entity/corpuser?async=false",
            json!([{"urn": "urn:li:corpGroup:eng", "status": {"value": {"removed": false}}}]),
            "a group urn on the user endpoint",
        ),
        (
            "/entity/corpuser?async=false",
            json!([{"urn": "jdoe", "status": {"value": {"removed": false}}}]),
            "not a urn",
        ),
        (
            "/entity/corpuser?async=false",
            json!([{"urn": "urn:li:corpuser:x", "datasetProperties": {"value": {}}}]),
            "unknown aspect",
        ),
        (
            "/entity/corpuser?async=false",
            json!([{"urn": "urn:li:corpuser:x", "status": {"removed": true}}]),
            "aspect not wrapped in value",
        ),
        (
            "/entity/corpuser?async=false",
            json!([{"urn": "urn:li:corpuser:x", "corpUserKey": {"value": {"username": "y"}}}]),
            "key must match the urn",
        ),
        (
            "/entity/corpuser?async=false",
            json!([{"urn": "urn:li:corpuser:x", "groupMembership": {"value": {"groups": ["eng"]}}}]),
            "groups must be urns",
        ),
    ] {
        let (status, err) = send(dh.req(Method::POST, path).json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {err}");
        assert!(err["error"].as_str().is_some_and(|m| !m.is_empty()), "{why}: {err}");
    }
    assert!(dh.emu.users().is_empty() && dh.emu.groups().is_empty());
}

#[tokio::test]
async fn datahub_async_writes_answer_202_and_show_up_after_the_lag() {
    // Long enough that the early read surely comes before it, even on a loaded machine.
    let lag = Duration::from_millis(1500);
    let dh = Dh::with(DataHubConfig { async_lag: lag, ..DataHubConfig::default() }).await;
    let (status, echoed) =
        send(dh.req(Method::POST, "/entity/corpuser").json(&json!([corp_user("late", "late@example.com")]))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "async defaults to true");
    assert_eq!(echoed[0]["urn"], "urn:li:corpuser:late");
    assert_eq!(dh.emu.pending_writes(), 1);
    let (status, _, _) = send_raw(dh.req(Method::HEAD, "/entity/corpuser/urn:li:corpuser:late")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not visible before the lag");
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    let (status, _, _) = send_raw(dh.req(Method::HEAD, "/entity/corpuser/urn:li:corpuser:late")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(dh.emu.pending_writes(), 0);
    let (status, _) =
        send(dh.req(Method::POST, "/entity/corpuser?async=false").json(&json!([corp_user("now", "now@example.com")])))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(dh.emu.user("now").is_some(), "async=false is visible at once");
}

#[tokio::test]
async fn datahub_group_members_come_from_user_membership_aspects() {
    let dh = Dh::start().await;
    dh.emu
        .seed(
            "corpGroup",
            json!([{
                "urn": "urn:li:corpGroup:eng", "corpGroupKey": {"value": {"name": "eng"}},
                "corpGroupInfo": {"value": {"displayName": "Engineering", "admins": [], "members": [], "groups": []}},
                "origin": {"value": {"type": "EXTERNAL", "externalType": "scim"}}
            }]),
        )
        .expect("group");
    dh.emu
        .seed(
            "corpuser",
            json!([
                corp_user("ann", "ann@example.com"),
                corp_user("ben", "ben@example.com"),
                corp_user("cid", "cid@example.com")
            ]),
        )
        .expect("users");
    for user in ["ann", "ben", "cid"] {
        let (status, _) = send(
            dh.req(Method::POST, &format!("/entity/corpuser/urn:li:corpuser:{user}/groupMembership?async=false"))
                .json(&json!({"value": {"groups": ["urn:li:corpGroup:eng"]}})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let rel = |extra: &str| {
        dh.req(Method::GET, &format!("/relationship/corpGroup/urn:li:corpGroup:eng?relationshipType[]=IsMemberOfGroup&direction=INCOMING{extra}"))
    };
    let (status, page1) = send(rel("&count=2")).await;
    assert_eq!(status, StatusCode::OK);
    let sources: Vec<&str> =
        page1["results"].as_array().into_iter().flatten().filter_map(|r| r["source"]["urn"].as_str()).collect();
    assert_eq!(sources, ["urn:li:corpuser:ann", "urn:li:corpuser:ben"]);
    assert_eq!(page1["results"][0]["relationshipType"], "IsMemberOfGroup");
    assert_eq!(page1["results"][0]["destination"], json!({"urn": "urn:li:corpGroup:eng", "entityType": "corpGroup"}));
    let scroll = page1["scrollId"].as_str().expect("more results");
    let (_, page2) = send(rel(&format!("&count=2&scrollId={}", enc(scroll)))).await;
    assert_eq!(page2["results"][0]["source"]["urn"], "urn:li:corpuser:cid");
    assert_eq!(page2["scrollId"], Value::Null);

    // Read-modify-write removal of ben.
    let (_, current) = send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:ben/groupMembership")).await;
    assert_eq!(current["value"]["groups"], json!(["urn:li:corpGroup:eng"]));
    let (status, _) = send(
        dh.req(
            Method::POST,
            "/entity/corpuser/urn:li:corpuser:ben/groupMembership?async=false&createIfNotExists=false",
        )
        .json(&json!({"value": {"groups": []}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dh.emu.members_of("urn:li:corpGroup:eng"), ["urn:li:corpuser:ann", "urn:li:corpuser:cid"]);
    let (_, native) = send(dh.req(
        Method::GET,
        "/relationship/corpGroup/urn:li:corpGroup:eng?relationshipType[]=IsMemberOfNativeGroup&direction=INCOMING",
    ))
    .await;
    assert_eq!(native["results"], json!([]));
    let (_, outgoing) = send(dh.req(
        Method::GET,
        "/relationship/corpuser/urn:li:corpuser:ann?relationshipType%5B%5D=IsMemberOfGroup&direction=OUTGOING",
    ))
    .await;
    assert_eq!(outgoing["results"][0]["destination"]["urn"], "urn:li:corpGroup:eng");
}

#[tokio::test]
async fn datahub_soft_delete_flag_and_hard_delete() {
    let dh = Dh::start().await;
    dh.emu
        .seed("corpuser", json!([corp_user("gone", "g@example.com"), corp_user("kept", "k@example.com")]))
        .expect("users");
    let (status, _) = send(
        dh.req(Method::POST, "/entity/corpuser/urn:li:corpuser:gone/status").json(&json!({"value": {"removed": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send_raw(dh.req(Method::HEAD, "/entity/corpuser/urn:li:corpuser:gone")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "soft-deleted entities do not exist for HEAD");
    let (status, _, _) =
        send_raw(dh.req(Method::HEAD, "/entity/corpuser/urn:li:corpuser:gone?includeSoftDelete=true")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:gone")).await;
    assert_eq!(status, StatusCode::OK, "GET still returns it, status aspect included");
    let (_, listed) = send(dh.req(Method::GET, "/entity/corpuser?count=10")).await;
    assert_eq!(names(&listed["entities"], "urn"), ["urn:li:corpuser:kept"]);
    let (_, all) = send(dh.req(Method::GET, "/entity/corpuser?count=10&includeSoftDelete=true")).await;
    assert_eq!(names(&all["entities"], "urn").len(), 2);

    let (status, _, body) = send_raw(dh.req(Method::DELETE, "/entity/corpuser/urn:li:corpuser:gone")).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    let (status, _) = send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:gone")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(dh.emu.user("gone").is_none());
    let (status, _, _) =
        send_raw(dh.req(Method::DELETE, "/entity/corpuser/urn:li:corpuser:kept?aspects=corpUserStatus")).await;
    assert_eq!(status, StatusCode::OK);
    let kept = dh.emu.user("kept").expect("kept");
    assert!(kept.get("corpUserStatus").is_none() && kept.get("corpUserInfo").is_some());
}

#[tokio::test]
async fn datahub_scroll_walks_by_urn_and_filters_by_query() {
    let dh = Dh::with(DataHubConfig { scroll_total_count: true, ..DataHubConfig::default() }).await;
    let users: Vec<Value> = (0..7).map(|i| corp_user(&format!("u{i}"), &format!("u{i}@example.com"))).collect();
    dh.emu.seed("corpuser", Value::Array(users)).expect("users");
    let mut urns = Vec::new();
    let mut scroll: Option<String> = None;
    loop {
        let path = match &scroll {
            Some(id) => format!("/entity/corpuser?count=3&aspects=corpUserInfo&scrollId={}", enc(id)),
            None => "/entity/corpuser?count=3&aspects=corpUserInfo".to_owned(),
        };
        let (status, page) = send(dh.req(Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["totalCount"], 7);
        assert!(page["entities"][0].get("corpUserStatus").is_none(), "aspects= limits the answer");
        urns.extend(names(&page["entities"], "urn"));
        match page["scrollId"].as_str() {
            Some(next) => scroll = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(urns, (0..7).map(|i| format!("urn:li:corpuser:u{i}")).collect::<Vec<_>>());
    let (_, hit) =
        send(dh.req(Method::GET, &format!("/entity/corpuser?query={}", enc("email:\"u3@example.com\"")))).await;
    assert_eq!(names(&hit["entities"], "urn"), ["urn:li:corpuser:u3"]);
    let (_, across) = send(
        dh.req(Method::POST, "/entity/scroll?count=2")
            .json(&json!({"entities": ["corpuser"], "aspects": ["corpUserKey"]})),
    )
    .await;
    assert_eq!(names(&across["entities"], "urn"), ["urn:li:corpuser:u0", "urn:li:corpuser:u1"]);
}

#[tokio::test]
async fn datahub_urns_are_percent_decoded_and_logged_as_sent() {
    let dh = Dh::start().await;
    let name = "a/b%c?d e";
    let urn = format!("urn:li:corpuser:{name}");
    let path = format!("/entity/corpuser/{}/corpUserInfo?async=false", enc(&urn));
    let (status, echoed) = send(dh.req(Method::POST, &path).json(&json!({"value": {"active": true}}))).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    let stored = dh.emu.entity(&urn).expect("stored under the decoded urn");
    assert_eq!(stored["corpUserKey"]["value"]["username"], name);
    let logged = dh.emu.requests().last().expect("logged");
    assert_eq!(logged.method, Method::POST);
    assert_eq!(logged.path, format!("/openapi/v3/entity/corpuser/{}/corpUserInfo", enc(&urn)));
    assert!(logged.path.contains("%2F") && logged.path.contains("%25") && logged.path.contains("%3F"));
    assert_eq!(logged.query.as_deref(), Some("async=false"));
    assert_eq!(logged.json(), Some(json!({"value": {"active": true}})));
    assert_eq!(logged.header("authorization"), Some(format!("Bearer {}", dh.token).as_str()));
    // An unencoded slash splits the urn into two path segments, as on a real server.
    let (status, _) = send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:a/b")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

// === Authentication ===

#[tokio::test]
async fn every_emulator_demands_its_own_credentials() {
    let http = client();
    let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.expect("om");
    for builder in [
        http.get(format!("{}/users", om.api_url())),
        http.get(format!("{}/users", om.api_url())).bearer_auth("wrong"),
        http.get(format!("{}/users", om.api_url())).basic_auth("admin", Some("openmetadata-emulator-token")),
    ] {
        let (status, body) = send(builder).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], 401);
    }
    let collibra = CollibraEmulator::start(CollibraConfig::default()).await.expect("collibra");
    let (status, headers, body) =
        send_raw(http.get(format!("{}/users", collibra.api_url())).basic_auth("collibra-emulator", Some("nope"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get("www-authenticate").is_some_and(|v| v.to_str().is_ok_and(|s| s.starts_with("Basic"))));
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!((body["statusCode"].clone(), body["errorCode"].clone()), (json!(401), json!("notAuthenticated")));
    let datahub = DataHubEmulator::start(DataHubConfig::default()).await.expect("datahub");
    let (status, body) = send(http.get(format!("{}/entity/corpuser", datahub.api_url())).bearer_auth("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].is_string());
    // Rejected requests are still logged.
    assert_eq!(om.requests().len(), 3);
    assert!(om.users().is_empty());
}

// === Fault injection ===

#[tokio::test]
async fn latency_delays_requests_by_at_least_the_configured_time() {
    let om = Om::start().await;
    om.emu.faults().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    let (status, _) = send(om.req(Method::GET, "/users")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
    om.emu.faults().set_latency(Duration::ZERO);
    let rule = om.emu.faults().add(FaultRule::delay(Duration::from_millis(200)).path_prefix("/api/v1/teams"));
    let started = Instant::now();
    send(om.req(Method::GET, "/teams")).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!((om.emu.faults().matched(rule), om.emu.faults().fired(rule)), (1, 1));
    send(om.req(Method::GET, "/users")).await;
    assert_eq!(om.emu.faults().matched(rule), 1, "other paths do not match the rule");
}

#[tokio::test]
async fn the_next_n_requests_fail_with_the_chosen_status_then_recover() {
    let om = Om::start().await;
    om.emu.faults().add(FaultRule::status(StatusCode::SERVICE_UNAVAILABLE).method(Method::POST).times(2));
    let body = json!({"name": "retry", "email": "retry@example.com"});
    for _ in 0..2 {
        let (status, err) = send(om.req(Method::POST, "/users").json(&body)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err["code"], 503, "faults answer in the application's envelope");
        assert!(om.emu.user_by_name("retry").is_none(), "a failed request is not applied");
    }
    let (status, _) = send(om.req(Method::GET, "/users")).await;
    assert_eq!(status, StatusCode::OK, "GET does not match the rule");
    let (status, _) = send(om.req(Method::POST, "/users").json(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_kth_matching_request_fails_and_only_that_one() {
    let c = Collibra::start().await;
    let (_, group) = send(c.req(Method::POST, "/userGroups").json(&json!({"name": "big"}))).await;
    let gid = group["id"].as_str().expect("id").to_owned();
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(c.add_user(&format!("m{i}"), "M", "M").await);
    }
    let rule = c.emu.faults().add(
        FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR)
            .method(Method::POST)
            .path_prefix("/rest/2.0/userGroups/")
            .nth(7),
    );
    let mut statuses = Vec::new();
    for user in &users {
        let (status, _) =
            send(c.req(Method::POST, &format!("/userGroups/{gid}/users")).json(&json!({"userIds": [user]}))).await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 500, 200, 200, 200]);
    assert_eq!((c.emu.faults().matched(rule), c.emu.faults().fired(rule)), (10, 1));
    let members = c.emu.members_of("big").expect("group");
    assert_eq!(members.len(), 9);
    assert!(!members.contains(&"m6".to_owned()), "the failed 7th addition was not applied");
}

#[tokio::test]
async fn probabilistic_faults_replay_exactly_with_the_same_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let config = OpenMetadataConfig {
            server: ServerOptions { fault_seed: seed, ..ServerOptions::default() },
            ..OpenMetadataConfig::default()
        };
        let om = Om::with(config).await;
        om.emu.faults().add(FaultRule::status(StatusCode::BAD_GATEWAY).probability(0.3));
        let mut out = Vec::new();
        for _ in 0..60 {
            out.push(send(om.req(Method::GET, "/roles")).await.0.as_u16());
        }
        out
    }
    let first = run(42).await;
    assert_eq!(first, run(42).await);
    assert_ne!(first, run(43).await);
    let failed = first.iter().filter(|s| **s == 502).count();
    assert!(failed > 0 && failed < 60, "{failed} of 60");
    assert!(first.iter().all(|s| *s == 502 || *s == 200));
}

#[tokio::test]
async fn rate_limiting_answers_429_with_retry_after() {
    let c = Collibra::start().await;
    let rule = c.emu.faults().add(FaultRule::rate_limited(Duration::from_secs(7)).times(1));
    let (status, headers, body) = send_raw(c.req(Method::GET, "/users")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "7");
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["statusCode"], 429);
    assert!(c.emu.faults().remove(rule));
    let date = "Wed, 21 Oct 2026 07:28:00 GMT";
    c.emu.faults().add(FaultRule::rate_limited_until(date).method(Method::DELETE));
    let (status, _, _) = send_raw(c.req(Method::GET, "/users")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) = send_raw(c.req(Method::DELETE, "/users/2c40d3a4-0000-4000-8000-000000000000")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], date);
    c.emu.faults().clear();
    let (status, _, _) = send_raw(c.req(Method::DELETE, "/users/2c40d3a4-0000-4000-8000-000000000000")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Whether an error was caused by the peer resetting or cutting the connection.
fn is_connection_cut(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, UnexpectedEof};
            if matches!(io.kind(), ConnectionReset | ConnectionAborted | UnexpectedEof) {
                return true;
            }
        }
        if err.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_incomplete_message) {
            return true;
        }
        source = err.source();
    }
    false
}

/// Sends a request expecting the connection to break: the send or the body read must fail.
async fn expect_broken(request: RequestBuilder) -> reqwest::Error {
    match request.send().await {
        Err(e) => e,
        Ok(response) => match response.bytes().await {
            Err(e) => e,
            Ok(body) => panic!("a complete answer arrived: {body:?}"),
        },
    }
}

#[tokio::test]
async fn a_reset_cuts_the_answer_after_the_write_was_applied() {
    let om = Om::start().await;
    om.emu.faults().add(FaultRule::reset().method(Method::POST).times(1));
    let error =
        expect_broken(om.req(Method::POST, "/users").json(&json!({"name": "ghost", "email": "ghost@example.com"})))
            .await;
    assert!(is_connection_cut(&error), "{error:?}");
    assert!(om.emu.user_by_name("ghost").is_some(), "the outcome is unknown to the client, but the write happened");
    let (status, _) =
        send(om.req(Method::POST, "/users").json(&json!({"name": "ghost", "email": "ghost@example.com"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "a retry sees the effect of the cut request");

    // An answer without a body (Collibra's 204) is cut inside the status line or headers.
    let c = Collibra::start().await;
    let id = c.add_user("short", "S", "S").await;
    c.emu.faults().add(FaultRule::reset().method(Method::DELETE));
    let error = expect_broken(c.req(Method::DELETE, &format!("/users/{id}"))).await;
    assert!(is_connection_cut(&error), "{error:?}");
    assert!(c.emu.user(&id).is_none());
    let (status, _) = send(c.req(Method::GET, "/users")).await;
    assert_eq!(status, StatusCode::OK, "new connections are served normally");
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let dh = Dh::start().await;
    let url = format!("{}/entity/corpuser", dh.emu.api_url());
    let (status, _) = send(dh.req(Method::GET, "/entity/corpuser")).await;
    assert_eq!(status, StatusCode::OK);
    let Dh { emu, http, token } = dh;
    emu.shutdown().await.expect("clean shutdown");
    let fresh = client();
    assert!(fresh.get(&url).bearer_auth(&token).send().await.is_err());
    drop(http);
}
