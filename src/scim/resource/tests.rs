#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;
use crate::scim::{ResourceKind, ScimType};

const ENT: &str = urn::ENTERPRISE_USER;

fn user_schema() -> ResourceSchema {
    ResourceSchema::rfc(ResourceKind::User)
}

fn write(body: Value) -> Result<Value, ScimError> {
    prepare_write(&user_schema(), body).map(Value::Object)
}

fn invalid(body: Value) -> ScimError {
    let e = write(body.clone()).unwrap_err();
    assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)), "{body}: {e}");
    e
}

#[test]
fn the_body_must_be_an_object() {
    for body in [json!([]), json!("x"), json!(null)] {
        let e = write(body).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidSyntax)));
    }
}

#[test]
fn an_entra_create_body_is_canonicalised() {
    let body = json!({
        "schemas": [urn::USER, ENT],
        "externalId": "0a21f0f2",
        "UserName": "Test_User_ab6490ee@contoso.com",
        "active": true,
        "emails": [{ "Primary": true, "type": "work", "VALUE": "Test_User@contoso.com", "bogus": 1 }],
        "meta": { "resourceType": "User" },
        "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
        "roles": [],
        "addresses": null
    });
    let r = write(body).unwrap();
    assert_eq!(
        r,
        json!({
            "schemas": [urn::USER],
            "externalId": "0a21f0f2",
            "userName": "Test_User_ab6490ee@contoso.com",
            "active": true,
            "emails": [{ "primary": true, "type": "work", "value": "Test_User@contoso.com" }],
            "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" }
        }),
        "meta dropped, empty roles and null addresses absent, unlisted enterprise extension not in schemas"
    );
}

#[test]
fn read_only_unknown_and_empty_values_are_dropped() {
    let r = write(json!({
        "id": "client-chosen",
        "userName": "u",
        "groups": [{ "value": "g1" }],
        "favouriteColour": "blue",
        "urn:example:custom:1.0:User": { "x": 1 },
        ENT: { "department": "Sales", "manager": { "value": "m", "displayName": "Boss" }, "nope": 1 },
        "name": {},
        "nickName": null
    }))
    .unwrap();
    assert_eq!(
        r,
        json!({
            "schemas": [urn::USER, ENT],
            "userName": "u",
            ENT: { "department": "Sales", "manager": { "value": "m" } }
        })
    );
}

#[test]
fn extension_keys_in_any_case_and_qualified_attribute_keys() {
    let r = write(json!({
        "userName": "u",
        ENT.to_uppercase(): { "Department": "Sales" },
        format!("{ENT}:employeeNumber"): "42",
        format!("{}:displayName", urn::USER): "U"
    }))
    .unwrap();
    assert_eq!(r[ENT], json!({ "department": "Sales", "employeeNumber": "42" }));
    assert_eq!(r["displayName"], "U");
    assert_eq!(r["schemas"], json!([urn::USER, ENT]));
    assert!(r.get(ENT.to_uppercase()).is_none());
}

#[test]
fn types_are_checked_and_errors_name_the_attribute() {
    for (body, named) in [
        (json!({ "userName": "u", "active": "True" }), "active"),
        (json!({ "userName": "u", "emails": [{ "value": 3 }] }), "emails.value"),
        (json!({ "userName": "u", "name": "Babs" }), "name"),
        (json!({ "userName": ["u"] }), "userName"),
        (json!({ "userName": "u", ENT: { "manager": { "value": false } } }), "manager.value"),
        (json!({ "userName": "u", ENT: "Sales" }), ENT),
    ] {
        let e = invalid(body);
        assert!(e.detail.contains(named), "{}", e.detail);
    }
}

#[test]
fn required_attributes_must_be_present() {
    let e = invalid(json!({ "displayName": "x" }));
    assert!(e.detail.contains("userName") && e.detail.contains("required"), "{}", e.detail);
    invalid(json!({ "userName": null }));
    invalid(json!({ "userName": "u", "USERNAME": "v" }));
    let g = ResourceSchema::rfc(ResourceKind::Group);
    let e = prepare_write(&g, json!({ "members": [] })).unwrap_err();
    assert!(e.detail.contains("displayName"), "{}", e.detail);
    let ok = prepare_write(&g, json!({ "displayName": "G", "members": [{ "value": "u1", "display": "U" }] })).unwrap();
    assert_eq!(
        Value::Object(ok),
        json!({ "schemas": [urn::GROUP], "displayName": "G", "members": [{ "value": "u1" }] })
    );
}

#[test]
fn two_primaries_are_rejected() {
    let e = invalid(json!({
        "userName": "u",
        "emails": [{ "value": "a@x", "primary": true }, { "value": "b@x", "primary": true }]
    }));
    assert!(e.detail.contains("emails"), "{}", e.detail);
    assert!(
        write(json!({ "userName": "u", "emails": [{ "value": "a@x", "primary": true }, { "value": "b@x" }] })).is_ok()
    );
}

#[test]
fn a_single_value_for_a_multi_valued_attribute_is_wrapped() {
    let r = write(json!({ "userName": "u", "emails": { "value": "a@x" } })).unwrap();
    assert_eq!(r["emails"], json!([{ "value": "a@x" }]));
}

#[test]
fn stamp_sets_schemas_and_meta() {
    let s = user_schema();
    let mut r = json!({
        "id": "1",
        "schemas": ["urn:bogus"],
        ENT.to_lowercase(): { "department": "x" },
        "meta": { "created": "2024-01-01T00:00:00Z", "lastModified": "2024-02-01T00:00:00Z", "version": "W/\"3\"", "resourceType": "Nope" }
    })
    .as_object()
    .cloned()
    .unwrap();
    stamp(&s, &mut r, Some("https://gw/scim/Users/1"));
    assert_eq!(r["schemas"], json!([urn::USER, ENT]));
    assert_eq!(r[ENT], json!({ "department": "x" }));
    assert_eq!(
        r["meta"],
        json!({
            "resourceType": "User",
            "location": "https://gw/scim/Users/1",
            "created": "2024-01-01T00:00:00Z",
            "lastModified": "2024-02-01T00:00:00Z",
            "version": "W/\"3\""
        })
    );

    let mut g = json!({ "id": "g", ENT: {} }).as_object().cloned().unwrap();
    stamp(&ResourceSchema::rfc(ResourceKind::Group), &mut g, None);
    assert_eq!(
        Value::Object(g.clone()),
        json!({ "id": "g", ENT: {}, "schemas": [urn::GROUP], "meta": { "resourceType": "Group" } })
    );
    let mut u = json!({ "id": "u", ENT: {} }).as_object().cloned().unwrap();
    stamp(&s, &mut u, None);
    assert!(u.get(ENT).is_none(), "an empty extension object is dropped");
    assert_eq!(u["schemas"], json!([urn::USER]));
}
