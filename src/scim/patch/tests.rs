//! Unit tests of PATCH parsing and application; invariants are in `proptests`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apply;
mod paths;
mod proptests;
mod request;

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::scim::schema::Mutability;
use crate::scim::{Resource, ResourceKind, ResourceSchema, ScimError, ScimType, urn};

const ENT: &str = urn::ENTERPRISE_USER;

fn user_schema() -> ResourceSchema {
    ResourceSchema::rfc(ResourceKind::User)
}

fn group_schema() -> ResourceSchema {
    ResourceSchema::rfc(ResourceKind::Group)
}

/// The RFC User schema with `nickName` made immutable, to exercise the immutable rules.
fn schema_with_immutable_nickname() -> ResourceSchema {
    let mut s = user_schema();
    let mut core = (*s.core).clone();
    core.attributes.iter_mut().find(|a| a.name == "nickName").unwrap().mutability = Mutability::Immutable;
    s.core = Arc::new(core);
    s
}

fn obj(v: Value) -> Resource {
    v.as_object().cloned().expect("test resource is an object")
}

fn request(ops: Value) -> PatchRequest {
    PatchRequest::from_json(&json!({ "schemas": [urn::PATCH_OP], "Operations": ops })).expect("valid PatchOp")
}

/// Applies `ops`; on error also checks that the resource was left untouched.
fn run(schema: &ResourceSchema, resource: Value, ops: Value) -> Result<(Value, PatchOutcome), ScimError> {
    let before = obj(resource);
    let mut r = before.clone();
    match apply(schema, &mut r, &request(ops)) {
        Ok(outcome) => Ok((Value::Object(r), outcome)),
        Err(e) => {
            assert_eq!(r, before, "a failed PATCH must leave the resource unchanged");
            Err(e)
        }
    }
}

fn patched(schema: &ResourceSchema, resource: Value, ops: Value) -> Value {
    run(schema, resource, ops).unwrap().0
}

fn error(schema: &ResourceSchema, resource: Value, ops: Value) -> ScimError {
    match run(schema, resource, ops) {
        Ok((r, _)) => panic!("expected an error, got {r}"),
        Err(e) => e,
    }
}

fn kind(e: &ScimError) -> (u16, Option<ScimType>) {
    (e.status, e.scim_type)
}

fn user() -> Value {
    json!({
        "schemas": [urn::USER],
        "id": "2819c223",
        "userName": "bjensen",
        "name": { "givenName": "Barbara", "familyName": "Jensen" },
        "active": true,
        "emails": [
            { "value": "bjensen@work.example", "type": "work", "primary": true },
            { "value": "babs@home.example", "type": "home" }
        ],
        "meta": { "resourceType": "User", "created": "2024-01-01T00:00:00Z" }
    })
}

fn group(members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
    let mut g = json!({ "schemas": [urn::GROUP], "id": "g1", "displayName": "Admins" });
    if !members.is_empty() {
        g["members"] = Value::Array(members);
    }
    g
}

fn member_values(g: &Value) -> Vec<&str> {
    g["members"].as_array().map(|m| m.iter().filter_map(|e| e["value"].as_str()).collect()).unwrap_or_default()
}

fn primaries(v: &Value) -> usize {
    v.as_array().map_or(0, |items| items.iter().filter(|e| e["primary"] == json!(true)).count())
}
