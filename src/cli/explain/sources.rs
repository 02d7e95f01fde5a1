//! Where what `scimgate explain` prints comes from: which part of the mapping made each call, and
//! which SCIM attribute (through which transforms) produced each native field of a call's body.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::mapping::compile::{Attr, Body, Call, CompiledMapping, Resource, Trigger, top_name};
use crate::mapping::expr::{Arg, Expr, Piece, Seg, Step, Template};
use crate::mapping::native_path::{NativePath, Segment};
use crate::scim::patch::PatchPath;

use super::recorder::RecordedCall;

/// Most attribute names collected from one request body (a SCIM body names a few dozen).
const MAX_NAMES: usize = 1_000;

/// What the mapping says about each step name: the operations that run it, and the status its
/// `expect` asks for first (the status a synthetic success of that step has).
#[derive(Debug, Clone, Default)]
pub struct Steps {
    pub origins: BTreeMap<String, Vec<String>>,
    pub expected: BTreeMap<String, u16>,
    /// The calls of each step name (one name can serve users and groups alike).
    pub calls: BTreeMap<String, Vec<Call>>,
}

impl Steps {
    pub fn of(mapping: &CompiledMapping) -> Steps {
        let mut steps = Steps::default();
        for (kind, res) in [("users", &mapping.users), ("groups", &mapping.groups)] {
            for (call, origin) in resource_calls(kind, res) {
                steps.add(call, origin);
            }
        }
        for (name, lookup) in &mapping.lookups {
            steps.add(&lookup.call, format!("lookup `{name}`"));
        }
        steps
    }

    fn add(&mut self, call: &Call, origin: String) {
        let origins = self.origins.entry(call.name.clone()).or_default();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
        if let Some(status) = call.expect.first() {
            self.expected.entry(call.name.clone()).or_insert(*status);
        }
        self.calls.entry(call.name.clone()).or_default().push(call.clone());
    }

    /// The mapping's call a recorded call came from.
    fn call_of(&self, recorded: &RecordedCall) -> Option<&Call> {
        let calls = self.calls.get(&recorded.step)?;
        calls.iter().find(|c| c.method == recorded.method).or(calls.first())
    }

    /// The operations that run the step, e.g. `users update` or `users: when `active` = false`;
    /// those of the requested resource type (`users` or `groups`) when the name serves both.
    pub fn origin(&self, step: &str, kind: Option<&str>) -> String {
        let Some(all) = self.origins.get(step) else { return String::new() };
        let mine: Vec<&str> = all
            .iter()
            .map(String::as_str)
            .filter(|o| kind.is_none_or(|k| o.starts_with(k) || o.starts_with("lookup")))
            .collect();
        if mine.is_empty() { all.join(" or ") } else { mine.join(" or ") }
    }
}

/// Every call of a resource, with the operation it belongs to.
fn resource_calls<'a>(kind: &str, res: &'a Resource) -> Vec<(&'a Call, String)> {
    let mut out: Vec<(&Call, String)> = Vec::new();
    let mut push = |calls: &'a [Call], what: String| out.extend(calls.iter().map(|c| (c, what.clone())));
    push(&res.get, format!("{kind} read"));
    push(&res.create, format!("{kind} create"));
    push(&res.update.steps, format!("{kind} update"));
    if let Some(f) = &res.update.forward {
        push(&f.steps, format!("{kind} update, PATCH forwarded (read-modify-write on 405/501)"));
    }
    push(&res.delete, format!("{kind} delete"));
    push(std::slice::from_ref(&res.list.call), format!("{kind} list"));
    for f in &res.filters {
        let on = f.attr.as_ref().map(|a| format!(" on `{a}`")).unwrap_or_default();
        push(&f.steps, format!("{kind} filter{on}"));
    }
    for t in &res.triggers {
        let equals = t.equals.as_ref().map(|v| format!(" = {v}")).unwrap_or_else(|| " changes".to_owned());
        push(&t.steps, format!("{kind}: when `{}`{equals}", t.attr_text));
    }
    if let Some(m) = &res.members {
        if let Some(call) = &m.call {
            push(std::slice::from_ref(call), format!("{kind} members read"));
        }
        push(&m.add.steps, format!("{kind} member add"));
        push(&m.remove.steps, format!("{kind} member remove"));
    }
    out
}

/// The resource type a SCIM path addresses (`/Users…` or `/Groups…`), as `users` or `groups`.
pub fn kind(scim_path: &str) -> Option<&'static str> {
    let first = scim_path.trim_start_matches('/').split(['/', '?']).next().unwrap_or_default();
    if first.eq_ignore_ascii_case("users") {
        Some("users")
    } else if first.eq_ignore_ascii_case("groups") {
        Some("groups")
    } else {
        None
    }
}

/// The mapping of a resource type named by [`kind`].
pub fn resource<'a>(mapping: &'a CompiledMapping, kind: Option<&str>) -> Option<&'a Resource> {
    match kind {
        Some("users") => Some(&mapping.users),
        Some("groups") => Some(&mapping.groups),
        _ => None,
    }
}

/// The `Operations` of a SCIM PatchOp body, in any case of the key (Entra and Okta differ).
pub(super) fn patch_operations(body: &Value) -> Option<&Value> {
    crate::scim::get_ci(body.as_object()?, "Operations")
}

/// The top-level SCIM attributes a request body names, by lower-cased name (URN-qualified for
/// extension attributes) with the spelling the request used: a resource's members, or the paths
/// and value members of PATCH operations (any case of `Operations`, as Entra and Okta send it).
pub fn requested(body: &Value) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    match patch_operations(body) {
        Some(Value::Array(ops)) => {
            for op in ops.iter().filter_map(Value::as_object) {
                let path = crate::scim::get_ci(op, "path").and_then(Value::as_str);
                let value = crate::scim::get_ci(op, "value");
                match (path, value) {
                    (Some(p), _) => add_path(&mut names, p),
                    (None, Some(Value::Object(v))) => add_members(&mut names, v),
                    _ => {}
                }
            }
        }
        _ => {
            if let Value::Object(o) = body {
                add_members(&mut names, o);
            }
        }
    }
    for skip in ["schemas", "id", "meta"] {
        names.remove(skip);
    }
    names
}

fn add_path(names: &mut BTreeMap<String, String>, path: &str) {
    if names.len() < MAX_NAMES
        && let Ok(p) = PatchPath::parse(path)
    {
        let a = p.attr();
        let written = match &a.uri {
            Some(uri) => format!("{uri}:{}", a.name),
            None => a.name.clone(),
        };
        names.entry(top_name(&p)).or_insert(written);
    }
}

/// Members of a resource (or of a PATCH value): plain names, `name.sub` paths, and the
/// attributes inside an extension's URN-named object.
fn add_members(names: &mut BTreeMap<String, String>, members: &serde_json::Map<String, Value>) {
    for (key, value) in members {
        match value {
            Value::Object(inner) if key.len() > 4 && key[..4].eq_ignore_ascii_case("urn:") => {
                for sub in inner.keys() {
                    add_path(names, &format!("{key}:{sub}"));
                }
            }
            _ => add_path(names, key),
        }
    }
}

/// ` | lower | slug`: the transforms of an expression or attribute, in order.
fn transforms(steps: &[Step]) -> String {
    steps.iter().map(|s| format!(" | {}", s.transform.name())).collect()
}

/// A variable as a mapping author reads it: scim `name.givenName`, or `members`.
fn describe_var(segs: &[Seg]) -> String {
    let text = |segs: &[Seg]| {
        segs.iter()
            .map(|s| match s {
                Seg::Key(k) => k.clone(),
                Seg::Index(i) => i.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    };
    match segs.split_first() {
        Some((Seg::Key(root), rest)) if root == "scim" && !rest.is_empty() => format!("scim `{}`", text(rest)),
        _ => format!("`{}`", text(segs)),
    }
}

fn describe_expr(e: &Expr) -> String {
    let head = match &e.head {
        Arg::Var(v) => describe_var(&v.0),
        Arg::Lit(v) if e.steps.is_empty() => format!("the constant {v}"),
        Arg::Lit(v) => format!("`{v}`"),
    };
    format!("{head}{}", transforms(&e.steps))
}

/// Where an attribute mapping's value comes from, e.g. scim `userName` | lower.
fn describe(attr: &Attr) -> Option<String> {
    let origin = if let Some(scim) = &attr.scim {
        format!("scim `{}`", scim.text)
    } else if let Some(from) = &attr.from {
        describe_expr(from)
    } else if let Some(value) = &attr.value {
        format!("the constant {value}")
    } else {
        return None;
    };
    Some(format!("{origin}{}", transforms(&attr.to_native)))
}

/// Whether the attribute takes part in this request: it reads a SCIM attribute the request
/// names, or it is computed (constants and expressions are written whenever their record is).
fn relevant(attr: &Attr, requested: &BTreeMap<String, String>) -> bool {
    match &attr.scim {
        Some(scim) => requested.contains_key(&top_name(&scim.path)),
        None => attr.from.is_some() || attr.value.is_some(),
    }
}

/// The attribute's native paths: where it writes on create and on update.
fn native_paths(attr: &Attr) -> Vec<&NativePath> {
    let mut paths: Vec<&NativePath> = Vec::new();
    for p in [&attr.create, &attr.update].into_iter().flatten() {
        if !p.segments.is_empty() && !paths.contains(&p) {
            paths.push(p);
        }
    }
    paths
}

/// The names along a native path (`roles[].id` → roles, id).
fn names(path: &[Segment]) -> Vec<&str> {
    path.iter()
        .map(|s| match s {
            Segment::Key(k) | Segment::Each(k) | Segment::Where { key: k, .. } => k.as_str(),
        })
        .collect()
}

/// Whether a call with this URL and body writes the native path: the field is in the body or in
/// an object inside it (an array of records, a SCIM PatchOp's values), the body is the value of
/// the URL's last segment (per-key updates such as `POST /entity/{id}/{key}`), or a JSON Patch
/// operation's path names it.
fn written(path: &NativePath, url: &str, body: &Value) -> bool {
    let present = |v: &Value| !path.get(v).is_null();
    let last = url.split('?').next().unwrap_or(url).rsplit('/').next().unwrap_or_default();
    let per_key = path.top_key() == last
        && match path.segments.split_first() {
            Some((_, [])) => !body.is_null(),
            Some((_, rest)) => !NativePath { segments: rest.to_vec() }.get(body).is_null(),
            None => false,
        };
    if scim_patch_writes(path, body) {
        return true;
    }
    match body {
        Value::Array(items) if !items.is_empty() && items.iter().all(is_json_patch_op) => {
            let wanted = names(&path.segments);
            items.iter().filter_map(|op| op.get("path").and_then(Value::as_str)).any(|pointer| {
                let segs: Vec<String> = pointer
                    .split('/')
                    .skip(1)
                    .filter(|s| !s.is_empty() && *s != "-" && !s.bytes().all(|b| b.is_ascii_digit()))
                    .map(|s| s.replace("~1", "/").replace("~0", "~"))
                    .collect();
                let n = segs.len().min(wanted.len());
                n > 0 && segs[..n].iter().zip(&wanted[..n]).all(|(a, b)| a == b)
            })
        }
        _ => per_key || any_object(body, MAX_DEPTH, &present),
    }
}

/// Whether a SCIM PatchOp body (a forwarded PATCH) has an operation whose `path` names the
/// native attribute: `jobTitle`, `name.givenName`, `emails[type eq "work"]`, or an extension's
/// `urn:…:manager` for the native path `"urn:…".manager`.
fn scim_patch_writes(path: &NativePath, body: &Value) -> bool {
    let Some(Value::Array(ops)) = patch_operations(body) else { return false };
    let wanted = match names(&path.segments).as_slice() {
        [urn, key, ..] if urn.contains(':') => format!("{urn}:{key}"),
        [key, ..] => (*key).to_owned(),
        [] => return false,
    };
    ops.iter().filter_map(|op| op.get("path").and_then(Value::as_str)).any(|p| {
        p.get(..wanted.len()).is_some_and(|head| head.eq_ignore_ascii_case(&wanted))
            && matches!(p.as_bytes().get(wanted.len()), None | Some(b'.' | b'['))
    })
}

/// How deep [`written`] looks for a native field inside wrappers (`[{…}]`, `{"value": {…}}`,
/// `Operations[].value`).
const MAX_DEPTH: usize = 6;

/// Whether `test` holds for the value or for an object nested in it, at most `depth` levels down.
fn any_object(v: &Value, depth: usize, test: &dyn Fn(&Value) -> bool) -> bool {
    match v {
        Value::Object(o) => test(v) || (depth > 0 && o.values().any(|c| any_object(c, depth - 1, test))),
        Value::Array(items) => depth > 0 && items.iter().any(|c| any_object(c, depth - 1, test)),
        _ => false,
    }
}

fn is_json_patch_op(v: &Value) -> bool {
    v.get("op").is_some_and(Value::is_string) && v.get("path").is_some_and(Value::is_string)
}

/// The fields a call's body template fills from expressions, e.g. `userIds` ← `members`. A body
/// that is one expression as a whole (`{doc}`, `{patch}`) is left to the attribute mappings.
fn body_fields(body: &Body, prefix: &str, out: &mut Vec<(String, String)>) {
    match body {
        Body::Const(_) => {}
        Body::Template(t) if !prefix.is_empty() => {
            if let Some(origin) = describe_template(t) {
                out.push((prefix.to_owned(), origin));
            }
        }
        Body::Template(_) => {}
        Body::Array(items) => items.iter().for_each(|b| body_fields(b, prefix, out)),
        Body::Object(fields) => {
            for (key, b) in fields {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                body_fields(b, &path, out);
            }
        }
    }
}

fn describe_template(t: &Template) -> Option<String> {
    if let Some(e) = t.single_expr() {
        return Some(describe_expr(e));
    }
    let parts: Vec<String> = t
        .pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Expr(e) => Some(describe_expr(e)),
            Piece::Text(_) => None,
        })
        .collect();
    (!parts.is_empty()).then(|| format!("text with {}", parts.join(", ")))
}

/// Every variable a call's templates and conditions read.
fn call_vars(call: &Call) -> Vec<&[Seg]> {
    fn template<'a>(t: &'a Template, out: &mut Vec<&'a Expr>) {
        out.extend(t.pieces.iter().filter_map(|p| match p {
            Piece::Expr(e) => Some(e),
            Piece::Text(_) => None,
        }));
    }
    fn body<'a>(b: &'a Body, out: &mut Vec<&'a Expr>) {
        match b {
            Body::Const(_) => {}
            Body::Template(t) => template(t, out),
            Body::Array(items) => items.iter().for_each(|i| body(i, out)),
            Body::Object(fields) => fields.iter().for_each(|(_, i)| body(i, out)),
        }
    }
    let mut exprs: Vec<&Expr> = Vec::new();
    template(&call.url, &mut exprs);
    call.query.iter().for_each(|(_, t)| template(t, &mut exprs));
    call.headers.iter().for_each(|(_, t)| template(t, &mut exprs));
    if let Some(b) = &call.body {
        body(b, &mut exprs);
    }
    exprs.extend(call.when.iter().chain(call.for_each.iter()));
    exprs.into_iter().flat_map(Expr::vars).map(|v| v.0.as_slice()).collect()
}

/// Whether a call reads `scim.NAME` (NAME lower-cased, as [`requested`] keys are).
fn reads_scim(call: &Call, name: &str) -> bool {
    call_vars(call).iter().any(|segs| match segs {
        [Seg::Key(root), Seg::Key(attr), ..] => root == "scim" && attr.eq_ignore_ascii_case(name),
        _ => false,
    })
}

/// One line per native field of the call's body, with where its value came from: the attribute
/// mappings the request takes part in, and the fields the call's own body template fills.
pub fn for_call(
    res: &Resource,
    steps: &Steps,
    requested: &BTreeMap<String, String>,
    call: &RecordedCall,
) -> Vec<String> {
    let Some(body) = &call.body else { return Vec::new() };
    let mut lines = Vec::new();
    // A forwarded PATCH carries operations on SCIM attributes, never a record built from
    // constants or expressions (its own `schemas` is the PatchOp's).
    let forwarded = patch_operations(body).is_some();
    for attr in res.attrs.iter().filter(|a| relevant(a, requested) && !(forwarded && a.scim.is_none())) {
        let Some(origin) = describe(attr) else { continue };
        for path in native_paths(attr).into_iter().filter(|p| written(p, &call.url, body)) {
            let line = format!("`{path}` ← {origin}");
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    let mut fields = Vec::new();
    if let Some(b) = steps.call_of(call).and_then(|c| c.body.as_ref()) {
        body_fields(b, "", &mut fields);
    }
    for (path, origin) in fields {
        let line = format!("`{path}` ← {origin}");
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// What the request names that no call above shows: mapped attributes written by no call
/// (unchanged, or not written by this operation), triggers that did not run, and attributes this
/// mapping does not hold at all.
pub fn unshown(
    res: &Resource,
    steps: &Steps,
    requested: &BTreeMap<String, String>,
    calls: &[RecordedCall],
) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, written_as) in requested {
        let attrs: Vec<&Attr> =
            res.attrs.iter().filter(|a| a.scim.as_ref().is_some_and(|s| top_name(&s.path) == *name)).collect();
        let triggers: Vec<&Trigger> = res.triggers.iter().filter(|t| top_name(&t.attr) == *name).collect();
        let ran = |t: &&Trigger| t.steps.iter().any(|s| calls.iter().any(|c| c.step == s.name));
        let shown = triggers.iter().any(ran)
            || calls.iter().any(|c| steps.call_of(c).is_some_and(|call| reads_scim(call, name)))
            || attrs.iter().any(|a| {
                native_paths(a)
                    .into_iter()
                    .any(|p| calls.iter().any(|c| c.body.as_ref().is_some_and(|b| written(p, &c.url, b))))
            });
        if shown || (name == "members" && res.members.is_some()) {
            continue;
        }
        let writes: Vec<String> = attrs
            .iter()
            .flat_map(|a| native_paths(a).into_iter().map(move |p| (p, a)))
            .filter_map(|(p, a)| describe(a).map(|origin| format!("`{p}` ← {origin}")))
            .collect();
        if !writes.is_empty() {
            lines.push(format!(
                "{}: mapped, in no call above (unchanged, or not written by this operation)",
                writes.join("; ")
            ));
        } else if !triggers.is_empty() {
            let runs: Vec<String> = triggers
                .iter()
                .map(|t| {
                    let equals = t.equals.as_ref().map(|v| format!(" = {v}")).unwrap_or_default();
                    let names: Vec<&str> = t.steps.iter().map(|s| s.name.as_str()).collect();
                    format!("`{}`{equals} runs {}", t.attr_text, names.join(", "))
                })
                .collect();
            lines.push(format!("scim `{written_as}`: no trigger ran ({})", runs.join("; ")));
        } else {
            let why = if attrs.is_empty() { "no attribute mapping" } else { "read-only in this mapping" };
            lines.push(format!("scim `{written_as}`: {why}, so the application does not receive it"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requested_names_come_from_resources_and_patch_operations() {
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "a", "name": {"givenName": "A"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}}
        });
        let names = requested(&user);
        assert_eq!(
            names.keys().collect::<Vec<_>>(),
            ["name", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager", "username"]
        );
        assert_eq!(names["username"], "userName", "the request's spelling is kept for messages");
        // Entra: capitalised ops, a filtered path, and a no-path value with dotted names.
        let patch = json!({"Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@x"},
            {"op": "Add", "value": {"displayName": "A", "name.familyName": "B"}},
            {"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
            {"op": "Replace", "path": "not a [ valid path"}
        ]});
        assert_eq!(
            requested(&patch).keys().collect::<Vec<_>>(),
            ["displayname", "emails", "name", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager"]
        );
    }

    fn path(text: &str) -> NativePath {
        NativePath::parse(text).unwrap()
    }

    #[test]
    fn a_native_field_is_found_in_objects_arrays_per_key_bodies_and_json_patches() {
        assert!(written(&path("login"), "http://a/users", &json!({"login": "x"})));
        assert!(!written(&path("login"), "http://a/users", &json!({"name": "x"})));
        assert!(written(&path("info.email"), "http://a/users", &json!([{"info": {"email": "x"}}])));
        let scim_patch = json!({"Operations": [{"op": "replace", "value": {"displayName": "d"}}]});
        assert!(written(&path("displayName"), "http://a/Groups/1", &scim_patch));
        assert!(!written(&path("externalId"), "http://a/Groups/1", &scim_patch));
        assert!(written(&path("info.value.email"), "http://a/u/1/info?async=false", &json!({"value": {"email": "x"}})));
        assert!(!written(&path("info.value.email"), "http://a/u/1/status", &json!({"value": {"email": "x"}})));
        let patch = json!([{"op": "replace", "path": "/roles/0/id", "value": "r"}]);
        assert!(written(&path("roles[].id"), "http://a/users/1", &patch));
        assert!(!written(&path("displayName"), "http://a/users/1", &patch));
        let patch = json!([{"op": "add", "path": "/displayName", "value": "d"}]);
        assert!(written(&path("displayName"), "http://a/users/1", &patch));
    }
}
