//! Invariants over generated users and operations.

use proptest::prelude::*;

use super::*;

const TYPES: [&str; 3] = ["work", "home", "other"];

/// A valid user: distinct email types, at most one primary email, some optional attributes.
fn arb_user() -> impl Strategy<Value = Value> {
    (
        proptest::sample::subsequence(TYPES.to_vec(), 0..=3),
        proptest::option::of(0usize..3),
        proptest::option::of("[a-z]{1,6}"),
        proptest::option::of("[a-z]{1,6}"),
        proptest::option::of("[A-Z][a-z]{0,5}"),
        any::<bool>(),
    )
        .prop_map(|(types, primary, display, dept, given, active)| {
            let mut u = json!({ "schemas": [urn::USER], "id": "u1", "userName": "user", "active": active });
            let emails: Vec<Value> = types
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut e = json!({ "value": format!("{t}@example.com"), "type": t });
                    if primary == Some(i) {
                        e["primary"] = json!(true);
                    }
                    e
                })
                .collect();
            if !emails.is_empty() {
                u["emails"] = Value::Array(emails);
            }
            if let Some(d) = display {
                u["displayName"] = json!(d);
            }
            if let Some(d) = dept {
                u[ENT] = json!({ "department": d });
            }
            if let Some(g) = given {
                u["name"] = json!({ "givenName": g });
            }
            u
        })
}

fn arb_type() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(TYPES.to_vec())
}

/// `add`/`replace` operations, each idempotent under `replace`.
fn arb_write(op: &'static str) -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{1,6}".prop_map(move |v| json!({ "op": op, "path": "displayName", "value": v })),
        "[a-z]{1,6}".prop_map(move |v| json!({ "op": op, "path": "name.familyName", "value": v })),
        "[a-z]{1,6}".prop_map(move |v| json!({ "op": op, "path": format!("{ENT}:department"), "value": v })),
        "[a-z]{1,6}".prop_map(move |v| json!({ "op": op, "path": format!("{ENT}:manager.value"), "value": v })),
        (arb_type(), "[a-z]{1,6}").prop_map(move |(t, v)| {
            json!({ "op": op, "path": format!("emails[type eq \"{t}\"].value"), "value": format!("{v}@x") })
        }),
        (arb_type(), any::<bool>()).prop_map(move |(t, p)| {
            json!({ "op": op, "path": format!("emails[type eq \"{t}\"].primary"), "value": p })
        }),
        (arb_type(), "[a-z]{1,6}", any::<bool>()).prop_map(move |(t, v, p)| {
            json!({ "op": op, "path": "emails", "value": [{ "type": t, "value": format!("{v}@x"), "primary": p }] })
        }),
        "[a-z]{1,6}".prop_map(move |v| json!({ "op": op, "path": "roles[primary eq true].value", "value": v })),
        (any::<bool>(), "[a-z]{1,6}").prop_map(move |(a, t)| json!({ "op": op, "value": { "active": a, "title": t } })),
    ]
}

fn arb_op() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_write("add"),
        arb_write("replace"),
        arb_type().prop_map(|t| json!({ "op": "remove", "path": format!("emails[type eq \"{t}\"]") })),
        arb_type().prop_map(|t| json!({ "op": "remove", "path": format!("emails[type eq \"{t}\"].primary") })),
        Just(json!({ "op": "remove", "path": "name.givenName" })),
        Just(json!({ "op": "remove", "path": format!("{ENT}:department") })),
    ]
}

fn try_apply(r: &Value, op: &Value) -> Option<Value> {
    let mut res = obj(r.clone());
    apply(&user_schema(), &mut res, &request(json!([op]))).ok().map(|_| Value::Object(res))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Adding a new attribute or element and removing it again gives back the original resource.
    #[test]
    fn add_then_remove_restores(u in arb_user(), title in "[a-z]{1,8}", cost in "[0-9]{1,4}", local in "[a-z]{1,8}") {
        let s = user_schema();
        let fresh = format!("{local}@fresh.example");
        for ops in [
            json!([{ "op": "add", "path": "title", "value": title }, { "op": "remove", "path": "title" }]),
            json!([
                { "op": "add", "path": format!("{ENT}:costCenter"), "value": cost },
                { "op": "remove", "path": format!("{ENT}:costCenter") }
            ]),
            json!([
                { "op": "add", "path": "emails", "value": [{ "value": fresh, "type": "other" }] },
                { "op": "remove", "path": format!("emails[value eq \"{fresh}\"]") }
            ]),
            json!([
                { "op": "add", "path": "name.middleName", "value": title },
                { "op": "remove", "path": "name.middleName" }
            ]),
        ] {
            let mut r = obj(u.clone());
            let outcome = apply(&s, &mut r, &request(ops.clone())).unwrap();
            prop_assert_eq!(&Value::Object(r), &u, "{}", ops);
            prop_assert!(outcome.changed.is_empty(), "{:?}", outcome.changed);
        }
    }

    /// Applying a `replace` twice gives the same resource as applying it once.
    #[test]
    fn replace_is_idempotent(u in arb_user(), op in arb_write("replace")) {
        if let Some(once) = try_apply(&u, &op) {
            let twice = try_apply(&once, &op);
            prop_assert_eq!(twice.as_ref(), Some(&once), "{}", op);
        }
    }

    /// Whatever sequence of operations succeeds, no multi-valued attribute ends with two primaries.
    #[test]
    fn at_most_one_primary(u in arb_user(), ops in proptest::collection::vec(arb_op(), 1..12)) {
        let mut r = u;
        for op in &ops {
            if let Some(next) = try_apply(&r, op) {
                r = next;
            }
            prop_assert!(primaries(&r["emails"]) <= 1, "{} after {}", r, op);
            prop_assert!(primaries(&r["roles"]) <= 1, "{} after {}", r, op);
        }
        // The same operations as one atomic request keep the invariant too.
        let mut whole = obj(r.clone());
        if apply(&user_schema(), &mut whole, &request(Value::Array(ops))).is_ok() {
            prop_assert!(primaries(&Value::Object(whole)["emails"]) <= 1);
        }
    }
}
