//! The mapping engine's per-request work with the shipped OpenMetadata mapping, without I/O:
//! rendering the create request of an Entra-style user (transforms, typed selection, the JSON
//! body, the percent-encoded URL) and reading a native user record back into SCIM.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use scimgate::engine::MappedTarget;
use scimgate::engine::bench_support::offline;
use scimgate::mapping::{builtin, compile_str};
use scimgate::scim::{Resource, ResourceKind, urn};
use serde_json::{Value, json};

fn target() -> MappedTarget {
    let src = builtin::source("openmetadata").unwrap_or_else(|| panic!("the OpenMetadata mapping is shipped"));
    let (mapping, _) = compile_str("openmetadata.yaml", src).unwrap_or_else(|d| panic!("{}", d.render()));
    offline(Arc::new(mapping), "https://openmetadata.example.com/api")
}

/// A user as Entra sends it on create, after the gateway's normalisation.
fn entra_user() -> Resource {
    json!({
        "schemas": [urn::USER],
        "userName": "Test_User_ab6490ee@contoso.com",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "active": true,
        "displayName": "Test User",
        "name": { "formatted": "Test User", "familyName": "User", "givenName": "Test" },
        "emails": [
            { "primary": true, "type": "work", "value": "Test_User_ab6490ee@contoso.com" },
            { "type": "home", "value": "test@home.example" }
        ]
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// An OpenMetadata user as `GET /v1/users/{id}?fields=teams,roles` answers it.
fn native_user() -> Value {
    json!({
        "id": "0b7f5ae1-6e3a-4c1f-9d3e-2f1c8a7b6d54",
        "name": "test_user_ab6490ee_contoso.com",
        "fullyQualifiedName": "test_user_ab6490ee_contoso.com",
        "displayName": "Test User",
        "email": "Test_User_ab6490ee@contoso.com",
        "scimUserName": "Test_User_ab6490ee@contoso.com",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "isAdmin": false,
        "isBot": false,
        "deleted": false,
        "version": 0.3,
        "updatedAt": 1_732_300_000_000_i64,
        "updatedBy": "scimgate",
        "href": "https://openmetadata.example.com/api/v1/users/0b7f5ae1-6e3a-4c1f-9d3e-2f1c8a7b6d54",
        "teams": [
            { "id": "5d1c2b3a-0000-4000-8000-000000000001", "type": "team", "name": "Sales", "deleted": false },
            { "id": "5d1c2b3a-0000-4000-8000-000000000002", "type": "team", "name": "Organization", "deleted": false }
        ],
        "roles": [
            { "id": "7e6d5c4b-0000-4000-8000-000000000001", "type": "role", "name": "DataSteward", "deleted": false },
            { "id": "7e6d5c4b-0000-4000-8000-000000000002", "type": "role", "name": "DataConsumer", "deleted": false }
        ]
    })
}

fn bench(c: &mut Criterion) {
    let t = target();
    let user = entra_user();
    let record = native_user();
    // Neither path awaits anything without lookups: check once, then measure the synchronous work.
    let plan = t.plan_create(ResourceKind::User, &user).now_or_never().expect("no pending work");
    assert_eq!(plan.map(|p| p.len()).ok(), Some(1), "one create call");
    let read = t.read_native(ResourceKind::User, &record).now_or_never().expect("no pending work");
    assert_eq!(read.ok().and_then(|r| r.get("userName").cloned()), Some(json!("Test_User_ab6490ee@contoso.com")));

    c.bench_function("mapping/openmetadata/render_create_user", |b| {
        b.iter(|| black_box(t.plan_create(ResourceKind::User, black_box(&user)).now_or_never()))
    });
    c.bench_function("mapping/openmetadata/read_user", |b| {
        b.iter(|| black_box(t.read_native(ResourceKind::User, black_box(&record)).now_or_never()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
