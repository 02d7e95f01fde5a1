//! Which attributes a server advertises, and how expectations on the others are skipped.
//!
//! A gateway only advertises in `/Schemas` what its target can hold. A corpus case that expects, say,
//! `title` back from a target without titles says nothing about the gateway, so expectations on attributes
//! that are not advertised are dropped and counted as skipped. Only those: protocol keys (`schemas`, `id`,
//! `meta`, `totalResults`, `Resources`, error fields…) and the common attribute `externalId` (RFC 7643
//! §3.1 defines it outside every schema) are always checked, and so are negative expectations (`absent`,
//! `empty_or_absent`, `body_not_contains`), which hold all the more for an attribute the target cannot hold.
//!
//! Skipping applies to the answers of resource endpoints (those of `/ResourceTypes`, e.g. `/Users`), where
//! body keys are resource attributes; discovery and error answers are checked in full.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::corpus::Expect;
use super::pointer;

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:user";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:group";
const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user";

/// Body keys that are never resource attributes (or are common to all resources) and so never skipped.
const PROTOCOL_KEYS: &[&str] = &[
    "schemas",
    "id",
    "externalid",
    "meta",
    "totalresults",
    "itemsperpage",
    "startindex",
    "resources",
    "detail",
    "status",
    "scimtype",
];

/// A discovery document that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{document}: {problem}")]
pub struct DiscoveryError {
    document: &'static str,
    problem: String,
}

/// The attributes advertised for each resource endpoint of a server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Advertised {
    /// Lower-case endpoint without its slash (`users`) → attributes.
    endpoints: BTreeMap<String, ResourceAttributes>,
}

/// The attributes of one resource type: its core schema and its extensions. Names are lower-case
/// (RFC 7643 §2.1: attribute names are case-insensitive).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceAttributes {
    core_schema: String,
    core: BTreeSet<String>,
    /// Sub-attributes of the core schema's complex attributes, when `/Schemas` lists them.
    core_subs: BTreeMap<String, BTreeSet<String>>,
    extensions: BTreeMap<String, BTreeSet<String>>,
}

/// What to do with one expectation key.
#[derive(Debug, PartialEq)]
enum Verdict {
    Keep,
    /// Not advertised; the string names the attribute for the report.
    Skip(String),
    /// An extension schema object: its sub-keys are judged against this extension's attributes.
    Extension(String),
}

impl Advertised {
    /// Builds the advertised sets from a `/Schemas` answer and, when the server has one, its
    /// `/ResourceTypes` answer. Without resource types, `/Users` is assumed to be the core User schema with
    /// the enterprise extension and `/Groups` the core Group schema (RFC 7643 §8.6).
    pub fn from_discovery(schemas: &Value, resource_types: Option<&Value>) -> Result<Self, DiscoveryError> {
        let mut attributes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut sub_attributes: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for schema in list_items(schemas).ok_or_else(|| not_a_list("/Schemas"))? {
            let Some(id) = schema.get("id").and_then(Value::as_str) else {
                return Err(DiscoveryError { document: "/Schemas", problem: "a schema has no `id`".into() });
            };
            let subs = schema
                .get("attributes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|attribute| {
                    let name = attribute.get("name")?.as_str()?.to_lowercase();
                    let names: BTreeSet<String> = attribute
                        .get("subAttributes")?
                        .as_array()?
                        .iter()
                        .filter_map(|sub| sub.get("name").and_then(Value::as_str))
                        .map(str::to_lowercase)
                        .collect();
                    (!names.is_empty()).then_some((name, names))
                })
                .collect();
            sub_attributes.insert(id.to_lowercase(), subs);
            let names = schema
                .get("attributes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|attribute| attribute.get("name").and_then(Value::as_str))
                .map(str::to_lowercase)
                .collect();
            attributes.insert(id.to_lowercase(), names);
        }

        let types: Vec<(String, String, Vec<String>)> = match resource_types {
            Some(document) => list_items(document)
                .ok_or_else(|| not_a_list("/ResourceTypes"))?
                .iter()
                .filter_map(|rt| {
                    let endpoint = rt.get("endpoint")?.as_str()?;
                    let schema = rt.get("schema")?.as_str()?;
                    let extensions = rt
                        .get("schemaExtensions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.get("schema").and_then(Value::as_str))
                        .map(str::to_lowercase)
                        .collect();
                    Some((endpoint.to_owned(), schema.to_lowercase(), extensions))
                })
                .collect(),
            None => vec![
                ("/Users".into(), CORE_USER.into(), vec![ENTERPRISE_USER.into()]),
                ("/Groups".into(), CORE_GROUP.into(), Vec::new()),
            ],
        };

        let mut endpoints = BTreeMap::new();
        for (endpoint, core_schema, extension_ids) in types {
            let core = attributes.get(&core_schema).cloned().unwrap_or_default();
            let core_subs = sub_attributes.get(&core_schema).cloned().unwrap_or_default();
            // An extension a resource type names but /Schemas does not describe is not advertised.
            let extensions = extension_ids
                .into_iter()
                .filter_map(|id| attributes.get(&id).map(|names| (id, names.clone())))
                .collect();
            let key = endpoint.trim_start_matches('/').to_lowercase();
            endpoints.insert(key, ResourceAttributes { core_schema, core, core_subs, extensions });
        }
        Ok(Advertised { endpoints })
    }

    /// The attributes that apply to the answer of a request to `path` (relative to the base URL), or
    /// `None` when `path` is not a resource endpoint.
    pub fn for_path(&self, path: &str) -> Option<&ResourceAttributes> {
        let first = path.trim_start_matches('/').split(['/', '?']).next()?;
        self.endpoints.get(&first.to_lowercase())
    }
}

/// Drops the sub-attributes of a complex value (or of each element of a multi-valued one) that
/// `/Schemas` does not list.
fn prune_sub_attributes(value: &mut Value, subs: &BTreeSet<String>, path: &str, attr: &str, skipped: &mut Vec<String>) {
    let mut prune = |object: &mut serde_json::Map<String, Value>, at: &str| {
        object.retain(|sub, _| {
            let keep = subs.contains(&sub.to_lowercase());
            if !keep {
                skipped.push(format!("body_contains {at}/{sub}: `{attr}.{sub}` is not advertised"));
            }
            keep
        });
    };
    match value {
        Value::Object(object) => prune(object, path),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                if let Value::Object(object) = item {
                    prune(object, &format!("{path}/{i}"));
                }
            }
        }
        _ => {}
    }
}

/// The attribute names a filter uses, URN-qualified where the filter qualifies them.
fn collect_attributes(filter: &crate::scim::filter::Filter, out: &mut Vec<String>) {
    use crate::scim::filter::Filter;
    let name = |p: &crate::scim::filter::AttrPath| match &p.uri {
        Some(uri) => format!("{uri}:{}", p.name),
        None => p.name.clone(),
    };
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => out.push(name(path)),
        Filter::ValuePath { attr, .. } => out.push(name(attr)),
        Filter::Not(f) => collect_attributes(f, out),
        Filter::And(a, b) | Filter::Or(a, b) => {
            collect_attributes(a, out);
            collect_attributes(b, out);
        }
    }
}

fn list_items(document: &Value) -> Option<&Vec<Value>> {
    match document {
        Value::Array(items) => Some(items),
        Value::Object(map) => map.get("Resources").and_then(Value::as_array),
        _ => None,
    }
}

fn not_a_list(document: &'static str) -> DiscoveryError {
    DiscoveryError { document, problem: "neither a ListResponse with `Resources` nor a JSON array".into() }
}

impl ResourceAttributes {
    fn verdict(&self, key: &str) -> Verdict {
        let lower = key.to_lowercase();
        if PROTOCOL_KEYS.contains(&lower.as_str()) {
            return Verdict::Keep;
        }
        if lower.starts_with("urn:") {
            if self.extensions.contains_key(&lower) {
                return Verdict::Extension(lower);
            }
            if lower == self.core_schema {
                return Verdict::Keep;
            }
            // A URN-qualified attribute such as `urn:…:enterprise:2.0:User:employeeNumber`.
            if let Some((schema, attribute)) = lower.rsplit_once(':') {
                let top = attribute.split('.').next().unwrap_or(attribute);
                let names = if schema == self.core_schema { Some(&self.core) } else { self.extensions.get(schema) };
                if names.is_some_and(|names| names.contains(top)) {
                    return Verdict::Keep;
                }
            }
            return Verdict::Skip(key.to_owned());
        }
        // `name.givenName` is an attribute path: its top-level attribute is `name`.
        let top = lower.split('.').next().unwrap_or(&lower);
        if self.core.contains(top) { Verdict::Keep } else { Verdict::Skip(key.to_owned()) }
    }

    fn extension_has(&self, urn: &str, sub_key: &str) -> bool {
        let lower = sub_key.to_lowercase();
        let top = lower.split('.').next().unwrap_or(&lower);
        self.extensions.get(urn).is_some_and(|names| names.contains(top))
    }

    /// The first attribute a request's `filter` query parameter names that is not advertised. What a
    /// filter on such an attribute selects says nothing about the server, so the positive body
    /// expectations of that request are dropped (see [`ResourceAttributes::prune_for_filter`]).
    pub fn unadvertised_in_filter(&self, path: &str) -> Option<String> {
        let query = path.split_once('?')?.1;
        let filter = query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            if !k.eq_ignore_ascii_case("filter") {
                return None;
            }
            let v = v.replace('+', " ");
            percent_encoding::percent_decode_str(&v).decode_utf8().ok().map(|s| s.into_owned())
        })?;
        let parsed = crate::scim::filter::parse(&filter).ok()?;
        let mut names = Vec::new();
        collect_attributes(&parsed, &mut names);
        names.into_iter().find(|name| matches!(self.verdict(name), Verdict::Skip(_)))
    }

    /// Drops body expectations that are not negative, naming the unadvertised filter attribute.
    pub fn prune_for_filter(&self, expect: &Expect, attribute: &str) -> (Expect, Vec<String>) {
        let mut pruned = expect.clone();
        let mut skipped = Vec::new();
        if pruned.body_contains.take().is_some() {
            skipped.push(format!("body_contains: the filter names `{attribute}`, which is not advertised"));
        }
        pruned.checks.retain(|check| {
            let keep = check.op.is_negative();
            if !keep {
                skipped
                    .push(format!("check {}: the filter names `{attribute}`, which is not advertised", check.pointer));
            }
            keep
        });
        (pruned, skipped)
    }

    /// Drops the expectations on attributes that are not advertised and describes each one dropped.
    pub fn prune(&self, expect: &Expect) -> (Expect, Vec<String>) {
        let mut pruned = expect.clone();
        let mut skipped = Vec::new();
        if let Some(body) = pruned.body_contains.as_mut() {
            self.prune_body(body, "", &mut skipped);
        }
        pruned.checks.retain(|check| {
            if check.op.is_negative() {
                return true;
            }
            match self.pointer_verdict(&check.pointer) {
                Some(attribute) => {
                    skipped.push(format!(
                        "check {} {}: `{attribute}` is not advertised",
                        check.op.name(),
                        check.pointer
                    ));
                    false
                }
                None => true,
            }
        });
        (pruned, skipped)
    }

    fn prune_body(&self, body: &mut Value, path: &str, skipped: &mut Vec<String>) {
        let Value::Object(map) = body else { return };
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            if key == "Resources" {
                if let Some(Value::Array(items)) = map.get_mut(&key) {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.prune_body(item, &format!("{path}/Resources/{i}"), skipped);
                    }
                }
                continue;
            }
            match self.verdict(&key) {
                Verdict::Keep => {
                    if let (Some(subs), Some(value)) = (self.core_subs.get(&key.to_lowercase()), map.get_mut(&key)) {
                        prune_sub_attributes(value, subs, &format!("{path}/{key}"), &key, skipped);
                    }
                }
                Verdict::Skip(attribute) => {
                    map.remove(&key);
                    skipped.push(format!("body_contains {path}/{key}: `{attribute}` is not advertised"));
                }
                Verdict::Extension(urn) => {
                    if let Some(Value::Object(extension)) = map.get_mut(&key) {
                        extension.retain(|sub_key, _| {
                            let keep = self.extension_has(&urn, sub_key);
                            if !keep {
                                skipped.push(format!(
                                    "body_contains {path}/{key}/{sub_key}: `{key}:{sub_key}` is not advertised"
                                ));
                            }
                            keep
                        });
                    }
                }
            }
        }
    }

    /// For a check pointer, the attribute that is not advertised, if any.
    fn pointer_verdict(&self, pointer: &str) -> Option<String> {
        let tokens = pointer::tokens(pointer).ok()?;
        let resource_tokens = match tokens.as_slice() {
            [first, _index, rest @ ..] if first == "Resources" => rest,
            [first, ..] if first == "Resources" => return None,
            all => all,
        };
        let (first, rest) = resource_tokens.split_first()?;
        match self.verdict(first) {
            Verdict::Keep => None,
            Verdict::Skip(attribute) => Some(attribute),
            Verdict::Extension(urn) => match rest.first() {
                Some(sub) if !self.extension_has(&urn, sub) => Some(format!("{first}:{sub}")),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests;
