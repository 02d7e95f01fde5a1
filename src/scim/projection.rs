//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and the `returned`
//! characteristic of RFC 7643 §7, applied to outgoing resources.
//!
//! | `returned` | no parameter | `attributes=…` | `excludedAttributes=…` |
//! |---|---|---|---|
//! | `always` (`id`) | yes | yes | yes: it can never be excluded |
//! | `default` | yes | only if named | unless named |
//! | `request` | no | only if named | no |
//! | `never` (`password`) | no | no | no |
//!
//! `schemas` is always kept. Naming a sub-attribute (`name.givenName`) keeps only that part of the
//! parent; naming an extension URN keeps the whole extension. Extension attributes are projected
//! inside their URN object, which is dropped when nothing in it is left. Names the schema does not
//! know select nothing and are not an error.

use serde_json::{Map, Value};

use super::filter::AttrPath;
use super::patch::attr_path;
use super::schema::{AttrHome, AttrType, AttributeDef, ResourceSchema, Returned, SchemaDef};
use super::{Resource, ScimError};

/// A parsed `attributes`/`excludedAttributes` pair. The default returns every attribute whose
/// `returned` is `always` or `default`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `attributes`: when present, only these plus `returned: always` attributes.
    include: Option<Vec<Requested>>,
    /// `excludedAttributes`.
    exclude: Vec<Requested>,
}

/// One entry of an attribute list.
#[derive(Debug, Clone, PartialEq)]
struct Requested {
    /// As written, to recognise a whole-extension URN.
    raw: String,
    /// `None` when the entry is only a URN (a whole extension).
    path: Option<AttrPath>,
}

/// What is kept of one attribute.
struct Selection<'p> {
    /// `None`: the whole attribute; otherwise the sub-attributes named.
    subs: Option<Vec<&'p str>>,
    excluded_subs: Vec<&'p str>,
}

// === impl Projection ===

impl Projection {
    /// Parses the two query parameters (comma-separated attribute paths; whitespace around names
    /// and empty entries are ignored). A malformed entry is 400 `invalidValue`. When both are
    /// given, `attributes` selects and `excludedAttributes` then removes from that selection.
    pub fn from_query(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, ScimError> {
        let include = attributes.map(|a| parse_list("attributes", a)).transpose()?.filter(|l| !l.is_empty());
        let exclude = excluded.map(|e| parse_list("excludedAttributes", e)).transpose()?.unwrap_or_default();
        Ok(Projection { include, exclude })
    }

    /// `resource` with only what this projection returns. It works in place: what is kept stays
    /// where it is, and only a key spelled differently from the schema is moved.
    pub fn apply(&self, schema: &ResourceSchema, mut resource: Resource) -> Resource {
        let mut respelled: Vec<(String, Value)> = Vec::new();
        resource.retain(|key, v| {
            let (name, kept) = if key.eq_ignore_ascii_case("schemas") {
                ("schemas", Some(std::mem::take(v)))
            } else if let Some(def) = schema.core_attribute(key) {
                (def.name.as_str(), self.project(schema, None, def, std::mem::take(v)))
            } else if let Some(ext) = schema.extension(key)
                && let Value::Object(attrs) = v
            {
                let inner: Map<String, Value> = std::mem::take(attrs)
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let def = ext.attribute(&k)?;
                        Some((canonical(k, &def.name), self.project(schema, Some(ext), def, v)?))
                    })
                    .collect();
                (ext.id.as_str(), (!inner.is_empty()).then_some(Value::Object(inner)))
            } else {
                return false;
            };
            match kept {
                Some(kept) if key == name => {
                    *v = kept;
                    true
                }
                Some(kept) => {
                    respelled.push((name.to_owned(), kept));
                    false
                }
                None => false,
            }
        });
        // A key already spelled as the schema spells it wins over other spellings of it.
        for (k, v) in respelled {
            resource.entry(k).or_insert(v);
        }
        resource
    }

    /// Whether any part of the attribute at `path` is returned: lets a caller skip fetching
    /// `members` when the response would drop them.
    pub fn includes(&self, schema: &ResourceSchema, path: &AttrPath) -> bool {
        let base = AttrPath { uri: path.uri.clone(), name: path.name.clone(), sub: None };
        let Some(r) = schema.resolve(&base) else { return false };
        let home = match r.home {
            AttrHome::Core => None,
            AttrHome::Extension(uri) => schema.extension(uri),
        };
        let Some(selection) = self.selection(schema, home, r.def) else { return false };
        match &path.sub {
            None => true,
            Some(s) => r.def.sub_attribute(s).is_some_and(|sub| selection.keeps(sub)),
        }
    }

    fn project(
        &self,
        schema: &ResourceSchema,
        home: Option<&SchemaDef>,
        def: &AttributeDef,
        v: Value,
    ) -> Option<Value> {
        let selection = self.selection(schema, home, def)?;
        if def.ty != AttrType::Complex {
            return Some(v);
        }
        let element = |e: Value| -> Option<Value> {
            let Value::Object(m) = e else { return Some(e) };
            let kept: Map<String, Value> =
                m.into_iter().filter(|(k, _)| def.sub_attribute(k).is_some_and(|sub| selection.keeps(sub))).collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        };
        match v {
            Value::Array(items) => {
                let kept: Vec<Value> = items.into_iter().filter_map(element).collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            one => element(one),
        }
    }

    /// What is kept of `def`, or `None` when it is not returned at all.
    fn selection(
        &self,
        schema: &ResourceSchema,
        home: Option<&SchemaDef>,
        def: &AttributeDef,
    ) -> Option<Selection<'_>> {
        let subs = match def.returned {
            Returned::Never => return None,
            Returned::Always => None,
            returned => match &self.include {
                Some(list) => {
                    let hits: Vec<Option<&str>> =
                        list.iter().filter(|r| r.names(schema, home, def)).map(Requested::sub).collect();
                    if hits.is_empty() {
                        return None;
                    }
                    if hits.contains(&None) { None } else { Some(hits.into_iter().flatten().collect()) }
                }
                None if returned == Returned::Request => return None,
                None => None,
            },
        };
        let excluded: Vec<Option<&str>> =
            self.exclude.iter().filter(|r| r.names(schema, home, def)).map(Requested::sub).collect();
        if def.returned != Returned::Always && excluded.contains(&None) {
            return None;
        }
        Some(Selection { subs, excluded_subs: excluded.into_iter().flatten().collect() })
    }
}

/// The schema's spelling of an attribute name, reusing the resource's key when it already is.
fn canonical(key: String, name: &str) -> String {
    if key == name { key } else { name.to_owned() }
}

// === impl Requested ===

impl Requested {
    fn sub(&self) -> Option<&str> {
        self.path.as_ref().and_then(|p| p.sub.as_deref())
    }

    /// Whether this entry names `def` (of the core schema when `home` is `None`).
    fn names(&self, schema: &ResourceSchema, home: Option<&SchemaDef>, def: &AttributeDef) -> bool {
        if let Some(ext) = home
            && self.raw.eq_ignore_ascii_case(&ext.id)
        {
            return true;
        }
        let Some(p) = &self.path else { return false };
        if !p.name.eq_ignore_ascii_case(&def.name) {
            return false;
        }
        match (&p.uri, home) {
            (None, None) => true,
            // A bare name of an extension attribute, when the core schema has none by that name.
            (None, Some(_)) => schema.core_attribute(&p.name).is_none(),
            (Some(uri), None) => uri.eq_ignore_ascii_case(&schema.core.id),
            (Some(uri), Some(ext)) => uri.eq_ignore_ascii_case(&ext.id),
        }
    }
}

// === impl Selection ===

impl Selection<'_> {
    fn keeps(&self, sub: &AttributeDef) -> bool {
        let named = |list: &[&str]| list.iter().any(|s| s.eq_ignore_ascii_case(&sub.name));
        match sub.returned {
            Returned::Never => false,
            Returned::Always => true,
            returned => {
                !named(&self.excluded_subs)
                    && match &self.subs {
                        None => returned != Returned::Request,
                        Some(subs) => named(subs),
                    }
            }
        }
    }
}

fn parse_list(param: &str, text: &str) -> Result<Vec<Requested>, ScimError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|raw| match attr_path(raw, raw) {
            Ok(path) => Ok(Requested { raw: raw.to_owned(), path: Some(path) }),
            // A whole extension: `urn:…:CustomExt:1.0` does not read as an attribute path.
            Err(_)
                if raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
                    && !raw.contains(char::is_whitespace) =>
            {
                Ok(Requested { raw: raw.to_owned(), path: None })
            }
            Err(_) => Err(ScimError::invalid_value(format!("`{raw}` in `{param}` is not an attribute path"))),
        })
        .collect()
}

#[cfg(test)]
mod tests;
