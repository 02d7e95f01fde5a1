//! DataHub's entities as the emulator stores them: a URN and a map of aspect name → value, the aspect schemas
//! writes are validated against, and the graph index the relationship endpoint reads.
//!
//! The graph index is kept the way DataHub's index updater keeps it: writing an aspect replaces the edges that
//! aspect contributes from its entity; hard-deleting an entity removes every edge that starts or ends at it
//! (`removeNode`), while the aspects of other entities that still name it are left as they are. So after a group
//! is deleted its members' `groupMembership` aspects still list it, but the relationship endpoint no longer does.
//!
//! Validation follows Pegasus: required fields must be present, known fields must have the declared type, URN
//! arrays must hold URNs. Fields a schema does not list are accepted, because aspect schemas grow between DataHub
//! releases and a mapping should not be rejected for a field a newer server knows.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::error::DhError;
use crate::emulator::wire::now_ms;

/// The entity types this emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    CorpUser,
    CorpGroup,
}

impl Kind {
    /// The entity name as it appears in paths (`corpuser`, `corpGroup`); DataHub matches it case-insensitively.
    pub fn from_path(name: &str) -> Result<Kind, DhError> {
        if name.eq_ignore_ascii_case("corpuser") {
            Ok(Kind::CorpUser)
        } else if name.eq_ignore_ascii_case("corpgroup") {
            Ok(Kind::CorpGroup)
        } else {
            Err(DhError::bad_request(format!("Unknown entity type {name:?}")))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::CorpUser => "corpuser",
            Kind::CorpGroup => "corpGroup",
        }
    }

    pub fn urn_prefix(self) -> &'static str {
        match self {
            Kind::CorpUser => "urn:li:corpuser:",
            Kind::CorpGroup => "urn:li:corpGroup:",
        }
    }

    pub fn key_aspect(self) -> &'static str {
        match self {
            Kind::CorpUser => "corpUserKey",
            Kind::CorpGroup => "corpGroupKey",
        }
    }

    fn key_field(self) -> &'static str {
        match self {
            Kind::CorpUser => "username",
            Kind::CorpGroup => "name",
        }
    }

    /// The key aspect value a URN implies.
    pub fn key_value(self, urn: &str) -> Value {
        let key = urn.strip_prefix(self.urn_prefix()).unwrap_or("");
        let mut o = Map::new();
        o.insert(self.key_field().to_owned(), json!(key));
        Value::Object(o)
    }

    pub fn aspects(self) -> &'static [AspectSpec] {
        match self {
            Kind::CorpUser => CORP_USER_ASPECTS,
            Kind::CorpGroup => CORP_GROUP_ASPECTS,
        }
    }

    /// Finds an aspect by name (case-insensitively, as `lookupAspectSpec` does) and returns its canonical name.
    pub fn aspect(self, name: &str) -> Result<&'static AspectSpec, DhError> {
        self.aspects()
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| DhError::bad_request(format!("Unknown aspect {name} for entity {}", self.name())))
    }
}

/// Checks a URN against the entity type of the path.
pub(super) fn check_urn(kind: Kind, urn: &str) -> Result<(), DhError> {
    let Some(key) = urn.strip_prefix(kind.urn_prefix()) else {
        return Err(if urn.starts_with("urn:li:") {
            DhError::bad_request(format!("Urn {urn} does not match entity type {}", kind.name()))
        } else {
            DhError::bad_request(format!("Invalid urn: {urn}"))
        });
    };
    if key.is_empty() {
        return Err(DhError::bad_request(format!("Invalid urn: {urn}")));
    }
    Ok(())
}

/// The entity type named by a URN, for relationship endpoints.
pub(super) fn kind_of(urn: &str) -> &'static str {
    urn.strip_prefix("urn:li:").and_then(|rest| rest.split(':').next()).map_or("unknown", |t| match t {
        "corpuser" => "corpuser",
        "corpGroup" => "corpGroup",
        "dataHubRole" => "dataHubRole",
        _ => "unknown",
    })
}

/// A field type in an aspect schema.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ty {
    Str,
    Bool,
    Long,
    StrList,
    UrnList,
    Urn,
    Object,
    ObjectList,
    StrMap,
    Audit,
    Enum(&'static [&'static str]),
}

/// One field: name, type, required.
pub(super) type Field = (&'static str, Ty, bool);

/// An aspect's name and schema.
#[derive(Debug)]
pub(super) struct AspectSpec {
    pub name: &'static str,
    fields: &'static [Field],
}

const ORIGIN: AspectSpec = AspectSpec {
    name: "origin",
    fields: &[("type", Ty::Enum(&["NATIVE", "EXTERNAL"]), true), ("externalType", Ty::Str, false)],
};
const STATUS: AspectSpec = AspectSpec { name: "status", fields: &[("removed", Ty::Bool, true)] };
const ROLE_MEMBERSHIP: AspectSpec = AspectSpec { name: "roleMembership", fields: &[("roles", Ty::UrnList, true)] };
const OWNERSHIP: AspectSpec =
    AspectSpec { name: "ownership", fields: &[("owners", Ty::ObjectList, true), ("lastModified", Ty::Audit, false)] };
const GLOBAL_TAGS: AspectSpec = AspectSpec { name: "globalTags", fields: &[("tags", Ty::ObjectList, true)] };

const CORP_USER_ASPECTS: &[AspectSpec] = &[
    AspectSpec { name: "corpUserKey", fields: &[("username", Ty::Str, true)] },
    AspectSpec {
        name: "corpUserInfo",
        fields: &[
            ("active", Ty::Bool, true),
            ("displayName", Ty::Str, false),
            ("email", Ty::Str, false),
            ("title", Ty::Str, false),
            ("managerUrn", Ty::Urn, false),
            ("departmentId", Ty::Long, false),
            ("departmentName", Ty::Str, false),
            ("firstName", Ty::Str, false),
            ("lastName", Ty::Str, false),
            ("fullName", Ty::Str, false),
            ("countryCode", Ty::Str, false),
            ("system", Ty::Bool, false),
            ("customProperties", Ty::StrMap, false),
        ],
    },
    AspectSpec {
        name: "corpUserEditableInfo",
        fields: &[
            ("aboutMe", Ty::Str, false),
            ("teams", Ty::StrList, false),
            ("skills", Ty::StrList, false),
            ("pictureLink", Ty::Str, false),
            ("displayName", Ty::Str, false),
            ("title", Ty::Str, false),
            ("platforms", Ty::UrnList, false),
            ("persona", Ty::Urn, false),
            ("slack", Ty::Str, false),
            ("phone", Ty::Str, false),
            ("email", Ty::Str, false),
        ],
    },
    AspectSpec { name: "corpUserStatus", fields: &[("status", Ty::Str, true), ("lastModified", Ty::Audit, true)] },
    AspectSpec { name: "groupMembership", fields: &[("groups", Ty::UrnList, true)] },
    AspectSpec { name: "nativeGroupMembership", fields: &[("nativeGroups", Ty::UrnList, true)] },
    ROLE_MEMBERSHIP,
    ORIGIN,
    STATUS,
    AspectSpec {
        name: "corpUserCredentials",
        fields: &[
            ("salt", Ty::Str, true),
            ("hashedPassword", Ty::Str, true),
            ("passwordResetToken", Ty::Str, false),
            ("passwordResetTokenExpirationTimeMillis", Ty::Long, false),
        ],
    },
    AspectSpec { name: "corpUserSettings", fields: &[("appearance", Ty::Object, false), ("views", Ty::Object, false)] },
    GLOBAL_TAGS,
];

const CORP_GROUP_ASPECTS: &[AspectSpec] = &[
    AspectSpec { name: "corpGroupKey", fields: &[("name", Ty::Str, true)] },
    AspectSpec {
        name: "corpGroupInfo",
        fields: &[
            ("displayName", Ty::Str, false),
            ("email", Ty::Str, false),
            ("admins", Ty::UrnList, true),
            ("members", Ty::UrnList, true),
            ("groups", Ty::UrnList, true),
            ("description", Ty::Str, false),
            ("slack", Ty::Str, false),
            ("created", Ty::Audit, false),
        ],
    },
    AspectSpec {
        name: "corpGroupEditableInfo",
        fields: &[
            ("description", Ty::Str, false),
            ("pictureLink", Ty::Str, false),
            ("slack", Ty::Str, false),
            ("email", Ty::Str, false),
        ],
    },
    ORIGIN,
    STATUS,
    ROLE_MEMBERSHIP,
    OWNERSHIP,
    GLOBAL_TAGS,
];

fn is_urn(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with("urn:li:") && s.len() > "urn:li:".len())
}

fn type_ok(ty: Ty, v: &Value) -> bool {
    match ty {
        Ty::Str => v.is_string(),
        Ty::Bool => v.is_boolean(),
        Ty::Long => v.is_i64() || v.is_u64(),
        Ty::StrList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        Ty::UrnList => v.as_array().is_some_and(|a| a.iter().all(is_urn)),
        Ty::Urn => is_urn(v),
        Ty::Object => v.is_object(),
        Ty::ObjectList => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
        Ty::StrMap => v.as_object().is_some_and(|m| m.values().all(Value::is_string)),
        Ty::Audit => v.get("time").is_some_and(|t| t.is_i64() || t.is_u64()) && v.get("actor").is_some_and(is_urn),
        Ty::Enum(allowed) => v.as_str().is_some_and(|s| allowed.contains(&s)),
    }
}

impl AspectSpec {
    /// Validates an aspect value the way Pegasus does, with its message style.
    pub fn validate(&self, value: &Value) -> Result<(), DhError> {
        let fail = |path: &str, problem: &str| {
            DhError::bad_request(format!("Failed to validate aspect {}: ERROR :: /{path} :: {problem}", self.name))
        };
        let Some(map) = value.as_object() else {
            return Err(fail("", "aspect value must be a JSON object"));
        };
        for (name, ty, required) in self.fields {
            match map.get(*name) {
                None | Some(Value::Null) if *required => {
                    return Err(fail(name, "field is required but not found and has no default value"));
                }
                None | Some(Value::Null) => {}
                Some(v) if !type_ok(*ty, v) => {
                    return Err(fail(name, &format!("{v} is not a valid {ty:?}")));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// One stored aspect.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub value: Value,
    pub system_metadata: Value,
}

#[derive(Debug, Clone)]
pub(super) struct Entity {
    pub kind: Kind,
    pub aspects: BTreeMap<String, Stored>,
    /// When the entity last changed, for the search index lag.
    pub written: Instant,
}

impl Entity {
    /// The generic soft-delete flag (`status.removed`).
    pub fn removed(&self) -> bool {
        self.aspects.get("status").and_then(|s| s.value.get("removed")).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn aspect(&self, name: &str) -> Option<&Value> {
        self.aspects.get(name).map(|s| &s.value)
    }
}

/// How a write treats what is already stored (`ChangeType` in DataHub).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Creates or replaces.
    Upsert,
    /// Only if the aspect does not exist yet (`createIfNotExists=true`).
    Create,
    /// Only if the entity does not exist yet (`createIfEntityNotExists=true`).
    CreateEntity,
}

/// A validated write of some aspects of one entity.
#[derive(Debug, Clone)]
pub(super) struct Write {
    pub urn: String,
    pub kind: Kind,
    pub aspects: Vec<(String, Value, Option<Value>)>,
    pub change: Change,
}

/// Aspect fields that are graph edges: entity type, aspect, field, relationship name. A field holds one URN or an
/// array of them.
const RELATIONSHIPS: &[(Kind, &str, &str, &str)] = &[
    (Kind::CorpUser, "groupMembership", "groups", "IsMemberOfGroup"),
    (Kind::CorpUser, "nativeGroupMembership", "nativeGroups", "IsMemberOfNativeGroup"),
    (Kind::CorpUser, "roleMembership", "roles", "IsMemberOfRole"),
    (Kind::CorpUser, "corpUserInfo", "managerUrn", "ReportsTo"),
    (Kind::CorpGroup, "roleMembership", "roles", "IsMemberOfRole"),
    (Kind::CorpGroup, "corpGroupInfo", "admins", "OwnedBy"),
    (Kind::CorpGroup, "corpGroupInfo", "members", "IsPartOf"),
    (Kind::CorpGroup, "corpGroupInfo", "groups", "IsPartOf"),
];

/// One edge of the graph index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Edge {
    pub source: String,
    pub destination: String,
    pub relationship: &'static str,
}

/// The `(relationship, destination urn)` pairs one aspect contributes from its entity.
type AspectEdges = BTreeSet<(&'static str, String)>;

/// The edges an aspect value contributes from its entity.
fn edges_of(kind: Kind, aspect: &str, value: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (k, a, field, relationship) in RELATIONSHIPS {
        if *k != kind || *a != aspect {
            continue;
        }
        match value.get(*field) {
            Some(Value::String(urn)) => out.push((*relationship, urn.clone())),
            Some(Value::Array(urns)) => {
                out.extend(urns.iter().filter_map(Value::as_str).map(|urn| (*relationship, urn.to_owned())));
            }
            _ => {}
        }
    }
    out
}

/// All DataHub state of one emulator.
#[derive(Debug)]
pub(super) struct Store {
    pub entities: BTreeMap<String, Entity>,
    /// The graph index: source urn → aspect → edges it contributes.
    graph: BTreeMap<String, BTreeMap<String, AspectEdges>>,
    /// Async writes not applied yet, with the instant they become visible.
    pub pending: Vec<(Instant, Write)>,
    pub async_lag: Duration,
    pub search_lag: Duration,
    pub scroll_total_count: bool,
}

impl Store {
    pub fn new(async_lag: Duration, search_lag: Duration, scroll_total_count: bool) -> Store {
        Store {
            entities: BTreeMap::new(),
            graph: BTreeMap::new(),
            pending: Vec::new(),
            async_lag,
            search_lag,
            scroll_total_count,
        }
    }

    /// Applies the async writes whose time has come, in submission order.
    pub fn settle(&mut self) {
        let now = Instant::now();
        if self.pending.iter().all(|(due, _)| *due > now) {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.pending).into_iter().partition(|(d, _)| *d <= now);
        self.pending = later;
        for (_, write) in due {
            self.apply(write);
        }
    }

    /// Applies every pending write now.
    pub fn settle_all(&mut self) {
        for (_, write) in std::mem::take(&mut self.pending) {
            self.apply(write);
        }
    }

    /// Applies a write now, or later when it is asynchronous and a lag is configured.
    pub fn submit(&mut self, write: Write, asynchronous: bool) {
        if asynchronous && !self.async_lag.is_zero() {
            self.pending.push((Instant::now() + self.async_lag, write));
        } else {
            self.apply(write);
        }
    }

    /// Why a write's change type refuses it against what is stored now, in DataHub's words.
    pub fn conflict(&self, write: &Write) -> Option<String> {
        let entity = self.entities.get(&write.urn);
        match write.change {
            Change::Upsert => None,
            Change::CreateEntity => entity
                .is_some()
                .then(|| "Cannot perform CREATE_ENTITY if not exists since the entity key already exists.".to_owned()),
            Change::Create => write
                .aspects
                .iter()
                .any(|(name, _, _)| entity.is_some_and(|e| e.aspects.contains_key(name)))
                .then(|| "Cannot perform CREATE since the aspect already exists.".to_owned()),
        }
    }

    /// Upserts: each written aspect replaces the stored one whole; the key aspect is created with the entity. A
    /// create-only write that conflicts with what is stored by now is dropped, as an asynchronous one is when it
    /// fails validation after it was accepted.
    pub fn apply(&mut self, write: Write) {
        if self.conflict(&write).is_some() {
            return;
        }
        let entity = self.entities.entry(write.urn.clone()).or_insert_with(|| Entity {
            kind: write.kind,
            aspects: BTreeMap::new(),
            written: Instant::now(),
        });
        entity.aspects.entry(write.kind.key_aspect().to_owned()).or_insert_with(|| Stored {
            value: write.kind.key_value(&write.urn),
            system_metadata: system_metadata(None),
        });
        for (name, value, meta) in write.aspects {
            let edges: AspectEdges = edges_of(write.kind, &name, &value).into_iter().collect();
            let from = self.graph.entry(write.urn.clone()).or_default();
            if edges.is_empty() {
                from.remove(&name);
            } else {
                from.insert(name.clone(), edges);
            }
            entity.aspects.insert(name, Stored { value, system_metadata: system_metadata(meta) });
        }
        entity.written = Instant::now();
    }

    /// Hard-deletes an entity and every edge that starts or ends at it.
    pub fn remove_entity(&mut self, urn: &str) {
        self.entities.remove(urn);
        self.graph.remove(urn);
        for aspects in self.graph.values_mut() {
            for edges in aspects.values_mut() {
                edges.retain(|(_, destination)| destination != urn);
            }
        }
    }

    /// Deletes some aspects of an entity, and the edges they contributed.
    pub fn remove_aspects(&mut self, urn: &str, keep: impl Fn(&str) -> bool) {
        if let Some(entity) = self.entities.get_mut(urn) {
            entity.aspects.retain(|name, _| keep(name));
        }
        if let Some(aspects) = self.graph.get_mut(urn) {
            aspects.retain(|name, _| keep(name));
        }
    }

    /// Every edge of the graph index, ordered by source, destination and relationship.
    pub fn edges(&self) -> Vec<Edge> {
        let mut out: Vec<Edge> = self
            .graph
            .iter()
            .flat_map(|(source, aspects)| {
                aspects.values().flatten().map(move |(relationship, destination)| Edge {
                    source: source.clone(),
                    destination: destination.clone(),
                    relationship,
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Renders an entity as `{"urn": …, "<aspect>": {"value": …}}`, optionally limited to some aspects.
    pub fn render(&self, urn: &str, only: &[&str], with_system_metadata: bool) -> Option<Value> {
        let entity = self.entities.get(urn)?;
        let mut o = Map::new();
        o.insert("urn".into(), json!(urn));
        for (name, stored) in &entity.aspects {
            if !only.is_empty() && !only.contains(&name.as_str()) {
                continue;
            }
            o.insert(name.clone(), render_aspect(stored, with_system_metadata));
        }
        Some(Value::Object(o))
    }
}

pub(super) fn render_aspect(stored: &Stored, with_system_metadata: bool) -> Value {
    if with_system_metadata {
        json!({"value": stored.value, "systemMetadata": stored.system_metadata})
    } else {
        json!({"value": stored.value})
    }
}

fn system_metadata(given: Option<Value>) -> Value {
    let mut meta = given.and_then(|v| v.as_object().cloned()).unwrap_or_default();
    meta.insert("lastObserved".into(), json!(now_ms()));
    meta.entry("runId").or_insert_with(|| json!("no-run-id-provided"));
    meta.entry("lastRunId").or_insert_with(|| json!("no-run-id-provided"));
    Value::Object(meta)
}

/// A 404 as DataHub sends it: no body.
pub(super) fn not_found() -> DhError {
    DhError::empty(StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_fields_and_types_are_checked() {
        let info = Kind::CorpUser.aspect("corpuserinfo").unwrap();
        assert_eq!(info.name, "corpUserInfo");
        assert!(info.validate(&json!({"active": true, "email": "a@b", "newerField": 1})).is_ok());
        assert!(info.validate(&json!({"email": "a@b"})).is_err());
        assert!(info.validate(&json!({"active": "true"})).is_err());
        let group = Kind::CorpGroup.aspect("corpGroupInfo").unwrap();
        assert!(group.validate(&json!({"admins": [], "members": [], "groups": []})).is_ok());
        assert!(group.validate(&json!({"admins": [], "members": []})).is_err());
        let membership = Kind::CorpUser.aspect("groupMembership").unwrap();
        assert!(membership.validate(&json!({"groups": ["eng"]})).is_err());
        assert!(Kind::CorpUser.aspect("datasetProperties").is_err());
    }

    #[test]
    fn urns_must_match_the_entity_type() {
        assert!(check_urn(Kind::CorpUser, "urn:li:corpuser:jdoe").is_ok());
        assert!(check_urn(Kind::CorpUser, "urn:li:corpGroup:eng").is_err());
        assert!(check_urn(Kind::CorpGroup, "eng").is_err());
        assert!(check_urn(Kind::CorpUser, "urn:li:corpuser:").is_err());
    }
}
