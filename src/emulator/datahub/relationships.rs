//! `/openapi/v3/relationship/{type}/{urn}`: the edges of DataHub's graph index.
//!
//! Group membership lives on the user (`groupMembership` → `IsMemberOfGroup`, `nativeGroupMembership` →
//! `IsMemberOfNativeGroup`), so a group's members are its INCOMING edges. Role assignments (`roleMembership` →
//! `IsMemberOfRole`), managers (`corpUserInfo.managerUrn` → `ReportsTo`) and the deprecated `corpGroupInfo` arrays
//! (`OwnedBy`, `IsPartOf`) are indexed the same way. The index follows applied writes at once and forgets every
//! edge of a hard-deleted entity (see the model notes); edges touching a soft-deleted entity are left out unless
//! `includeSoftDelete=true`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::{Value, json};

use super::error::DhError;
use super::model::{Edge, Kind, Store, check_urn, kind_of};
use crate::emulator::wire::{NativeRequest, Reply};

/// Whether an edge end is visible: unknown entities (a role urn, a deleted group) count as visible.
fn visible(store: &Store, urn: &str, include_soft_deleted: bool) -> bool {
    include_soft_deleted || store.entities.get(urn).is_none_or(|e| !e.removed())
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
    let edges: Vec<Edge> = store
        .edges()
        .into_iter()
        .filter(|e| types.is_empty() || types.contains(&e.relationship))
        .filter(|e| if incoming { e.destination == urn } else { e.source == urn })
        .filter(|e| visible(store, &e.source, include) && visible(store, &e.destination, include))
        .collect();
    let end = start.saturating_add(count).min(edges.len());
    let results: Vec<Value> = edges
        .get(start.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            json!({
                "relationshipType": e.relationship,
                "source": {"urn": e.source, "entityType": kind_of(&e.source)},
                "destination": {"urn": e.destination, "entityType": kind_of(&e.destination)},
            })
        })
        .collect();
    let scroll_id = if end < edges.len() { json!(URL_SAFE_NO_PAD.encode(end.to_string())) } else { Value::Null };
    Ok(Reply::json(StatusCode::OK, &json!({"results": results, "scrollId": scroll_id})))
}
