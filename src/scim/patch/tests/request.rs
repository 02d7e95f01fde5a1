use super::*;

fn parse(body: Value) -> Result<PatchRequest, ScimError> {
    PatchRequest::from_json(&body)
}

fn body(ops: Value) -> Value {
    json!({ "schemas": [urn::PATCH_OP], "Operations": ops })
}

#[test]
fn op_names_are_case_insensitive() {
    let r = parse(body(json!([
        { "op": "Add", "path": "nickName", "value": "Babs" },
        { "op": "REPLACE", "path": "active", "value": false },
        { "op": "remove", "path": "title" }
    ])))
    .unwrap();
    let kinds: Vec<PatchOpKind> = r.operations.iter().map(|o| o.op).collect();
    assert_eq!(kinds, [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]);
    assert_eq!(r.operations[1].value, Some(json!(false)));
    assert!(r.operations[2].value.is_none());
    assert_eq!(r.operations[0].path, Some(PatchPath::parse("nickName").unwrap()));
}

#[test]
fn a_no_path_operation_keeps_its_object_value() {
    let r = parse(body(json!([{ "op": "replace", "value": { "active": false } }]))).unwrap();
    assert_eq!(r.operations[0].path, None);
    assert_eq!(r.operations[0].value, Some(json!({ "active": false })));
}

#[test]
fn the_message_shape_is_checked() {
    let syntax = (400, Some(ScimType::InvalidSyntax));
    let ops = json!([{ "op": "add", "path": "nickName", "value": "x" }]);
    for bad in [
        json!([]),
        json!({ "Operations": ops }),
        json!({ "schemas": [urn::USER], "Operations": ops }),
        json!({ "schemas": urn::PATCH_OP, "Operations": ops }),
        body(json!([])),
        body(json!({ "op": "add" })),
        json!({ "schemas": [urn::PATCH_OP] }),
        body(json!(["add"])),
        body(json!([{ "path": "nickName", "value": "x" }])),
        body(json!([{ "op": "merge", "path": "nickName", "value": "x" }])),
        body(json!([{ "op": 1, "path": "nickName", "value": "x" }])),
    ] {
        let e = parse(bad.clone()).unwrap_err();
        assert_eq!(kind(&e), syntax, "{bad}: {e}");
    }
    // The URN is matched case-insensitively.
    let upper = json!({ "schemas": [urn::PATCH_OP.to_uppercase()], "Operations": ops });
    assert!(parse(upper).is_ok());
}

#[test]
fn remove_without_path_is_no_target() {
    let e = parse(body(json!([{ "op": "remove" }]))).unwrap_err();
    assert_eq!(kind(&e), (400, Some(ScimType::NoTarget)));
    assert!(e.detail.starts_with("operation 1:"), "{}", e.detail);
}

#[test]
fn add_or_replace_without_value_is_invalid_value() {
    for op in [
        json!({ "op": "add", "path": "nickName" }),
        json!({ "op": "replace", "path": "nickName", "value": null }),
        json!({ "op": "replace" }),
    ] {
        let e = parse(body(json!([{ "op": "remove", "path": "title" }, op]))).unwrap_err();
        assert_eq!(kind(&e), (400, Some(ScimType::InvalidValue)), "{e}");
        assert!(e.detail.starts_with("operation 2:"), "{}", e.detail);
    }
}

#[test]
fn paths_must_be_strings_and_parse() {
    let e = parse(body(json!([{ "op": "remove", "path": 3 }]))).unwrap_err();
    assert_eq!(kind(&e), (400, Some(ScimType::InvalidPath)));
    let e = parse(body(json!([{ "op": "remove", "path": "emails[type eq" }]))).unwrap_err();
    assert_eq!(kind(&e), (400, Some(ScimType::InvalidPath)));
    let e = parse(body(json!([{ "op": "remove", "path": "emails[type zz \"x\"]" }]))).unwrap_err();
    assert_eq!(kind(&e), (400, Some(ScimType::InvalidFilter)));
}

#[test]
fn too_many_operations_are_refused() {
    let op = json!({ "op": "add", "path": "members", "value": [{ "value": "u" }] });
    let three = body(Value::Array(vec![op.clone(); 3]));
    assert_eq!(PatchRequest::from_json_with_limit(&three, 3).unwrap().operations.len(), 3);
    let e = PatchRequest::from_json_with_limit(&three, 2).unwrap_err();
    assert_eq!(kind(&e), (400, Some(ScimType::TooMany)));

    let at_limit = body(Value::Array(vec![op.clone(); DEFAULT_MAX_OPERATIONS]));
    assert!(PatchRequest::from_json(&at_limit).is_ok());
    let over = body(Value::Array(vec![op; DEFAULT_MAX_OPERATIONS + 1]));
    assert_eq!(kind(&PatchRequest::from_json(&over).unwrap_err()), (400, Some(ScimType::TooMany)));
}
