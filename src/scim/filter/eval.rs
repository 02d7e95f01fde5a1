//! Filter evaluation over JSON resources, following the schema's `caseExact` and types.
//!
//! Semantics where RFC 7644 §3.4.2.2 leaves room (documented on [`matches`]) are chosen so that the
//! answers an IdP gets match what it meant: a lookup that finds nothing makes it create a duplicate.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::{Number, Value};

use crate::scim::schema::{AttrHome, AttrType, AttributeDef, ResolvedAttr, ResourceSchema};
use crate::scim::{Resource, get_ci};

use super::ast::{AttrPath, CompValue, CompareOp, Filter};

/// Whether `resource` satisfies `filter`. Call [`validate`](super::validate) once first: paths the
/// schema does not know and comparisons that do not fit an attribute's type match nothing here.
///
/// Rules:
/// - Attribute names match resource keys case-insensitively (RFC 7643 §2.1); extension attributes are
///   read under their schema URN key (also matched case-insensitively); a path qualified with the core
///   schema URN addresses a top-level attribute. An unqualified name that only an extension defines
///   resolves to that extension (RFC 7644 §3.10 lets clients omit the URN; Entra's manager lookup
///   does).
/// - A multi-valued attribute matches when any of its values does (§3.4.2.2). A comparison on a
///   complex attribute without a sub-attribute compares its `value` sub-attribute (`emails co "@x"`,
///   `manager eq "id"`).
/// - Strings compare exactly when the attribute is `caseExact`, otherwise after Unicode lowercasing
///   (`userName eq "ALICE@X"` finds `alice@x`; `id` and `externalId` are case-exact). `gt`/`ge`/`lt`/
///   `le` order strings by code point, dateTimes as instants (RFC 3339, any offset), integers and
///   decimals numerically. Booleans compare only with `eq`/`ne`.
/// - `pr` is true for a value that is not null, not an empty string, not an empty array and, for a
///   complex value, has at least one such member.
/// - An unassigned attribute has no value to compare, so every comparison on it is false, `ne`
///   included: RFC 7644 defines `ne` as "the attribute and operator values are not identical", which
///   needs an attribute value, and the "any value matches" rule gives no value nothing to match.
///   `not (title eq "x")` is the complement that includes unassigned attributes.
/// - `null` follows RFC 7643 §2.5 (null, unassigned and empty arrays are the same state):
///   `attr eq null` is `not (attr pr)`, `attr ne null` is `attr pr`.
pub fn matches(filter: &Filter, resource: &Resource, schema: &ResourceSchema) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, resource, schema) && matches(b, resource, schema),
        Filter::Or(a, b) => matches(a, resource, schema) || matches(b, resource, schema),
        Filter::Not(inner) => !matches(inner, resource, schema),
        Filter::Present(path) => {
            resolve(schema, path).is_some_and(|r| any_value(resource, &r, Mode::Whole, &mut is_present))
        }
        Filter::Compare { path, op, value } => {
            let Some(r) = resolve(schema, path) else { return false };
            if *value == CompValue::Null {
                let present = any_value(resource, &r, Mode::Whole, &mut is_present);
                return null_comparison(*op, present);
            }
            let Some(def) = comparable(r.sub.unwrap_or(r.def)) else { return false };
            any_value(resource, &r, Mode::Compared, &mut |v| compare(*op, value, def, v))
        }
        Filter::ValuePath { attr, filter } => {
            let Some(r) = resolve(schema, attr) else { return false };
            if r.sub.is_some() {
                return false;
            }
            any_value(resource, &r, Mode::Whole, &mut |element| matches_element(filter, element, r.def))
        }
    }
}

/// Whether one element of the complex attribute `attr` satisfies the value-path filter `filter`, whose
/// paths name sub-attributes of `attr` (`type eq "work"` in `emails[type eq "work"]`). Used for
/// `attr[filter]` in queries and PATCH paths; the same rules as [`matches`] apply.
pub fn matches_element(filter: &Filter, element: &Value, attr: &AttributeDef) -> bool {
    match filter {
        Filter::And(a, b) => matches_element(a, element, attr) && matches_element(b, element, attr),
        Filter::Or(a, b) => matches_element(a, element, attr) || matches_element(b, element, attr),
        Filter::Not(inner) => !matches_element(inner, element, attr),
        Filter::Present(path) => {
            relative(path, attr).is_some_and(|sub| sub_value(element, sub).is_some_and(is_present))
        }
        Filter::Compare { path, op, value } => {
            let Some(sub) = relative(path, attr) else { return false };
            let v = sub_value(element, sub);
            if *value == CompValue::Null {
                return null_comparison(*op, v.is_some_and(is_present));
            }
            v.is_some_and(|v| each_element(v, &mut |x| compare(*op, value, sub, x)))
        }
        // Not valid RFC 7644; the parser and `validate` reject it.
        Filter::ValuePath { .. } => false,
    }
}

/// Resolves a top-level path: the schema's own resolution, then an unqualified name that exactly one
/// extension defines.
pub(super) fn resolve<'s>(schema: &'s ResourceSchema, path: &AttrPath) -> Option<ResolvedAttr<'s>> {
    if let Some(r) = schema.resolve(path) {
        return Some(r);
    }
    if path.uri.is_some() {
        return None;
    }
    let mut found = schema.extensions.iter().filter_map(|(ext, _)| Some((ext, ext.attribute(&path.name)?)));
    let (ext, def) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let sub = match &path.sub {
        Some(s) => Some(def.sub_attribute(s)?),
        None => None,
    };
    Some(ResolvedAttr { home: AttrHome::Extension(ext.id.as_str()), def, sub })
}

/// A sub-attribute named by a path inside `attr[...]`: a bare name, no URN, no further `.sub`.
pub(super) fn relative<'a>(path: &AttrPath, attr: &'a AttributeDef) -> Option<&'a AttributeDef> {
    if path.uri.is_some() || path.sub.is_some() {
        return None;
    }
    attr.sub_attribute(&path.name)
}

/// The definition a comparison applies to: the attribute itself, or the `value` sub-attribute of a
/// complex attribute. `None` for a complex attribute without `value`.
pub(super) fn comparable(def: &AttributeDef) -> Option<&AttributeDef> {
    if def.ty == AttrType::Complex { def.sub_attribute("value") } else { Some(def) }
}

/// `eq null` means unassigned, `ne null` assigned; nothing else compares with null.
fn null_comparison(op: CompareOp, present: bool) -> bool {
    match op {
        CompareOp::Eq => !present,
        CompareOp::Ne => present,
        _ => false,
    }
}

/// What a path without a sub-attribute designates on a complex attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The attribute's values themselves (for `pr`, `null` and value paths).
    Whole,
    /// The `value` sub-attribute of complex values (for comparisons).
    Compared,
}

/// Calls `f` on each value `r` designates in `resource` until one returns true.
fn any_value(resource: &Resource, r: &ResolvedAttr<'_>, mode: Mode, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    let container = match r.home {
        AttrHome::Core => Some(resource),
        AttrHome::Extension(urn) => get_ci(resource, urn).and_then(Value::as_object),
    };
    let Some(v) = container.and_then(|c| get_ci(c, &r.def.name)) else { return false };
    let sub_name = match (r.sub, mode) {
        (Some(sub), _) => Some(sub.name.as_str()),
        (None, Mode::Compared) if r.def.ty == AttrType::Complex => Some("value"),
        (None, _) => None,
    };
    match sub_name {
        None => each_element(v, f),
        Some(name) => each_element(v, &mut |element| {
            element.as_object().and_then(|o| get_ci(o, name)).is_some_and(|sv| each_element(sv, f))
        }),
    }
}

/// The sub-attribute `sub` of one element, when the element is an object that has it.
fn sub_value<'v>(element: &'v Value, sub: &AttributeDef) -> Option<&'v Value> {
    element.as_object().and_then(|o| get_ci(o, &sub.name))
}

/// `f` on each element of an array, or on a single value; true as soon as `f` is.
fn each_element(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(f),
        other => f(other),
    }
}

/// RFC 7644 `pr`: non-null, non-empty string, non-empty array, complex with a present member.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(members) => members.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// One attribute value against a non-null comparison value, typed by `def`.
fn compare(op: CompareOp, literal: &CompValue, def: &AttributeDef, v: &Value) -> bool {
    match (def.ty, literal, v) {
        (AttrType::String | AttrType::Reference, CompValue::String(l), Value::String(s)) => {
            compare_strings(op, s, l, def.is_case_exact())
        }
        // Binary values are base64 text: only exact equality means anything.
        (AttrType::Binary, CompValue::String(l), Value::String(s)) => match op {
            CompareOp::Eq => s == l,
            CompareOp::Ne => s != l,
            _ => false,
        },
        (AttrType::DateTime, CompValue::String(l), Value::String(s)) => compare_date_times(op, s, l),
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(l), Value::Number(n)) => {
            compare_numbers(n, l).is_some_and(|ord| ordering_holds(op, ord))
        }
        (AttrType::Boolean, CompValue::Bool(l), Value::Bool(b)) => match op {
            CompareOp::Eq => b == l,
            CompareOp::Ne => b != l,
            _ => false,
        },
        _ => false,
    }
}

/// `eq`, `ne` and the orderings from an [`Ordering`]; substring operators never hold.
fn ordering_holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Case-insensitive comparison folds each character to lower case; ordering is by code point.
fn compare_strings(op: CompareOp, attr: &str, lit: &str, case_exact: bool) -> bool {
    if case_exact {
        return match op {
            CompareOp::Co => attr.contains(lit),
            CompareOp::Sw => attr.starts_with(lit),
            CompareOp::Ew => attr.ends_with(lit),
            _ => ordering_holds(op, attr.cmp(lit)),
        };
    }
    if attr.is_ascii() && lit.is_ascii() && !op.is_substring() {
        // The common case (user names, ids, e-mail addresses) without per-character Unicode folding.
        return match op {
            CompareOp::Eq => attr.eq_ignore_ascii_case(lit),
            CompareOp::Ne => !attr.eq_ignore_ascii_case(lit),
            _ => ordering_holds(op, ascii_fold(attr).cmp(ascii_fold(lit))),
        };
    }
    match op {
        CompareOp::Co => fold(attr).collect::<String>().contains(&fold(lit).collect::<String>()),
        CompareOp::Sw => {
            let mut a = fold(attr);
            fold(lit).all(|c| a.next() == Some(c))
        }
        CompareOp::Ew => {
            let mut a = fold(attr).rev();
            fold(lit).rev().all(|c| a.next() == Some(c))
        }
        _ => ordering_holds(op, fold(attr).cmp(fold(lit))),
    }
}

fn ascii_fold(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().map(|b| b.to_ascii_lowercase())
}

fn fold(s: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// Instants when both sides are RFC 3339. A stored value that is not RFC 3339 can still be found by
/// its exact text with `eq`/`ne`, but has no place in an order.
fn compare_date_times(op: CompareOp, attr: &str, lit: &str) -> bool {
    match (DateTime::parse_from_rfc3339(attr), DateTime::parse_from_rfc3339(lit)) {
        (Ok(a), Ok(b)) => ordering_holds(op, a.cmp(&b)),
        _ => match op {
            CompareOp::Eq => attr == lit,
            CompareOp::Ne => attr != lit,
            _ => false,
        },
    }
}

/// Integers exactly (including the full u64 range), otherwise as f64.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}
