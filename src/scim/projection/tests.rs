#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;
use crate::scim::{ResourceKind, ScimType, urn};

const ENT: &str = urn::ENTERPRISE_USER;

fn user() -> Resource {
    json!({
        "schemas": [urn::USER, ENT],
        "id": "1",
        "externalId": "e1",
        "userName": "bjensen",
        "password": "secret",
        "name": { "givenName": "Barbara", "familyName": "Jensen" },
        "emails": [{ "value": "b@x", "type": "work" }, { "value": "c@x", "type": "home" }],
        "meta": { "resourceType": "User" },
        "unknownKey": 1,
        ENT: { "department": "Sales", "manager": { "value": "m1", "displayName": "Boss" } }
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let p = Projection::from_query(attributes, excluded).unwrap();
    Value::Object(p.apply(&ResourceSchema::rfc(ResourceKind::User), user()))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[test]
fn the_default_returns_default_and_always_attributes_but_never_passwords() {
    let r = project(None, None);
    assert_eq!(keys(&r), vec!["emails", "externalId", "id", "meta", "name", "schemas", ENT, "userName"]);
    assert_eq!(r[ENT]["manager"], json!({ "value": "m1", "displayName": "Boss" }));
    assert_eq!(Projection::default(), Projection::from_query(None, None).unwrap());
    assert_eq!(project(Some(" , "), None), r, "an empty list is no list");
}

#[test]
fn attributes_selects_plus_always_returned() {
    let r = project(Some("userName, name.givenName ,emails.value"), None);
    assert_eq!(keys(&r), ["emails", "id", "name", "schemas", "userName"]);
    assert_eq!(r["name"], json!({ "givenName": "Barbara" }));
    assert_eq!(r["emails"], json!([{ "value": "b@x" }, { "value": "c@x" }]));

    let r = project(Some("password,USERNAME"), None);
    assert_eq!(keys(&r), ["id", "schemas", "userName"], "never-returned attributes stay hidden");
}

#[test]
fn extension_attributes_are_projected_inside_their_object() {
    let r = project(Some(&format!("{ENT}:department")), None);
    assert_eq!(r[ENT], json!({ "department": "Sales" }));
    let r = project(Some(&format!("{ENT}:manager.value")), None);
    assert_eq!(r[ENT], json!({ "manager": { "value": "m1" } }));
    let r = project(Some(ENT), None);
    assert_eq!(r[ENT], user()[ENT]);
    let r = project(Some("department"), None);
    assert_eq!(r[ENT], json!({ "department": "Sales" }), "a bare extension attribute name");
    let r = project(Some("userName"), None);
    assert!(r.get(ENT).is_none(), "an extension left empty is dropped");
    let r = project(None, Some(&format!("{ENT}:department,{ENT}:manager")));
    assert!(r.get(ENT).is_none());
}

#[test]
fn excluded_attributes_remove_from_the_default_set_but_never_id() {
    let r = project(None, Some("emails, id, name.familyName, meta"));
    assert_eq!(keys(&r), ["externalId", "id", "name", "schemas", ENT, "userName"]);
    assert_eq!(r["name"], json!({ "givenName": "Barbara" }));
    let r = project(Some("userName,emails"), Some("emails.type"));
    assert_eq!(r["emails"], json!([{ "value": "b@x" }, { "value": "c@x" }]));
}

#[test]
fn includes_tells_whether_members_are_wanted() {
    let g = ResourceSchema::rfc(ResourceKind::Group);
    let members = AttrPath::named("members");
    let value = AttrPath { sub: Some("value".into()), ..AttrPath::named("members") };
    let wanted = |a: Option<&str>, e: Option<&str>| Projection::from_query(a, e).unwrap().includes(&g, &members);
    assert!(wanted(None, None));
    assert!(!wanted(None, Some("members")));
    assert!(!wanted(Some("displayName"), None));
    assert!(wanted(Some("members.value"), None));
    assert!(wanted(None, Some("members.display")));
    assert!(Projection::default().includes(&g, &value));
    assert!(!Projection::from_query(None, Some("members.value")).unwrap().includes(&g, &value));
    assert!(Projection::default().includes(&g, &AttrPath::named("id")));
    assert!(Projection::from_query(None, Some("id")).unwrap().includes(&g, &AttrPath::named("id")));
    let u = ResourceSchema::rfc(ResourceKind::User);
    assert!(!Projection::default().includes(&u, &AttrPath::named("password")));
    assert!(!Projection::default().includes(&u, &AttrPath::named("nonsense")));
}

#[test]
fn entra_group_query_without_members() {
    let g = ResourceSchema::rfc(ResourceKind::Group);
    let group = json!({ "schemas": [urn::GROUP], "id": "g", "displayName": "G", "members": [{ "value": "u" }] });
    let p = Projection::from_query(None, Some("members")).unwrap();
    let r = p.apply(&g, group.as_object().unwrap().clone());
    assert_eq!(Value::Object(r), json!({ "schemas": [urn::GROUP], "id": "g", "displayName": "G" }));
}

#[test]
fn malformed_entries_are_invalid_value() {
    for bad in ["user name", "name.given.x", "emails[type eq \"w\"]", "\"x\""] {
        let e = Projection::from_query(Some(bad), None).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)), "{bad}");
        assert!(Projection::from_query(None, Some(bad)).is_err());
    }
    assert!(Projection::from_query(Some("urn:ietf:params:scim:schemas:extension:Custom:1.0"), None).is_ok());
}

#[test]
fn keys_are_given_the_schema_s_spelling_and_the_schema_s_spelling_wins() {
    let mut r = user();
    r.insert("USERNAME".into(), json!("other"));
    r.insert("DisplayName".into(), json!("Babs"));
    r.insert("Schemas".into(), r["schemas"].clone());
    r.remove("schemas");
    let ext = r.remove(ENT).unwrap();
    r.insert(ENT.to_uppercase(), ext);
    let out = Value::Object(Projection::default().apply(&ResourceSchema::rfc(ResourceKind::User), r));
    assert_eq!(
        keys(&out),
        vec!["displayName", "emails", "externalId", "id", "meta", "name", "schemas", ENT, "userName"]
    );
    assert_eq!(out["userName"], "bjensen", "the key spelled as the schema spells it is kept");
    assert_eq!(out["displayName"], "Babs");
    assert_eq!(out[ENT]["department"], "Sales");
    assert_eq!(out["schemas"], json!([urn::USER, ENT]));
}
