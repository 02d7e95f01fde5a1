use serde_json::{Map, Value, json};

use super::*;

fn scope(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn run(src: &str, s: Value) -> Result<Value, EvalError> {
    let e = parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e} at {}", e.offset));
    let s = scope(s);
    futures_lite(eval(&e, &s, &NoLookups))
}

/// Minimal executor: these futures never wait on I/O.
fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

#[test]
fn paths_and_literals() {
    assert_eq!(run("scim.name.givenName", json!({"scim": {"name": {"givenName": "Ann"}}})).unwrap(), json!("Ann"));
    assert_eq!(run("items.1", json!({"items": [1, 2]})).unwrap(), json!(2));
    assert_eq!(run("missing.deep", json!({})).unwrap(), Value::Null);
    assert_eq!(run("\"x\" | upper", json!({})).unwrap(), json!("X"));
    assert_eq!(run("[1, 2] | len", json!({})).unwrap(), json!(2));
}

#[test]
fn string_transforms() {
    let s = json!({"v": "  John.Doe@Example.com "});
    assert_eq!(run("v | trim | lower | local_part", s.clone()).unwrap(), json!("john.doe"));
    assert_eq!(run("v | trim | domain", s.clone()).unwrap(), json!("Example.com"));
    assert_eq!(run("v | trim | slug", s.clone()).unwrap(), json!("John.Doe_Example.com"));
    assert_eq!(run("v | trim | slug(4)", s).unwrap(), json!("John"));
    assert_eq!(run("v | format(\"urn:li:corpuser:{}\")", json!({"v": "a b"})).unwrap(), json!("urn:li:corpuser:a b"));
    assert_eq!(run("v | split(\",\") | join(\"+\")", json!({"v": "a,b"})).unwrap(), json!("a+b"));
    assert_eq!(run("v | base64url | base64url_decode", json!({"v": "urn:li:x/y?"})).unwrap(), json!("urn:li:x/y?"));
    assert_eq!(run("v | replace(\"-\", \"_\")", json!({"v": "a-b-c"})).unwrap(), json!("a_b_c"));
}

#[test]
fn null_passes_through_value_transforms_and_default_fills_it() {
    assert_eq!(run("v | lower | slug", json!({})).unwrap(), Value::Null);
    assert_eq!(run("v | default(\"x\") | upper", json!({})).unwrap(), json!("X"));
    assert_eq!(run("v | coalesce(w, \"z\")", json!({"w": "w"})).unwrap(), json!("w"));
}

#[test]
fn map_tables_name_allowed_values() {
    let e = run("v | map({\"Admin\": 1, \"Reader\": 2})", json!({"v": "Owner"})).unwrap_err();
    assert_eq!(e.to_string(), "\"Owner\" is not allowed; allowed values: Admin, Reader");
    assert_eq!(run("v | map({\"true\": \"ACTIVE\"}, \"SUSPENDED\")", json!({"v": false})).unwrap(), json!("SUSPENDED"));
    assert_eq!(run("v | map({\"true\": \"ACTIVE\"})", json!({"v": true})).unwrap(), json!("ACTIVE"));
}

#[test]
fn array_transforms() {
    let s = json!({"g": ["a"], "id": "b"});
    assert_eq!(run("g | append(id) | append(id) | unique", s.clone()).unwrap(), json!(["a", "b"]));
    assert_eq!(run("g | remove(\"a\")", s.clone()).unwrap(), json!([]));
    assert_eq!(run("none | append(id)", s).unwrap(), json!(["b"]));
    assert_eq!(run("v | pluck(\"id\")", json!({"v": [{"id": 1}, {"x": 2}]})).unwrap(), json!([1]));
    assert_eq!(
        run("v | objects(\"id\", {\"type\": \"user\"})", json!({"v": ["u1"]})).unwrap(),
        json!([{"id": "u1", "type": "user"}])
    );
}

#[test]
fn booleans_and_conditions() {
    assert_eq!(run("v | bool | not", json!({"v": "False"})).unwrap(), json!(true));
    assert_eq!(run("v | eq(\"x\")", json!({"v": "x"})).unwrap(), json!(true));
    assert_eq!(run("v | eq(true)", json!({"v": true})).unwrap(), json!(true));
    assert_eq!(run("v | default(null) | ne(false)", json!({"v": true})).unwrap(), json!(true));
    assert_eq!(run("v | empty", json!({"v": []})).unwrap(), json!(true));
    assert!(truthy(&json!("x")) && !truthy(&json!("")) && !truthy(&json!(null)) && !truthy(&json!([])));
}

#[test]
fn type_errors_name_the_transform() {
    let e = run("v | lower", json!({"v": true})).unwrap_err();
    assert!(matches!(e, EvalError::Type { transform: "lower", .. }), "{e}");
    assert!(run("v | not", json!({"v": "yes"})).is_err());
}

#[test]
fn parse_errors_have_offsets_and_suggestions() {
    let e = parse_expr("v | lowr").unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(e.message.contains("did you mean `lower`"), "{}", e.message);
    let e = parse_expr("v | join()").unwrap_err();
    assert!(e.message.contains("join"), "{}", e.message);
    assert!(parse_expr("v |").is_err());
    assert!(parse_expr("v w").is_err());
    assert!(parse_expr("map({\"a\": 1)").is_err());
}

#[test]
fn templates_interpolate_and_escape_braces() {
    let t = parse_template("/v1/users/{id}/x{{y}}").unwrap();
    assert_eq!(t.pieces.len(), 3);
    let s = scope(json!({"id": "a/b c"}));
    let enc = |x: &str| x.replace('/', "%2F").replace(' ', "%20");
    let out = futures_lite(render(&t, &s, &NoLookups, &enc)).unwrap();
    assert_eq!(out, "/v1/users/a%2Fb%20c/x{y}");
    let t = parse_template("{members}").unwrap();
    let v = futures_lite(render_value(&t, &scope(json!({"members": [1, 2]})), &NoLookups)).unwrap();
    assert_eq!(v, json!([1, 2]));
    let t = parse_template("{v | map({\"a\": \"}\"})}").unwrap();
    assert_eq!(futures_lite(render_value(&t, &scope(json!({"v": "a"})), &NoLookups)).unwrap(), json!("}"));
    let e = parse_template("/x/{id").unwrap_err();
    assert_eq!(e.offset, 3);
    assert!(parse_template("a}b").is_err());
    let e = parse_template("/x/{id | nope}").unwrap_err();
    assert_eq!(e.offset, 9, "offset points at the transform inside the template");
}

#[test]
fn datetime_from_epoch_milliseconds_and_offsets() {
    assert_eq!(run("t | datetime", json!({"t": 1718000000123_i64})).unwrap(), json!("2024-06-10T06:13:20.123Z"));
    assert_eq!(
        run("t | datetime", json!({"t": "2024-06-10T08:13:20+02:00"})).unwrap(),
        json!("2024-06-10T06:13:20.000Z")
    );
    assert_eq!(run("t | datetime", json!({})).unwrap(), Value::Null, "absent stays absent");
    assert!(matches!(run("t | datetime", json!({"t": "yesterday"})), Err(EvalError::InvalidValue(_))));
}
