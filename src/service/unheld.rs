//! Attributes that SCIM defines but the route's target does not hold.
//!
//! IdPs send every attribute they map, whatever the application keeps (Entra patches `nickName`,
//! `name.familyName` and `manager` into apps that have none of them). RFC 7644 §3.3 lets a service
//! provider ignore attributes it does not support, and that is what the gateway does: operations on
//! such attributes are dropped and filter terms on them match nothing, exactly as if the attribute
//! were unassigned. Names SCIM does not define at all stay errors (`invalidPath`, `invalidFilter`).

use serde_json::{Map, Value};

use crate::scim::filter::{AttrPath, Filter};
use crate::scim::patch::{PatchPath, PatchRequest};
use crate::scim::schema::ResourceSchema;

/// Whether `path` is defined by the full schema but not by the target's.
fn unheld(full: &ResourceSchema, held: &ResourceSchema, path: &AttrPath) -> bool {
    held.resolve(path).is_none() && full.resolve(path).is_some()
}

/// `path` as a plain attribute path (the attribute, plus the sub-attribute after a filter).
fn attr_of(path: &PatchPath) -> AttrPath {
    match path {
        PatchPath::Attr(a) => a.clone(),
        PatchPath::Filtered { attr, sub, .. } => AttrPath { sub: sub.clone(), ..attr.clone() },
    }
}

/// Drops the operations, and the keys of no-path values, that address unheld attributes.
pub fn prune_patch(full: &ResourceSchema, held: &ResourceSchema, mut patch: PatchRequest) -> PatchRequest {
    patch.operations.retain_mut(|op| match &op.path {
        Some(path) => {
            let attr = attr_of(path);
            let whole = AttrPath { sub: None, ..attr.clone() };
            !(unheld(full, held, &whole) || unheld(full, held, &attr))
        }
        None => {
            if let Some(Value::Object(value)) = &mut op.value {
                prune_object(full, held, None, value);
            }
            true
        }
    });
    patch
}

/// Removes unheld attributes from a partial resource (a no-path PATCH value).
fn prune_object(full: &ResourceSchema, held: &ResourceSchema, uri: Option<&str>, object: &mut Map<String, Value>) {
    object.retain(|key, value| {
        if uri.is_none()
            && let Some(ext) = full.extension(key)
        {
            if held.extension(key).is_none() {
                return false;
            }
            if let Value::Object(inner) = value {
                let id = ext.id.clone();
                prune_object(full, held, Some(&id), inner);
            }
            return true;
        }
        let attr = AttrPath { uri: uri.map(str::to_owned), name: key.clone(), sub: None };
        if unheld(full, held, &attr) {
            return false;
        }
        if let Value::Object(sub) = value {
            sub.retain(|s, _| !unheld(full, held, &AttrPath { sub: Some(s.clone()), ..attr.clone() }));
        }
        true
    });
}

/// A filter after terms on unheld attributes have been decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Simplified {
    /// Every resource matches: no filter is left.
    All,
    /// No resource can match; the target need not be asked.
    None,
    /// What remains to be evaluated by the target.
    Filter(Filter),
}

/// Decides every term on an unheld attribute as an unassigned attribute would (RFC 7644
/// §3.4.2.2: a comparison with an unassigned attribute is false, and so is `pr`), then folds the
/// constants through `and`, `or` and `not`.
pub fn simplify_filter(full: &ResourceSchema, held: &ResourceSchema, filter: Filter) -> Simplified {
    let is_unheld = |p: &AttrPath| {
        let whole = AttrPath { sub: None, ..p.clone() };
        unheld(full, held, &whole) || unheld(full, held, p)
    };
    simplify_with(&filter, &is_unheld)
}

/// The folding itself; `unheld` answers for fully qualified paths.
fn simplify_with(filter: &Filter, unheld: &dyn Fn(&AttrPath) -> bool) -> Simplified {
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => {
            if unheld(path) {
                Simplified::None
            } else {
                Simplified::Filter(filter.clone())
            }
        }
        Filter::ValuePath { attr, filter: inner } => {
            if unheld(attr) {
                return Simplified::None;
            }
            // Inside the brackets, names are sub-attributes of `attr`.
            let sub_unheld = |p: &AttrPath| {
                unheld(&AttrPath { uri: attr.uri.clone(), name: attr.name.clone(), sub: Some(p.name.clone()) })
            };
            match simplify_with(inner, &sub_unheld) {
                Simplified::All => Simplified::Filter(Filter::Present(attr.clone())),
                Simplified::None => Simplified::None,
                Simplified::Filter(f) => {
                    Simplified::Filter(Filter::ValuePath { attr: attr.clone(), filter: Box::new(f) })
                }
            }
        }
        Filter::Not(inner) => match simplify_with(inner, unheld) {
            Simplified::All => Simplified::None,
            Simplified::None => Simplified::All,
            Simplified::Filter(f) => Simplified::Filter(Filter::Not(Box::new(f))),
        },
        Filter::And(a, b) => match (simplify_with(a, unheld), simplify_with(b, unheld)) {
            (Simplified::None, _) | (_, Simplified::None) => Simplified::None,
            (Simplified::All, x) | (x, Simplified::All) => x,
            (Simplified::Filter(a), Simplified::Filter(b)) => Simplified::Filter(Filter::And(Box::new(a), Box::new(b))),
        },
        Filter::Or(a, b) => match (simplify_with(a, unheld), simplify_with(b, unheld)) {
            (Simplified::All, _) | (_, Simplified::All) => Simplified::All,
            (Simplified::None, x) | (x, Simplified::None) => x,
            (Simplified::Filter(a), Simplified::Filter(b)) => Simplified::Filter(Filter::Or(Box::new(a), Box::new(b))),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::ResourceKind;
    use crate::scim::filter::parse;
    use crate::scim::urn::ENTERPRISE_USER;

    fn schemas() -> (ResourceSchema, ResourceSchema) {
        let full = ResourceSchema::rfc(ResourceKind::User);
        let keep: Vec<AttrPath> =
            ["userName", "name.givenName", "emails", "active"].into_iter().map(AttrPath::parse_simple).collect();
        let held = full.restrict(keep.iter());
        (full, held)
    }

    fn simplify(text: &str) -> Simplified {
        let (full, held) = schemas();
        simplify_filter(&full, &held, parse(text).unwrap())
    }

    #[test]
    fn terms_on_unheld_attributes_match_nothing() {
        assert_eq!(simplify(r#"nickName eq "x""#), Simplified::None);
        assert_eq!(simplify(r#"name.familyName pr"#), Simplified::None);
        assert_eq!(simplify(&format!(r#"{ENTERPRISE_USER}:manager.value eq "m""#)), Simplified::None);
        assert_eq!(simplify(r#"not (nickName eq "x")"#), Simplified::All);
        assert_eq!(simplify(r#"userName eq "a" and nickName eq "x""#), Simplified::None);
        assert_eq!(
            simplify(r#"userName eq "a" or nickName eq "x""#),
            Simplified::Filter(parse(r#"userName eq "a""#).unwrap())
        );
        assert_eq!(
            simplify(r#"userName eq "a" and not (title pr)"#),
            Simplified::Filter(parse(r#"userName eq "a""#).unwrap())
        );
        assert_eq!(
            simplify(r#"emails[type eq "work" and display eq "x"]"#),
            Simplified::Filter(parse(r#"emails[type eq "work" and display eq "x"]"#).unwrap())
        );
        // Held attributes pass through untouched.
        let kept = r#"userName sw "a" and (active eq true or name.givenName co "b")"#;
        assert_eq!(simplify(kept), Simplified::Filter(parse(kept).unwrap()));
    }

    #[test]
    fn operations_on_unheld_attributes_are_dropped() {
        let (full, held) = schemas();
        let patch = PatchRequest::from_json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "nickName", "value": "n"},
                {"op": "replace", "path": "name.familyName", "value": "f"},
                {"op": "replace", "path": "name.givenName", "value": "g"},
                {"op": "add", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"value": "m"}},
                {"op": "replace", "value": {"active": false, "title": "t", "name": {"givenName": "G", "familyName": "F"},
                    ENTERPRISE_USER: {"department": "d"}}}
            ]
        }))
        .unwrap();
        let pruned = prune_patch(&full, &held, patch);
        assert_eq!(pruned.operations.len(), 2, "{pruned:?}");
        assert_eq!(pruned.operations[0].path.as_ref().unwrap().to_string(), "name.givenName");
        assert_eq!(pruned.operations[1].value, Some(json!({"active": false, "name": {"givenName": "G"}})));
    }
}
