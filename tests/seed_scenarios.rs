//! The product stories our users told, end to end: SCIM calls shaped as Entra sends them go through
//! the gateway and the shipped mapping, and the application's own records are checked afterwards.

use std::net::SocketAddr;

use reqwest::{Client, StatusCode};
use scimgate::demo::{Backend, Demo, DemoTarget};
use serde_json::{Value, json};

const TOKEN: &str = "seed-scenario-token";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Scim {
    http: Client,
    base: String,
}

impl Scim {
    fn new(demo: &Demo) -> Scim {
        Scim { http: Client::new(), base: demo.base_url() }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let resp = req.send().await.expect("gateway answers");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(&self, path: &str, body: Value) -> String {
        let (status, body) = self.send(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("an id").to_owned()
    }

    async fn patch(&self, path: &str, ops: Value) -> StatusCode {
        let (status, body) =
            self.send(reqwest::Method::PATCH, path, Some(json!({"schemas": [PATCH], "Operations": ops}))).await;
        assert!(status.is_success(), "{path}: {status} {body}");
        status
    }
}

fn entra_user(user_name: &str, role: Option<&str>) -> Value {
    let mut u = json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("ext-{user_name}"),
        "userName": user_name,
        "active": true,
        "displayName": user_name,
        "emails": [{"primary": true, "type": "work", "value": format!("{user_name}@example.com")}],
        "name": {"givenName": user_name, "familyName": "Example"},
    });
    if let Some(r) = role {
        u["roles"] = json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": r}]);
    }
    u
}

async fn start(target: DemoTarget) -> Demo {
    Demo::start(target, SocketAddr::from(([127, 0, 0, 1], 0)), TOKEN).await.expect("demo starts")
}

/// DataHub's own example: `governance-team` with john and sid, role Reader; john leaves the group; a
/// user is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datahub_governance_team() {
    let demo = start(DemoTarget::Datahub).await;
    let scim = Scim::new(&demo);
    let Backend::DataHub(dh) = &demo.backend else { panic!("not DataHub") };

    let john = scim.create("/Users", entra_user("john", Some("Reader"))).await;
    let sid = scim.create("/Users", entra_user("sid", Some("Reader"))).await;
    for name in ["john", "sid"] {
        let user = dh.user(name).unwrap_or_else(|| panic!("{name} is in DataHub"));
        assert_eq!(user["roleMembership"]["value"]["roles"], json!(["urn:li:dataHubRole:Reader"]), "{user}");
    }

    // Entra creates the group empty, then adds the members.
    let group =
        scim.create("/Groups", json!({"schemas": [GROUP], "displayName": "governance-team", "externalId": "g1"})).await;
    assert!(dh.group("governance-team").is_some());
    scim.patch(
        &format!("/Groups/{group}"),
        json!([{"op": "Add", "path": "members", "value": [{"value": john}, {"value": sid}]}]),
    )
    .await;
    let group_urn = "urn:li:corpGroup:governance-team";
    assert_eq!(dh.members_of(group_urn), vec!["urn:li:corpuser:john", "urn:li:corpuser:sid"]);

    // Entra reads groups without members; then no member listing is asked of DataHub.
    dh.requests().clear();
    let (status, body) =
        scim.send(reqwest::Method::GET, &format!("/Groups/{group}?excludedAttributes=members"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("members").is_none(), "{body}");
    let relationship_reads = dh.requests().matching(&http::Method::GET, "/openapi/v3/relationship").len();
    assert_eq!(relationship_reads, 0, "members were read for an answer without them");
    let (_, body) = scim.send(reqwest::Method::GET, &format!("/Groups/{group}"), None).await;
    assert_eq!(body["members"].as_array().map(Vec::len), Some(2), "{body}");

    // john is removed from the group in Entra.
    scim.patch(&format!("/Groups/{group}"), json!([{"op": "Remove", "path": "members", "value": [{"value": john}]}]))
        .await;
    assert_eq!(dh.members_of(group_urn), vec!["urn:li:corpuser:sid"]);
    assert!(dh.user("john").is_some(), "leaving a group keeps the user");

    // sid is deleted permanently: the user and its membership are gone.
    let (status, _) = scim.send(reqwest::Method::DELETE, &format!("/Users/{sid}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(dh.user("sid").is_none(), "hard delete");
    assert!(dh.members_of(group_urn).is_empty());

    // A role DataHub does not have is refused, naming the allowed ones.
    let (status, body) = scim.send(reqwest::Method::POST, "/Users", Some(entra_user("eve", Some("Owner")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("Admin") && detail.contains("Editor") && detail.contains("Reader"), "{detail}");
    assert!(dh.user("eve").is_none(), "nothing was written for a refused user");
    demo.shutdown().await.unwrap();
}

/// Collate's rule: a new group is created at the root; an existing team of the same name anywhere in
/// the hierarchy is adopted rather than duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetadata_group_adoption() {
    let demo = start(DemoTarget::Openmetadata).await;
    let scim = Scim::new(&demo);
    let Backend::OpenMetadata(om) = &demo.backend else { panic!("not OpenMetadata") };

    om.seed_team_under("Engineering", "BusinessUnit", None).unwrap();
    om.seed_team_under("data-platform", "Group", Some("Engineering")).unwrap();
    let existing = om.team_by_name("data-platform").unwrap();
    let teams_before = om.teams().len();

    let adopted = scim.create("/Groups", json!({"schemas": [GROUP], "displayName": "data-platform"})).await;
    assert_eq!(adopted, existing["id"].as_str().unwrap(), "the existing team is adopted");
    assert_eq!(om.teams().len(), teams_before, "no duplicate team");
    let team = om.team_by_name("data-platform").unwrap();
    assert_eq!(team["parents"][0]["name"], "Engineering", "the adopted team stays where it is: {team}");

    let fresh = scim.create("/Groups", json!({"schemas": [GROUP], "displayName": "analysts"})).await;
    let team = om.team_by_name("analysts").expect("created");
    assert_eq!(team["id"], fresh.as_str());
    assert_eq!(team["teamType"], "Group");
    assert_eq!(team["parents"][0]["name"], "Organization", "new groups go to the root: {team}");

    // Membership goes through the team's users; disabling a user soft-deletes it, enabling restores it.
    let alice = scim.create("/Users", entra_user("alice@contoso.com", None)).await;
    scim.patch(&format!("/Groups/{adopted}"), json!([{"op": "Add", "path": "members", "value": [{"value": alice}]}]))
        .await;
    let team = om.team_by_name("data-platform").unwrap();
    assert!(team["users"].as_array().unwrap().iter().any(|u| u["id"] == alice.as_str()), "{team}");
    let user = om.user(&alice).unwrap();
    assert_eq!(user["name"], "alice_contoso.com", "an email userName becomes a valid name");
    assert_eq!(user["scimUserName"], "alice@contoso.com", "the original is kept");

    scim.patch(&format!("/Users/{alice}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(om.user(&alice).unwrap()["deleted"], true, "active=false is a soft delete");
    scim.patch(&format!("/Users/{alice}"), json!([{"op": "Replace", "path": "active", "value": "True"}])).await;
    assert_eq!(om.user(&alice).unwrap()["deleted"], false, "active=true restores");
    demo.shutdown().await.unwrap();
}

/// Collibra's email rule: one email, or the one marked primary; several with none primary is a 400
/// with a clear detail. `active=false` disables the user rather than deleting it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collibra_email_rule_and_disable() {
    let demo = start(DemoTarget::Collibra).await;
    let scim = Scim::new(&demo);
    let Backend::Collibra(co) = &demo.backend else { panic!("not Collibra") };

    let mut one = entra_user("one", None);
    one["emails"] = json!([{"value": "one@example.com", "type": "work"}]);
    scim.create("/Users", one).await;
    assert_eq!(co.user_by_name("one").unwrap()["emailAddress"], "one@example.com");

    let mut primary = entra_user("two", None);
    primary["emails"] = json!([
        {"value": "two-home@example.com", "type": "home"},
        {"value": "two@example.com", "type": "work", "primary": true}
    ]);
    let two = scim.create("/Users", primary).await;
    assert_eq!(co.user_by_name("two").unwrap()["emailAddress"], "two@example.com");

    let mut ambiguous = entra_user("three", None);
    ambiguous["emails"] = json!([
        {"value": "a@example.com", "type": "work"},
        {"value": "b@example.com", "type": "home"}
    ]);
    let (status, body) = scim.send(reqwest::Method::POST, "/Users", Some(ambiguous)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("primary"), "{body}");
    assert!(co.user_by_name("three").is_none());

    scim.patch(&format!("/Users/{two}"), json!([{"op": "Replace", "path": "active", "value": false}])).await;
    let user = co.user_by_name("two").expect("still there");
    assert_eq!(user["enabled"], false, "disabled, not deleted: {user}");
    demo.shutdown().await.unwrap();
}

/// OpenMetadata roles: by name from its catalog; `Admin` is the `isAdmin` flag; an unknown role is
/// refused rather than dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetadata_roles_and_admin_flag() {
    let demo = start(DemoTarget::Openmetadata).await;
    let scim = Scim::new(&demo);
    let Backend::OpenMetadata(om) = &demo.backend else { panic!("not OpenMetadata") };

    let mut body = entra_user("root@contoso.com", None);
    body["roles"] = json!([{"value": "Admin", "primary": true}, {"value": "DataSteward"}]);
    let id = scim.create("/Users", body).await;
    let user = om.user(&id).unwrap();
    assert_eq!(user["isAdmin"], true, "{user}");
    let steward = om.role_by_name("DataSteward").unwrap();
    let roles: Vec<&Value> = user["roles"].as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(roles, vec![&steward["id"]], "Admin is no role: {user}");
    let (_, read) = scim.send(reqwest::Method::GET, &format!("/Users/{id}"), None).await;
    let mut values: Vec<&str> = read["roles"].as_array().unwrap().iter().filter_map(|r| r["value"].as_str()).collect();
    values.sort_unstable();
    assert_eq!(values, ["Admin", "DataSteward"]);

    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "roles", "value": [{"value": "DataConsumer"}]}]),
    )
    .await;
    let user = om.user(&id).unwrap();
    assert_eq!(user["isAdmin"], false, "{user}");
    assert_eq!(user["roles"][0]["name"], "DataConsumer", "{user}");

    let mut unknown = entra_user("eve@contoso.com", None);
    unknown["roles"] = json!([{"value": "Wizard"}]);
    let (status, body) = scim.send(reqwest::Method::POST, "/Users", Some(unknown)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("Wizard"), "{body}");
    assert!(om.user_by_name("eve_contoso.com").is_none());
    demo.shutdown().await.unwrap();
}
