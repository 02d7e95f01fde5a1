//! Differential test of the PATCH applier against the npm package `scim-patch` (pinned in
//! `tests/js/package.json`; install with `npm ci --prefix tests/js`).
//!
//! Deterministically generated (resource, PatchOp) cases go through `PatchRequest::from_json` +
//! `patch::apply` here and through `scim-patch` in one Node process (`tests/js/patch_oracle.js`).
//! The results must be equal (or both sides must fail), except for the classes below, where
//! `scim-patch` departs from RFC 7644 or from the documented Entra behaviour and we follow the RFC.
//! Two classes are *normalised* (the comparison still covers everything else in the case); the rest
//! are *explained* (the case is accepted only if our side has the outcome the class requires).
//!
//! | class | kind | reason |
//! |---|---|---|
//! | empty leftovers | normalised | RFC 7643 §2.5: an empty complex or multi-valued value is unassigned; we remove `{}`/`[]` left by a removal, `scim-patch` keeps them |
//! | primary | normalised | RFC 7643 §2.4: at most one `primary: true`; when an operation marks one primary we set the others to `false`, `scim-patch` leaves them |
//! | and-synthesis | explained (ok) | Entra: `add`/`replace` on `attr[a eq "x" and b eq "y"].sub` with no match creates the element; `scim-patch` does so only for a single `eq` and answers noTarget |
//! | no-sub synthesis | explained (ok) | `add`/`replace` on `attr[type eq "x"]` with no match creates the element like the `.sub` form; `scim-patch` ignores the add or answers noTarget |
//! | remove unmatched | explained (ok) | a `remove` whose value filter or value list matches nothing is a no-op (RFC 7644 §3.5.2.2 defines no error for it); `scim-patch` throws when the attribute is unassigned or when the filter precedes `.sub` |
//! | required removal | explained (mutability) | RFC 7644 §3.5.2.2: removing a required attribute is 400 mutability; `scim-patch` has no schema |
//! | read-only | explained (mutability) | RFC 7644 §3.5.2: `readOnly` attributes (`id`, `meta`) cannot be modified |
//! | bad type | explained (invalidValue) | RFC 7644 §3.12: a value not compatible with the attribute type is invalidValue; `scim-patch` stores anything |
//! | unknown attribute | explained (invalidPath) | a path naming an attribute the schema does not define is invalidPath; `scim-patch` creates it |
//! | replace set with one object | explained (ok) | RFC 7644 §3.5.2.3: replacing a multi-valued attribute replaces all values; `scim-patch` merges the object into each element |
//! | op case | explained (ok) | `op` is matched case-insensitively (Entra sends `Add`, documentation asks for tolerance); `scim-patch` knows only `add`/`Add`… |
//! | no-path complex | explained (ok) | a no-path value's complex attribute is merged sub-attribute by sub-attribute, as with a path (RFC 7644 §3.5.2.3); `scim-patch` replaces the whole object |
//! | no-path extension | explained (ok) | a no-path value keyed by an extension URN holds that extension's attributes; `scim-patch` splits the URN at its last `:` and writes a bogus key |
//! | no-path add to multi-valued | explained (ok) | RFC 7644 §3.5.2.1: adding a value that is already present changes nothing; `scim-patch` appends duplicates in no-path adds |
//! | member reference | explained (ok) | group `members` are references (`value` is immutable): same `value` = same member, and read-only `display` is dropped; `scim-patch` compares whole objects |

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use scimgate::scim::patch::{self, PatchRequest};
use scimgate::scim::{ResourceKind, ResourceSchema, ScimError, ScimType, urn};
use serde_json::{Map, Value, json};

const CASES: usize = 1500;
const ENT: &str = urn::ENTERPRISE_USER;
const TYPES: [&str; 3] = ["work", "home", "other"];
const MEMBERS: [&str; 8] = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"];

/// Classes of known, justified disagreement (see the table in the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Primary,
    AndSynthesis,
    NoSubSynthesis,
    RemoveUnmatched,
    RequiredRemoval,
    ReadOnly,
    BadType,
    UnknownAttribute,
    ReplaceSetWithObject,
    OpCase,
    NoPathComplex,
    NoPathExtension,
    NoPathAddMulti,
    MemberReference,
}

impl Class {
    /// What our applier must answer for a case of this class; `None` for normalised classes.
    fn expected(self) -> Option<Result<(), ScimType>> {
        match self {
            Class::Primary => None,
            Class::RequiredRemoval | Class::ReadOnly => Some(Err(ScimType::Mutability)),
            Class::BadType => Some(Err(ScimType::InvalidValue)),
            Class::UnknownAttribute => Some(Err(ScimType::InvalidPath)),
            _ => Some(Ok(())),
        }
    }
}

struct Case {
    kind: ResourceKind,
    resource: Value,
    body: Value,
    classes: BTreeSet<Class>,
}

/// SplitMix64: a fixed, dependency-free generator so every run sees the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn word(&mut self) -> String {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo"];
        (0..2 + self.below(2)).map(|_| self.pick(&syllables)).collect()
    }
}

// --- generation ---

fn gen_user(rng: &mut Rng) -> Value {
    let mut u = json!({
        "schemas": [urn::USER],
        "id": format!("id-{}", rng.word()),
        "userName": rng.word(),
        "meta": { "resourceType": "User", "created": "2024-01-01T00:00:00Z" }
    });
    for attr in ["displayName", "nickName", "title"] {
        if rng.chance(50) {
            u[attr] = json!(rng.word());
        }
    }
    if rng.chance(60) {
        u["active"] = json!(rng.chance(50));
    }
    if rng.chance(60) {
        let mut name = Map::new();
        for sub in ["givenName", "familyName"] {
            if rng.chance(70) {
                name.insert(sub.into(), json!(rng.word()));
            }
        }
        if !name.is_empty() {
            u["name"] = Value::Object(name);
        }
    }
    let mut types = TYPES.to_vec();
    let n = rng.below(4);
    let primary = if rng.chance(50) { Some(rng.below(3)) } else { None };
    let emails: Vec<Value> = (0..n)
        .map(|i| {
            let t = types.remove(rng.below(types.len()));
            let mut e = json!({ "value": format!("{}@{t}.example", rng.word()), "type": t });
            if primary == Some(i) {
                e["primary"] = json!(true);
            }
            e
        })
        .collect();
    if !emails.is_empty() {
        u["emails"] = Value::Array(emails);
    }
    if rng.chance(50) {
        let mut ext = Map::new();
        if rng.chance(70) {
            ext.insert("department".into(), json!(rng.word()));
        }
        if rng.chance(50) {
            ext.insert("manager".into(), json!({ "value": rng.word() }));
        }
        if !ext.is_empty() {
            u[ENT] = Value::Object(ext);
        }
    }
    u
}

fn gen_group(rng: &mut Rng) -> Value {
    let mut g = json!({
        "schemas": [urn::GROUP],
        "id": format!("id-{}", rng.word()),
        "displayName": rng.word(),
        "meta": { "resourceType": "Group" }
    });
    let members = distinct_members(rng, 6);
    if !members.is_empty() {
        g["members"] = Value::Array(members);
    }
    g
}

fn distinct_members(rng: &mut Rng, max: usize) -> Vec<Value> {
    let mut pool = MEMBERS.to_vec();
    (0..rng.below(max + 1)).map(|_| json!({ "value": pool.remove(rng.below(pool.len())) })).collect()
}

fn email_types(u: &Value) -> Vec<&str> {
    u["emails"].as_array().map(|e| e.iter().filter_map(|x| x["type"].as_str()).collect()).unwrap_or_default()
}

fn op(kind: &str, path: &str, value: Option<Value>) -> Value {
    let mut o = json!({ "op": kind, "path": path });
    if let Some(v) = value {
        o["value"] = v;
    }
    o
}

/// Operations on a user whose outcome does not depend on earlier operations of the same request
/// diverging between the two implementations.
fn safe_user_op(rng: &mut Rng, classes: &mut BTreeSet<Class>) -> Value {
    let write = if rng.chance(50) { "add" } else { "replace" };
    let t = rng.pick(&TYPES);
    match rng.below(17) {
        0 => op(write, rng.pick(&["displayName", "nickName", "title"]), Some(json!(rng.word()))),
        1 => op("replace", "active", Some(json!(rng.chance(50)))),
        2 => op("remove", rng.pick(&["displayName", "nickName", "title", "active"]), None),
        3 => op(write, rng.pick(&["name.givenName", "name.familyName"]), Some(json!(rng.word()))),
        4 => op("remove", rng.pick(&["name.givenName", "name.familyName"]), None),
        5 => op(write, "name", Some(json!({ "givenName": rng.word() }))),
        6 => op(write, &format!("{ENT}:department"), Some(json!(rng.word()))),
        7 => op(write, &format!("{ENT}:manager.value"), Some(json!(rng.word()))),
        8 => op("remove", &format!("{ENT}:{}", rng.pick(&["department", "manager"])), None),
        9 => op("replace", &format!("{}:title", urn::USER), Some(json!(rng.word()))),
        10 => {
            let primary = rng.chance(30);
            if primary {
                classes.insert(Class::Primary);
            }
            let e = json!({ "value": format!("{}@new.example", rng.word()), "type": t, "primary": primary });
            op("add", "emails", Some(json!([e])))
        }
        11 => {
            let e = json!({ "value": format!("{}@set.example", rng.word()), "type": t });
            op("replace", "emails", Some(json!([e])))
        }
        12 => op("remove", "emails", None),
        13 => {
            op(write, &format!("emails[type eq \"{t}\"].{}", rng.pick(&["value", "display"])), Some(json!(rng.word())))
        }
        14 => {
            let p = rng.chance(60);
            if p {
                classes.insert(Class::Primary);
            }
            op(write, &format!("emails[type eq \"{t}\"].primary"), Some(json!(p)))
        }
        15 => json!({ "op": write, "value": { "active": rng.chance(50), "title": rng.word() } }),
        _ => match rng.below(2) {
            0 => json!({ "op": "replace", "value": { "name.givenName": rng.word() } }),
            _ => json!({ "op": write, "value": { format!("{ENT}:department"): rng.word() } }),
        },
    }
}

/// Single-operation cases: everything, including the constructs of the explained classes. Classes
/// are decided from the initial resource, which is exact for a single operation.
fn single_user_op(rng: &mut Rng, u: &Value, classes: &mut BTreeSet<Class>) -> Value {
    let types = email_types(u);
    let absent: Vec<&str> = TYPES.iter().copied().filter(|t| !types.contains(t)).collect();
    let present = |rng: &mut Rng| (!types.is_empty()).then(|| rng.pick(&types));
    match rng.below(16) {
        0 => {
            // Filtered removal of elements or of a sub-attribute, matching or not.
            let t = rng.pick(&TYPES);
            let sub = rng.chance(50);
            let matches = types.contains(&t);
            if (sub && !matches) || (!sub && u.get("emails").is_none()) {
                classes.insert(Class::RemoveUnmatched);
            }
            let path = if sub { format!("emails[type eq \"{t}\"].value") } else { format!("emails[type eq \"{t}\"]") };
            op("remove", &path, None)
        }
        1 => match present(rng) {
            Some(t) => op("remove", &format!("emails[type eq \"{t}\" and value pr]"), None),
            None => {
                classes.insert(Class::RemoveUnmatched);
                op("remove", "emails[value co \"@\"]", None)
            }
        },
        2 if !absent.is_empty() => {
            classes.insert(Class::AndSynthesis);
            let t = rng.pick(&absent);
            op(
                rng.pick(&["add", "replace"]),
                &format!("emails[type eq \"{t}\" and display eq \"D\"].value"),
                Some(json!("x@y")),
            )
        }
        3 if !absent.is_empty() => {
            classes.insert(Class::NoSubSynthesis);
            let t = rng.pick(&absent);
            op(
                rng.pick(&["add", "replace"]),
                &format!("emails[type eq \"{t}\"]"),
                Some(json!({ "display": rng.word() })),
            )
        }
        4 => match present(rng) {
            Some(t) => op(
                rng.pick(&["add", "replace"]),
                &format!("emails[type eq \"{t}\"]"),
                Some(json!({ "display": rng.word() })),
            ),
            None => op("replace", "emails[value co \"zz\"].type", Some(json!("work"))),
        },
        5 => {
            classes.insert(Class::RequiredRemoval);
            op("remove", "userName", None)
        }
        6 => {
            classes.insert(Class::ReadOnly);
            if rng.chance(50) { op("replace", "id", Some(json!("other"))) } else { op("remove", "meta", None) }
        }
        7 => {
            classes.insert(Class::BadType);
            match rng.below(3) {
                0 => op("replace", "active", Some(json!("yes"))),
                1 => op("add", "displayName", Some(json!(42))),
                _ => op("add", "emails", Some(json!([{ "value": 7 }]))),
            }
        }
        8 => {
            classes.insert(Class::UnknownAttribute);
            op("add", rng.pick(&["favouriteColour", "name.nickname"]), Some(json!(rng.word())))
        }
        9 if !types.is_empty() => op("replace", "emails.display", Some(json!(rng.word()))),
        10 => {
            classes.insert(Class::ReplaceSetWithObject);
            op("replace", "emails", Some(json!({ "value": "one@x", "type": "work" })))
        }
        11 => {
            classes.insert(Class::OpCase);
            op(rng.pick(&["REPLACE", "ADD", "rePlace"]), "title", Some(json!(rng.word())))
        }
        12 => {
            classes.insert(Class::NoPathComplex);
            json!({ "op": rng.pick(&["add", "replace"]), "value": { "name": { "givenName": rng.word() } } })
        }
        13 => {
            classes.insert(Class::NoPathExtension);
            json!({ "op": rng.pick(&["add", "replace"]), "value": { ENT: { "department": rng.word() } } })
        }
        14 => match u["emails"].get(0) {
            Some(existing) => {
                classes.insert(Class::NoPathAddMulti);
                if existing.get("primary").is_some() {
                    classes.insert(Class::Primary);
                }
                json!({ "op": "add", "value": { "emails": [existing] } })
            }
            None => op("add", "emails", Some(json!([{ "value": "n@x", "type": "home" }]))),
        },
        _ => safe_user_op(rng, classes),
    }
}

fn safe_group_op(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 | 1 => {
            let mut added = distinct_members(rng, 3);
            if added.is_empty() {
                added.push(json!({ "value": rng.pick(&MEMBERS) }));
            }
            op(rng.pick(&["add", "Add"]), "members", Some(Value::Array(added)))
        }
        2 => op("replace", "displayName", Some(json!(rng.word()))),
        3 => {
            let mut set = distinct_members(rng, 4);
            if set.is_empty() {
                set.push(json!({ "value": "u9" }));
            }
            op("replace", "members", Some(Value::Array(set)))
        }
        _ => op("remove", "members", None),
    }
}

fn single_group_op(rng: &mut Rng, g: &Value, classes: &mut BTreeSet<Class>) -> Value {
    let has_members = g.get("members").is_some();
    match rng.below(6) {
        0 | 1 => {
            if !has_members {
                classes.insert(Class::RemoveUnmatched);
            }
            op("remove", &format!("members[value eq \"{}\"]", rng.pick(&MEMBERS)), None)
        }
        2 => {
            if !has_members {
                classes.insert(Class::RemoveUnmatched);
            }
            let listed: Vec<Value> = (0..1 + rng.below(2)).map(|_| json!({ "value": rng.pick(&MEMBERS) })).collect();
            op("remove", "members", Some(Value::Array(listed)))
        }
        3 => {
            classes.insert(Class::MemberReference);
            op("add", "members", Some(json!([{ "value": rng.pick(&MEMBERS), "display": rng.word() }])))
        }
        4 => {
            classes.insert(Class::RequiredRemoval);
            op("remove", "displayName", None)
        }
        _ => safe_group_op(rng),
    }
}

fn generate(count: usize) -> Vec<Case> {
    let mut rng = Rng(0x5C1A_7E57_0000_0001);
    (0..count)
        .map(|i| {
            let kind = if i % 3 == 2 { ResourceKind::Group } else { ResourceKind::User };
            let mut classes = BTreeSet::new();
            let (resource, ops) = match kind {
                ResourceKind::User => {
                    let u = gen_user(&mut rng);
                    let ops = if rng.chance(45) {
                        vec![single_user_op(&mut rng, &u, &mut classes)]
                    } else {
                        (0..1 + rng.below(3)).map(|_| safe_user_op(&mut rng, &mut classes)).collect()
                    };
                    (u, ops)
                }
                ResourceKind::Group => {
                    let g = gen_group(&mut rng);
                    let ops = if rng.chance(50) {
                        vec![single_group_op(&mut rng, &g, &mut classes)]
                    } else {
                        (0..1 + rng.below(3)).map(|_| safe_group_op(&mut rng)).collect()
                    };
                    (g, ops)
                }
            };
            let body = json!({ "schemas": [urn::PATCH_OP], "Operations": ops });
            Case { kind, resource, body, classes }
        })
        .collect()
}

// --- running both sides ---

fn ours(case: &Case) -> Result<Value, ScimError> {
    let schema = ResourceSchema::rfc(case.kind);
    let mut r = case.resource.as_object().cloned().unwrap();
    let req = PatchRequest::from_json(&case.body)?;
    patch::apply(&schema, &mut r, &req)?;
    Ok(Value::Object(r))
}

fn oracle(cases: &[Case]) -> Vec<Result<Value, String>> {
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let install = "run `npm ci --prefix tests/js` (needs Node.js) to install the pinned oracle";
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(js.join("package.json")).unwrap()).unwrap();
    let installed = std::fs::read_to_string(js.join("node_modules/scim-patch/package.json"))
        .unwrap_or_else(|e| panic!("scim-patch is not installed ({e}); {install}"));
    let installed: Value = serde_json::from_str(&installed).unwrap();
    assert_eq!(
        installed["version"], pinned["dependencies"]["scim-patch"],
        "the installed scim-patch is not the pinned version; {install}"
    );
    let mut child = Command::new("node")
        .arg(js.join("patch_oracle.js"))
        .current_dir(&js)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `node` ({e}); {install}"));
    let mut input = String::new();
    for c in cases {
        input.push_str(&json!({ "resource": c.resource, "body": c.body }).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "the oracle failed: {:?}", output.status);
    let lines: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), cases.len(), "one oracle answer per case");
    lines
        .into_iter()
        .map(|l| match l.get("ok") {
            Some(v) => Ok(v.clone()),
            None => Err(l["error"].as_str().unwrap_or("?").to_owned()),
        })
        .collect()
}

// --- comparison ---

/// Removes `{}` and `[]` values (RFC 7643 §2.5: the same state as unassigned).
fn prune(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                prune(x);
            }
            m.retain(|_, x| !is_empty(x));
        }
        Value::Array(items) => {
            for x in items.iter_mut() {
                prune(x);
            }
            items.retain(|x| !is_empty(x));
        }
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

/// Drops `primary` from every element of the multi-valued attributes of a user, after checking
/// (on our side) that at most one is true.
fn without_primary(v: &mut Value, check: bool) -> Result<(), String> {
    let Some(emails) = v.get_mut("emails").and_then(Value::as_array_mut) else { return Ok(()) };
    let primaries = emails.iter().filter(|e| e["primary"] == json!(true)).count();
    if check && primaries > 1 {
        return Err(format!("{primaries} primary emails"));
    }
    for e in emails {
        if let Some(m) = e.as_object_mut() {
            m.remove("primary");
        }
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    agreed: usize,
    agreed_after_normalising: usize,
    explained: BTreeMap<Class, usize>,
    unexplained: Vec<String>,
}

fn compare(case: &Case, ours: Result<Value, ScimError>, theirs: Result<Value, String>, tally: &mut Tally) {
    let describe = |why: &str, ours: &dyn std::fmt::Debug, theirs: &dyn std::fmt::Debug| {
        format!(
            "{why}\n  classes: {:?}\n  resource: {}\n  body: {}\n  ours:   {ours:?}\n  theirs: {theirs:?}",
            case.classes, case.resource, case.body
        )
    };
    let (mut a, mut b) = match (ours, theirs) {
        (Err(_), Err(_)) => {
            tally.agreed += 1;
            return;
        }
        (Ok(a), Ok(b)) => (a, b),
        (ours, theirs) => {
            let outcome = ours.as_ref().map(|_| ()).map_err(scim_type);
            explain(case, outcome, tally, || describe("one side failed", &ours, &theirs));
            return;
        }
    };
    if a == b {
        tally.agreed += 1;
        return;
    }
    prune(&mut b);
    if case.classes.contains(&Class::Primary) {
        if let Err(e) = without_primary(&mut a, true) {
            tally.unexplained.push(describe(&e, &a, &b));
            return;
        }
        let _ = without_primary(&mut b, false);
    }
    if a == b {
        tally.agreed_after_normalising += 1;
        return;
    }
    explain(case, Ok(()), tally, || describe("results differ", &a, &b));
}

fn scim_type(e: &ScimError) -> ScimType {
    e.scim_type.unwrap_or(ScimType::InvalidSyntax)
}

/// Accepts a disagreement when the case belongs to an explained class whose expected outcome is ours.
fn explain(case: &Case, ours: Result<(), ScimType>, tally: &mut Tally, describe: impl Fn() -> String) {
    let class = case.classes.iter().copied().find(|c| c.expected().is_some_and(|expected| expected == ours));
    match class {
        Some(c) => *tally.explained.entry(c).or_default() += 1,
        None => tally.unexplained.push(describe()),
    }
}

#[test]
fn patch_agrees_with_scim_patch_except_where_the_rfc_says_otherwise() {
    let cases = generate(CASES);
    assert!(cases.len() >= 1000);
    let theirs = oracle(&cases);
    let mut tally = Tally::default();
    for (case, theirs) in cases.iter().zip(theirs) {
        compare(case, ours(case), theirs, &mut tally);
    }
    eprintln!(
        "{} cases: {} agree, {} agree after normalising, explained: {:?}",
        cases.len(),
        tally.agreed,
        tally.agreed_after_normalising,
        tally.explained
    );
    assert!(
        tally.unexplained.is_empty(),
        "{} unexplained disagreements; first ones:\n{}",
        tally.unexplained.len(),
        tally.unexplained.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    // The generator must mostly produce cases both sides can answer alike, or the test proves little.
    assert!(tally.agreed + tally.agreed_after_normalising >= cases.len() * 2 / 3, "too few agreeing cases");
    let every_class = [
        Class::AndSynthesis,
        Class::NoSubSynthesis,
        Class::RemoveUnmatched,
        Class::RequiredRemoval,
        Class::ReadOnly,
        Class::BadType,
        Class::UnknownAttribute,
        Class::ReplaceSetWithObject,
        Class::OpCase,
        Class::NoPathComplex,
        Class::NoPathExtension,
        Class::MemberReference,
    ];
    for c in every_class {
        assert!(cases.iter().any(|k| k.classes.contains(&c)), "no case of class {c:?} was generated");
    }
}
