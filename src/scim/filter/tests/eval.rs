//! Evaluation: case rules, types, multi-valued attributes, `pr`, `ne`, `null`, value paths.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::scim::filter::{matches, matches_element, parse};
use crate::scim::schema::{ResourceKind, ResourceSchema, SchemaDef};
use crate::scim::{Resource, urn};

/// The RFC User schema plus an extension with the numeric and dateTime types the RFC User lacks.
pub(super) fn schema() -> ResourceSchema {
    let mut s = ResourceSchema::rfc(ResourceKind::User);
    let ext: SchemaDef = serde_json::from_value(json!({
        "id": TEST_URN,
        "name": "Test",
        "attributes": [
            { "name": "level", "type": "integer", "multiValued": false },
            { "name": "score", "type": "decimal", "multiValued": false },
            { "name": "scores", "type": "decimal", "multiValued": true },
            { "name": "hiredAt", "type": "dateTime", "multiValued": false },
            { "name": "badge", "type": "binary", "multiValued": false, "caseExact": true },
            { "name": "code", "type": "string", "multiValued": false, "caseExact": true },
            { "name": "tags", "type": "string", "multiValued": true },
        ]
    }))
    .unwrap();
    s.extensions.push((Arc::new(ext), false));
    s
}

pub(super) const TEST_URN: &str = "urn:example:params:scim:schemas:extension:test:2.0:User";

fn alice() -> Resource {
    let v = json!({
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Alice-X",
        "userName": "alice@example.com",
        "displayName": "Alice Smith",
        "title": "",
        "nickName": null,
        "active": true,
        "name": { "givenName": "Alice", "familyName": "Smith", "middleName": "" },
        "emails": [
            { "value": "alice@work.example", "type": "work", "primary": true },
            { "value": "ALICE@home.example", "type": "home" }
        ],
        "phoneNumbers": [],
        "ims": [{ "value": "" }],
        "roles": [{ "value": null }],
        "meta": { "created": "2024-01-01T10:00:00+02:00", "lastModified": "2024-03-01T12:30:00.250Z" },
        (urn::ENTERPRISE_USER.to_lowercase()): {
            "employeeNumber": "701984",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John" }
        },
        (TEST_URN): {
            "level": 3,
            "score": 4.5,
            "scores": [1, 2.5, 10],
            "hiredAt": "2020-06-30T23:59:59Z",
            "badge": "QUJD",
            "code": "AbC",
            "tags": ["Red", "green"]
        }
    });
    v.as_object().cloned().unwrap()
}

/// Whether `filter` matches `alice()`.
fn m(filter: &str) -> bool {
    let f = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    matches(&f, &alice(), &schema())
}

fn all_true(filters: &[&str]) {
    for f in filters {
        assert!(m(f), "expected a match: {f}");
    }
}

fn all_false(filters: &[&str]) {
    for f in filters {
        assert!(!m(f), "expected no match: {f}");
    }
}

#[test]
fn strings_follow_case_exact() {
    all_true(&[
        r#"userName eq "ALICE@EXAMPLE.COM""#,
        r#"USERNAME eq "Alice@Example.com""#,
        r#"userName ne "bob@example.com""#,
        r#"externalId eq "Alice-X""#,
        r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:code eq "AbC""#,
    ]);
    all_false(&[
        r#"userName ne "alice@EXAMPLE.com""#,
        r#"externalId eq "alice-x""#,
        r#"externalId sw "alice""#,
        r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:code eq "abc""#,
    ]);
}

#[test]
fn string_operators() {
    all_true(&[
        r#"displayName co "ICE SM""#,
        r#"displayName sw "alice""#,
        r#"displayName ew "SMITH""#,
        r#"displayName sw "Alice Smith""#,
        r#"displayName co """#,
        r#"displayName gt "alice a""#,
        r#"displayName ge "ALICE SMITH""#,
        r#"displayName le "alice smith""#,
        r#"displayName lt "alicf""#,
        r#"externalId co "ce-X""#,
        r#"externalId gt "Alice-W""#,
        r#"externalId lt "alice""#, // 'A' < 'a' by code point
    ]);
    all_false(&[
        r#"displayName co "bob""#,
        r#"displayName sw "smith""#,
        r#"displayName ew "alice""#,
        r#"displayName sw "Alice Smith Jr""#,
        r#"displayName gt "alice smith""#,
        r#"displayName lt "ALICE SMITH""#,
        r#"externalId co "CE-x""#,
        r#"externalId ew "x""#,
    ]);
}

#[test]
fn multi_valued_attributes_match_when_any_value_does() {
    all_true(&[
        r#"emails.value eq "alice@home.example""#,
        r#"emails.type eq "home""#,
        r#"emails.type ne "work""#,
        r#"emails co "@work""#, // complex without sub-attribute: its `value`
        r#"emails eq "alice@home.example""#,
        r#"emails.primary eq true"#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:tags eq "RED""#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:scores gt 9.5"#,
    ]);
    all_false(&[
        r#"emails.value eq "bob@home.example""#,
        r#"emails.primary eq false"#, // the home email has no primary: nothing to compare
        r#"emails.type eq "other""#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:scores gt 10"#,
    ]);
}

#[test]
fn present_rejects_null_empty_strings_and_empty_arrays() {
    all_true(&[
        "userName pr",
        "name pr",
        "name.givenName pr",
        "emails pr",
        "emails.primary pr",
        "active pr",
        "meta.created pr",
    ]);
    all_false(&[
        "title pr",                // ""
        "nickName pr",             // null
        "phoneNumbers pr",         // []
        "ims pr",                  // [{ "value": "" }]
        "roles pr",                // [{ "value": null }]
        "roles.value pr",          // null
        "name.middleName pr",      // ""
        "name.honorificPrefix pr", // absent
        "locale pr",               // absent
    ]);
}

#[test]
fn comparisons_on_unassigned_attributes_are_false() {
    all_false(&[
        r#"locale eq "en""#,
        r#"locale ne "en""#,
        r#"nickName ne "x""#,
        r#"phoneNumbers.value ne "x""#,
        r#"name.honorificPrefix ne "Dr""#,
    ]);
    // The complement that includes unassigned attributes.
    all_true(&[r#"not (locale eq "en")"#, r#"not (nickName eq "x")"#]);
}

#[test]
fn null_means_unassigned() {
    all_true(&[
        "locale eq null",
        "nickName eq null",
        "title eq null",
        "phoneNumbers eq null",
        "roles.value eq null",
        "userName ne null",
        "emails ne null",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager ne null",
    ]);
    all_false(&["userName eq null", "locale ne null", "emails eq null"]);
}

#[test]
fn date_times_compare_as_instants() {
    all_true(&[
        r#"meta.created eq "2024-01-01T08:00:00Z""#, // +02:00 offset
        r#"meta.created eq "2024-01-01T08:00:00.000Z""#,
        r#"meta.created gt "2024-01-01T07:59:59.999Z""#,
        r#"meta.created lt "2024-01-01T09:00:00+00:30""#,
        r#"meta.lastModified ge "2024-03-01T12:30:00.25Z""#,
        r#"meta.lastModified gt "2024-03-01T12:30:00Z""#,
        r#"meta.lastModified le "2024-03-01T13:30:00.250+01:00""#,
        r#"meta.created ne "2024-01-01T10:00:00Z""#,
    ]);
    all_false(&[
        r#"meta.created eq "2024-01-01T10:00:00Z""#,
        r#"meta.created gt "2024-01-01T08:00:00Z""#,
        r#"meta.lastModified lt "2024-03-01T12:30:00.250Z""#,
    ]);
}

#[test]
fn numbers_compare_numerically() {
    let t = |s: &str| format!("{TEST_URN}:{s}");
    for f in ["level eq 3", "level eq 3.0", "level gt 2.5", "level ge 3", "level lt 10", "level le 3", "level ne 4"] {
        assert!(m(&t(f)), "{f}");
    }
    for f in ["score eq 4.5", "score gt 4", "score lt 4.51", "score ge 4.5", "score ne 4"] {
        assert!(m(&t(f)), "{f}");
    }
    for f in ["level gt 3", "level lt 3", "level eq 30", "score lt 4.5", "score eq 45e-1e", "level ne 3"] {
        if let Ok(filter) = parse(&t(f)) {
            assert!(!matches(&filter, &alice(), &schema()), "{f}");
        }
    }
}

#[test]
fn booleans_compare_with_eq_and_ne_only() {
    all_true(&["active eq true", "active ne false", "ACTIVE EQ TRUE"]);
    all_false(&["active eq false", "active ne true", "active gt false", r#"active eq "true""#]);
}

#[test]
fn binary_compares_exactly() {
    let t = |s: &str| format!("{TEST_URN}:{s}");
    assert!(m(&t(r#"badge eq "QUJD""#)));
    assert!(!m(&t(r#"badge eq "qujd""#)));
    assert!(!m(&t(r#"badge sw "QU""#)), "validate rejects it; evaluation does not guess");
}

#[test]
fn extension_and_core_urn_paths() {
    all_true(&[
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq "701984""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "smith""#,
        // Unqualified extension attribute (Entra's manager lookup).
        r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        r#"employeeNumber eq "701984""#,
    ]);
    all_false(&[
        r#"urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber eq "701984""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:Group:userName pr"#,
        r#"manager eq "someone-else""#,
    ]);
}

#[test]
fn value_paths_need_one_element_to_satisfy_the_whole_inner_filter() {
    all_true(&[
        r#"emails[type eq "work" and primary eq true]"#,
        r#"emails[type eq "HOME" and value sw "alice@"]"#,
        r#"emails[not (primary pr)]"#,
        r#"emails[type eq "work"].value eq "alice@work.example""#,
        r#"emails[type eq "home"].value pr"#,
        r#"name[givenName eq "alice"]"#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#,
    ]);
    all_false(&[
        r#"emails[type eq "home" and primary eq true]"#,
        // Entra's form means the same element, unlike `emails[type eq "work"] and emails.value eq ...`.
        r#"emails[type eq "work"].value eq "alice@home.example""#,
        r#"emails[type eq "other"]"#,
        r#"phoneNumbers[type pr]"#,
        r#"emails[bogus eq "x"]"#,
    ]);
    assert!(m(r#"emails[type eq "work"] and emails.value eq "alice@home.example""#));
}

#[test]
fn matches_element_evaluates_one_element() {
    let s = ResourceSchema::rfc(ResourceKind::User);
    let emails = s.core.attribute("emails").unwrap();
    let f = parse(r#"type eq "WORK" and not (primary eq false)"#).unwrap();
    assert!(matches_element(&f, &json!({ "type": "work", "value": "a@x" }), emails));
    assert!(matches_element(&f, &json!({ "TYPE": "Work", "primary": true }), emails));
    assert!(!matches_element(&f, &json!({ "type": "work", "primary": false }), emails));
    assert!(!matches_element(&f, &json!({ "type": "home" }), emails));
    assert!(!matches_element(&f, &json!("work"), emails), "elements of a complex attribute are objects");
    let f = parse(r#"value pr and display eq null"#).unwrap();
    assert!(matches_element(&f, &json!({ "value": "a@x", "display": "" }), emails));
    // Paths that are not bare sub-attribute names match nothing.
    for text in [r#"emails.type eq "work""#, r#"urn:x:type eq "work""#, r#"nope eq "work""#] {
        let f = parse(text).unwrap();
        assert!(!matches_element(&f, &json!({ "type": "work" }), emails), "{text}");
    }
}

#[test]
fn resource_keys_match_case_insensitively() {
    let r: Resource =
        json!({ "USERNAME": "bob", "Emails": [{ "VALUE": "b@x", "Type": "work" }] }).as_object().cloned().unwrap();
    let s = schema();
    for text in [r#"userName eq "BOB""#, r#"emails.value eq "b@x""#, r#"emails[type eq "work"]"#, "emails.type pr"] {
        assert!(matches(&parse(text).unwrap(), &r, &s), "{text}");
    }
}

#[test]
fn unexpected_resource_shapes_match_nothing_and_never_panic() {
    let s = schema();
    let odd: Vec<Value> = vec![
        json!({ "userName": 5, "emails": "a@x", "name": ["x"], "active": "true", "meta": { "created": "yesterday" } }),
        json!({ "userName": ["alice"], "emails": [["a@x"]], "name": { "givenName": { "x": 1 } }, "meta": 3 }),
        json!({ "emails": [null, 1, "x", { "value": 5 }], (TEST_URN): { "level": "3", "scores": [[1]] } }),
        json!({ (TEST_URN): [1, 2], (urn::ENTERPRISE_USER): "x" }),
    ];
    let filters = [
        r#"userName eq "5""#,
        r#"emails.value eq "a@x""#,
        r#"emails[value eq "a@x"]"#,
        r#"name.givenName sw "x""#,
        r#"active eq true"#,
        r#"meta.created gt "2020-01-01T00:00:00Z""#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:level eq 3"#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:scores eq 1"#,
        r#"employeeNumber eq "x""#,
    ];
    for r in &odd {
        let r = r.as_object().unwrap();
        for text in filters {
            assert!(!matches(&parse(text).unwrap(), r, &s), "{text} on {r:?}");
        }
    }
    // A lenient reading of an unparseable stored dateTime: exact text.
    let r = odd[0].as_object().unwrap();
    assert!(matches(&parse(r#"meta.created eq "yesterday""#).unwrap(), r, &s));
}

#[test]
fn unknown_paths_match_nothing_without_validation() {
    all_false(&[r#"nonsense eq "x""#, "nonsense pr", r#"name.nonsense eq "x""#, r#"nonsense[value pr]"#]);
    assert!(m(r#"not (nonsense eq "x")"#));
}

#[test]
fn logic_combines_results() {
    all_true(&[
        r#"userName eq "x" or active eq true"#,
        r#"active eq true and (userName eq "x" or displayName sw "alice")"#,
        r#"not (active eq false) and not (userName eq "x")"#,
    ]);
    all_false(&[r#"active eq true and userName eq "x""#, r#"not (active eq true or userName eq "x")"#]);
}

#[test]
fn non_ascii_strings_fold_case_too() {
    let r: Resource =
        json!({ "name": { "familyName": "Müller" }, "displayName": "ÉCOLE Ωmega" }).as_object().cloned().unwrap();
    let s = schema();
    let yes = [
        r#"name.familyName eq "MÜLLER""#,
        r#"name.familyName ne "MULLER""#,
        r#"name.familyName sw "mü""#,
        r#"name.familyName ew "ÜLLER""#,
        r#"displayName eq "école ωMEGA""#,
        r#"displayName co "LE ω""#,
        r#"displayName gt "ÉCOLE ΩMEG""#,
        r#"displayName lt "école ωmegb""#,
        r#"displayName ge "école ωmega""#,
    ];
    for text in yes {
        assert!(matches(&parse(text).unwrap(), &r, &s), "{text}");
    }
    for text in [r#"name.familyName eq "Muller""#, r#"displayName lt "ÉCOLE ΩMEGA""#, r#"displayName sw "ecole""#] {
        assert!(!matches(&parse(text).unwrap(), &r, &s), "{text}");
    }
}
