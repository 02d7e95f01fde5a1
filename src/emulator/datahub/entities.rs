//! `/openapi/v3/entity/...`: batch and single-aspect upserts, reads, existence checks, scrolling and deletes.
//!
//! Upserts replace an aspect's whole value (no field merge), so a client changes one field by reading the
//! aspect, changing it and writing it back. Batch upserts are asynchronous unless `async=false` (202 instead of
//! 200); with an async lag configured, an async write becomes visible only after that lag.
//!
//! The single-aspect `POST` is a create unless told otherwise: `createIfNotExists` defaults to true, which makes
//! the write a `CREATE` that DataHub's `CreateIfNotExistsValidator` refuses when the aspect already exists
//! (422, "Cannot perform CREATE since the aspect already exists."). Replacing an existing aspect needs
//! `createIfNotExists=false` (an `UPSERT`). `createIfEntityNotExists=true` (`CREATE_ENTITY`) is refused when the
//! entity exists. An asynchronous write is accepted first (202) and dropped if it conflicts once it is applied.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use http::header::HeaderName;
use serde_json::{Map, Value, json};

use super::error::DhError;
use super::model::{Change, Entity, Kind, Store, Write, check_urn, not_found, render_aspect};
use super::search::Query;
use crate::emulator::json_patch;
use crate::emulator::wire::{NativeRequest, Reply};

const NOT_FOUND_REASON: HeaderName = HeaderName::from_static("not-found-reason");
const MAX_COUNT: i64 = 10_000;

fn flag(req: &NativeRequest, name: &str, default: bool) -> Result<bool, DhError> {
    req.flag(name, default).map_err(DhError::bad_request)
}

/// The aspect filter of a read: `aspects` and `aspectNames`, repeated or comma-separated.
fn aspect_filter(kind: Kind, req: &NativeRequest) -> Result<Vec<&'static str>, DhError> {
    let mut names = Vec::new();
    for raw in req.params("aspects").chain(req.params("aspectNames")) {
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let spec = kind.aspect(name)?;
            if !names.contains(&spec.name) {
                names.push(spec.name);
            }
        }
    }
    Ok(names)
}

/// Validates one `{"urn": …, "<aspect>": {"value": …}}` item.
fn parse_item(kind: Kind, item: &Value) -> Result<Write, DhError> {
    let obj = item.as_object().ok_or_else(|| DhError::bad_request("Each entity must be a JSON object"))?;
    let urn = obj.get("urn").and_then(Value::as_str).ok_or_else(|| DhError::bad_request("Each entity needs a urn"))?;
    check_urn(kind, urn)?;
    let mut aspects = Vec::new();
    for (name, envelope) in obj.iter().filter(|(k, _)| k.as_str() != "urn") {
        let spec = kind.aspect(name)?;
        let value = envelope
            .get("value")
            .filter(|v| !v.is_null())
            .ok_or_else(|| DhError::bad_request(format!("Aspect {name} must be wrapped as {{\"value\": …}}")))?;
        spec.validate(value)?;
        if spec.name == kind.key_aspect() && *value != kind.key_value(urn) {
            return Err(DhError::bad_request(format!("Key aspect {} does not match urn {urn}", spec.name)));
        }
        aspects.push((spec.name.to_owned(), value.clone(), envelope.get("systemMetadata").cloned()));
    }
    Ok(Write { urn: urn.to_owned(), kind, aspects, change: Change::Upsert })
}

fn echo(write: &Write) -> Value {
    let mut o = Map::new();
    o.insert("urn".into(), json!(write.urn));
    for (name, value, _) in &write.aspects {
        o.insert(name.clone(), json!({"value": value}));
    }
    Value::Object(o)
}

fn write_status(asynchronous: bool) -> StatusCode {
    if asynchronous { StatusCode::ACCEPTED } else { StatusCode::OK }
}

/// `POST /openapi/v3/entity/{type}?async=` with a JSON array of entities; `async` defaults to true.
pub(super) fn upsert_batch(store: &mut Store, req: &NativeRequest, kind: Kind) -> Result<Reply, DhError> {
    let asynchronous = flag(req, "async", true)?;
    let body = req.json().map_err(DhError::bad_request)?;
    let items = body.as_array().ok_or_else(|| DhError::bad_request("Expected a JSON array of entities"))?;
    let writes = items.iter().map(|item| parse_item(kind, item)).collect::<Result<Vec<_>, _>>()?;
    let echoed: Vec<Value> = writes.iter().filter(|w| !w.aspects.is_empty()).map(echo).collect();
    for write in writes.into_iter().filter(|w| !w.aspects.is_empty()) {
        store.submit(write, asynchronous);
    }
    Ok(Reply::json(write_status(asynchronous), &Value::Array(echoed)))
}

/// `POST /openapi/v3/entity/{type}/{urn}/{aspect}?async=&createIfNotExists=&createIfEntityNotExists=` with
/// `{"value": …}`. `async` defaults to false and `createIfNotExists` to true (see the module notes).
pub(super) fn upsert_aspect(
    store: &mut Store,
    req: &NativeRequest,
    kind: Kind,
    urn: &str,
    aspect: &str,
) -> Result<Reply, DhError> {
    let asynchronous = flag(req, "async", false)?;
    let create_aspect = flag(req, "createIfNotExists", true)?;
    let create_entity = flag(req, "createIfEntityNotExists", false)?;
    let body = req.json().map_err(DhError::bad_request)?;
    let spec = kind.aspect(aspect)?;
    let mut item = Map::new();
    item.insert("urn".into(), json!(urn));
    item.insert(spec.name.to_owned(), body);
    let mut write = parse_item(kind, &Value::Object(item))?;
    write.change = if create_entity {
        Change::CreateEntity
    } else if create_aspect {
        Change::Create
    } else {
        Change::Upsert
    };
    if !asynchronous && let Some(why) = store.conflict(&write) {
        return Err(DhError::new(StatusCode::UNPROCESSABLE_ENTITY, why));
    }
    let echoed = echo(&write);
    store.submit(write, asynchronous);
    Ok(Reply::json(write_status(asynchronous), &echoed))
}

/// `GET /openapi/v3/entity/{type}/{urn}?aspects=&systemMetadata=`: 404 with an empty body when unknown.
pub(super) fn get(store: &Store, req: &NativeRequest, kind: Kind, urn: &str) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let only = aspect_filter(kind, req)?;
    let with_meta = flag(req, "systemMetadata", false)?;
    match store.render(urn, &only, with_meta) {
        Some(entity) => Ok(Reply::json(StatusCode::OK, &entity)),
        None => Ok(Reply::empty(StatusCode::NOT_FOUND).with_header(NOT_FOUND_REASON, "ENTITY")),
    }
}

fn visible(entity: &Entity, include_soft_deleted: bool) -> bool {
    include_soft_deleted || !entity.removed()
}

/// `HEAD /openapi/v3/entity/{type}/{urn}`: 204 when it exists and is not soft-deleted (unless
/// `includeSoftDelete=true`), else 404.
pub(super) fn head(store: &Store, req: &NativeRequest, kind: Kind, urn: &str) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let include = flag(req, "includeSoftDelete", false)?;
    match store.entities.get(urn) {
        Some(e) if visible(e, include) => Ok(Reply::empty(StatusCode::NO_CONTENT)),
        _ => Err(not_found()),
    }
}

/// `GET /openapi/v3/entity/{type}/{urn}/{aspect}`: `{"value": …}` or an empty 404.
pub(super) fn get_aspect(
    store: &Store,
    req: &NativeRequest,
    kind: Kind,
    urn: &str,
    aspect: &str,
) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let spec = kind.aspect(aspect)?;
    let with_meta = flag(req, "systemMetadata", false)?;
    let stored = store.entities.get(urn).and_then(|e| e.aspects.get(spec.name));
    match stored {
        Some(stored) => Ok(Reply::json(StatusCode::OK, &render_aspect(stored, with_meta))),
        None => Ok(Reply::empty(StatusCode::NOT_FOUND).with_header(NOT_FOUND_REASON, "ENTITY")),
    }
}

/// `HEAD /openapi/v3/entity/{type}/{urn}/{aspect}`.
pub(super) fn head_aspect(
    store: &Store,
    req: &NativeRequest,
    kind: Kind,
    urn: &str,
    aspect: &str,
) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let spec = kind.aspect(aspect)?;
    let include = flag(req, "includeSoftDelete", false)?;
    match store.entities.get(urn) {
        Some(e) if visible(e, include) && e.aspects.contains_key(spec.name) => Ok(Reply::empty(StatusCode::NO_CONTENT)),
        _ => Err(not_found()),
    }
}

/// `DELETE /openapi/v3/entity/{type}/{urn}?aspects=&clear=`: a hard delete of the entity, of some aspects, or of
/// everything but the key. Answers 200 without a body, whether or not the entity existed. Deleting the entity
/// also removes every graph edge to and from it; other entities' aspects that name it are left alone.
pub(super) fn delete(store: &mut Store, req: &NativeRequest, kind: Kind, urn: &str) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let clear = flag(req, "clear", false)?;
    let aspects = aspect_filter(kind, req)?;
    let key = kind.key_aspect();
    if clear {
        store.remove_aspects(urn, |name| name == key);
    } else if aspects.is_empty() || aspects.contains(&key) {
        store.remove_entity(urn);
    } else {
        store.remove_aspects(urn, |name| !aspects.contains(&name));
    }
    Ok(Reply::empty(StatusCode::OK))
}

/// `DELETE /openapi/v3/entity/{type}/{urn}/{aspect}`: 200; deleting the key aspect deletes the entity.
pub(super) fn delete_aspect(store: &mut Store, kind: Kind, urn: &str, aspect: &str) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let spec = kind.aspect(aspect)?;
    if spec.name == kind.key_aspect() {
        store.remove_entity(urn);
    } else {
        store.remove_aspects(urn, |name| name != spec.name);
    }
    Ok(Reply::empty(StatusCode::OK))
}

/// `PATCH /openapi/v3/entity/{type}/{urn}/{aspect}` (experimental) with `{"patch": [RFC 6902 ops]}` or a bare
/// array of operations, applied to the stored value (or `{}`).
pub(super) fn patch_aspect(
    store: &mut Store,
    req: &NativeRequest,
    kind: Kind,
    urn: &str,
    aspect: &str,
) -> Result<Reply, DhError> {
    check_urn(kind, urn)?;
    let spec = kind.aspect(aspect)?;
    let asynchronous = flag(req, "async", false)?;
    let body = req.json().map_err(DhError::bad_request)?;
    let ops = if body.is_array() { body } else { body.get("patch").cloned().unwrap_or(Value::Null) };
    let current = store.entities.get(urn).and_then(|e| e.aspect(spec.name)).cloned().unwrap_or_else(|| json!({}));
    let patched = json_patch::apply(&current, &ops).map_err(|e| DhError::bad_request(e.to_string()))?;
    spec.validate(&patched)?;
    let write = Write {
        urn: urn.to_owned(),
        kind,
        aspects: vec![(spec.name.to_owned(), patched, None)],
        change: Change::Upsert,
    };
    let echoed = echo(&write);
    store.submit(write, asynchronous);
    Ok(Reply::json(write_status(asynchronous), &echoed))
}

/// `POST /openapi/v3/entity/{type}/batchGet` with `[{"urn": …, "<aspect>": {}}]`: the entities that exist.
pub(super) fn batch_get(store: &Store, req: &NativeRequest, kind: Kind) -> Result<Reply, DhError> {
    let with_meta = flag(req, "systemMetadata", false)?;
    let body = req.json().map_err(DhError::bad_request)?;
    let items = body.as_array().ok_or_else(|| DhError::bad_request("Expected a JSON array"))?;
    let mut out = Vec::new();
    for item in items {
        let obj = item.as_object().ok_or_else(|| DhError::bad_request("Each item must be a JSON object"))?;
        let urn =
            obj.get("urn").and_then(Value::as_str).ok_or_else(|| DhError::bad_request("Each item needs a urn"))?;
        check_urn(kind, urn)?;
        let only = obj
            .keys()
            .filter(|k| k.as_str() != "urn")
            .map(|k| kind.aspect(k).map(|s| s.name))
            .collect::<Result<Vec<_>, _>>()?;
        out.extend(store.render(urn, &only, with_meta));
    }
    Ok(Reply::json(StatusCode::OK, &Value::Array(out)))
}

/// The common part of both scroll endpoints.
struct Scroll {
    kinds: Vec<Kind>,
    aspects: Vec<&'static str>,
    count: usize,
    after: Option<String>,
    descending: bool,
    include_soft_deleted: bool,
    with_meta: bool,
    query: Query,
}

impl Scroll {
    fn from_request(req: &NativeRequest, kinds: Vec<Kind>) -> Result<Scroll, DhError> {
        let count = req.int("count", 10).map_err(DhError::bad_request)?;
        if !(0..=MAX_COUNT).contains(&count) {
            return Err(DhError::bad_request(format!("count must be between 0 and {MAX_COUNT}")));
        }
        let descending = match req.param("sortOrder") {
            None | Some("") | Some("ASCENDING") => false,
            Some("DESCENDING") => true,
            Some(other) => return Err(DhError::bad_request(format!("Unknown sortOrder {other:?}"))),
        };
        let after = match req.param("scrollId").filter(|s| !s.is_empty()) {
            Some(id) => Some(
                URL_SAFE_NO_PAD
                    .decode(id)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| DhError::bad_request(format!("Invalid scrollId {id:?}")))?,
            ),
            None => None,
        };
        Ok(Scroll {
            kinds,
            aspects: Vec::new(),
            count: usize::try_from(count).unwrap_or(10),
            after,
            descending,
            include_soft_deleted: flag(req, "includeSoftDelete", false)?,
            with_meta: flag(req, "systemMetadata", false)?,
            query: Query::parse(req.param("query").unwrap_or("*")),
        })
    }

    fn run(&self, store: &Store) -> Value {
        let mut urns: Vec<&String> = store
            .entities
            .iter()
            .filter(|(_, e)| self.kinds.contains(&e.kind))
            .filter(|(_, e)| visible(e, self.include_soft_deleted))
            .filter(|(_, e)| e.written.elapsed() >= store.search_lag)
            .filter(|(urn, e)| self.query.matches(urn, e))
            .map(|(urn, _)| urn)
            .collect();
        if self.descending {
            urns.reverse();
        }
        let total = urns.len();
        let start = match &self.after {
            Some(last) if self.descending => urns.partition_point(|u| u.as_str() >= last.as_str()),
            Some(last) => urns.partition_point(|u| u.as_str() <= last.as_str()),
            None => 0,
        };
        let end = (start + self.count).min(total);
        let page = &urns[start..end];
        let entities: Vec<Value> =
            page.iter().filter_map(|urn| store.render(urn, &self.aspects, self.with_meta)).collect();
        let scroll_id = match page.last() {
            Some(last) if end < total => json!(URL_SAFE_NO_PAD.encode(last.as_bytes())),
            _ => Value::Null,
        };
        let mut o = Map::new();
        o.insert("scrollId".into(), scroll_id);
        o.insert("entities".into(), Value::Array(entities));
        if store.scroll_total_count {
            o.insert("totalCount".into(), json!(total));
        }
        Value::Object(o)
    }
}

/// `GET /openapi/v3/entity/{type}?count&scrollId&query&aspects&sortOrder&includeSoftDelete`; ordered by urn.
pub(super) fn scroll(store: &Store, req: &NativeRequest, kind: Kind) -> Result<Reply, DhError> {
    let mut scroll = Scroll::from_request(req, vec![kind])?;
    scroll.aspects = aspect_filter(kind, req)?;
    Ok(Reply::json(StatusCode::OK, &scroll.run(store)))
}

/// `POST /openapi/v3/entity/scroll?count&query&scrollId` with `{"entities": [...], "aspects": [...]}`.
pub(super) fn scroll_across(store: &Store, req: &NativeRequest) -> Result<Reply, DhError> {
    let body = req.json().map_err(DhError::bad_request)?;
    let names: Vec<&str> = body
        .get("entities")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).collect());
    let kinds = if names.is_empty() {
        vec![Kind::CorpUser, Kind::CorpGroup]
    } else {
        names.iter().map(|n| Kind::from_path(n)).collect::<Result<Vec<_>, _>>()?
    };
    let mut scroll = Scroll::from_request(req, kinds.clone())?;
    for name in body.get("aspects").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        let spec = kinds
            .iter()
            .find_map(|k| k.aspect(name).ok())
            .ok_or_else(|| DhError::bad_request(format!("Unknown aspect {name}")))?;
        scroll.aspects.push(spec.name);
    }
    Ok(Reply::json(StatusCode::OK, &scroll.run(store)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_write(change: Change) -> Write {
        let mut write = parse_item(
            Kind::CorpUser,
            &json!({"urn": "urn:li:corpuser:jdoe", "corpUserInfo": {"value": {"active": true, "email": "JDoe@Example.com"}}}),
        )
        .unwrap();
        write.change = change;
        write
    }

    #[test]
    fn create_change_types_refuse_what_exists() {
        let mut store = Store::new(Default::default(), Default::default(), false);
        assert_eq!(store.conflict(&user_write(Change::Create)), None);
        store.apply(user_write(Change::Create));
        let entity = store.entities.get("urn:li:corpuser:jdoe").unwrap();
        assert_eq!(entity.aspect("corpUserKey"), Some(&json!({"username": "jdoe"})));
        assert!(store.conflict(&user_write(Change::Create)).is_some_and(|m| m.contains("aspect already exists")));
        assert!(store.conflict(&user_write(Change::CreateEntity)).is_some_and(|m| m.contains("entity key")));
        assert_eq!(store.conflict(&user_write(Change::Upsert)), None);
        let mut status = user_write(Change::Create);
        status.aspects = vec![("status".to_owned(), json!({"removed": false}), None)];
        assert_eq!(store.conflict(&status), None, "another aspect of the entity may still be created");
    }
}
