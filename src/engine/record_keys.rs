//! The top-level keys of a native record that reading it into SCIM can touch, and a parser that
//! keeps only those.
//!
//! Applications answer a read with far more than a mapping uses (OpenMetadata's user carries its
//! teams, inherited roles, links and audit fields). Building a `serde_json::Value` of every field
//! was the largest single cost of a proxied read. Reads that are turned into SCIM and then
//! dropped keep what conversion reads; the read before a change also keeps what the update
//! writes, and is whole when the update sends the record back (`put`, per-key updates) or a
//! template reads the record whole.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::mapping::compile::{Call, FilterResultC, ReadC, Resource};
use crate::mapping::expr::{Expr, Seg, VarPath};
use crate::mapping::model::UpdateStyle;

/// Which top-level keys of a native answer to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKeys {
    /// The whole answer: some read could not be traced to a top-level key.
    All,
    /// Only these keys (sorted); answers that are not objects are kept whole.
    Only(Box<[String]>),
}

impl RecordKeys {
    /// The keys that converting a record of `res` to SCIM reads: the id, every attribute's read
    /// path and the `record.…` variables of its `to_scim` transforms, embedded members, and what
    /// the steps whose answers are parsed with these keys (`get`, filter rules, `create`, `update`)
    /// capture or pick as the record.
    pub fn of_reads(res: &Resource) -> RecordKeys {
        Keys::of_reads(res).finish()
    }

    /// The keys the read before a change needs: what [`of_reads`](Self::of_reads) keeps (the
    /// current resource is shown to triggers and immutability checks, and is the answer when
    /// nothing changes), every top-level field an attribute updates, and every `old.k`,
    /// `record.k` or `doc.k` read by what runs in the change's scope (update steps, triggers,
    /// member writes, attributes' `to_native` and `from`). Updates that send
    /// the record back (`put`, per-key) keep everything, as does any template reading `old`,
    /// `record` or `doc` whole.
    ///
    /// A JSON Patch or merge patch is a diff of the record before and after the attributes are
    /// written: fields neither read nor written are equal on both sides, so leaving them out of
    /// both changes no operation.
    pub fn of_changes(res: &Resource) -> RecordKeys {
        if !matches!(res.update.style, UpdateStyle::JsonPatch | UpdateStyle::MergePatch) {
            return RecordKeys::All;
        }
        let mut keys = Keys::of_reads(res);
        // What runs in a change's scope: the attributes' conversions to native values, the
        // update steps, triggers and member writes.
        for a in &res.attrs {
            if let Some(p) = a.update.as_ref().filter(|p| !p.segments.is_empty()) {
                keys.path(Some(p.top_key()));
            }
            let transforms = a.to_native.iter().flat_map(|s| s.transform.vars());
            for v in transforms.chain(a.from.iter().flat_map(Expr::vars)) {
                keys.var(v, CHANGE_ROOTS);
            }
        }
        let members = res.members.iter().flat_map(|m| m.add.steps.iter().chain(&m.remove.steps));
        let triggers = res.triggers.iter().flat_map(|t| &t.steps);
        for call in res.update.steps.iter().chain(triggers).chain(members) {
            for v in call.exprs().into_iter().flat_map(Expr::vars) {
                keys.var(v, CHANGE_ROOTS);
            }
        }
        keys.finish()
    }

    /// Parses a native answer, keeping only these keys of a top-level object. `None` when the
    /// body is empty or not JSON, as for a whole parse.
    pub fn parse(&self, body: &[u8]) -> Option<Value> {
        if body.is_empty() {
            return None;
        }
        match self {
            RecordKeys::All => serde_json::from_slice(body).ok(),
            RecordKeys::Only(keys) => {
                // Skipped strings are not checked by the parser; a whole parse would refuse them.
                std::str::from_utf8(body).ok()?;
                let mut de = serde_json::Deserializer::from_slice(body);
                let v = Pruned(keys).deserialize(&mut de).ok()?;
                de.end().ok()?;
                Some(v)
            }
        }
    }
}

/// The names of the native record in a change's scope: `old` before it, `record` and `doc` after.
const CHANGE_ROOTS: &[&str] = &["old", "record", "doc"];

#[derive(Default)]
struct Keys {
    keys: BTreeSet<String>,
    all: bool,
}

impl Keys {
    fn path(&mut self, top: Option<&str>) {
        match top {
            Some(k) => {
                self.keys.insert(k.to_owned());
            }
            None => self.all = true,
        }
    }

    fn of_reads(res: &Resource) -> Keys {
        let mut keys = Keys::default();
        keys.path(res.id.read.top_key());
        for a in res.attrs.iter().filter(|a| a.scim.is_some()) {
            match &a.read {
                ReadC::None => {}
                ReadC::Native(p) => keys.path(Some(p.top_key())),
                ReadC::JsonPath(p) => keys.path(p.top_key()),
            }
            for v in a.to_scim.iter().flat_map(|s| s.transform.vars()) {
                keys.var(v, &["record"]);
            }
        }
        if let Some(m) = res.members.as_ref().filter(|m| m.call.is_none()) {
            keys.path(m.records.top_key());
        }
        let filter_steps = res.filters.iter().flat_map(|r| &r.steps);
        let forward = res.update.forward.iter().flat_map(|f| &f.steps);
        for call in res.get.iter().chain(&res.create).chain(&res.update.steps).chain(forward).chain(filter_steps) {
            keys.call(call);
        }
        for rule in &res.filters {
            if let FilterResultC::Records(p) = &rule.result {
                keys.path(p.top_key());
            }
        }
        keys
    }

    /// A variable naming a native record under one of `roots`: `record.k…` needs `k`; the root
    /// alone needs everything; other variables (`vars.…`) are not the record.
    fn var(&mut self, v: &VarPath, roots: &[&str]) {
        if !roots.contains(&v.root()) {
            return;
        }
        match v.0.get(1) {
            Some(Seg::Key(k)) => self.path(Some(k)),
            Some(Seg::Index(_)) | None => self.all = true,
        }
    }

    fn call(&mut self, call: &Call) {
        for c in &call.capture {
            self.path(c.path.top_key());
        }
        if let Some(p) = call.record.as_ref().filter(|p| !p.is_root()) {
            self.path(p.top_key());
        }
    }

    fn finish(self) -> RecordKeys {
        if self.all { RecordKeys::All } else { RecordKeys::Only(self.keys.into_iter().collect()) }
    }
}

/// A JSON document whose top-level object keeps only some keys; anything else is kept whole.
struct Pruned<'k>(&'k [String]);

impl<'de> DeserializeSeed<'de> for Pruned<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pruned<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(k)) = map.next_key()? {
            if self.0.iter().any(|want| *want == k) {
                let v: Value = map.next_value()?;
                out.insert(k.into_owned(), v);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// An object key, borrowed from the body when it has no escapes: a skipped field costs no
/// allocation.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mapping::compile::compile_str;
    use crate::scim::ResourceKind;

    fn only(keys: &[&str]) -> RecordKeys {
        RecordKeys::Only(keys.iter().map(|k| (*k).to_owned()).collect())
    }

    #[test]
    fn keeps_only_the_named_top_level_keys_and_everything_under_them() {
        let body = br#"{"id":"1","skip":{"deep":[1,2,{"x":"\u00e9"}]},"name":{"given":"A","n":[1.5,-2,true,null]},"esc\"aped":1}"#;
        let v = only(&["id", "name", "esc\"aped"]).parse(body).unwrap();
        assert_eq!(v, json!({"id": "1", "name": {"given": "A", "n": [1.5, -2, true, null]}, "esc\"aped": 1}));
        assert_eq!(RecordKeys::All.parse(body).unwrap(), serde_json::from_slice::<Value>(body).unwrap());
    }

    #[test]
    fn answers_that_are_not_objects_are_kept_whole() {
        for body in [&br#"[{"a":1,"b":2}]"#[..], b"\"text\"", b"12", b"-3", b"0.5", b"true", b"null"] {
            assert_eq!(
                only(&["a"]).parse(body),
                serde_json::from_slice(body).ok(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn rejects_what_a_whole_parse_rejects() {
        for body in [&b""[..], b"{", b"{\"a\":1} x", b"{\"a\":1,}", b"{\"skip\":[1,}", b"nope", b"{\"skip\":\"\xff\"}"]
        {
            assert_eq!(only(&["a"]).parse(body), None, "{}", String::from_utf8_lossy(body));
            assert_eq!(RecordKeys::All.parse(body), None);
        }
    }

    #[test]
    fn a_repeated_key_keeps_the_last_value_as_a_whole_parse_does() {
        assert_eq!(only(&["a"]).parse(br#"{"a":1,"b":0,"a":2}"#).unwrap(), json!({"a": 2}));
    }

    fn keys_of(src: &str, kind: ResourceKind) -> RecordKeys {
        let (m, _) = compile_str("om.yaml", src).unwrap_or_else(|e| panic!("{e}"));
        RecordKeys::of_reads(m.resource(kind))
    }

    fn openmetadata() -> &'static str {
        crate::mapping::builtin::source("openmetadata").unwrap()
    }

    #[test]
    fn the_shipped_openmetadata_mapping_reads_these_fields() {
        // `hits`: the search step of the userName filter captures from the search answer.
        let users = ["deleted", "displayName", "email", "externalId", "hits", "id", "isAdmin", "name", "roles"];
        assert_eq!(
            keys_of(openmetadata(), ResourceKind::User),
            only(&[&users[..], &["scimUserName", "updatedAt"]].concat())
        );
        let groups = keys_of(openmetadata(), ResourceKind::Group);
        let RecordKeys::Only(groups) = groups else { panic!("{groups:?}") };
        for key in ["id", "users"] {
            assert!(groups.iter().any(|k| k == key), "{key} in {groups:?}");
        }
        for key in ["href", "owns", "inheritedRoles", "children"] {
            assert!(!groups.iter().any(|k| k == key), "{key} in {groups:?}");
        }
    }

    #[test]
    fn transform_variables_and_captures_are_traced_to_their_keys() {
        let src = openmetadata()
            .replace(r#"to_scim: ["coalesce(record.name)"]"#, r#"to_scim: ["coalesce(record.profile.nick)"]"#)
            .replace("          capture: { found: $.id }\n", "          capture: { found: $.id, org: $.org.id }\n");
        assert_ne!(src, openmetadata());
        let RecordKeys::Only(keys) = keys_of(&src, ResourceKind::User) else { panic!() };
        assert!(keys.iter().any(|k| k == "profile") && keys.iter().any(|k| k == "org"), "{keys:?}");
        assert!(!keys.iter().any(|k| k == "name"), "{keys:?}");
    }

    #[test]
    fn a_read_that_can_reach_anywhere_keeps_everything() {
        for (from, to) in [
            (r#"to_scim: ["coalesce(record.name)"]"#, r#"to_scim: ["coalesce(record)"]"#),
            (
                "    - scim: displayName\n      native: displayName\n",
                "    - scim: displayName\n      read: $..displayName\n",
            ),
        ] {
            let src = openmetadata().replace(from, to);
            assert_ne!(src, openmetadata(), "{from}");
            assert_eq!(keys_of(&src, ResourceKind::User), RecordKeys::All, "{to}");
        }
    }

    fn change_keys_of(src: &str, kind: ResourceKind) -> RecordKeys {
        let (m, _) = compile_str("om.yaml", src).unwrap_or_else(|e| panic!("{e}"));
        RecordKeys::of_changes(m.resource(kind))
    }

    #[test]
    fn a_change_keeps_what_is_read_and_written_of_the_shipped_openmetadata_records() {
        // Every field the user mapping writes is also read back, so a change needs nothing more.
        assert_eq!(change_keys_of(openmetadata(), ResourceKind::User), keys_of(openmetadata(), ResourceKind::User));
        let RecordKeys::Only(teams) = change_keys_of(openmetadata(), ResourceKind::Group) else { panic!() };
        for key in ["id", "displayName", "externalId", "users"] {
            assert!(teams.iter().any(|k| k == key), "{key} in {teams:?}");
        }
        for key in ["href", "owns", "children", "parents"] {
            assert!(!teams.iter().any(|k| k == key), "{key} in {teams:?}");
        }
    }

    #[test]
    fn a_change_keeps_fields_only_written_or_named_by_change_templates() {
        let src = openmetadata()
            .replacen(
                "    - scim: externalId\n      native: externalId\n",
                "    - scim: externalId\n      update: profile.ext\n      read: $.externalId\n",
                1,
            )
            .replace(
                "        headers: { Content-Type: application/json-patch+json }\n        body: \"{patch}\"\n  delete:\n    - name: delete user",
                "        headers: { Content-Type: application/json-patch+json, If-Match: \"{old.etag}\" }\n        body: \"{patch}\"\n  delete:\n    - name: delete user",
            )
            .replace(
                "          url: /v1/users/restore\n          body: { id: \"{id}\" }",
                "          url: /v1/users/restore\n          body: { id: \"{id}\", v: \"{record.version}\" }",
            );
        assert_eq!(src.matches("profile.ext").count() + src.matches("old.etag").count(), 2, "{src}");
        assert!(src.contains("record.version"));
        let RecordKeys::Only(keys) = change_keys_of(&src, ResourceKind::User) else { panic!() };
        for key in ["profile", "etag", "version", "externalId"] {
            assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
        }
        // Reads are unchanged: none of these is turned into SCIM.
        let RecordKeys::Only(read) = keys_of(&src, ResourceKind::User) else { panic!() };
        assert!(!read.iter().any(|k| ["profile", "etag", "version"].contains(&k.as_str())), "{read:?}");
    }

    #[test]
    fn a_change_that_sends_the_record_back_or_reads_it_whole_keeps_everything() {
        let patch_step = "        headers: { Content-Type: application/json-patch+json }\n        body: \"{patch}\"\n  delete:\n    - name: delete user";
        assert!(openmetadata().contains(patch_step));
        for (to, why) in [
            (patch_step.replace("{patch}", "{doc}"), "the new record whole"),
            (patch_step.replace("{patch}", "{old | json}"), "the old record whole"),
            (patch_step.replace("{patch}", "{record.0}"), "an index of the record"),
        ] {
            let src = openmetadata().replace(patch_step, &to);
            assert_eq!(change_keys_of(&src, ResourceKind::User), RecordKeys::All, "{why}");
        }
        // Even when no template names the record: the update sends it back.
        let put = openmetadata()
            .replacen("  update:\n    style: json_patch\n", "  update:\n    style: put\n", 1)
            .replace(patch_step, &patch_step.replace("{patch}", "{id}"));
        assert_ne!(put, openmetadata());
        assert_eq!(change_keys_of(&put, ResourceKind::User), RecordKeys::All, "put");
    }
}
