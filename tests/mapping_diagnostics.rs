//! What a mapping author sees for each kind of mistake: the exact rendered diagnostics (file,
//! line, column, the source line, the caret under the offending text, the message and the help).
//!
//! Each case breaks `tests/snapshots/mapping_diagnostics/base.yaml` (a valid mapping) with a few
//! text edits and compares the rendering with `tests/snapshots/mapping_diagnostics/CASE.txt`.
//! After an intended change of wording, regenerate the snapshots with
//! `UPDATE_SNAPSHOTS=1 cargo test --test mapping_diagnostics` and review the diff; under CI
//! (`CI` set) snapshots are never written, so a mismatch always fails.

use std::path::{Path, PathBuf};

use scimgate::mapping::compile_str;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/mapping_diagnostics")
}

fn base() -> String {
    std::fs::read_to_string(dir().join("base.yaml")).expect("base.yaml is readable")
}

/// `base.yaml` with each `(from, to)` edit applied; `from` must occur exactly once.
fn edited(edits: &[(&str, &str)]) -> String {
    let mut src = base();
    for (from, to) in edits {
        assert_eq!(src.matches(from).count(), 1, "the edit target must occur once in base.yaml: {from:?}");
        src = src.replacen(from, to, 1);
    }
    src
}

/// Compares `actual` with snapshot `name`, or writes it when asked to (never under CI).
fn assert_snapshot(name: &str, actual: &str) {
    let path = dir().join(format!("{name}.txt"));
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") && std::env::var_os("CI").is_none();
    if update {
        std::fs::write(&path, actual).expect("snapshot is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "diagnostics for `{name}` differ from {}\n--- expected\n{expected}--- actual\n{actual}---\n\
         If the new text is intended, run `UPDATE_SNAPSHOTS=1 cargo test --test mapping_diagnostics` and review the diff.",
        path.display()
    );
}

/// Compiles the edited base as `NAME.yaml`; the compile must fail, and the rendering must match.
fn case(name: &str, edits: &[(&str, &str)]) {
    let src = edited(edits);
    match compile_str(&format!("{name}.yaml"), &src) {
        Ok(_) => panic!("`{name}` compiled, but it should fail"),
        Err(d) => {
            assert!(d.has_errors());
            assert_snapshot(name, &d.render());
        }
    }
}

#[test]
fn the_base_mapping_compiles_without_diagnostics() {
    let (m, warnings) = compile_str("base.yaml", &base()).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(warnings.items.is_empty(), "{}", warnings.render());
    assert_eq!(m.name, "tasks");
}

// === mistakes the YAML reader finds (one per file: the reader stops there) ===

#[test]
fn unknown_key() {
    case(
        "unknown_key",
        &[(
            "    read: $.id\n  attributes:\n    - { scim: userName",
            "    raed: $.id\n  attributes:\n    - { scim: userName",
        )],
    );
}

#[test]
fn wrong_type() {
    case("wrong_type", &[("max_limit: 100", "max_limit: lots")]);
}

#[test]
fn wrong_type_of_section() {
    case("wrong_type_of_section", &[("  filters:\n    - attribute: userName", "  filters:\n    attribute: userName")]);
}

#[test]
fn unknown_value() {
    case("unknown_value", &[("    style: merge_patch", "    style: merge")]);
}

#[test]
fn duplicate_key() {
    case(
        "duplicate_key",
        &[("{ scim: displayName, native: fullName }", "{ scim: displayName, native: fullName, native: name }")],
    );
}

#[test]
fn missing_required_key() {
    case("missing_required_key", &[("  delete:\n    - { method: DELETE, url: \"/users/{id}\" }\n", "")]);
}

#[test]
fn missing_required_key_in_a_step() {
    case("missing_required_key_in_a_step", &[("    - { method: GET, url: \"/teams/{id}\" }", "    - { method: GET }")]);
}

#[test]
fn paging_key_of_another_style() {
    case(
        "paging_key_of_another_style",
        &[("{ style: offset, max_limit: 100 }", "{ style: offset, max_limit: 100, next: $.next }")],
    );
}

// === mistakes the compiler finds (all of them in one pass) ===

#[test]
fn bad_jsonpath() {
    case("bad_jsonpath", &[("    records: $.items[*]\n    total", "    records: $.items[*\n    total")]);
}

#[test]
fn jsonpath_without_root() {
    case("jsonpath_without_root", &[("    result: $.id", "    result: id")]);
}

#[test]
fn jsonpath_in_a_read_path() {
    case("jsonpath_in_a_read_path", &[("read: $.roles[*].id", "read: $.roles[*]id")]);
}

#[test]
fn bad_template() {
    case("bad_template", &[("url: \"/users/{id}\" }\n  create", "url: \"/users/{id\" }\n  create")]);
}

#[test]
fn bad_expression() {
    case("bad_expression", &[("body: \"{changes}\"", "body: \"{changes | }\"")]);
}

#[test]
fn bad_template_inside_a_body() {
    case("bad_template_inside_a_body", &[("origin: \"{vars.source}\"", "origin: \"{vars.source | lower(}\"")]);
}

#[test]
fn unknown_transform() {
    case("unknown_transform", &[("to_native: ['lookup(\"role\")']", "to_native: ['lokup(\"role\")']")]);
}

#[test]
fn unknown_transform_without_a_near_name() {
    case("unknown_transform_without_a_near_name", &[("to_scim: ['eq(\"enabled\")']", "to_scim: [is_enabled]")]);
}

#[test]
fn unknown_lookup() {
    case("unknown_lookup", &[("to_native: ['lookup(\"role\")']", "to_native: ['lookup(\"roles\")']")]);
}

#[test]
fn unknown_lookup_in_a_template() {
    case("unknown_lookup_in_a_template", &[("\"{vars.source}\"", "\"{scim.title | lookup(\\\"title\\\")}\"")]);
}

#[test]
fn undeclared_var() {
    case("undeclared_var", &[("\"{vars.source}\"", "\"{vars.sorce}\"")]);
}

#[test]
fn unknown_scim_attribute() {
    case("unknown_scim_attribute", &[("scim: displayName, native: fullName", "scim: displayname2, native: fullName")]);
}

#[test]
fn unknown_sub_attribute_suggests_a_sibling() {
    case(
        "unknown_sub_attribute_suggests_a_sibling",
        &[("scim: displayName, native: fullName", "scim: name.giveName, native: fullName")],
    );
}

#[test]
fn trigger_on_an_unknown_attribute() {
    case(
        "trigger_on_an_unknown_attribute",
        &[(
            "  get:\n    - { method: GET, url: \"/users/{id}\" }",
            "  triggers:\n    - attribute: activ\n      equals: false\n      steps: [{ method: POST, url: \"/users/{id}/disable\" }]\n  get:\n    - { method: GET, url: \"/users/{id}\" }",
        )],
    );
}

#[test]
fn unquoted_template_in_a_flow_mapping() {
    case(
        "unquoted_template_in_a_flow_mapping",
        &[("- { method: GET, url: \"/users/{id}\" }", "- { method: GET, url: /users/{id} }")],
    );
}

#[test]
fn transform_of_the_wrong_type() {
    case(
        "transform_of_the_wrong_type",
        &[("native: login, immutable: true }", "native: login, immutable: true, to_native: [\"join(\\\",\\\")\"] }")],
    );
}

#[test]
fn unknown_scim_type_and_filter_operator() {
    case(
        "unknown_scim_type_and_filter_operator",
        &[
            ("scim_type: uniqueness", "scim_type: unique"),
            ("    - attribute: userName\n", "    - attribute: userName\n      op: equals\n"),
        ],
    );
}

#[test]
fn invalid_header_name() {
    case(
        "invalid_header_name",
        &[("body: \"{changes}\" }", "body: \"{changes}\", headers: { \"If Match\": \"*\" } }")],
    );
}

#[test]
fn relative_url() {
    case("relative_url", &[("{ method: POST, url: /teams, body", "{ method: POST, url: teams, body")]);
}

// === semantic checks ===

#[test]
fn capture_made_by_a_later_step() {
    case(
        "capture_made_by_a_later_step",
        &[
            ("      capture: { new_id: $.id }\n", ""),
            ("      for_each: scim.groups\n", "      for_each: scim.groups\n      capture: { new_id: $.id }\n"),
            ("    - method: POST\n      url: /users\n", "    - method: POST\n      url: \"/users?after={new_id}\"\n"),
        ],
    );
}

#[test]
fn capture_from_the_same_step() {
    case(
        "capture_from_the_same_step",
        &[
            ("      capture: { new_id: $.id }\n", ""),
            (
                "url: \"/users/{new_id}/groups/{item}\"",
                "url: \"/users/{new_id}/groups/{item}\"\n      capture: { new_id: $.id }",
            ),
        ],
    );
}

#[test]
fn capture_from_another_operation() {
    case(
        "capture_from_another_operation",
        &[("{ method: DELETE, url: \"/users/{id}\" }", "{ method: DELETE, url: \"/users/{new_id}\" }")],
    );
}

#[test]
fn variable_of_another_update_style() {
    case("variable_of_another_update_style", &[("    style: merge_patch", "    style: json_patch")]);
}

#[test]
fn read_back_outside_create() {
    case(
        "read_back_outside_create",
        &[(
            "    - { method: DELETE, url: \"/users/{id}\" }",
            "    - { method: DELETE, url: \"/users/{id}\", read_back: false }",
        )],
    );
}

#[test]
fn read_back_on_a_for_each_step() {
    case(
        "read_back_on_a_for_each_step",
        &[("      for_each: scim.groups\n", "      for_each: scim.groups\n      read_back: false\n")],
    );
}

#[test]
fn read_back_with_get_captures() {
    case(
        "read_back_with_get_captures",
        &[
            (
                "    - { method: GET, url: \"/users/{id}\" }",
                "    - { method: GET, url: \"/users/{id}\", capture: { seen: $.x } }",
            ),
            ("      capture: { new_id: $.id }\n", "      capture: { new_id: $.id }\n      read_back: false\n"),
        ],
    );
}

#[test]
fn item_outside_for_each() {
    case("item_outside_for_each", &[("      for_each: scim.groups\n", "")]);
}

#[test]
fn member_in_a_batch_write() {
    case("member_in_a_batch_write", &[("    add:\n      mode: each", "    add:\n      mode: batch")]);
}

#[test]
fn operation_without_a_native_call() {
    case(
        "operation_without_a_native_call",
        &[("  delete:\n    - { method: DELETE, url: \"/users/{id}\" }", "  delete: []")],
    );
}

#[test]
fn members_on_users() {
    case(
        "members_on_users",
        &[(
            "  get:\n    - { method: GET, url: \"/users/{id}\" }",
            "  members:\n    read: { records: \"$.m[*]\", value: $.id }\n    add: { mode: each, steps: [] }\n    remove: { mode: each, steps: [] }\n  get:\n    - { method: GET, url: \"/users/{id}\" }",
        )],
    );
}

/// Every compiler error of a file is reported in one run, in file order.
#[test]
fn several_errors_in_one_file() {
    case(
        "several_errors_in_one_file",
        &[
            ("    result: $.id", "    result: id"),
            ("scim: displayName, native: fullName", "scim: displayname2, native: fullName"),
            ("to_native: ['lookup(\"role\")']", "to_native: ['lookup(\"roles\")']"),
            ("url: \"/users/{id}\" }\n  create", "url: \"/users/{uid}\" }\n  create"),
            ("  delete:\n    - { method: DELETE, url: \"/users/{id}\" }", "  delete: []"),
            (
                "max_limit: 50, first_page: 1 }",
                "max_limit: 50, first_page: 1 }\n  filters:\n    - attribute: displayName\n      op: sw\n      call: { method: GET, url: \"/teams\", query: { prefix: \"{valu}\" } }\n      result: { records: \"$.items[*\" }",
            ),
        ],
    );
}

/// A warning does not stop the mapping from loading; it comes back with it.
#[test]
fn warning_for_groups_without_members() {
    let from = base().split("  members:\n    read:").next().map(str::len).expect("members section");
    let to = base().find("  get:\n    - { method: GET, url: \"/teams/{id}\" }").expect("groups get");
    let mut src = base();
    src.replace_range(from..to, "");
    let (_, warnings) =
        compile_str("warning_for_groups_without_members.yaml", &src).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(!warnings.has_errors());
    assert_snapshot("warning_for_groups_without_members", &warnings.render());
}

/// `forward_patch` steps have the operations, not the record: reading it is an error that says why.
#[test]
fn forward_patch_reading_the_record() {
    case(
        "forward_patch_reading_the_record",
        &[(
            "      - { method: PATCH, url: \"/users/{id}\", body: \"{changes}\" }\n",
            "      - { method: PATCH, url: \"/users/{id}\", body: \"{changes}\" }\n    forward_patch:\n      - { method: PATCH, url: \"/users/{id}\", body: \"{doc}\" }\n",
        )],
    );
}

/// `forward_patch` where no attribute is mapped one to one would never run: a warning at the key.
#[test]
fn warning_for_forward_patch_without_plain_attributes() {
    let src = edited(&[
        (
            "    - { scim: displayName, native: name }\n",
            "    - { scim: displayName, native: name, to_native: [trim] }\n",
        ),
        (
            "      - { method: PUT, url: \"/teams/{id}\", body: \"{doc}\" }\n",
            "      - { method: PUT, url: \"/teams/{id}\", body: \"{doc}\" }\n    forward_patch:\n      - { method: PATCH, url: \"/teams/{id}\", body: { Operations: \"{operations}\" } }\n",
        ),
    ]);
    let name = "warning_for_forward_patch_without_plain_attributes";
    let (m, warnings) = compile_str(&format!("{name}.yaml"), &src).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(!warnings.has_errors());
    assert!(m.groups.update.forward.as_ref().is_some_and(|f| f.attrs.is_empty()));
    assert_snapshot(name, &warnings.render());
}

/// `forward_patch` steps sending `json_patch` where every attribute mapped one to one is complex:
/// a JSON Patch cannot merge into `name` without the record, so the steps would never run.
#[test]
fn warning_for_json_patch_forwarding_with_only_complex_attributes() {
    let src = edited(&[
        ("    - { scim: displayName, native: fullName }\n", "    - { scim: name, native: fullName }\n"),
        (
            "      - { method: PATCH, url: \"/users/{id}\", body: \"{changes}\" }\n",
            "      - { method: PATCH, url: \"/users/{id}\", body: \"{changes}\" }\n    forward_patch:\n      - { method: PATCH, url: \"/users/{id}\", body: \"{json_patch}\" }\n",
        ),
    ]);
    let name = "warning_for_json_patch_forwarding_with_only_complex_attributes";
    let (m, warnings) = compile_str(&format!("{name}.yaml"), &src).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(!warnings.has_errors());
    assert!(m.users.update.forward.as_ref().is_some_and(|f| f.attrs.contains_key("name")));
    assert!(warnings.render().contains("can be set by a JSON Patch"), "{}", warnings.render());
    assert_snapshot(name, &warnings.render());
}

// === the command line ===

/// `scimgate check` prints every problem of every file, an `ok` line per good file, and fails.
#[test]
fn check_command_reports_all_files_and_fails() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, edited(&[("    result: $.id", "    result: id")])).expect("write");
    let worse = tmp.path().join("worse.yaml");
    std::fs::write(&worse, edited(&[("  delete:\n    - { method: DELETE, url: \"/users/{id}\" }\n", "")]))
        .expect("write");
    let good = dir().join("base.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimgate"))
        .arg("check")
        .args([&bad, &good, &worse])
        .output()
        .expect("scimgate runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("{}:18:13: error: invalid JSONPath", bad.display())), "{stdout}");
    assert!(stdout.contains(&format!("{}: ok (mapping `tasks`)", good.display())), "{stdout}");
    assert!(stdout.contains("error: missing required key `delete` in `users`"), "{stdout}");
    assert!(stdout.contains("checked 3 files: 2 with errors (2 errors)"), "{stdout}");

    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_scimgate")).arg("check").arg(&good).output().expect("runs");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
}
