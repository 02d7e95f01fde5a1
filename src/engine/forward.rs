//! `update.forward_patch`: a SCIM PATCH sent on as a PATCH, with attribute names made native,
//! to an application that applies SCIM PATCH (or, where it can say the same, JSON Patch) itself.
//!
//! Forwarding replaces a read-modify-write (read the record, apply the operations here, write the
//! result back) with one call. Besides halving the calls, it cannot overwrite a change made in the
//! application between the read and the write. It is used only where the application applying the
//! operation does what the gateway would: every operation names an attribute that the mapping
//! renames and nothing more (see `compile::forwardable`), by a plain path or in a no-path value.
//! Everything else returns `None` and takes the read-modify-write path:
//! - value-filtered paths (`emails[type eq "work"].value`): for an `add` or `replace` that matches
//!   nothing, the gateway creates the element, as Microsoft Entra expects, where RFC 7644 answers
//!   `noTarget`; the application may do the latter;
//! - removing a required attribute, which the gateway refuses with `mutability`;
//! - operations the gateway itself refuses (a wrong type, a read-only attribute, two `primary`
//!   elements): the read-modify-write path gives the same error it always gives.

use serde_json::{Map, Value};

use super::convert::escape_pointer;
use crate::mapping::compile::{ForwardPatch, json_patch_replaces};
use crate::scim::filter::AttrPath;
use crate::scim::get_ci;
use crate::scim::patch::{self, PatchOpKind, PatchOperation, PatchPath, PatchRequest};
use crate::scim::schema::{AttrHome, AttributeDef, ResolvedAttr, ResourceSchema};

/// The variables the steps are given for a forwarded PATCH (`operations`, `json_patch`, as the
/// steps name them), or `None` when a form they name cannot express it.
pub(super) fn describe(
    fwd: &ForwardPatch,
    schema: &ResourceSchema,
    scim_id: &str,
    req: &PatchRequest,
) -> Option<Vec<(&'static str, Value)>> {
    let cleaned = without_echoes(req, scim_id);
    let req = cleaned.as_ref().unwrap_or(req);
    // The gateway's own checks (types, mutability, `primary`), on an empty resource: with plain
    // paths and no required attribute removed, none of them depends on the current values.
    patch::apply(schema, &mut Map::new(), req).ok()?;
    let mut vars = Vec::with_capacity(2);
    if fwd.forms.operations {
        vars.push(("operations", Value::Array(operations(fwd, schema, req)?)));
    }
    if fwd.forms.json_patch {
        vars.push(("json_patch", Value::Array(json_patch(fwd, schema, req)?)));
    }
    Some(vars)
}

/// The operations to send, as PatchOp `Operations` with native names, or `None` when the PATCH
/// must go through a read-modify-write. `req` is without echoes and passed the gateway's checks.
///
/// Values are sent as the gateway's own applier reads them (names in the schema's spelling,
/// sub-attributes the schema does not define left out), not as the IdP wrote them, so the
/// application receives what the read-modify-write would have written.
fn operations(fwd: &ForwardPatch, schema: &ResourceSchema, req: &PatchRequest) -> Option<Vec<Value>> {
    let mut out = Vec::with_capacity(req.operations.len());
    for op in &req.operations {
        match &op.path {
            Some(PatchPath::Attr(a)) => {
                let target = Target::of(fwd, schema, a)?;
                // A sub-attribute of every element of a multi-valued attribute: what it changes
                // depends on the elements there are.
                if a.sub.is_some() && target.resolved.def.multi_valued {
                    return None;
                }
                let path = match target.resolved.sub {
                    Some(sub) => format!("{}.{}", target.native, sub.name),
                    None => target.native.to_owned(),
                };
                let value = match op.op {
                    // A `remove` with a value picks elements by what the record holds.
                    PatchOpKind::Remove if op.value.is_some() => return None,
                    PatchOpKind::Remove => None,
                    _ => target.read(&applied(schema, op)?),
                };
                out.extend(operation(op.op, path, value, target.resolved.def)?);
            }
            Some(PatchPath::Filtered { .. }) => return None,
            None => {
                let Some(Value::Object(entries)) = &op.value else { return None };
                let after = applied(schema, op)?;
                let mut renamed = Map::with_capacity(entries.len());
                let mut removed = vec![];
                for key in entries.keys() {
                    let a = patch::attr_path(key, key).ok().filter(|a| a.sub.is_none())?;
                    let target = Target::of(fwd, schema, &a)?;
                    match target.read(&after) {
                        Some(v) => drop(renamed.insert(target.native.to_owned(), v)),
                        // Cleared (a null under `replace`): sent as a `remove` of its own.
                        None => removed.push(operation(op.op, target.native.to_owned(), None, target.resolved.def)?),
                    }
                }
                if !renamed.is_empty() {
                    out.push(serde_json::json!({"op": op.op.as_str(), "value": renamed}));
                }
                out.extend(removed.into_iter().flatten());
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The same PATCH as RFC 6902 operations on the native record (`json_patch`), for an application
/// that takes JSON Patch; `None` when it must go through a read-modify-write.
///
/// JSON Patch can say less without the record than SCIM PATCH: `remove` fails on a member that is
/// absent, `add` needs the parent object, and it replaces a whole object or array where SCIM
/// merges sub-attributes and appends values. So only what means the same in both is sent: an
/// `add` or `replace` that sets a top-level, single-valued simple attribute (or replaces every
/// value of a multi-valued one), becoming an `add` of the native member, which sets or creates
/// it. Anything else (a removal, a cleared value, a sub-attribute, a complex attribute, values
/// appended, an extension's attribute, which lives in an object of its own) is not forwarded.
fn json_patch(fwd: &ForwardPatch, schema: &ResourceSchema, req: &PatchRequest) -> Option<Vec<Value>> {
    let mut out = Vec::with_capacity(req.operations.len());
    for op in &req.operations {
        if op.op == PatchOpKind::Remove {
            return None;
        }
        let after = applied(schema, op)?;
        match &op.path {
            Some(PatchPath::Attr(a)) if a.sub.is_none() => {
                out.push(pointer_add(op.op, &Target::of(fwd, schema, a)?, &after)?)
            }
            Some(_) => return None,
            None => {
                let Some(Value::Object(entries)) = &op.value else { return None };
                for key in entries.keys() {
                    let a = patch::attr_path(key, key).ok().filter(|a| a.sub.is_none())?;
                    out.push(pointer_add(op.op, &Target::of(fwd, schema, &a)?, &after)?);
                }
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// One JSON Patch `add` setting `target` to what the applier left there, when that means what
/// the SCIM operation `op` means.
fn pointer_add(op: PatchOpKind, target: &Target<'_>, after: &Map<String, Value>) -> Option<Value> {
    let def = target.resolved.def;
    // An `add` to a multi-valued attribute appends in SCIM.
    let appends = def.multi_valued && op == PatchOpKind::Add;
    if target.resolved.sub.is_some() || appends || !json_patch_replaces(def, target.native) {
        return None;
    }
    let value = target.read(after).filter(|v| !v.is_null())?;
    let pointer = format!("/{}", escape_pointer(target.native));
    Some(serde_json::json!({"op": "add", "path": pointer, "value": value}))
}

/// `req` without what a no-path value may repeat and the gateway ignores: `schemas`, and the
/// resource's own `id` (Okta sends it with a group's new name). `None` when there is none.
fn without_echoes(req: &PatchRequest, scim_id: &str) -> Option<PatchRequest> {
    let echo = |k: &String, v: &Value| {
        k.eq_ignore_ascii_case("schemas") || (k.eq_ignore_ascii_case("id") && v.as_str() == Some(scim_id))
    };
    let has_echo = |op: &PatchOperation| {
        op.path.is_none()
            && op.value.as_ref().and_then(Value::as_object).is_some_and(|m| m.iter().any(|(k, v)| echo(k, v)))
    };
    if !req.operations.iter().any(has_echo) {
        return None;
    }
    let mut cleaned = req.clone();
    for op in cleaned.operations.iter_mut().filter(|op| op.path.is_none()) {
        if let Some(Value::Object(m)) = &mut op.value {
            m.retain(|k, v| !echo(k, v));
        }
    }
    Some(cleaned)
}

/// One operation with a path. `value` is what the applier left at the path: none after an `add`
/// or `replace` means the value cleared it (null, an empty list), which is a `remove`, unless the
/// attribute is required; after an `add`, nothing at all is added, and the operation is left out.
fn operation(op: PatchOpKind, path: String, value: Option<Value>, def: &AttributeDef) -> Option<Option<Value>> {
    let (op, value) = match (op, value) {
        (PatchOpKind::Remove, _) | (PatchOpKind::Replace, None) if def.required => return None,
        (PatchOpKind::Add, None) => return Some(None),
        (PatchOpKind::Replace, None) => (PatchOpKind::Remove, None),
        (op, value) => (op, value),
    };
    let mut o = Map::new();
    o.insert("op".into(), Value::String(op.as_str().to_owned()));
    o.insert("path".into(), Value::String(path));
    if let Some(v) = value {
        o.insert("value".into(), v);
    }
    Some(Some(Value::Object(o)))
}

/// One operation applied alone to an empty resource.
fn applied(schema: &ResourceSchema, op: &PatchOperation) -> Option<Map<String, Value>> {
    let mut after = Map::new();
    patch::apply(schema, &mut after, &PatchRequest { operations: vec![op.clone()] }).ok()?;
    Some(after)
}

/// A top-level attribute that may be forwarded, with its native name.
struct Target<'a> {
    native: &'a str,
    resolved: ResolvedAttr<'a>,
}

impl<'a> Target<'a> {
    fn of(fwd: &'a ForwardPatch, schema: &'a ResourceSchema, a: &AttrPath) -> Option<Target<'a>> {
        let resolved = schema.resolve(a)?;
        let key = match resolved.home {
            AttrHome::Core => resolved.def.name.to_ascii_lowercase(),
            AttrHome::Extension(urn) => {
                format!("{}:{}", urn.to_ascii_lowercase(), resolved.def.name.to_ascii_lowercase())
            }
        };
        fwd.attrs.get(&key).map(|n| Target { native: n.as_str(), resolved })
    }

    /// The value at this target (attribute, or its sub-attribute) in `res`.
    fn read(&self, res: &Map<String, Value>) -> Option<Value> {
        let container = match self.resolved.home {
            AttrHome::Core => res,
            AttrHome::Extension(urn) => get_ci(res, urn)?.as_object()?,
        };
        let value = get_ci(container, &self.resolved.def.name)?;
        match self.resolved.sub {
            Some(sub) => get_ci(value.as_object()?, &sub.name).cloned(),
            None => Some(value.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::mapping::compile::ForwardForms;
    use crate::scim::ResourceKind;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn fwd() -> ForwardPatch {
        let attrs = HashMap::from([
            ("displayname".to_owned(), "displayName".to_owned()),
            ("title".to_owned(), "jobTitle".to_owned()),
            ("name".to_owned(), "fullName".to_owned()),
            ("username".to_owned(), "userName".to_owned()),
            ("emails".to_owned(), "emails".to_owned()),
            ("profileurl".to_owned(), "profile/url~1".to_owned()),
            (format!("{}:manager", ENTERPRISE.to_ascii_lowercase()), format!("{ENTERPRISE}:manager")),
        ]);
        ForwardPatch { steps: vec![], attrs, forms: ForwardForms { operations: true, json_patch: true } }
    }

    /// The one form named by `forms`, as the steps would receive it.
    fn form(forms: ForwardForms, body: Value) -> Option<Vec<Value>> {
        let req = PatchRequest::from_json(&body).unwrap();
        let fwd = ForwardPatch { forms, ..fwd() };
        let mut vars = describe(&fwd, &ResourceSchema::rfc(ResourceKind::User), "u1", &req)?;
        assert_eq!(vars.len(), 1);
        match vars.pop() {
            Some((_, Value::Array(ops))) => Some(ops),
            other => panic!("{other:?}"),
        }
    }

    fn ops(body: Value) -> Option<Vec<Value>> {
        form(ForwardForms { operations: true, json_patch: false }, body)
    }

    fn pointer_ops(body: Value) -> Option<Vec<Value>> {
        form(ForwardForms { operations: false, json_patch: true }, body)
    }

    fn patch(operations: Value) -> Value {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
    }

    #[test]
    fn plain_paths_are_renamed_and_keep_their_sub_attribute_and_value() {
        let got = ops(patch(json!([
            {"op": "Replace", "path": "title", "value": "Lead"},
            {"op": "add", "path": "name.givenName", "value": "Ada"},
            {"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName"},
            {"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": "42"},
        ])));
        assert_eq!(
            got.unwrap(),
            vec![
                json!({"op": "replace", "path": "jobTitle", "value": "Lead"}),
                json!({"op": "add", "path": "fullName.givenName", "value": "Ada"}),
                json!({"op": "remove", "path": "displayName"}),
                json!({"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": "42"}),
            ]
        );
    }

    #[test]
    fn no_path_values_have_their_keys_renamed() {
        let got = ops(patch(json!([{"op": "replace", "value": {"TITLE": "Lead", "displayName": "Ada L"}}])));
        assert_eq!(got.unwrap(), vec![json!({"op": "replace", "value": {"jobTitle": "Lead", "displayName": "Ada L"}})]);
    }

    #[test]
    fn schemas_and_the_resource_id_in_a_no_path_value_are_left_out() {
        let got = ops(patch(json!([{"op": "replace", "value": {"id": "u1", "schemas": [], "title": "Lead"}}])));
        assert_eq!(got.unwrap(), vec![json!({"op": "replace", "value": {"jobTitle": "Lead"}})]);
        // Another resource's id is an attempt to change it: the gateway refuses that itself.
        assert_eq!(ops(patch(json!([{"op": "replace", "value": {"id": "u2", "title": "Lead"}}]))), None);
        // Nothing left to send: a PATCH that changes nothing, answered with the record.
        assert_eq!(ops(patch(json!([{"op": "replace", "value": {"id": "u1"}}]))), None);
    }

    #[test]
    fn anything_that_needs_the_current_record_is_not_forwarded() {
        for body in [
            // Value filters: Entra's create-on-no-match needs the record.
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@example.com"}]),
            // An attribute that is not mapped one to one.
            json!([{"op": "replace", "path": "nickName", "value": "A"}]),
            json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "replace", "path": "locale", "value": "y"}]),
            json!([{"op": "replace", "value": {"title": "x", "nickName": "y"}}]),
            // A dotted or extension-object key in a no-path value.
            json!([{"op": "replace", "value": {"name.givenName": "x"}}]),
            json!([{"op": "replace", "value": {ENTERPRISE: {"manager": {"value": "1"}}}}]),
            // Removing a required attribute.
            json!([{"op": "remove", "path": "userName"}]),
            json!([{"op": "replace", "value": {"userName": null}}]),
            // Refused by the gateway's own checks: the read-modify-write path reports it.
            json!([{"op": "replace", "path": "title", "value": 7}]),
            json!([{"op": "replace", "path": "name.nope", "value": "x"}]),
            json!([{"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
            // A sub-attribute of every element, and a removal picked by value.
            json!([{"op": "replace", "path": "emails.type", "value": "work"}]),
            json!([{"op": "remove", "path": "emails", "value": [{"value": "a@x"}]}]),
        ] {
            assert_eq!(ops(patch(body.clone())), None, "{body}");
        }
    }

    #[test]
    fn values_are_sent_as_the_gateway_reads_them() {
        let got = ops(patch(json!([
            // Unknown sub-attributes are left out, names take the schema's spelling.
            {"op": "add", "path": "emails", "value": [{"VALUE": "a@example.com", "id": "x", "type": "work"}]},
            {"op": "replace", "path": "NAME.GIVENNAME", "value": "Ada"},
            // A null under a no-path `replace` clears: a `remove` of its own.
            {"op": "replace", "value": {"displayName": null, "title": "Lead"}},
        ])));
        assert_eq!(
            got.unwrap(),
            vec![
                json!({"op": "add", "path": "emails", "value": [{"value": "a@example.com", "type": "work"}]}),
                json!({"op": "replace", "path": "fullName.givenName", "value": "Ada"}),
                json!({"op": "replace", "value": {"jobTitle": "Lead"}}),
                json!({"op": "remove", "path": "displayName"}),
            ]
        );
    }

    #[test]
    fn multi_valued_values_keep_their_elements() {
        let value = json!([{"value": "a@example.com", "type": "work", "primary": true}]);
        let got = ops(patch(json!([{"op": "add", "path": "emails", "value": value}]))).unwrap();
        assert_eq!(got, vec![json!({"op": "add", "path": "emails", "value": value})]);
    }

    #[test]
    fn json_patch_sets_single_valued_attributes_by_native_pointer() {
        let got = pointer_ops(patch(json!([
            {"op": "Replace", "path": "title", "value": "Lead"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "Ada"},
            {"op": "replace", "value": {"id": "u1", "PROFILEURL": "https://example.com/a", "schemas": []}},
        ])));
        assert_eq!(
            got.unwrap(),
            vec![
                json!({"op": "add", "path": "/jobTitle", "value": "Lead"}),
                json!({"op": "add", "path": "/displayName", "value": "Ada"}),
                json!({"op": "add", "path": "/profile~1url~01", "value": "https://example.com/a"}),
            ]
        );
    }

    #[test]
    fn json_patch_replaces_every_value_of_a_multi_valued_attribute_as_the_gateway_reads_them() {
        let got = pointer_ops(patch(json!([
            {"op": "replace", "path": "emails", "value": [{"VALUE": "a@example.com", "id": "x", "primary": true}]},
        ])));
        assert_eq!(
            got.unwrap(),
            vec![json!({"op": "add", "path": "/emails", "value": [{"value": "a@example.com", "primary": true}]})]
        );
    }

    #[test]
    fn json_patch_refuses_what_rfc_6902_cannot_say_without_the_record() {
        let manager = format!("{ENTERPRISE}:manager");
        for body in [
            // `remove` fails on an absent member; a cleared value is a removal.
            json!([{"op": "remove", "path": "title"}]),
            json!([{"op": "replace", "value": {"title": null}}]),
            json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "remove", "path": "displayName"}]),
            // `add` needs the parent, and replaces the whole object or array.
            json!([{"op": "add", "path": "name.givenName", "value": "Ada"}]),
            json!([{"op": "replace", "path": "name", "value": {"givenName": "Ada"}}]),
            json!([{"op": "add", "path": "emails", "value": [{"value": "a@example.com"}]}]),
            json!([{"op": "replace", "path": manager, "value": {"value": "42"}}]),
            // What the SCIM form refuses as well.
            json!([{"op": "replace", "path": "nickName", "value": "A"}, {"op": "replace", "path": "locale", "value": "x"}]),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@example.com"}]),
            json!([{"op": "replace", "path": "title", "value": 7}]),
            json!([{"op": "replace", "value": {"id": "u1"}}]),
        ] {
            assert_eq!(pointer_ops(patch(body.clone())), None, "{body}");
        }
    }

    #[test]
    fn each_form_the_steps_name_must_express_the_patch() {
        let req = |body: Value| PatchRequest::from_json(&patch(body)).unwrap();
        let schema = ResourceSchema::rfc(ResourceKind::User);
        let with = |operations, json_patch| ForwardPatch { forms: ForwardForms { operations, json_patch }, ..fwd() };
        let title = req(json!([{"op": "replace", "path": "title", "value": "Lead"}]));
        let names =
            |v: Option<Vec<(&'static str, Value)>>| v.map(|v| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>());
        assert_eq!(names(describe(&with(true, true), &schema, "u1", &title)), Some(vec!["operations", "json_patch"]));
        assert_eq!(names(describe(&with(false, true), &schema, "u1", &title)), Some(vec!["json_patch"]));
        // A removal is a SCIM operation but no JSON Patch without the record.
        let removal = req(json!([{"op": "remove", "path": "title"}]));
        assert_eq!(names(describe(&with(true, false), &schema, "u1", &removal)), Some(vec!["operations"]));
        assert_eq!(names(describe(&with(true, true), &schema, "u1", &removal)), None);
    }
}
