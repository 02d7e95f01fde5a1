//! Resources on their way in (POST/PUT bodies) and out (`schemas` and `meta`).
//!
//! [`prepare_write`] turns a body the dialect layer has already normalised into the canonical
//! resource a target stores; [`stamp`] adds what the server owns to a resource before it is
//! projected and returned.

pub mod value;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use self::value::Label;
use super::schema::{AttributeDef, Mutability, ResourceSchema, SchemaDef};
use super::{Resource, ScimError, urn};

/// Validates and canonicalises a POST or PUT body.
///
/// - the body must be a JSON object (else 400 `invalidSyntax`);
/// - attribute names are matched case-insensitively and stored under the schema's spelling, at the
///   top level, in sub-attributes and for extension URN keys; URN-qualified attribute keys
///   (`urn:…:enterprise:2.0:User:department`) are moved into their extension object;
/// - read-only attributes and sub-attributes (`id`, `meta`, `groups`, `members.display`) are
///   dropped: RFC 7644 §3.3 has the service provider ignore them on create, and a client may send
///   back what it read;
/// - unknown attributes and extension objects are dropped, so a schema narrowed to what the target
///   holds accepts the IdP's full payload;
/// - `null`, `[]` and `{}` count as absent (RFC 7643 §2.5);
/// - a value of the wrong type, an attribute given twice (keys differing only in case), two
///   elements marked `primary`, or a missing required attribute (`userName`, Group `displayName`,
///   a required extension) is 400 `invalidValue` naming the attribute;
/// - `schemas` is rebuilt: the core schema URN, then the extensions present.
pub fn prepare_write(schema: &ResourceSchema, body: Value) -> Result<Resource, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("a resource must be a JSON object"));
    };
    let mut out = Resource::new();
    let mut extensions: Vec<(&SchemaDef, Map<String, Value>)> = Vec::new();
    for (key, v) in body {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(def) = schema.core_attribute(&key) {
            put(&mut out, def, Label::new(&def.name), v)?;
        } else if key.eq_ignore_ascii_case(&schema.core.id) {
            for (k, v) in object_of(&schema.core.id, v)? {
                if let Some(def) = schema.core_attribute(&k) {
                    put(&mut out, def, Label::new(&def.name), v)?;
                }
            }
        } else if let Some(ext) = schema.extension(&key) {
            let target = extension_slot(&mut extensions, ext);
            for (k, v) in object_of(&ext.id, v)? {
                if let Some(def) = ext.attribute(&k) {
                    put(target, def, Label::new(&qualified(ext, def)), v)?;
                }
            }
        } else if let Some((uri, name)) = urn::split_qualified(&key) {
            if uri.eq_ignore_ascii_case(&schema.core.id) {
                if let Some(def) = schema.core_attribute(name) {
                    put(&mut out, def, Label::new(&def.name), v)?;
                }
            } else if let Some(ext) = schema.extension(uri)
                && let Some(def) = ext.attribute(name)
            {
                put(extension_slot(&mut extensions, ext), def, Label::new(&qualified(ext, def)), v)?;
            }
        }
    }
    check_required(&schema.core.attributes, &out, None)?;
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for (ext, required) in &schema.extensions {
        let Some(pos) = extensions.iter().position(|(e, m)| e.id == ext.id && !m.is_empty()) else {
            if *required {
                return Err(ScimError::invalid_value(format!("the `{}` extension is required", ext.id)));
            }
            continue;
        };
        let (_, attrs) = extensions.swap_remove(pos);
        check_required(&ext.attributes, &attrs, Some(ext))?;
        schemas.push(Value::String(ext.id.clone()));
        out.insert(ext.id.clone(), Value::Object(attrs));
    }
    out.insert("schemas".to_owned(), Value::Array(schemas));
    Ok(out)
}

/// Sets what the server owns on an outgoing resource: `schemas` (core URN, then the extensions
/// that hold a value), `meta.resourceType`, and `meta.location` when given. `meta.created`,
/// `meta.lastModified` and `meta.version` are kept. Extension objects that are empty are dropped.
pub fn stamp(schema: &ResourceSchema, resource: &mut Resource, location: Option<&str>) {
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for (ext, _) in &schema.extensions {
        let Some(key) = resource.keys().find(|k| k.eq_ignore_ascii_case(&ext.id)).cloned() else { continue };
        match resource.remove(&key) {
            Some(Value::Object(m)) if !m.is_empty() => {
                resource.insert(ext.id.clone(), Value::Object(m));
                schemas.push(Value::String(ext.id.clone()));
            }
            _ => {}
        }
    }
    resource.insert("schemas".to_owned(), Value::Array(schemas));
    let meta_key = resource.keys().find(|k| k.eq_ignore_ascii_case("meta")).cloned();
    let mut meta = match meta_key.and_then(|k| resource.remove(&k)) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.insert("resourceType".to_owned(), Value::String(schema.kind.name().to_owned()));
    if let Some(location) = location {
        meta.insert("location".to_owned(), Value::String(location.to_owned()));
    }
    resource.insert("meta".to_owned(), Value::Object(meta));
}

/// Stores one attribute value under its canonical name, unless it is read-only or empty.
fn put(target: &mut Map<String, Value>, def: &AttributeDef, label: Label<'_>, v: Value) -> Result<(), ScimError> {
    if def.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    if target.contains_key(&def.name) {
        return Err(ScimError::invalid_value(format!("`{label}` is given more than once")));
    }
    if let Some(v) = value::attribute(def, label, v)? {
        target.insert(def.name.clone(), v);
    }
    Ok(())
}

fn object_of(uri: &str, v: Value) -> Result<Map<String, Value>, ScimError> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(ScimError::invalid_value(format!("`{uri}` must be an object of attributes"))),
    }
}

fn extension_slot<'a, 's>(
    extensions: &'a mut Vec<(&'s SchemaDef, Map<String, Value>)>,
    ext: &'s SchemaDef,
) -> &'a mut Map<String, Value> {
    let pos = match extensions.iter().position(|(e, _)| e.id == ext.id) {
        Some(pos) => pos,
        None => {
            extensions.push((ext, Map::new()));
            extensions.len() - 1
        }
    };
    &mut extensions[pos].1
}

fn qualified(ext: &SchemaDef, def: &AttributeDef) -> String {
    format!("{}:{}", ext.id, def.name)
}

fn check_required(defs: &[AttributeDef], attrs: &Map<String, Value>, ext: Option<&SchemaDef>) -> Result<(), ScimError> {
    match defs.iter().find(|d| d.required && d.mutability != Mutability::ReadOnly && !attrs.contains_key(&d.name)) {
        Some(def) => {
            let name = ext.map_or_else(|| def.name.clone(), |e| qualified(e, def));
            Err(ScimError::invalid_value(format!("`{name}` is required")))
        }
        None => Ok(()),
    }
}
