use serde_json::json;

use super::*;

fn fixed() -> [u8; 16] {
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
}

#[test]
fn builtins_follow_the_corpus_conventions() {
    let mut vars = Variables::with_random("t0k", fixed);
    assert_eq!(vars.substitute("Bearer {{token}}"), Ok("Bearer t0k".to_owned()));
    assert_eq!(vars.get("rand"), Some("abcdefghijkl"));
    assert_eq!(vars.get("RAND"), Some("ABCDEFGHIJKL"));
    let given = vars.get("randomGivenName").expect("given").to_owned();
    let family = vars.get("randomFamilyName").expect("family").to_owned();
    assert!(given.starts_with("Runscope") && given.len() == 11 && given[8..].bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(family.len(), 12);
    assert!(family[..1].bytes().all(|b| b.is_ascii_uppercase()));
    assert!(family[1..9].bytes().all(|b| b.is_ascii_lowercase()));
    assert!(family[9..].bytes().all(|b| b.is_ascii_digit()));
    let email = format!("{given}{family}@atko.com");
    assert_eq!(vars.get("randomEmail"), Some(email.as_str()));
    assert_eq!(vars.get("randomUsername"), Some(email.as_str()));
    assert_eq!(vars.get("randomUsernameCaps"), Some(email.to_uppercase().as_str()));
}

#[test]
fn fresh_runs_differ() {
    let a = Variables::fresh("t");
    let b = Variables::fresh("t");
    assert_ne!(a.get("rand"), b.get("rand"));
    assert!(a.get("rand").is_some_and(|r| r.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())));
}

#[test]
fn guids_are_made_on_first_use_and_stay_stable() {
    let mut vars = Variables::fresh("t");
    let first = vars.substitute("{{guid}}").expect("guid");
    assert_eq!(vars.substitute("{{guid}}"), Ok(first.clone()));
    let second = vars.substitute("{{guid2}}").expect("guid2");
    let m = vars.substitute("{{guidm}}").expect("guidm");
    assert_ne!(first, second);
    assert_ne!(second, m);
    let parsed = uuid::Uuid::parse_str(&first).expect("a uuid");
    assert_eq!(parsed.get_version_num(), 4);
}

#[test]
fn captured_values_substitute_and_unknown_names_fail() {
    let mut vars = Variables::fresh("t");
    assert_eq!(vars.substitute("/Users/{{user_id}}"), Err(UnboundVariable { name: "user_id".into() }));
    vars.capture("user_id", "42".into());
    assert_eq!(vars.substitute("/Users/{{user_id}}?x={{user_id}}"), Ok("/Users/42?x=42".to_owned()));
    vars.capture("group_id", "g".into());
    vars.capture("user_id", "43".into());
    assert_eq!(vars.captured(), &[("group_id".to_owned(), "g".to_owned()), ("user_id".to_owned(), "43".to_owned())]);
}

#[test]
fn text_that_is_not_a_placeholder_is_kept() {
    let mut vars = Variables::fresh("t");
    for text in ["{{", "}}", "{{}}", "{{a b}}", "a {{ token }} b", "{\"json\": {}}", "{{{token}}"] {
        let expected = text.replace("{{token}}", "t");
        assert_eq!(vars.substitute(text), Ok(expected), "{text}");
    }
}

#[test]
fn json_substitution_reaches_strings_and_keys_only() {
    let mut vars = Variables::with_random("t", fixed);
    vars.capture("id", "7".into());
    let value = json!({"{{id}}": ["x{{rand}}", 1, true, null, {"v": "{{id}}"}]});
    assert_eq!(vars.substitute_json(&value), Ok(json!({"7": ["xabcdefghijkl", 1, true, null, {"v": "7"}]})));
    assert!(vars.substitute_json(&json!({"a": ["{{missing}}"]})).is_err());
}
