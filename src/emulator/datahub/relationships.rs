//! `/openapi/v3/relationship/{type}/{urn}`: the graph edges DataHub derives from aspects.
//!
//! Group membership lives on the user (`groupMembership` → `IsMemberOfGroup`, `nativeGroupMembership` →
//! `IsMemberOfNativeGroup`), so a group's members are its INCOMING edges. Role assignments (`roleMembership` →
//! `IsMemberOfRole`) and managers (`corpUserInfo.managerUrn` → `ReportsTo`) are derived the same way. Edges are
//! computed from the current aspects, so they follow writes immediately.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::{Value, json};

use super::error::DhError;
use super::model::{Kind, Store, check_urn, kind_of};
use crate::emulator::wire::{NativeRequest, Reply};

/// Relationship name, aspect, field.
const EDGES: &[(&str, &str, &str)] = &[
    ("IsMemberOfGroup", "groupMembership", "groups"),
    ("IsMemberOfNativeGroup", "nativeGroupMembership", "nativeGroups"),
    ("IsMemberOfRole", "roleMembership", "roles"),
];

/// One edge: type, source, destination.
pub(super) type Edge = (&'static str, String, String);

/// Every edge in the store, sources that are soft-deleted left out unless asked for.
pub(super) fn all_edges(store: &Store, include_soft_deleted: bool) -> Vec<Edge> {
    let mut edges = Vec::new();
    for (urn, entity) in store.entities.iter().filter(|(_, e)| include_soft_deleted || !e.removed()) {
        for (name, aspect, field) in EDGES {
            let targets = entity.aspect(aspect).and_then(|a| a.get(*field)).and_then(Value::as_array);
            for target in targets.into_iter().flatten().filter_map(Value::as_str) {
                edges.push((*name, urn.clone(), target.to_owned()));
            }
        }
        if let Some(manager) = entity.aspect("corpUserInfo").and_then(|a| a.get("managerUrn")).and_then(Value::as_str) {
            edges.push(("ReportsTo", urn.clone(), manager.to_owned()));
        }
    }
    edges
}

/// `GET /openapi/v3/relationship/{type}/{urn}?relationshipType[]=…&direction=INCOMING|OUTGOING&count&scrollId`.
pub(super) fn related(store: &Store, req: &NativeRequest, kind: Kind, urn: &str) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let types: Vec<&str> = req.params("relationshipType[]").chain(req.params("relationshipType")).collect();
    let incoming = match req.param("direction") {
        None | Some("") | Some("OUTGOING") => false,
        Some("INCOMING") => true,
        Some(other) => return Err(DhError::bad_request(format!("Unknown direction {other:?}"))),
    };
    let count = req.int("count", 10).map_err(DhError::bad_request)?;
    let count = usize::try_from(count).map_err(|_| DhError::bad_request("count must not be negative"))?;
    let start = match req.param("scrollId").filter(|s| !s.is_empty()) {
        Some(id) => URL_SAFE_NO_PAD
            .decode(id)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| DhError::bad_request(format!("Invalid scrollId {id:?}")))?,
        None => 0,
    };
    let include = req.flag("includeSoftDelete", false).map_err(DhError::bad_request)?;
    let mut edges: Vec<Edge> = all_edges(store, include)
        .into_iter()
        .filter(|(t, _, _)| types.is_empty() || types.contains(t))
        .filter(|(_, source, destination)| if incoming { destination == urn } else { source == urn })
        .collect();
    edges.sort_by(|a, b| (&a.1, &a.2, a.0).cmp(&(&b.1, &b.2, b.0)));
    let end = (start + count).min(edges.len());
    let results: Vec<Value> = edges
        .get(start.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|(t, source, destination)| {
            json!({
                "relationshipType": t,
                "source": {"urn": source, "entityType": kind_of(source)},
                "destination": {"urn": destination, "entityType": kind_of(destination)},
            })
        })
        .collect();
    let scroll_id = if end < edges.len() { json!(URL_SAFE_NO_PAD.encode(end.to_string())) } else { Value::Null };
    Ok(Reply::json(StatusCode::OK, &json!({"results": results, "scrollId": scroll_id})))
}
