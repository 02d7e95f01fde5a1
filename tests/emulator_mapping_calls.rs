//! The native calls the shipped mapping files make, sent to the emulators as the gateway sends them: Collibra's
//! external-system mappings, DataHub's custom-property search, create-only aspect writes and group deletion, and
//! OpenMetadata's search, restore and team-membership calls. Each test checks statuses, bodies and the stored
//! records.

use std::time::Duration;

use http::{Method, StatusCode};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Client, RequestBuilder};
use scimgate::emulator::{
    CollibraConfig, CollibraEmulator, DataHubConfig, DataHubEmulator, OpenMetadataConfig, OpenMetadataEmulator,
};
use serde_json::{Value, json};

fn client() -> Client {
    // Several crypto providers may be linked; reqwest's rustls needs one chosen before the first client.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Client::builder().no_proxy().build().expect("reqwest client")
}

/// Sends a request and returns the status and the body as JSON (`Null` when empty or not JSON).
async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let (status, bytes) = send_bytes(request).await;
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn send_bytes(request: RequestBuilder) -> (StatusCode, Vec<u8>) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    (status, response.bytes().await.expect("body read").to_vec())
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn strings(items: &Value, pointer: &str) -> Vec<String> {
    items
        .as_array()
        .map(|a| a.iter().filter_map(|i| i.pointer(pointer).and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default()
}

// === Collibra ===

struct Collibra {
    emu: CollibraEmulator,
    http: Client,
    user: String,
    password: String,
}

impl Collibra {
    async fn with(config: CollibraConfig) -> Collibra {
        let (user, password) = (config.username.clone(), config.password.clone());
        let emu = CollibraEmulator::start(config).await.expect("Collibra emulator starts");
        Collibra { emu, http: client(), user, password }
    }

    async fn start() -> Collibra {
        Self::with(CollibraConfig::default()).await
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.emu.api_url())).basic_auth(&self.user, Some(&self.password))
    }

    async fn add_user(&self, user_name: &str) -> String {
        let (status, user) = send(
            self.req(Method::POST, "/users")
                .json(&json!({"userName": user_name, "emailAddress": format!("{user_name}@example.com")})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user["id"].as_str().expect("id").to_owned()
    }

    async fn map(&self, system: &str, entity: &str, resource: &str) -> (StatusCode, Value) {
        send(self.req(Method::POST, "/mappings").json(&json!({
            "externalSystemId": system, "externalEntityId": entity, "mappedResourceId": resource
        })))
        .await
    }
}

#[tokio::test]
async fn collibra_mappings_link_external_ids_to_users() {
    let c = Collibra::start().await;
    let jdoe = c.add_user("jdoe").await;
    let ann = c.add_user("ann").await;

    let (status, mapping) = c.map("scim", "00u1/ab", &jdoe).await;
    assert_eq!(status, StatusCode::CREATED, "{mapping}");
    let id = mapping["id"].as_str().expect("mapping id").to_owned();
    assert_eq!(mapping["resourceType"], "Mapping");
    assert_eq!(
        (mapping["externalSystemId"].clone(), mapping["externalEntityId"].clone()),
        (json!("scim"), json!("00u1/ab"))
    );
    assert_eq!(mapping["mappedResource"], json!({"id": jdoe, "resourceType": "User", "name": "jdoe"}));
    assert!(mapping.get("mappedResourceId").is_none(), "the answer names the resource as a reference");
    assert!(mapping["createdOn"].is_i64() && mapping["lastModifiedBy"].is_string());

    // The three ways to read it back.
    let (status, by_resource) =
        send(c.req(Method::GET, &format!("/mappings/externalSystem/scim/mappedResource/{jdoe}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_resource["externalEntityId"], "00u1/ab");
    let (status, by_entity) =
        send(c.req(Method::GET, &format!("/mappings/externalSystem/scim/externalEntity/{}", enc("00u1/ab")))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_entity["mappedResource"]["id"], jdoe.as_str());
    let (status, by_id) = send(c.req(Method::GET, &format!("/mappings/{id}"))).await;
    assert_eq!((status, by_id["id"].as_str()), (StatusCode::OK, Some(id.as_str())));

    // Misses are Collibra 404s; a malformed resource id is refused before the lookup.
    let (status, err) =
        send(c.req(Method::GET, &format!("/mappings/externalSystem/other/mappedResource/{jdoe}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!((err["statusCode"].clone(), err["errorCode"].clone()), (json!(404), json!("mappingNotFound")));
    let (status, _) = send(c.req(Method::GET, &format!("/mappings/externalSystem/scim/mappedResource/{ann}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(c.req(Method::GET, "/mappings/externalSystem/scim/externalEntity/nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(c.req(Method::GET, "/mappings/externalSystem/scim/mappedResource/not-a-uuid")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Each pair is unique; the same external id in another system is another mapping.
    let (status, err) = c.map("scim", "00u1/ab", &ann).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["errorCode"], "mappingAlreadyExists");
    assert!(err["userMessage"].as_str().is_some_and(|m| m.contains("already exists")));
    let (status, _) = c.map("scim", "another", &jdoe).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "one mapping per resource and external system");
    let (status, _) = c.map("ldap", "00u1/ab", &jdoe).await;
    assert_eq!(status, StatusCode::CREATED);

    // AddMappingRequest validation.
    for (body, code, why) in [
        (json!({"externalSystemId": "scim"}), StatusCode::BAD_REQUEST, "externalEntityId is required"),
        (json!({"externalEntityId": "x"}), StatusCode::BAD_REQUEST, "externalSystemId is required"),
        (
            json!({"externalSystemId": "s".repeat(37), "externalEntityId": "x"}),
            StatusCode::BAD_REQUEST,
            "36 characters at most",
        ),
        (json!({"externalSystemId": "scim", "externalEntityId": ""}), StatusCode::BAD_REQUEST, "not empty"),
        (
            json!({"externalSystemId": "scim", "externalEntityId": "x", "mappedResourceId": "nope"}),
            StatusCode::BAD_REQUEST,
            "a UUID",
        ),
        (
            json!({"externalSystemId": "scim", "externalEntityId": "x", "syncAction": "MERGE"}),
            StatusCode::BAD_REQUEST,
            "ADD, UPDATE or REMOVE",
        ),
        (
            json!({"externalSystemId": "scim", "externalEntityId": "x", "mappedResourceId": "3f0c2d1e-0000-4000-8000-000000000000"}),
            StatusCode::NOT_FOUND,
            "an unknown resource",
        ),
        (
            json!({"externalSystemId": "scim", "externalEntityId": "x", "id": id}),
            StatusCode::BAD_REQUEST,
            "a taken mapping id",
        ),
    ] {
        let (status, err) = send(c.req(Method::POST, "/mappings").json(&body)).await;
        assert_eq!(status, code, "{why}: {err}");
        assert_eq!(err["statusCode"], json!(code.as_u16()), "{why}");
    }

    // Find with filters and offset paging; the stored records.
    let (status, found) = send(c.req(Method::GET, "/mappings?externalSystemId=scim")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["total"], 1);
    assert_eq!(strings(&found["results"], "/externalEntityId"), ["00u1/ab"]);
    let (_, page) = send(c.req(Method::GET, "/mappings?limit=1&offset=1")).await;
    assert_eq!((page["total"].clone(), page["offset"].clone()), (json!(2), json!(1)));
    assert_eq!(strings(&page["results"], "/externalSystemId"), ["scim"], "sorted by system, then entity id");
    assert_eq!(strings(&json!(c.emu.mappings()), "/externalSystemId"), ["ldap", "scim"]);

    // Removal answers 204 whether or not there was anything to remove.
    let path = format!("/mappings/externalSystem/scim/mappedResource/{jdoe}");
    for _ in 0..2 {
        let (status, body) = send_bytes(c.req(Method::DELETE, &path)).await;
        assert_eq!((status, body.len()), (StatusCode::NO_CONTENT, 0));
    }
    let (status, _) = send(c.req(Method::GET, &path)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        send_bytes(c.req(Method::DELETE, "/mappings/externalSystem/scim/mappedResource/not-a-uuid")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        send_bytes(c.req(Method::DELETE, &format!("/mappings/externalSystem/ldap/externalEntity/{}", enc("00u1/ab"))))
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(c.emu.mappings().is_empty());
    let (status, again) = c.map("scim", "00u1/ab", &ann).await;
    assert_eq!(status, StatusCode::CREATED, "the pair is free again");
    let again_id = again["id"].as_str().expect("id").to_owned();
    let (status, _) = send_bytes(c.req(Method::DELETE, &format!("/mappings/{again_id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send_bytes(c.req(Method::DELETE, &format!("/mappings/{again_id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(c.emu.mappings().is_empty());
}

#[tokio::test]
async fn collibra_deleting_a_user_keeps_its_mapping_without_the_reference() {
    let c = Collibra::start().await;
    let jdoe = c.add_user("jdoe").await;
    let (status, _) = c.map("scim", "ext-1", &jdoe).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send_bytes(c.req(Method::DELETE, &format!("/users/{jdoe}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, _) = send(c.req(Method::GET, &format!("/mappings/externalSystem/scim/mappedResource/{jdoe}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing maps to a deleted user");
    let (status, orphan) = send(c.req(Method::GET, "/mappings/externalSystem/scim/externalEntity/ext-1")).await;
    assert_eq!(status, StatusCode::OK, "the mapping itself stays");
    assert!(orphan.get("mappedResource").is_none(), "{orphan}");
    // Removing by the deleted user's id finds nothing, so the external id stays taken.
    let (status, _) =
        send_bytes(c.req(Method::DELETE, &format!("/mappings/externalSystem/scim/mappedResource/{jdoe}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(c.emu.mappings().len(), 1);
    let again = c.add_user("jdoe").await;
    let (status, err) = c.map("scim", "ext-1", &again).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, _) = send_bytes(c.req(Method::DELETE, "/mappings/externalSystem/scim/externalEntity/ext-1")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, mapping) = c.map("scim", "ext-1", &again).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(mapping["mappedResource"]["id"], again.as_str());

    // Groups can be mapped too, and lose the reference the same way.
    let (_, group) = send(c.req(Method::POST, "/userGroups").json(&json!({"name": "Stewards"}))).await;
    let group = group["id"].as_str().expect("group id").to_owned();
    let (status, mapped) = c.map("scim", "grp-1", &group).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(mapped["mappedResource"]["resourceType"], "UserGroup");
    let (status, _) = send_bytes(c.req(Method::DELETE, &format!("/userGroups/{group}"))).await;
    assert_eq!(status, StatusCode::OK);
    let stored = c.emu.mappings();
    let grp = stored.iter().find(|m| m["externalEntityId"] == "grp-1").expect("group mapping kept");
    assert!(grp.get("mappedResource").is_none());
}

#[tokio::test]
async fn collibra_bulk_mappings_are_all_or_nothing() {
    let c = Collibra::start().await;
    let a = c.add_user("a").await;
    let b = c.add_user("b").await;
    let item = |entity: &str, resource: &str| json!({"externalSystemId": "scim", "externalEntityId": entity, "mappedResourceId": resource});
    let (status, err) = send(c.req(Method::POST, "/mappings/bulk").json(&json!([item("1", &a), item("1", &b)]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(c.emu.mappings().is_empty());
    let (status, added) =
        send(c.req(Method::POST, "/mappings/bulk").json(&json!([item("1", &a), item("2", &b)]))).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(strings(&added, "/mappedResource/name"), ["a", "b"]);
    assert_eq!(c.emu.mappings().len(), 2);
}

#[tokio::test]
async fn collibra_accepts_a_configured_service_account() {
    let c = Collibra::with(CollibraConfig::with_account("scimgate", "s3cret")).await;
    let (status, list) = send(c.req(Method::GET, "/users?limit=10")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0);
    let defaults = CollibraConfig::default();
    let response = c
        .http
        .get(format!("{}/users", c.emu.api_url()))
        .basic_auth(&defaults.username, Some(&defaults.password))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
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

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.emu.api_url())).bearer_auth(&self.token)
    }
}

fn corp_user(name: &str, scim_user_name: Option<&str>) -> Value {
    let mut info = json!({"active": true, "displayName": name, "email": format!("{name}@example.com")});
    if let Some(raw) = scim_user_name {
        info["customProperties"] = json!({"scimUserName": raw});
    }
    json!({
        "urn": format!("urn:li:corpuser:{name}"),
        "corpUserKey": {"value": {"username": name}},
        "corpUserInfo": {"value": info},
        "corpUserStatus": {"value": {"status": "ACTIVE", "lastModified": {"time": 1_718_000_000_000_i64, "actor": "urn:li:corpuser:scimgate"}}}
    })
}

fn corp_group(name: &str, display: &str) -> Value {
    json!({
        "urn": format!("urn:li:corpGroup:{name}"),
        "corpGroupKey": {"value": {"name": name}},
        "corpGroupInfo": {"value": {"displayName": display, "admins": [], "members": [], "groups": []}},
        "origin": {"value": {"type": "EXTERNAL", "externalType": "SCIM_client_x"}}
    })
}

#[tokio::test]
async fn datahub_scroll_finds_users_by_custom_property_and_groups_by_display_name() {
    let dh = Dh::with(DataHubConfig { scroll_total_count: true, ..DataHubConfig::default() }).await;
    dh.emu
        .seed(
            "corpuser",
            json!([
                corp_user("jdoe", Some("JDoe@Example.com")),
                corp_user("ann", Some("ann@example.com")),
                corp_user("bob", None)
            ]),
        )
        .expect("users");
    dh.emu
        .seed("corpGroup", json!([corp_group("stewards", "Data Stewards"), corp_group("eng", "Data Engineers")]))
        .expect("groups");
    let scroll = |query: &str| {
        dh.req(
            Method::GET,
            &format!("/entity/corpuser?count=10&query={}&aspects=corpUserKey&aspects=corpUserInfo", enc(query)),
        )
    };
    for query in
        ["customProperties:scimUserName=jdoe@example.com", "customProperties:\"scimUserName=JDoe@Example.com\""]
    {
        let (status, page) = send(scroll(query)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(strings(&page["entities"], "/urn"), ["urn:li:corpuser:jdoe"], "{query}");
        assert_eq!(page["totalCount"], 1);
        assert_eq!(
            page["entities"][0]["corpUserInfo"]["value"]["customProperties"]["scimUserName"],
            "JDoe@Example.com"
        );
        assert!(page["entities"][0].get("corpUserStatus").is_none(), "aspects= limits the answer");
    }
    for query in ["customProperties:scimUserName=jdoe", "customProperties:other=jdoe@example.com", "firstName:jdoe"] {
        let (_, page) = send(scroll(query)).await;
        assert_eq!(page["entities"], json!([]), "{query}");
        assert_eq!(page["totalCount"], 0);
    }
    let (_, all) = send(scroll("*")).await;
    assert_eq!(all["totalCount"], 3);
    let mut bad = corp_user("bad", None);
    bad["corpUserInfo"]["value"]["customProperties"] = json!({"scimUserName": 7});
    let (status, err) = send(dh.req(Method::POST, "/entity/corpuser?async=false").json(&json!([bad]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "custom property values are strings: {err}");
    assert!(dh.emu.user("bad").is_none());

    // Group display names are text: a word matches every group holding it, a quoted phrase only that group.
    let groups = |query: &str| dh.req(Method::GET, &format!("/entity/corpGroup?count=10&query={}", enc(query)));
    let (_, by_word) = send(groups("displayName:Data")).await;
    assert_eq!(strings(&by_word["entities"], "/urn"), ["urn:li:corpGroup:eng", "urn:li:corpGroup:stewards"]);
    let (_, by_phrase) = send(groups("displayName:\"Data Stewards\"")).await;
    assert_eq!(strings(&by_phrase["entities"], "/urn"), ["urn:li:corpGroup:stewards"]);
    let (_, unquoted) = send(groups("displayName:Data Stewards")).await;
    assert_eq!(strings(&unquoted["entities"], "/urn"), ["urn:li:corpGroup:stewards"], "`Stewards` is a bare word here");
}

#[tokio::test]
async fn datahub_search_lags_writes_that_reads_by_urn_already_see() {
    // Long enough that the early search surely comes before it, even on a loaded machine.
    let lag = Duration::from_millis(1500);
    let dh = Dh::with(DataHubConfig { search_lag: lag, ..DataHubConfig::default() }).await;
    let (status, _) = send(
        dh.req(Method::POST, "/entity/corpuser?async=false").json(&json!([corp_user("jdoe", Some("JDoe@x.com"))])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, entity) =
        send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:jdoe?aspects=corpUserInfo")).await;
    assert_eq!(status, StatusCode::OK, "a sync write is readable by urn at once");
    assert_eq!(entity["corpUserInfo"]["value"]["customProperties"]["scimUserName"], "JDoe@x.com");
    let query = format!("/entity/corpuser?count=10&query={}", enc("customProperties:scimUserName=jdoe@x.com"));
    let (_, early) = send(dh.req(Method::GET, &query)).await;
    assert_eq!(early["entities"], json!([]), "the index has not caught up");
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    let (_, late) = send(dh.req(Method::GET, &query)).await;
    assert_eq!(strings(&late["entities"], "/urn"), ["urn:li:corpuser:jdoe"]);
}

#[tokio::test]
async fn datahub_single_aspect_writes_create_unless_told_to_upsert() {
    let dh = Dh::with(DataHubConfig::default()).await;
    dh.emu.seed("corpuser", json!([corp_user("jdoe", None)])).expect("user");
    let info =
        |query: &str| dh.req(Method::POST, &format!("/entity/corpuser/urn:li:corpuser:jdoe/corpUserInfo?{query}"));
    let replacement = json!({"value": {"active": false, "title": "Analyst"}});
    for query in ["async=false", "async=false&createIfNotExists=true"] {
        let (status, err) = send(info(query).json(&replacement)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {err}");
        assert!(err["error"].as_str().is_some_and(|m| m.contains("aspect already exists")), "{err}");
    }
    let stored = dh.emu.user("jdoe").expect("user");
    assert_eq!(stored["corpUserInfo"]["value"]["displayName"], "jdoe", "refused writes change nothing");

    let (status, echoed) = send(info("async=false&createIfNotExists=false").json(&replacement)).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert_eq!(echoed, json!({"urn": "urn:li:corpuser:jdoe", "corpUserInfo": replacement}));
    assert_eq!(
        dh.emu.user("jdoe").expect("user")["corpUserInfo"]["value"],
        json!({"active": false, "title": "Analyst"})
    );

    // A missing aspect may be created; a new entity may be created with createIfEntityNotExists.
    let membership = json!({"value": {"groups": ["urn:li:corpGroup:eng"]}});
    let (status, _) = send(
        dh.req(
            Method::POST,
            "/entity/corpuser/urn:li:corpuser:jdoe/groupMembership?async=false&createIfNotExists=true",
        )
        .json(&membership),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dh.emu.members_of("urn:li:corpGroup:eng"), ["urn:li:corpuser:jdoe"]);
    let (status, _) = send(
        dh.req(Method::POST, "/entity/corpuser/urn:li:corpuser:new/status?async=false&createIfEntityNotExists=true")
            .json(&json!({"value": {"removed": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dh.emu.user("new").expect("created")["corpUserKey"]["value"], json!({"username": "new"}));
    let (status, err) = send(
        dh.req(Method::POST, "/entity/corpuser/urn:li:corpuser:jdoe/status?async=false&createIfEntityNotExists=true")
            .json(&json!({"value": {"removed": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(dh.emu.user("jdoe").expect("user").get("status").is_none());
}

#[tokio::test]
async fn datahub_async_create_conflicts_are_accepted_then_dropped() {
    let lag = Duration::from_millis(1000);
    let dh = Dh::with(DataHubConfig { async_lag: lag, ..DataHubConfig::default() }).await;
    dh.emu.seed("corpuser", json!([corp_user("jdoe", None)])).expect("user");
    let (status, _) = send(
        dh.req(Method::POST, "/entity/corpuser/urn:li:corpuser:jdoe/corpUserInfo?async=true")
            .json(&json!({"value": {"active": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(dh.emu.pending_writes(), 1);
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    dh.emu.apply_pending();
    assert_eq!(dh.emu.pending_writes(), 0);
    assert_eq!(dh.emu.user("jdoe").expect("user")["corpUserInfo"]["value"]["active"], json!(true), "dropped");
}

#[tokio::test]
async fn datahub_deleting_a_group_drops_its_edges_but_not_the_members_aspects() {
    let dh = Dh::with(DataHubConfig::default()).await;
    dh.emu.seed("corpGroup", json!([corp_group("eng", "Engineering")])).expect("group");
    let member = |name: &str| {
        let mut user = corp_user(name, None);
        user["groupMembership"] = json!({"value": {"groups": ["urn:li:corpGroup:eng"]}});
        user
    };
    dh.emu.seed("corpuser", json!([member("ann"), member("ben")])).expect("users");
    let members = |extra: &'static str| {
        dh.req(
            Method::GET,
            &format!(
                "/relationship/corpGroup/{}?relationshipType[]=IsMemberOfGroup&direction=INCOMING&count=10{extra}",
                enc("urn:li:corpGroup:eng")
            ),
        )
    };
    let (status, before) = send(members("")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(strings(&before["results"], "/source/urn"), ["urn:li:corpuser:ann", "urn:li:corpuser:ben"]);

    let (status, body) =
        send_bytes(dh.req(Method::DELETE, &format!("/entity/corpGroup/{}", enc("urn:li:corpGroup:eng")))).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    let (status, _) = send_bytes(dh.req(Method::HEAD, "/entity/corpGroup/urn:li:corpGroup:eng")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, after) = send(members("")).await;
    assert_eq!(after["results"], json!([]), "the graph index forgets the deleted node");
    assert!(dh.emu.incoming_edges("urn:li:corpGroup:eng").is_empty());
    // The members' aspects are not cleaned up.
    assert_eq!(dh.emu.members_of("urn:li:corpGroup:eng"), ["urn:li:corpuser:ann", "urn:li:corpuser:ben"]);
    let (_, kept) = send(dh.req(Method::GET, "/entity/corpuser/urn:li:corpuser:ann/groupMembership")).await;
    assert_eq!(kept["value"]["groups"], json!(["urn:li:corpGroup:eng"]));

    // A group recreated under the same urn starts without edges, until a member's aspect is written again.
    dh.emu.seed("corpGroup", json!([corp_group("eng", "Engineering")])).expect("group again");
    let (_, recreated) = send(members("")).await;
    assert_eq!(recreated["results"], json!([]));
    let (status, _) = send(
        dh.req(
            Method::POST,
            "/entity/corpuser/urn:li:corpuser:ann/groupMembership?async=false&createIfNotExists=false",
        )
        .json(&json!({"value": {"groups": ["urn:li:corpGroup:eng"]}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, rewritten) = send(members("")).await;
    assert_eq!(strings(&rewritten["results"], "/source/urn"), ["urn:li:corpuser:ann"]);
    assert_eq!(
        dh.emu.incoming_edges("urn:li:corpGroup:eng"),
        [("IsMemberOfGroup".to_owned(), "urn:li:corpuser:ann".to_owned())]
    );

    // Soft-deleted members are hidden unless asked for; a hard-deleted member's edges are gone.
    let (status, _) = send(
        dh.req(Method::POST, "/entity/corpuser/urn:li:corpuser:ann/status?async=false")
            .json(&json!({"value": {"removed": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, hidden) = send(members("")).await;
    assert_eq!(hidden["results"], json!([]));
    let (_, shown) = send(members("&includeSoftDelete=true")).await;
    assert_eq!(strings(&shown["results"], "/source/urn"), ["urn:li:corpuser:ann"]);
    let (status, _) = send_bytes(dh.req(Method::DELETE, "/entity/corpuser/urn:li:corpuser:ann")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, none) = send(members("&includeSoftDelete=true")).await;
    assert_eq!(none["results"], json!([]));
}

// === OpenMetadata ===

struct Om {
    emu: OpenMetadataEmulator,
    http: Client,
    token: String,
}

impl Om {
    async fn start() -> Om {
        let config = OpenMetadataConfig::default();
        let token = config.token.clone();
        let emu = OpenMetadataEmulator::start(config).await.expect("OpenMetadata emulator starts");
        Om { emu, http: client(), token }
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.emu.api_url())).bearer_auth(&self.token)
    }
}

#[tokio::test]
async fn openmetadata_user_calls_of_the_shipped_mapping() {
    let om = Om::start().await;
    let consumer = om.emu.role_by_name("DataConsumer").expect("seeded role")["id"].as_str().expect("id").to_owned();
    let (status, user) = send(om.req(Method::POST, "/users").json(&json!({
        "name": "jane_x.com", "scimUserName": "Jane@X.com", "email": "jane@x.com", "displayName": "Jane",
        "externalId": "00u1", "roles": [consumer]
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().expect("id").to_owned();

    // The renamed-user lookup and the email filter go through the search index.
    let search =
        |q: &str| om.req(Method::GET, &format!("/search/query?q={}&index=user_search_index&from=0&size=10", enc(q)));
    let (status, found) = send(search("scimUserName:Jane@X.com")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["hits"]["hits"][0]["_source"]["id"], id.as_str());
    assert_eq!(found["hits"]["hits"][0]["_source"]["roles"][0]["name"], "DataConsumer");
    let (_, by_email) = send(search("email.keyword:jane@x.com")).await;
    assert_eq!(by_email["hits"]["total"]["value"], 1);
    let (_, miss) = send(search("scimUserName:Jane@Y.com")).await;
    assert_eq!(miss["hits"]["hits"], json!([]));

    // active=false soft-deletes; reads with include=all still see the user.
    let (status, deleted) = send(om.req(Method::DELETE, &format!("/users/{id}?hardDelete=false"))).await;
    assert_eq!((status, deleted["deleted"].clone()), (StatusCode::OK, json!(true)));
    let (status, _) = send(om.req(Method::GET, &format!("/users/{id}?fields=teams,roles"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, read) = send(om.req(Method::GET, &format!("/users/{id}?fields=teams,roles&include=all"))).await;
    assert_eq!((status, read["deleted"].clone()), (StatusCode::OK, json!(true)));
    let (status, _) = send(om.req(Method::GET, "/users/name/jane_x.com?fields=teams,roles&include=all")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = send(om.req(Method::GET, "/users?limit=10&fields=teams,roles&include=all&isBot=false")).await;
    assert_eq!((listed["paging"]["total"].clone(), listed["data"][0]["deleted"].clone()), (json!(1), json!(true)));
    let (_, gone) = send(search("scimUserName:Jane@X.com")).await;
    assert_eq!(gone["hits"]["hits"], json!([]), "the index leaves deleted users out");

    // active=true restores.
    let (status, restored) = send(om.req(Method::PUT, "/users/restore").json(&json!({"id": id}))).await;
    assert_eq!((status, restored["deleted"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(om.emu.user(&id).expect("stored")["deleted"], json!(false));

    let (status, _) = send(om.req(Method::DELETE, &format!("/users/{id}?hardDelete=true"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(om.emu.user(&id).is_none());
}

#[tokio::test]
async fn openmetadata_team_calls_of_the_shipped_mapping() {
    let om = Om::start().await;
    let mut users = Vec::new();
    for name in ["ann", "ben"] {
        let (status, user) =
            send(om.req(Method::POST, "/users").json(&json!({"name": name, "email": format!("{name}@example.com")})))
                .await;
        assert_eq!(status, StatusCode::CREATED);
        users.push(user["id"].as_str().expect("id").to_owned());
    }
    let (status, err) = send(om.req(Method::GET, "/teams/name/stewards?fields=users,parents")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], 404);
    let (status, team) = send(om.req(Method::POST, "/teams").json(&json!({
        "name": "stewards", "displayName": "Data Stewards", "externalId": "grp-1", "teamType": "Group"
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().expect("team id").to_owned();
    let (status, adopted) = send(om.req(Method::GET, "/teams/name/stewards?fields=users,parents")).await;
    assert_eq!((status, adopted["id"].as_str()), (StatusCode::OK, Some(team_id.as_str())));
    assert_eq!(adopted["parents"][0]["name"], "Organization");

    let refs: Vec<Value> = users.iter().map(|u| json!({"id": u, "type": "user"})).collect();
    let (status, event) = send(om.req(Method::PUT, &format!("/teams/{team_id}/users")).json(&Value::Array(refs))).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["entityId"], team_id.as_str());
    let (_, read) = send(om.req(Method::GET, &format!("/teams/{team_id}?fields=users,parents"))).await;
    assert_eq!(strings(&read["users"], "/name"), ["ann", "ben"]);

    let (status, _) = send(om.req(Method::DELETE, &format!("/teams/{team_id}/users/{}", users[0]))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(om.req(Method::DELETE, &format!("/teams/{team_id}/users/{}", uuid::Uuid::new_v4()))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the mapping accepts this 404");
    assert_eq!(om.emu.team_by_name("stewards").map(|t| strings(&t["users"], "/name")), Some(vec!["ben".to_owned()]));

    // Team-by-name reads honour include for soft-deleted teams.
    let (status, _) = send(om.req(Method::DELETE, &format!("/teams/{team_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(om.req(Method::GET, "/teams/name/stewards?fields=users,parents")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, soft) = send(om.req(Method::GET, "/teams/name/stewards?fields=users,parents&include=deleted")).await;
    assert_eq!((status, soft["deleted"].clone()), (StatusCode::OK, json!(true)));
    let (status, _) = send(om.req(Method::DELETE, &format!("/teams/{team_id}?hardDelete=true&recursive=true"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(om.req(Method::GET, "/teams/name/stewards?include=all")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(om.emu.team_by_name("stewards").is_none());
}
