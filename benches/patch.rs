//! PATCH apply on the two shapes that dominate IdP traffic: an Entra user update and a group
//! member add.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scimgate::scim::patch::{self, PatchRequest};
use scimgate::scim::{Resource, ResourceKind, ResourceSchema, urn};
use serde_json::{Value, json};

fn resource(v: Value) -> Resource {
    v.as_object().cloned().unwrap_or_default()
}

fn user() -> Resource {
    resource(json!({
        "schemas": [urn::USER, urn::ENTERPRISE_USER],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@contoso.com",
        "active": true,
        "displayName": "Test User",
        "name": { "formatted": "Test User", "familyName": "User", "givenName": "Test" },
        "emails": [
            { "primary": true, "type": "work", "value": "Test_User_ab6490ee@contoso.com" },
            { "type": "home", "value": "test@home.example" }
        ],
        urn::ENTERPRISE_USER: { "employeeNumber": "1000", "department": "Sales" },
        "meta": { "resourceType": "User", "created": "2024-01-01T00:00:00Z" }
    }))
}

/// Entra's default-mode update: one operation per attribute, capitalised `op`s.
fn entra_user_patch() -> Value {
    json!({
        "schemas": [urn::PATCH_OP],
        "Operations": [
            { "op": "Replace", "path": "displayName", "value": "Test User 2" },
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "Test_User_2@contoso.com" },
            { "op": "Replace", "path": "name.givenName", "value": "Test2" },
            { "op": "Replace", "path": "name.familyName", "value": "User2" },
            { "op": "Replace", "path": "externalId", "value": "1a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" },
            { "op": "Replace", "path": format!("{}:employeeNumber", urn::ENTERPRISE_USER), "value": "1001" },
            { "op": "Replace", "path": "active", "value": false }
        ]
    })
}

fn group(members: usize) -> Resource {
    let members: Vec<Value> = (0..members).map(|i| json!({ "value": format!("existing-{i:05}") })).collect();
    resource(json!({ "schemas": [urn::GROUP], "id": "g1", "displayName": "Sales", "members": members }))
}

fn member_add(n: usize) -> Value {
    let members: Vec<Value> = (0..n).map(|i| json!({ "$ref": null, "value": format!("new-{i:05}") })).collect();
    json!({ "schemas": [urn::PATCH_OP], "Operations": [{ "op": "Add", "path": "members", "value": members }] })
}

fn bench(c: &mut Criterion) {
    let users = ResourceSchema::rfc(ResourceKind::User);
    let groups = ResourceSchema::rfc(ResourceKind::Group);

    let body = entra_user_patch();
    let req = PatchRequest::from_json(&body).unwrap_or_default();
    let base = user();
    c.bench_function("patch/entra_user/apply", |b| {
        b.iter(|| {
            let mut r = base.clone();
            black_box(patch::apply(&users, &mut r, black_box(&req)).is_ok())
        })
    });
    c.bench_function("patch/entra_user/parse_and_apply", |b| {
        b.iter(|| {
            let mut r = base.clone();
            let ok = PatchRequest::from_json(black_box(&body)).and_then(|req| patch::apply(&users, &mut r, &req));
            black_box(ok.is_ok())
        })
    });

    let req = PatchRequest::from_json(&member_add(100)).unwrap_or_default();
    for existing in [0, 1000] {
        let base = group(existing);
        c.bench_function(&format!("patch/group_add_100_members/{existing}_existing"), |b| {
            b.iter(|| {
                let mut g = base.clone();
                black_box(patch::apply(&groups, &mut g, black_box(&req)).is_ok())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
