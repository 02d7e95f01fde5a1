//! What a key of a resource object (or of a no-path PATCH value) names: an attribute, an attribute
//! path written as a key, or an extension's container.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::scim::schema::{AttributeDef, ResourceSchema, SchemaDef};
use crate::scim::urn;

/// Where attributes live in a resource object.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'s> {
    /// Top-level keys: the core schema and the common attributes.
    Core(&'s ResourceSchema),
    /// The object under an extension's URN.
    Extension(&'s SchemaDef),
}

impl<'s> Scope<'s> {
    pub(crate) fn attribute(self, name: &str) -> Option<&'s AttributeDef> {
        match self {
            Scope::Core(s) => s.core_attribute(name),
            Scope::Extension(e) => e.attribute(name),
        }
    }
}

/// The meaning of one object key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyKind<'s, 'k> {
    /// The URN of one of the resource's extensions: the RFC 7643 §3.3 container of its attributes.
    Container(&'s SchemaDef),
    /// `urn:…:attr` or `urn:…:attr.sub` for one of the resource's schemas; `rest` is `attr[.sub]`.
    Qualified { scope: Scope<'s>, rest: &'k str },
    /// `attr.sub`: an attribute path written as a key.
    Dotted,
    /// A plain attribute name, the core schema's own URN, or a URN this resource does not know.
    Plain,
}

/// Classifies `key` against `schema`. URNs compare case-insensitively (RFC 7643 §2.1).
pub(crate) fn classify<'s, 'k>(schema: &'s ResourceSchema, key: &'k str) -> KeyKind<'s, 'k> {
    if !is_urn(key) {
        return if key.contains('.') { KeyKind::Dotted } else { KeyKind::Plain };
    }
    if key.eq_ignore_ascii_case(&schema.core.id) {
        return KeyKind::Plain;
    }
    if let Some(ext) = schema.extension(key) {
        return KeyKind::Container(ext);
    }
    match urn::split_qualified(key) {
        Some((uri, rest)) if uri.eq_ignore_ascii_case(&schema.core.id) => {
            KeyKind::Qualified { scope: Scope::Core(schema), rest }
        }
        Some((uri, rest)) => match schema.extension(uri) {
            Some(ext) => KeyKind::Qualified { scope: Scope::Extension(ext), rest },
            None => KeyKind::Plain,
        },
        None => KeyKind::Plain,
    }
}

/// Whether `key` starts with `urn:` (any case).
pub(crate) fn is_urn(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// The key of `map` equal to `name` ignoring ASCII case, preferring an exact match.
pub(crate) fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Inserts `value` under `key`, replacing any key that differs from it only in case.
pub(crate) fn insert_ci(map: &mut Map<String, Value>, key: &str, value: Value) {
    while let Some(old) = find_key(map, key) {
        map.remove(&old);
    }
    map.insert(key.to_owned(), value);
}

/// Inserts every entry, each replacing the keys of `map` that differ from it only in case: what
/// [`insert_ci`] does for one entry, in time linear in the sizes of `map` and `entries`.
pub(crate) fn merge_ci(map: &mut Map<String, Value>, entries: impl IntoIterator<Item = (String, Value)>) {
    let mut index: HashMap<String, Vec<String>> = HashMap::new();
    for key in map.keys() {
        index.entry(key.to_ascii_lowercase()).or_default().push(key.clone());
    }
    for (key, value) in entries {
        let same = index.entry(key.to_ascii_lowercase()).or_default();
        for old in same.drain(..) {
            map.remove(&old);
        }
        same.push(key.clone());
        map.insert(key, value);
    }
}

/// Renames the one key matching `canonical` case-insensitively to `canonical`. Several candidates are
/// left as they are: choosing one would silently drop the others.
pub(crate) fn canonicalize_key(map: &mut Map<String, Value>, canonical: &str) {
    if map.contains_key(canonical) {
        return;
    }
    let mut found = map.keys().filter(|k| k.eq_ignore_ascii_case(canonical));
    let (Some(only), None) = (found.next().cloned(), found.next()) else { return };
    if let Some(v) = map.remove(&only) {
        map.insert(canonical.to_owned(), v);
    }
}
