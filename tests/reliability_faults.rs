//! Fault injection through the emulated applications: the application down, 5xx, slower than the
//! timeout, a connection cut in the middle of the answer, 429 with `Retry-After`, and a failure in
//! the middle of a multi-call operation. Each case checks the SCIM status, `scimType` and detail
//! the IdP gets, that nothing is acknowledged that the application did not confirm (its records
//! are read directly), and that the IdP's retry converges on exactly one record.

#[path = "reliability_support/mod.rs"]
mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use scimgate::app;
use scimgate::emulator::{FaultRule, ServerOptions};
use serde_json::{Value, json};
use support::*;

/// Retries `request` the way an IdP does after a failure: waiting what `Retry-After` says (capped),
/// until a success or `attempts` tries. Answers every attempt.
async fn until_success<F, Fut>(attempts: usize, mut request: F) -> Vec<Answer>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let mut seen = Vec::new();
    for _ in 0..attempts {
        let a = request().await;
        let done = a.is_success();
        let wait = a.retry_after_secs().unwrap_or(0).min(3);
        seen.push(a);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100).max(Duration::from_secs(wait))).await;
    }
    seen
}

/// Entra's way to provision a user: look it up by userName, create it when absent, otherwise bring
/// the existing one up to date. This is what makes an IdP's retry of a failed create converge.
async fn entra_provision(scim: &Scim, user: &Value) -> Answer {
    let name = user["userName"].as_str().expect("userName");
    let found = match scim.find_user(name).await {
        Ok(found) => found,
        Err(failed) => return failed,
    };
    match found.as_slice() {
        [] => scim.post("/Users", user).await,
        [id] => {
            let ops = json!([
                {"op": "Replace", "path": "displayName", "value": user["displayName"]},
                {"op": "Replace", "path": "externalId", "value": user["externalId"]},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": user["emails"][0]["value"]},
            ]);
            scim.patch(&format!("/Users/{id}"), ops).await
        }
        many => panic!("{name} matches {} users: {many:?}", many.len()),
    }
}

/// Whether an error detail tells the IdP that sending the request again is safe.
fn says_retry_is_safe(detail: &str) -> bool {
    detail.contains("retrying") && detail.contains("safe")
}

fn om_users_named(rig: &Rig, name: &str) -> usize {
    rig.native.om().users().iter().filter(|u| u["scimUserName"] == name).count()
}

// === the application is down ===

/// Nothing listens where the application should be: every call is a 503 with `Retry-After`, fast
/// once the breaker opens, the gateway itself stays healthy, and once the application is up the
/// IdP's retry (after waiting as told) creates the user exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_application_then_recovery() {
    let addr = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("its address")
    };
    let kind = Kind::OpenMetadata;
    let gateway = app::start(&settings(kind, connection(kind, addr), &fast_backend())).await.expect("gateway starts");
    let scim = Scim::new(gateway.scim_base_url(kind.mapping(), false));
    let user = entra_user("ann@example.com");

    let a = scim.post("/Users", &user).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(a.retry_after_secs().is_some_and(|s| s >= 1), "Retry-After: {:?}", a.retry_after);
    assert_eq!(a.body["status"], "503");
    assert!(a.detail().contains("could not reach the application"), "{}", a.detail());
    let a = scim.get("/Users?filter=userName%20eq%20%22ann%40example.com%22").await;
    assert_eq!(a.status, 503, "{:?}", a.body);

    // Repeated failures open the breaker: answers come at once, still 503 with Retry-After.
    let started = Instant::now();
    let a = scim.get("/Users/9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d").await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(a.detail().contains("failing repeatedly"), "{}", a.detail());
    assert!(a.retry_after_secs().is_some(), "{:?}", a.retry_after);
    assert!(started.elapsed() < Duration::from_millis(500), "an open breaker answers at once: {:?}", started.elapsed());
    let health = reqwest::get(format!("http://{}/healthz", gateway.local_addr)).await.expect("healthz answers");
    assert_eq!(health.status(), StatusCode::OK);

    // The application comes up on its address; the IdP's retry converges.
    let native = Native::start(kind, ServerOptions { bind: addr, ..Default::default() }).await;
    let attempts = until_success(10, || entra_provision(&scim, &user)).await;
    let last = attempts.last().expect("one attempt");
    assert_eq!(last.status, 201, "attempts: {:?}", attempts.iter().map(|a| a.status).collect::<Vec<_>>());
    let users: Vec<Value> =
        native.om().users().into_iter().filter(|u| u["scimUserName"] == "ann@example.com").collect();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["id"], last.id());
    gateway.shutdown().await.expect("gateway stops");
    native.shutdown().await;
}

/// The application stops while the gateway runs (keep-alive connections to it included): writes
/// and reads get 503 with `Retry-After`, nothing is acknowledged, and the gateway keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_shut_down_mid_run() {
    let kind = Kind::OpenMetadata;
    let native = Native::start(kind, ServerOptions::default()).await;
    let gateway =
        app::start(&settings(kind, connection(kind, native.addr()), &fast_backend())).await.expect("gateway starts");
    let scim = Scim::new(gateway.scim_base_url(kind.mapping(), false));
    let created = scim.post("/Users", &entra_user("bob@example.com")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    native.shutdown().await;

    let path = format!("/Users/{}", created.id());
    let a = scim.patch(&path, json!([{"op": "Replace", "path": "displayName", "value": "B"}])).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(a.retry_after_secs().is_some(), "{:?}", a.retry_after);
    assert!(a.detail().contains("could not reach the application"), "{}", a.detail());
    let a = scim.post("/Users", &entra_user("carol@example.com")).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    let health = reqwest::get(format!("http://{}/healthz", gateway.local_addr)).await.expect("healthz answers");
    assert_eq!(health.status(), StatusCode::OK);
    gateway.shutdown().await.expect("gateway stops");
}

// === 5xx ===

/// A 500 on the create is a 502 naming the step, the user is not there, the POST is not repeated
/// by the gateway (it might not be safe), and the IdP's retry creates it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_on_create_is_not_acknowledged() {
    let rig = Rig::start(Kind::OpenMetadata, 1, fast_backend()).await;
    rig.native.faults().add(FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR).method(Method::POST).times(1));
    let user = entra_user("dan@example.com");

    let a = rig.scim.post("/Users", &user).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert_eq!(a.scim_type(), None);
    assert!(a.detail().contains("create user") && a.detail().contains("500"), "{}", a.detail());
    assert_eq!(om_users_named(&rig, "dan@example.com"), 0, "nothing was created");
    assert_eq!(rig.native.requests().matching(&Method::POST, "/api/v1/users").len(), 1, "a POST is not repeated");

    let a = entra_provision(&rig.scim, &user).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(om_users_named(&rig, "dan@example.com"), 1);
    rig.shutdown().await;
}

/// 502/503 on reads are retried by the gateway (safe to repeat) and hidden when a retry works;
/// when every try fails the IdP gets 503, and an update behind a failing write is not applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_reads_and_updates() {
    let rig = Rig::start(Kind::OpenMetadata, 2, fast_backend()).await;
    let created = rig.scim.post("/Users", &entra_user("erin@example.com")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let path = format!("/Users/{}", created.id());

    rig.native.requests().clear();
    rig.native.faults().add(FaultRule::status(StatusCode::BAD_GATEWAY).method(Method::GET).times(2));
    let a = rig.scim.get(&path).await;
    assert_eq!(a.status, 200, "two 502s then a success: {:?}", a.body);
    assert_eq!(a.body["userName"], "erin@example.com");
    assert_eq!(rig.native.requests().matching(&Method::GET, "/api/v1/users/").len(), 3);
    rig.native.faults().clear();

    let always = rig.native.faults().add(FaultRule::status(StatusCode::SERVICE_UNAVAILABLE).method(Method::GET));
    let a = rig.scim.get(&path).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(a.detail().contains("503"), "{}", a.detail());
    assert_eq!(rig.native.faults().fired(always), 3, "three tries in all");
    rig.native.faults().clear();
    // An update whose write fails is not applied; the same PATCH again is.
    rig.native.faults().add(FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR).method(Method::PATCH).times(1));
    let ops = json!([{"op": "Replace", "path": "displayName", "value": "Erin New"}]);
    let a = rig.scim.patch(&path, ops.clone()).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert!(a.detail().contains("patch user"), "{}", a.detail());
    let native = rig.native.om().user(created.id()).expect("the user");
    assert_eq!(native["displayName"], "erin@example.com display", "the failed update is not applied");
    let a = rig.scim.patch(&path, ops).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(rig.native.om().user(created.id()).expect("the user")["displayName"], "Erin New");
    rig.shutdown().await;
}

// === slower than the timeout ===

/// With a 300 ms backend timeout, a create the application holds for 2 s is a 504 within about a
/// second, not applied, and the IdP's retry creates it once; a read that keeps timing out is
/// retried, then 504; the gateway answers other clients meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slower_than_the_timeout() {
    let mut extra = fast_backend();
    extra["timeouts"] = json!({"connect_ms": 1000, "request_ms": 300});
    let rig = Rig::start(Kind::OpenMetadata, 3, extra).await;
    let user = entra_user("fay@example.com");
    rig.native.faults().add(FaultRule::delay(Duration::from_secs(2)).method(Method::POST).times(1));

    let started = Instant::now();
    let a = rig.scim.post("/Users", &user).await;
    assert_eq!(a.status, 504, "{:?}", a.body);
    assert!(a.detail().contains("did not answer in time"), "{}", a.detail());
    assert!(says_retry_is_safe(a.detail()), "{}", a.detail());
    assert!(started.elapsed() < Duration::from_millis(1500), "answered after {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(om_users_named(&rig, "fay@example.com"), 0, "the abandoned call was not applied");
    let a = entra_provision(&rig.scim, &user).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(om_users_named(&rig, "fay@example.com"), 1);
    let path = format!("/Users/{}", a.id());

    rig.native.requests().clear();
    rig.native.faults().add(FaultRule::delay(Duration::from_secs(2)).method(Method::GET).path_prefix("/api/v1/users/"));
    let slow = tokio::spawn({
        let scim = rig.scim.clone();
        async move { scim.get(&path).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let quick = Instant::now();
    let health = reqwest::get(format!("http://{}/healthz", rig.gateway.local_addr)).await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    let other = rig.scim.get("/ServiceProviderConfig").await;
    assert_eq!(other.status, 200);
    // Waiting behind the slow read would take at least 1.9 s.
    assert!(quick.elapsed() < Duration::from_millis(1200), "other clients waited {:?}", quick.elapsed());
    let a = slow.await.expect("the slow read");
    assert_eq!(a.status, 504, "{:?}", a.body);
    assert_eq!(rig.native.requests().matching(&Method::GET, "/api/v1/users/").len(), 3, "a read is tried 3 times");
    rig.shutdown().await;
}

// === connection cut mid-answer ===

/// The application creates the user, then the connection breaks in the middle of its answer. The
/// IdP gets a 502 saying the change may be applied and that a retry is safe; a plain POST again is
/// a 409 `uniqueness`, and Entra's retry (look up, then update) converges on the one user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_after_an_applied_create() {
    let rig = Rig::start(Kind::OpenMetadata, 4, fast_backend()).await;
    let user = entra_user("gus@example.com");
    rig.native.faults().add(FaultRule::reset().method(Method::POST).times(1));

    let a = rig.scim.post("/Users", &user).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert!(a.detail().contains("broke before its answer was complete"), "{}", a.detail());
    assert!(a.detail().contains("may be partly applied") && says_retry_is_safe(a.detail()), "{}", a.detail());
    assert_eq!(om_users_named(&rig, "gus@example.com"), 1, "the application did create it");

    let again = rig.scim.post("/Users", &user).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(again.scim_type(), Some("uniqueness"));

    let a = entra_provision(&rig.scim, &user).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(om_users_named(&rig, "gus@example.com"), 1, "still exactly one");
    let native = rig.native.om().user_by_name("gus_example.com").expect("the user");
    assert_eq!(native["id"], a.id());
    rig.shutdown().await;
}

/// A connection reset on a JSON Patch (never repeated by the gateway: its effect is unknown) is a
/// 502 saying that a retry is safe, and the IdP's identical retry lands on the same state, for a
/// member add as for an attribute change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_on_member_and_attribute_writes() {
    let rig = Rig::start(Kind::OpenMetadata, 5, fast_backend()).await;
    let u = rig.scim.post("/Users", &entra_user("hal@example.com")).await;
    let g = rig.scim.post("/Groups", &entra_group("Ops Team")).await;
    assert_eq!((u.status, g.status), (201, 201), "{:?} {:?}", u.body, g.body);
    let team = format!("/api/v1/teams/{}", g.id());

    rig.native.requests().clear();
    rig.native.faults().add(FaultRule::reset().method(Method::PATCH).path_prefix(team.clone()).times(1));
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": u.id()}]}]);
    let a = rig.scim.patch(&format!("/Groups/{}", g.id()), add.clone()).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert!(a.detail().contains("add team users") && says_retry_is_safe(a.detail()), "{}", a.detail());
    assert_eq!(rig.native.requests().matching(&Method::PATCH, &team).len(), 1, "not repeated by the gateway");
    let a = rig.scim.patch(&format!("/Groups/{}", g.id()), add).await;
    assert!(a.is_success(), "{:?}", a.body);
    let native = rig.native.om().team_by_name("Ops_Team").expect("the team");
    assert_eq!(native["users"].as_array().map(Vec::len), Some(1), "{native}");

    rig.native.faults().add(FaultRule::reset().method(Method::PATCH).times(1));
    let ops = json!([{"op": "Replace", "path": "displayName", "value": "Hal Renamed"}]);
    let a = rig.scim.patch(&format!("/Users/{}", u.id()), ops.clone()).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert!(a.detail().contains("patch user") && says_retry_is_safe(a.detail()), "{}", a.detail());
    let a = rig.scim.patch(&format!("/Users/{}", u.id()), ops).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["displayName"], "Hal Renamed");
    assert_eq!(rig.native.om().user(u.id()).expect("user")["displayName"], "Hal Renamed");
    rig.shutdown().await;
}

/// A DELETE whose answer is cut after the application deleted the user is sent again by the
/// gateway (safe to repeat) and finds nothing: that is the deletion succeeding, so the IdP gets
/// 204, not a 404 that would claim the user never existed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_after_an_applied_delete_is_a_204() {
    let rig = Rig::start(Kind::OpenMetadata, 11, fast_backend()).await;
    let u = rig.scim.post("/Users", &entra_user("lea@example.com")).await;
    assert_eq!(u.status, 201, "{:?}", u.body);
    rig.native.requests().clear();
    rig.native.faults().add(FaultRule::reset().method(Method::DELETE).times(1));

    let a = rig.scim.delete(&format!("/Users/{}", u.id())).await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert_eq!(rig.native.requests().matching(&Method::DELETE, "/api/v1/users/").len(), 2, "sent twice");
    assert!(rig.native.om().user(u.id()).is_none(), "the user is gone");
    let a = rig.scim.delete(&format!("/Users/{}", u.id())).await;
    assert_eq!(a.status, 404, "a later DELETE of the same user is a plain 404: {:?}", a.body);
    rig.shutdown().await;
}

// === 429 with Retry-After ===

/// The application throttles: a long `Retry-After` is passed on to the IdP as a 429 with the same
/// wait (seconds or an HTTP date), nothing is applied and a POST is not repeated; a short one on a
/// read is waited out by the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_passed_on_with_retry_after() {
    let rig = Rig::start(Kind::OpenMetadata, 6, fast_backend()).await;
    let user = entra_user("ida@example.com");

    rig.native.faults().add(FaultRule::rate_limited(Duration::from_secs(120)).method(Method::POST).times(1));
    let a = rig.scim.post("/Users", &user).await;
    assert_eq!(a.status, 429, "{:?}", a.body);
    assert_eq!(a.retry_after_secs(), Some(120));
    assert_eq!(a.body["status"], "429");
    assert_eq!(om_users_named(&rig, "ida@example.com"), 0);
    assert_eq!(rig.native.requests().matching(&Method::POST, "/api/v1/users").len(), 1);

    let in_a_minute = chrono::Utc::now() + chrono::Duration::seconds(60);
    rig.native.faults().add(
        FaultRule::rate_limited_until(in_a_minute.to_rfc2822().replace("+0000", "GMT")).method(Method::POST).times(1),
    );
    let a = rig.scim.post("/Users", &user).await;
    assert_eq!(a.status, 429, "{:?}", a.body);
    let secs = a.retry_after_secs().expect("Retry-After in seconds");
    assert!((55..=61).contains(&secs), "an HTTP date a minute ahead became {secs} s");

    let a = entra_provision(&rig.scim, &user).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let path = format!("/Users/{}", a.id());

    rig.native.requests().clear();
    rig.native.faults().add(FaultRule::rate_limited(Duration::from_secs(120)).method(Method::GET).times(1));
    let a = rig.scim.get(&path).await;
    assert_eq!(a.status, 429, "{:?}", a.body);
    assert_eq!(a.retry_after_secs(), Some(120), "longer than max_retry_after_secs: handed to the IdP");
    assert_eq!(rig.native.requests().len(), 1);

    rig.native.faults().add(FaultRule::rate_limited(Duration::from_secs(1)).method(Method::GET).times(1));
    let started = Instant::now();
    let a = rig.scim.get(&path).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert!(started.elapsed() >= Duration::from_millis(900), "the 1 s wait was honoured: {:?}", started.elapsed());
    rig.shutdown().await;
}

// === failures in the middle of multi-call operations ===

/// Collibra: the user is created, then recording its external id fails. The IdP gets a 502 naming
/// the failed step and saying a retry is safe; the user exists without the mapping; Entra's retry
/// finds the user and sets externalId, which records the mapping, and no second user appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collibra_user_created_then_external_id_step_fails() {
    let rig = Rig::start(Kind::Collibra, 7, fast_backend()).await;
    let user = entra_user("jan@example.com");
    rig.native.faults().add(
        FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR)
            .method(Method::POST)
            .path_prefix("/rest/2.0/mappings")
            .times(1),
    );

    let a = rig.scim.post("/Users", &user).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert!(a.detail().contains("record external id"), "{}", a.detail());
    assert!(says_retry_is_safe(a.detail()), "{}", a.detail());
    let collibra = rig.native.collibra();
    assert!(collibra.user_by_name("jan@example.com").is_some(), "the first step was applied");
    assert!(collibra.mappings().is_empty(), "{:?}", collibra.mappings());

    let a = entra_provision(&rig.scim, &user).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["externalId"], "ext-jan@example.com");
    let users: Vec<Value> = collibra.users().into_iter().filter(|u| u["userName"] == "jan@example.com").collect();
    assert_eq!(users.len(), 1, "{users:?}");
    let mappings = collibra.mappings();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    assert_eq!(mappings[0]["externalEntityId"], "ext-jan@example.com");
    rig.shutdown().await;
}

/// OpenMetadata: an update whose field change is applied but whose `active=false` trigger (a soft
/// delete) fails. Not a success; the detail names the step; the retry completes the disable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetadata_applied_update_then_failed_soft_delete() {
    let rig = Rig::start(Kind::OpenMetadata, 8, fast_backend()).await;
    let u = rig.scim.post("/Users", &entra_user("kim@example.com")).await;
    assert_eq!(u.status, 201);
    rig.native.faults().add(
        FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR)
            .method(Method::DELETE)
            .path_prefix("/api/v1/users/")
            .times(1),
    );
    let ops = json!([
        {"op": "Replace", "path": "displayName", "value": "Kim Leaving"},
        {"op": "Replace", "path": "active", "value": "False"},
    ]);
    let a = rig.scim.patch(&format!("/Users/{}", u.id()), ops.clone()).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert!(a.detail().contains("soft-delete user"), "{}", a.detail());
    assert!(says_retry_is_safe(a.detail()), "{}", a.detail());
    let native = rig.native.om().user(u.id()).expect("user");
    assert_eq!((native["displayName"].as_str(), native["deleted"].as_bool()), (Some("Kim Leaving"), Some(false)));

    let a = rig.scim.patch(&format!("/Users/{}", u.id()), ops).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["active"], false);
    let native = rig.native.om().user(u.id()).expect("user");
    assert_eq!((native["displayName"].as_str(), native["deleted"].as_bool()), (Some("Kim Leaving"), Some(true)));
    rig.shutdown().await;
}

/// DataHub adds members one user at a time; the 7th of 10 writes fails. The PATCH is a 502 naming
/// the step and the member, the other nine are in, and the same PATCH again brings all ten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datahub_seventh_of_ten_member_additions_fails() {
    let rig = Rig::start(Kind::DataHub, 9, fast_backend()).await;
    let mut ids = Vec::new();
    for i in 1..=10 {
        let a = rig.scim.post("/Users", &entra_user(&format!("member{i:02}"))).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        ids.push(a.id().to_owned());
    }
    let g = rig.scim.post("/Groups", &entra_group("analysts")).await;
    assert_eq!(g.status, 201, "{:?}", g.body);
    let group_urn = "urn:li:corpGroup:analysts";
    let seventh = rig.native.faults().add(
        FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR)
            .method(Method::POST)
            .path_prefix("/openapi/v3/entity/corpuser/")
            .nth(7),
    );
    let values: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let ops = json!([{"op": "Add", "path": "members", "value": values}]);

    let a = rig.scim.patch(&format!("/Groups/{}", g.id()), ops.clone()).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert_eq!(rig.native.faults().fired(seventh), 1);
    assert!(a.detail().contains("write member's groups"), "{}", a.detail());
    let dh = rig.native.datahub();
    let members = dh.members_of(group_urn);
    assert_eq!(members.len(), 9, "{members:?}");
    let failed: Vec<String> =
        (1..=10).map(|i| format!("urn:li:corpuser:member{i:02}")).filter(|u| !members.contains(u)).collect();
    assert_eq!(failed.len(), 1);
    let failed_user = failed[0].trim_start_matches("urn:li:corpuser:");
    assert!(a.detail().contains(failed_user), "the detail names the member: {}", a.detail());

    let a = rig.scim.patch(&format!("/Groups/{}", g.id()), ops).await;
    assert!(a.is_success(), "{:?}", a.body);
    let expected: Vec<String> = (1..=10).map(|i| format!("urn:li:corpuser:member{i:02}")).collect();
    assert_eq!(dh.members_of(group_urn), expected);
    rig.shutdown().await;
}

/// OpenMetadata removes members one call each; the 7th of 10 removals fails with a 500 (not
/// repeated by the gateway). The PATCH is a 502 naming the step, one member is left, and the
/// IdP's retry removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetadata_seventh_of_ten_member_removals_fails() {
    let rig = Rig::start(Kind::OpenMetadata, 10, fast_backend()).await;
    let mut ids = Vec::new();
    for i in 1..=10 {
        let a = rig.scim.post("/Users", &entra_user(&format!("m{i:02}@example.com"))).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        ids.push(a.id().to_owned());
    }
    let g = rig.scim.post("/Groups", &entra_group("Data Stewards")).await;
    let values: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let a = rig
        .scim
        .patch(&format!("/Groups/{}", g.id()), json!([{"op": "Add", "path": "members", "value": values}]))
        .await;
    assert!(a.is_success(), "{:?}", a.body);
    let team_count = || {
        let team = rig.native.om().team_by_name("Data_Stewards").expect("team");
        team["users"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(team_count(), 10);

    let seventh = rig.native.faults().add(
        FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR)
            .method(Method::DELETE)
            .path_prefix(format!("/api/v1/teams/{}/users/", g.id()))
            .nth(7),
    );
    let ops = json!([{"op": "Remove", "path": "members", "value": values}]);
    let a = rig.scim.patch(&format!("/Groups/{}", g.id()), ops.clone()).await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert_eq!(rig.native.faults().fired(seventh), 1);
    assert!(a.detail().contains("remove team user"), "{}", a.detail());
    assert_eq!(team_count(), 1, "nine removed, the failed one left");

    let a = rig.scim.patch(&format!("/Groups/{}", g.id()), ops).await;
    assert!(a.is_success(), "{:?}", a.body);
    assert_eq!(team_count(), 0);
    assert_eq!(rig.native.om().users().iter().filter(|u| u["deleted"] == false).count(), 10, "users stay");
    rig.shutdown().await;
}
