//! Differential test of the SCIM filter parser and evaluator against an independent implementation,
//! the npm package `scim2-parse-filter` (pinned in `tests/js/package.json`), run by
//! `tests/js/filter_oracle.js` in one Node process for all cases.
//!
//! Three groups of deterministic, generated cases:
//!
//! 1. **Agreement cases** (over 1,000 filters, each evaluated over generated User resources): random
//!    valid filters rendered with random keyword case, whitespace runs and redundant parentheses. Both
//!    parsers must accept them with the same structure (and/or chains flattened), and both evaluators
//!    must give the same answer for every resource. Data and literals stay where RFC 7644 and the
//!    package agree: strings of `caseExact: false` attributes are lower case, dateTimes share one UTC
//!    format, nothing is empty or null, escapes are limited to `\"`.
//! 2. **Rejection cases**: generated filters broken in ways both must reject (unbalanced parentheses,
//!    dangling `and`, unknown operators, unterminated strings, missing values, JSON-invalid numbers…).
//! 3. **Documented divergences** ([`DIVERGENCES`]): where the package departs from RFC 7643/7644 (or
//!    from a choice documented in `scim::filter`), cases built to exercise exactly that point. Our
//!    answer must be the RFC one, computed independently by the case's construction; the package may
//!    differ, and must differ in at least one case of each class, so that the table stays true.
//!
//! Any disagreement outside the table fails the test. Node and the package are required: without them
//! the test fails and says to run `npm ci --prefix tests/js`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use scimgate::scim::filter::{self, AttrPath, CompValue, CompareOp, Filter};
use scimgate::scim::schema::{ResourceKind, ResourceSchema, SchemaDef};
use scimgate::scim::{Resource, urn};
use serde_json::{Number, Value, json};

const TEST_URN: &str = "urn:example:params:scim:schemas:extension:test:2.0:User";
const AGREEMENT_CASES: usize = 1_200;
const USERS: usize = 8;

/// One class of known divergence: why the package answers differently, and which side we follow.
struct Divergence {
    class: &'static str,
    reason: &'static str,
}

/// Where `scim2-parse-filter` 0.2.10 departs from the RFCs (or from our documented choices). Each class
/// is exercised by cases in [`divergent_cases`] and [`divergent_parses`].
///
/// | class | the package | RFC / scimgate |
/// |---|---|---|
/// | case-insensitive | compares strings with `===` | `caseExact: false` attributes compare case-insensitively (RFC 7643 §2.2, §7) |
/// | present-empty | `pr` is true for `""`, `null` and `[]` | `pr` needs a non-empty value (RFC 7644 §3.4.2.2) |
/// | date-time | compares dateTime text lexically | dateTimes compare as instants (RFC 7644 §3.4.2.2 "chronological") |
/// | complex-value | `emails eq "x"` compares the element objects | a complex attribute without sub-attribute compares its `value` |
/// | core-urn | looks for a resource key named after the core schema URN | core-URN-qualified paths name top-level attributes (RFC 7644 §3.10) |
/// | unqualified-extension | unqualified names are top-level keys only | a name only an extension defines resolves there (RFC 7644 §3.10 lets clients omit the URN) |
/// | value-path-element | evaluates `a[f]` over the whole array: each condition of `f` may hold for a different element, and `not` negates across elements | one element must satisfy all of `f` (RFC 7644 §3.4.2.2) |
/// | entra-value-path | `a[f].s eq v` becomes `a[f] and a.s eq v` (any two elements) | one element must satisfy both (what Entra means) |
/// | null-unassigned | `eq null` only matches a JSON null that is present | null and unassigned are the same state (RFC 7643 §2.5) |
/// | string-escapes | keeps `\\`, `\n`, `\uXXXX`… as literal text | strings are JSON strings (RFC 7644 §3.4.2.2, RFC 7159 §7) |
/// | literal-case | rejects `TRUE`, `False`, `NULL` | literals are case-insensitive, like keywords and operators |
/// | infix-not | accepts `a pr not (b pr)` | `not` is a prefix operator only (RFC 7644 Figure 1) |
/// | bare-not | accepts `not a eq 1` | `not` takes a parenthesised filter (RFC 7644 Figure 1) |
/// | ref-name | cannot tokenise `$ref` | `$ref` is a sub-attribute name (RFC 7643 §2.3.7) |
/// | missing-space | accepts `a eq"x"` | `SP` is required around operators (RFC 7644 Figure 1) |
/// | attr-name | accepts `1a`, `a..b`, `a/b`, `a%b` as names | `ATTRNAME = ALPHA *(nameChar)` (RFC 7643 §2.1) |
/// | signed-number | rejects `-1` or `1e+2` unless last in the filter | JSON numbers anywhere (RFC 7159 §6) |
/// | number-range | accepts `1e400` (as Infinity) | not representable: rejected |
const DIVERGENCES: &[Divergence] = &[
    Divergence {
        class: "case-insensitive",
        reason: "the package compares strings case-sensitively; RFC 7643 makes caseExact:false attributes case-insensitive",
    },
    Divergence {
        class: "present-empty",
        reason: "the package treats \"\", null and [] as present; RFC 7644 pr needs a non-empty value",
    },
    Divergence {
        class: "date-time",
        reason: "the package orders dateTime text; RFC 7644 orders dateTimes chronologically",
    },
    Divergence {
        class: "complex-value",
        reason: "the package compares whole elements; a complex attribute without sub-attribute compares its value",
    },
    Divergence {
        class: "core-urn",
        reason: "the package looks for a key named after the core URN; RFC 7644 core-qualified names are top-level attributes",
    },
    Divergence {
        class: "unqualified-extension",
        reason: "the package only reads top-level keys; RFC 7644 §3.10 lets clients omit an extension's URN",
    },
    Divergence {
        class: "value-path-element",
        reason: "the package evaluates a value filter over the whole array; RFC 7644 needs one element to satisfy it",
    },
    Divergence { class: "infix-not", reason: "the package accepts not between two filters; RFC 7644 has no such form" },
    Divergence {
        class: "entra-value-path",
        reason: "the package lets different elements satisfy a[f].s eq v; Entra means one element",
    },
    Divergence {
        class: "null-unassigned",
        reason: "the package matches eq null only on a present JSON null; RFC 7643 §2.5 makes null and unassigned equivalent",
    },
    Divergence {
        class: "string-escapes",
        reason: "the package keeps escapes other than \\\" as literal text; filter strings are JSON strings",
    },
    Divergence {
        class: "literal-case",
        reason: "the package rejects TRUE/False/NULL; scimgate reads literals case-insensitively like keywords",
    },
    Divergence { class: "bare-not", reason: "the package accepts not without parentheses; RFC 7644 requires them" },
    Divergence {
        class: "ref-name",
        reason: "the package cannot tokenise $ref; RFC 7643 names the reference sub-attribute $ref",
    },
    Divergence { class: "missing-space", reason: "the package accepts a eq\"x\"; RFC 7644 requires SP" },
    Divergence { class: "attr-name", reason: "the package accepts names RFC 7643 ATTRNAME does not" },
    Divergence {
        class: "signed-number",
        reason: "the package's tokeniser rejects -1 and 1e+2 unless they end the filter",
    },
    Divergence { class: "number-range", reason: "the package accepts 1e400 as Infinity; it has no JSON number value" },
];

// === deterministic generation ===

/// SplitMix64: small, deterministic, good enough to spread cases.
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
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FIRST: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];
const LAST: &[&str] = &["kim", "lee", "smith", "o'hara", "van dyke", "müller", "ng", "\"ace\" jones"];
const TITLES: &[&str] = &["engineer", "manager", "sales lead", "cto", "intern"];
const DEPARTMENTS: &[&str] = &["sales", "research", "it", "legal"];
const EMAIL_TYPES: &[&str] = &["work", "home", "other"];
const SCORES: &[f64] = &[0.5, 1.25, 2.5, 3.75, 10.0];

fn mixed_case_token(rng: &mut Rng, len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..len).map(|_| char::from(*rng.pick(CHARS))).collect()
}

fn date_time(rng: &mut Rng) -> String {
    format!(
        "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        20 + rng.below(5),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60)
    )
}

/// Users whose data stays where the package and the RFC agree (see the module doc).
fn agreement_users(rng: &mut Rng) -> Vec<Value> {
    (0..USERS)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = *rng.pick(LAST);
            let mut user = json!({
                "schemas": [urn::USER, urn::ENTERPRISE_USER, TEST_URN],
                "id": mixed_case_token(rng, 8),
                "externalId": format!("Ext-{}", mixed_case_token(rng, 5)),
                "userName": format!("{first}.{}{i}@example.com", last.replace([' ', '\'', '"'], "")),
                "displayName": format!("{first} {last}"),
                "name": { "givenName": first, "familyName": last },
                "meta": { "created": date_time(rng), "lastModified": date_time(rng) },
                (urn::ENTERPRISE_USER): {
                    "employeeNumber": format!("{}", 100 + rng.below(900)),
                    "department": rng.pick(DEPARTMENTS),
                    "manager": { "value": format!("mgr-{}", rng.below(4)) }
                },
                (TEST_URN): { "level": rng.below(10), "score": rng.pick(SCORES) }
            });
            let obj = user.as_object_mut().expect("object");
            if rng.chance(70) {
                obj.insert("title".into(), json!(rng.pick(TITLES)));
            }
            if rng.chance(40) {
                obj.insert("nickName".into(), json!(format!("{first}{}", rng.below(3))));
            }
            if rng.chance(80) {
                obj.insert("active".into(), json!(rng.chance(60)));
            }
            let n_emails = rng.below(4);
            if n_emails > 0 {
                let emails: Vec<Value> = (0..n_emails)
                    .map(|_| {
                        let ty = rng.pick(EMAIL_TYPES);
                        let mut e = json!({ "value": format!("{first}@{ty}.example"), "type": ty });
                        if rng.chance(50) {
                            e["primary"] = json!(rng.chance(50));
                        }
                        e
                    })
                    .collect();
                obj.insert("emails".into(), Value::Array(emails));
            }
            user
        })
        .collect()
}

/// The RFC User schema plus an extension with the number types the RFC User lacks.
fn schema() -> ResourceSchema {
    let mut s = ResourceSchema::rfc(ResourceKind::User);
    let ext: SchemaDef = serde_json::from_value(json!({
        "id": TEST_URN,
        "name": "Test",
        "attributes": [
            { "name": "level", "type": "integer", "multiValued": false },
            { "name": "score", "type": "decimal", "multiValued": false }
        ]
    }))
    .expect("test extension schema");
    s.extensions.push((Arc::new(ext), false));
    s
}

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    /// A string attribute; `exact` when `caseExact: true`.
    Str {
        exact: bool,
    },
    Bool,
    DateTime,
    Num,
}

/// An attribute the agreement cases filter on, and where its values sit in a resource.
struct Attr {
    path: &'static str,
    ty: Ty,
    segments: &'static [&'static str],
}

const ATTRS: &[Attr] = &[
    Attr { path: "userName", ty: Ty::Str { exact: false }, segments: &["userName"] },
    Attr { path: "displayName", ty: Ty::Str { exact: false }, segments: &["displayName"] },
    Attr { path: "title", ty: Ty::Str { exact: false }, segments: &["title"] },
    Attr { path: "nickName", ty: Ty::Str { exact: false }, segments: &["nickName"] },
    Attr { path: "name.givenName", ty: Ty::Str { exact: false }, segments: &["name", "givenName"] },
    Attr { path: "name.familyName", ty: Ty::Str { exact: false }, segments: &["name", "familyName"] },
    Attr { path: "emails.value", ty: Ty::Str { exact: false }, segments: &["emails", "value"] },
    Attr { path: "emails.type", ty: Ty::Str { exact: false }, segments: &["emails", "type"] },
    Attr { path: "id", ty: Ty::Str { exact: true }, segments: &["id"] },
    Attr { path: "externalId", ty: Ty::Str { exact: true }, segments: &["externalId"] },
    Attr { path: "active", ty: Ty::Bool, segments: &["active"] },
    Attr { path: "emails.primary", ty: Ty::Bool, segments: &["emails", "primary"] },
    Attr { path: "meta.created", ty: Ty::DateTime, segments: &["meta", "created"] },
    Attr { path: "meta.lastModified", ty: Ty::DateTime, segments: &["meta", "lastModified"] },
    Attr {
        path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ty: Ty::Str { exact: false },
        segments: &[urn::ENTERPRISE_USER, "employeeNumber"],
    },
    Attr {
        path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ty: Ty::Str { exact: false },
        segments: &[urn::ENTERPRISE_USER, "department"],
    },
    Attr {
        path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ty: Ty::Str { exact: false },
        segments: &[urn::ENTERPRISE_USER, "manager", "value"],
    },
    Attr {
        path: "urn:example:params:scim:schemas:extension:test:2.0:User:level",
        ty: Ty::Num,
        segments: &[TEST_URN, "level"],
    },
    Attr {
        path: "urn:example:params:scim:schemas:extension:test:2.0:User:score",
        ty: Ty::Num,
        segments: &[TEST_URN, "score"],
    },
];

/// Sub-attributes of `emails` used inside value paths.
const EMAIL_SUBS: &[Attr] = &[
    Attr { path: "type", ty: Ty::Str { exact: false }, segments: &["emails", "type"] },
    Attr { path: "value", ty: Ty::Str { exact: false }, segments: &["emails", "value"] },
    Attr { path: "primary", ty: Ty::Bool, segments: &["emails", "primary"] },
];

const NAME_SUBS: &[Attr] = &[
    Attr { path: "givenName", ty: Ty::Str { exact: false }, segments: &["name", "givenName"] },
    Attr { path: "familyName", ty: Ty::Str { exact: false }, segments: &["name", "familyName"] },
];

/// Every value at `segments` in `v`, through arrays.
fn collect<'v>(v: &'v Value, segments: &[&str], out: &mut Vec<&'v Value>) {
    match (v, segments.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|i| collect(i, segments, out)),
        (_, None) => out.push(v),
        (Value::Object(o), Some((first, rest))) => {
            if let Some(next) = o.get(*first) {
                collect(next, rest, out);
            }
        }
        _ => {}
    }
}

fn pool(users: &[Value], attr: &Attr) -> Vec<Value> {
    let mut out = Vec::new();
    for u in users {
        collect(u, attr.segments, &mut out);
    }
    out.into_iter().cloned().collect()
}

fn attr_path(path: &str) -> AttrPath {
    AttrPath::parse_simple(path)
}

fn toggle_case(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let at = rng.below(chars.len());
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == at && c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else if i == at {
                c.to_ascii_uppercase()
            } else {
                *c
            }
        })
        .collect()
}

/// A string literal for `op` on values `pool`.
fn string_literal(rng: &mut Rng, op: CompareOp, pool: &[Value], exact: bool) -> String {
    let existing: Vec<&str> = pool.iter().filter_map(Value::as_str).collect();
    if existing.is_empty() || rng.chance(15) {
        return rng.pick(&["zzz", "a", "m", "alice", "example", "work", ""]).to_string();
    }
    let v: Vec<char> = rng.pick(&existing).chars().collect();
    let s: String = match op {
        CompareOp::Sw => v[..rng.below(v.len() + 1)].iter().collect(),
        CompareOp::Ew => v[rng.below(v.len() + 1)..].iter().collect(),
        CompareOp::Co => {
            let a = rng.below(v.len() + 1);
            let b = a + rng.below(v.len() + 1 - a);
            v[a..b].iter().collect()
        }
        _ => v.iter().collect(),
    };
    // Case-exact attributes compare the same way in both: changing case is fair game there.
    if exact && !s.is_empty() && rng.chance(30) { toggle_case(rng, &s) } else { s }
}

fn leaf(rng: &mut Rng, attr: &Attr, path: AttrPath, users: &[Value]) -> Filter {
    if rng.chance(12) {
        return Filter::Present(path);
    }
    let pool = pool(users, attr);
    let ordering = [CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le];
    let (op, value) = match attr.ty {
        Ty::Str { exact } => {
            let op = *rng.pick(&CompareOp::ALL);
            (op, CompValue::String(string_literal(rng, op, &pool, exact)))
        }
        Ty::Bool => (*rng.pick(&[CompareOp::Eq, CompareOp::Ne]), CompValue::Bool(rng.chance(50))),
        Ty::DateTime => {
            let v = match rng.pick(&pool).as_str() {
                Some(s) if rng.chance(60) => s.to_owned(),
                _ => date_time(rng),
            };
            (*rng.pick(&ordering), CompValue::String(v))
        }
        Ty::Num => {
            let n = match rng.pick(&pool) {
                Value::Number(n) if rng.chance(60) => n.clone(),
                _ if rng.chance(50) => Number::from(rng.below(12)),
                _ => Number::from_f64(*rng.pick(SCORES)).expect("finite"),
            };
            (*rng.pick(&ordering), CompValue::Number(n))
        }
    };
    Filter::Compare { path, op, value }
}

/// Random logic of depth up to `depth` over `leaves`.
fn logic(rng: &mut Rng, depth: u32, leaves: &mut dyn FnMut(&mut Rng) -> Filter) -> Filter {
    if depth == 0 || rng.chance(35) {
        return leaves(rng);
    }
    match rng.below(5) {
        0 | 1 => Filter::And(Box::new(logic(rng, depth - 1, leaves)), Box::new(logic(rng, depth - 1, leaves))),
        2 | 3 => Filter::Or(Box::new(logic(rng, depth - 1, leaves)), Box::new(logic(rng, depth - 1, leaves))),
        _ => Filter::Not(Box::new(logic(rng, depth - 1, leaves))),
    }
}

fn agreement_filter(rng: &mut Rng, users: &[Value]) -> Filter {
    logic(rng, 3, &mut |rng| match rng.below(10) {
        0 => {
            // The package evaluates a value filter over the whole array (see `value-path-element`),
            // which agrees with per-element evaluation only for `or`s of comparisons.
            let sub = rng.pick(EMAIL_SUBS);
            let mut inner = leaf(rng, sub, attr_path(sub.path), users);
            for _ in 0..rng.below(3) {
                let sub = rng.pick(EMAIL_SUBS);
                inner = Filter::Or(Box::new(inner), Box::new(leaf(rng, sub, attr_path(sub.path), users)));
            }
            Filter::ValuePath { attr: attr_path("emails"), filter: Box::new(inner) }
        }
        1 if rng.chance(30) => {
            let inner = logic(rng, 1, &mut |rng| {
                let sub = rng.pick(NAME_SUBS);
                leaf(rng, sub, attr_path(sub.path), users)
            });
            Filter::ValuePath { attr: attr_path("name"), filter: Box::new(inner) }
        }
        _ => {
            let attr = rng.pick(ATTRS);
            leaf(rng, attr, attr_path(attr.path), users)
        }
    })
}

// === rendering with surface variation ===

fn vary_case(rng: &mut Rng, word: &str) -> String {
    match rng.below(4) {
        0 => word.to_uppercase(),
        1 => word.chars().enumerate().map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c }).collect(),
        _ => word.to_owned(),
    }
}

fn space(rng: &mut Rng) -> &'static str {
    const SPACES: &[&str] = &[" ", " ", " ", "  ", "\t", " \t "];
    SPACES[rng.below(SPACES.len())]
}

fn opt_space(rng: &mut Rng) -> &'static str {
    if rng.chance(20) { space(rng) } else { "" }
}

/// Text for `f` with random keyword case, whitespace runs and redundant parentheses; it parses back to
/// `f` (binding strengths as in `Filter`'s `Display`).
fn render(rng: &mut Rng, f: &Filter, out: &mut String, min: u8) {
    let prec = match f {
        Filter::Or(..) => 0,
        Filter::And(..) => 1,
        _ => 2,
    };
    let parens = prec < min || rng.chance(8);
    if parens {
        out.push('(');
        out.push_str(opt_space(rng));
    }
    match f {
        Filter::Compare { path, op, value } => {
            let op = vary_case(rng, op.as_str());
            out.push_str(&format!("{path}{}{op}{}{value}", space(rng), space(rng)));
        }
        Filter::Present(path) => {
            let pr = vary_case(rng, "pr");
            out.push_str(&format!("{path}{}{pr}", space(rng)));
        }
        Filter::Not(inner) => {
            out.push_str(&vary_case(rng, "not"));
            out.push_str(if rng.chance(50) { " (" } else { "(" });
            out.push_str(opt_space(rng));
            render(rng, inner, out, 0);
            out.push_str(opt_space(rng));
            out.push(')');
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            let (kw, left_min, right_min) = if prec == 1 { ("and", 1, 2) } else { ("or", 0, 1) };
            render(rng, a, out, left_min);
            out.push_str(space(rng));
            out.push_str(&vary_case(rng, kw));
            out.push_str(space(rng));
            render(rng, b, out, right_min);
        }
        Filter::ValuePath { attr, filter } => {
            out.push_str(&format!("{attr}["));
            out.push_str(opt_space(rng));
            render(rng, filter, out, 0);
            out.push_str(opt_space(rng));
            out.push(']');
        }
    }
    if parens {
        out.push_str(opt_space(rng));
        out.push(')');
    }
}

// === comparison helpers ===

/// The package's AST shape for our filter.
fn npm_shape(f: &Filter) -> Value {
    match f {
        Filter::Compare { path, op, value } => {
            let v = match value {
                CompValue::Null => Value::Null,
                CompValue::Bool(b) => json!(b),
                CompValue::Number(n) => json!(n.as_f64()),
                CompValue::String(s) => json!(s),
            };
            json!({ "op": op.as_str(), "attrPath": path.to_string(), "compValue": v })
        }
        Filter::Present(path) => json!({ "op": "pr", "attrPath": path.to_string() }),
        Filter::Not(inner) => json!({ "op": "not", "filter": npm_shape(inner) }),
        Filter::And(a, b) => json!({ "op": "and", "filters": [npm_shape(a), npm_shape(b)] }),
        Filter::Or(a, b) => json!({ "op": "or", "filters": [npm_shape(a), npm_shape(b)] }),
        Filter::ValuePath { attr, filter } => {
            json!({ "op": "[]", "attrPath": attr.to_string(), "valFilter": npm_shape(filter) })
        }
    }
}

/// Flattens and/or chains (both are associative) and makes every number an f64, so that the two
/// parsers' trees compare on structure: precedence, grouping, operators, paths and values.
fn normalise(v: &Value) -> Value {
    let Some(op) = v.get("op").and_then(Value::as_str) else { return v.clone() };
    match op {
        "and" | "or" => {
            let mut flat = Vec::new();
            for child in v.get("filters").and_then(Value::as_array).into_iter().flatten() {
                let child = normalise(child);
                if child.get("op").and_then(Value::as_str) == Some(op) {
                    flat.extend(child["filters"].as_array().cloned().unwrap_or_default());
                } else {
                    flat.push(child);
                }
            }
            json!({ "op": op, "filters": flat })
        }
        "not" => json!({ "op": "not", "filter": normalise(&v["filter"]) }),
        "[]" => json!({ "op": "[]", "attrPath": v["attrPath"], "valFilter": normalise(&v["valFilter"]) }),
        _ => {
            let mut out = v.clone();
            if let Some(n) = v.get("compValue").and_then(Value::as_f64).filter(|_| v["compValue"].is_number()) {
                out["compValue"] = json!(n);
            }
            out
        }
    }
}

// === the oracle ===

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

const SETUP_HINT: &str =
    "run `npm ci --prefix tests/js` (needs Node.js 20 and npm) to install the differential-test oracle";

/// Runs every case through `tests/js/filter_oracle.js` in one Node process.
fn run_oracle(sets: &BTreeMap<&str, &[Value]>, cases: &[(String, Option<&str>)]) -> Vec<Value> {
    let module = js_dir().join("node_modules/scim2-parse-filter/package.json");
    assert!(module.is_file(), "{} is missing: {SETUP_HINT}", module.display());
    let input = json!({
        "resourceSets": sets,
        "cases": cases.iter().map(|(f, set)| json!({ "filter": f, "resources": set })).collect::<Vec<_>>(),
    });
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(input.to_string().as_bytes()).expect("write cases");
    let output = Command::new("node")
        .arg(js_dir().join("filter_oracle.js"))
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): {SETUP_HINT}"));
    assert!(output.status.success(), "filter_oracle.js failed: {}", String::from_utf8_lossy(&output.stderr));
    let out: Value = serde_json::from_slice(&output.stdout).expect("oracle output is JSON");
    let results = out["results"].as_array().cloned().expect("results array");
    assert_eq!(results.len(), cases.len(), "one result per case");
    results
}

fn npm_matches(result: &Value) -> Option<Vec<bool>> {
    result["matches"].as_array().map(|m| m.iter().map(|b| b.as_bool().unwrap_or(false)).collect())
}

fn resources(users: &[Value]) -> Vec<Resource> {
    users.iter().map(|u| u.as_object().cloned().expect("object")).collect()
}

// === rejection cases ===

/// Breaks a valid filter text in a way every parser must reject.
fn broken(rng: &mut Rng, text: &str, f: &Filter) -> String {
    loop {
        match rng.below(8) {
            0 if text.contains(')') => {
                let at = text.rfind(')').expect("has )");
                return format!("{}{}", &text[..at], &text[at + 1..]);
            }
            1 => return format!("{text} and"),
            2 => return format!("({text}"),
            // The package reads `a not (b)` as an infix `not` (see `infix-not`).
            3 if !text.get(..3).is_some_and(|w| w.eq_ignore_ascii_case("not")) => return format!("{text} {text}"),
            4 => return format!("{text})"),
            5 => {
                if let Filter::Compare { path, value, .. } = f {
                    return format!("{path} xx {value}");
                }
            }
            6 => {
                if let Filter::Compare { path, op, value: CompValue::String(s) } = f {
                    return format!("{path} {op} \"{}", s.replace('"', ""));
                }
            }
            7 => {
                if let Filter::Compare { path, op, .. } = f {
                    return format!("{path} {op}");
                }
            }
            _ => {}
        }
    }
}

/// Hand-written rejections both parsers must agree on.
const BOTH_REJECT: &[&str] = &[
    "",
    "userName",
    "userName eq",
    "userName eq \"abc",
    "userName xx \"a\"",
    "(userName pr",
    "userName pr)",
    "userName pr and",
    "userName pr or or",
    "userName pr userName pr",
    "emails[type eq \"work\"",
    "emails[type[value eq 1] pr]",
    "level eq 01",
    "level eq 1.",
    "level eq .5",
    "title eq \"a\tb\"",
    "title eq 'x'",
    "title eq x",
    "not",
    "and title pr",
    "()",
];

// === documented divergences ===

/// A case built to exercise one documented class, with the RFC answer for each resource.
struct Divergent {
    class: &'static str,
    filter: String,
    set: &'static str,
    rfc: Vec<bool>,
}

fn divergent_users() -> Vec<Value> {
    vec![
        json!({
            "userName": "alice@example.com", "displayName": "Alice Kim", "title": "", "nickName": null,
            "phoneNumbers": [],
            "emails": [{ "value": "alice@work.example", "type": "work" }, { "value": "ALICE@home.example", "type": "home" }],
            "meta": { "created": "2024-01-01T10:00:00+02:00", "lastModified": "2024-03-01T12:30:00.5Z" },
            (urn::ENTERPRISE_USER): { "employeeNumber": "701" },
            "externalId": "a\\b", "locale": "café\n"
        }),
        json!({
            "userName": "BOB@EXAMPLE.COM", "displayName": "bob lee", "title": "cto",
            "emails": [{ "value": "bob@work.example", "type": "work" }],
            "meta": { "created": "2024-01-01T07:00:00Z", "lastModified": "2024-03-01T12:30:00Z" },
            (urn::ENTERPRISE_USER): { "employeeNumber": "702" }
        }),
    ]
}

fn divergent_cases() -> Vec<Divergent> {
    let d = |class, filter: &str, rfc: [bool; 2]| Divergent {
        class,
        filter: filter.to_owned(),
        set: "divergent",
        rfc: rfc.to_vec(),
    };
    vec![
        d("case-insensitive", r#"userName eq "ALICE@EXAMPLE.COM""#, [true, false]),
        d("case-insensitive", r#"userName eq "bob@example.com""#, [false, true]),
        d("case-insensitive", r#"displayName sw "alice""#, [true, false]),
        d("case-insensitive", r#"displayName co "BOB""#, [false, true]),
        d("case-insensitive", r#"emails.value ew "@HOME.EXAMPLE""#, [true, false]),
        d("case-insensitive", r#"userName ne "alice@EXAMPLE.com""#, [false, true]),
        d("case-insensitive", r#"displayName gt "ALICE""#, [true, true]),
        d("present-empty", "title pr", [false, true]),
        d("present-empty", "nickName pr", [false, false]),
        d("present-empty", "phoneNumbers pr", [false, false]),
        d("date-time", r#"meta.created eq "2024-01-01T08:00:00Z""#, [true, false]),
        d("date-time", r#"meta.created gt "2024-01-01T09:00:00Z""#, [false, false]),
        d("date-time", r#"meta.created lt "2024-01-01T09:00:00Z""#, [true, true]),
        d("date-time", r#"meta.lastModified gt "2024-03-01T12:30:00.4Z""#, [true, false]),
        d("date-time", r#"meta.lastModified eq "2024-03-01T12:30:00.500Z""#, [true, false]),
        d("complex-value", r#"emails eq "bob@work.example""#, [false, true]),
        d("complex-value", r#"emails co "@home""#, [true, false]),
        d("core-urn", r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com""#, [true, false]),
        d("core-urn", r#"urn:ietf:params:scim:schemas:core:2.0:User:title pr"#, [false, true]),
        d("unqualified-extension", r#"employeeNumber eq "701""#, [true, false]),
        d("unqualified-extension", r#"employeeNumber pr"#, [true, true]),
        d("entra-value-path", r#"emails[type eq "work"].value eq "ALICE@home.example""#, [false, false]),
        d("entra-value-path", r#"emails[type eq "work"].value eq "alice@work.example""#, [true, false]),
        d("value-path-element", r#"emails[type eq "home" and value eq "alice@work.example"]"#, [false, false]),
        d("value-path-element", r#"emails[not (type eq "work")]"#, [true, false]),
        d("value-path-element", r#"emails[type eq "work" and not (value co "alice")]"#, [false, true]),
        d("null-unassigned", "nickName eq null", [true, true]),
        d("null-unassigned", "locale eq null", [false, true]),
        d("null-unassigned", "title eq null", [true, false]),
        d("string-escapes", r#"externalId eq "a\\b""#, [true, false]),
        d("string-escapes", r#"locale eq "caf\u00e9\n""#, [true, false]),
        d("literal-case", "emails.primary eq TRUE", [false, false]),
    ]
}

/// Parse-only divergences: whether RFC 7644's grammar (and so our parser) accepts the text.
const DIVERGENT_PARSES: &[(&str, &str, bool)] = &[
    ("literal-case", "active eq TRUE", true),
    ("literal-case", "active eq False", true),
    ("literal-case", "title eq Null", true),
    ("infix-not", "title pr not (userName pr)", false),
    ("bare-not", "not active eq true", false),
    ("bare-not", "not title pr and userName pr", false),
    ("ref-name", "groups.$ref pr", true),
    ("ref-name", "members[$ref eq \"x\"]", true),
    ("missing-space", "userName eq\"x\"", false),
    ("attr-name", "1abc pr", false),
    ("attr-name", "a..b pr", false),
    ("attr-name", "a/b pr", false),
    ("attr-name", "a%b pr", false),
    ("attr-name", "a:b pr", false),
    ("signed-number", "level gt -1 and title pr", true),
    ("signed-number", "level gt 1e+2 and title pr", true),
    ("signed-number", "level gt -1", true),
    ("number-range", "level gt 1e400", false),
];

#[test]
fn filters_agree_with_scim2_parse_filter() {
    let schema = schema();
    let mut rng = Rng(0x5C1A_F117_E2D0_0001);
    let users = agreement_users(&mut rng);
    let agreement_resources = resources(&users);
    let divergent = divergent_users();
    let divergent_resources = resources(&divergent);

    // Group 1: agreement cases.
    let mut agreement = Vec::new();
    for _ in 0..AGREEMENT_CASES {
        let f = agreement_filter(&mut rng, &users);
        filter::validate(&f, &schema).unwrap_or_else(|e| panic!("generated an invalid filter {f}: {e}"));
        let mut text = String::new();
        render(&mut rng, &f, &mut text, 0);
        assert_eq!(filter::parse(&text).as_ref(), Ok(&f), "our parser on {text:?}");
        agreement.push((f, text));
    }
    // Group 2: rejections.
    let mut rejections: Vec<String> = BOTH_REJECT.iter().map(|s| s.to_string()).collect();
    for (f, text) in agreement.iter().take(300) {
        rejections.push(broken(&mut rng, text, f));
    }
    // Group 3: divergences.
    let cases_d = divergent_cases();

    let mut cases: Vec<(String, Option<&str>)> = Vec::new();
    cases.extend(agreement.iter().map(|(_, t)| (t.clone(), Some("users"))));
    cases.extend(rejections.iter().map(|t| (t.clone(), None)));
    cases.extend(cases_d.iter().map(|c| (c.filter.clone(), Some(c.set))));
    cases.extend(DIVERGENT_PARSES.iter().map(|(_, t, _)| (t.to_string(), None)));
    let sets: BTreeMap<&str, &[Value]> = [("users", users.as_slice()), ("divergent", divergent.as_slice())].into();
    let results = run_oracle(&sets, &cases);
    let mut results = results.iter();

    let mut failures = Vec::new();
    let mut matched = 0usize;
    for (f, text) in &agreement {
        let r = results.next().expect("result");
        if r["ok"] != true {
            failures.push(format!("the package rejected {text:?}: {}", r["error"]));
            continue;
        }
        let (ours_ast, theirs_ast) = (normalise(&npm_shape(f)), normalise(&r["ast"]));
        if ours_ast != theirs_ast {
            failures.push(format!("structure differs for {text:?}:\n  ours   {ours_ast}\n  theirs {theirs_ast}"));
        }
        let ours: Vec<bool> = agreement_resources.iter().map(|u| filter::matches(f, u, &schema)).collect();
        matched += ours.iter().filter(|b| **b).count();
        if Some(&ours) != npm_matches(r).as_ref() {
            failures.push(format!("results differ for {text:?}: ours {ours:?}, theirs {:?}", npm_matches(r)));
        }
    }
    let total = AGREEMENT_CASES * USERS;
    assert!(
        matched > total / 10 && matched < total * 9 / 10,
        "cases should split matches and misses: {matched}/{total}"
    );

    for text in &rejections {
        let r = results.next().expect("result");
        let ours = filter::parse(text);
        if ours.is_ok() || r["ok"] != false {
            failures.push(format!("{text:?} should be rejected by both: ours {ours:?}, theirs ok={}", r["ok"]));
        }
    }

    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases_d {
        let r = results.next().expect("result");
        let f = filter::parse(&case.filter).unwrap_or_else(|e| panic!("{}: {e}", case.filter));
        filter::validate(&f, &schema).unwrap_or_else(|e| panic!("{}: {e}", case.filter));
        let ours: Vec<bool> = divergent_resources.iter().map(|u| filter::matches(&f, u, &schema)).collect();
        assert_eq!(ours, case.rfc, "[{}] our answer to {} is not the RFC one", case.class, case.filter);
        if npm_matches(r).as_ref() != Some(&ours) {
            *seen.entry(case.class).or_default() += 1;
        }
    }
    for (class, text, rfc_accepts) in DIVERGENT_PARSES {
        let r = results.next().expect("result");
        assert_eq!(filter::parse(text).is_ok(), *rfc_accepts, "[{class}] acceptance of {text:?}");
        if (r["ok"] == true) != *rfc_accepts {
            *seen.entry(class).or_default() += 1;
        }
    }
    for d in DIVERGENCES {
        assert!(
            seen.get(d.class).copied().unwrap_or(0) > 0,
            "documented divergence `{}` ({}) no longer shows: the package now agrees, update the table",
            d.class,
            d.reason
        );
    }
    assert!(seen.keys().all(|c| DIVERGENCES.iter().any(|d| d.class == *c)), "undocumented class in {seen:?}");
    assert!(
        failures.is_empty(),
        "{} disagreement(s) outside the documented table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
