//! `mappings/schema.json` is what editors use to complete and check mapping files. It must be
//! exactly what `scimgate schema` generates from the Rust types, every shipped mapping must be
//! valid against it (checked with an independent JSON Schema validator), and every shipped
//! mapping must point its editor at it.

use std::path::{Path, PathBuf};

use serde_json::Value;

const SCHEMA_LINE: &str = "# yaml-language-server: $schema=./schema.json";

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings")
}

fn shipped_mappings() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(mappings_dir())
        .expect("mappings/ is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    found.sort();
    assert!(found.len() >= 4, "expected the shipped mappings, found {found:?}");
    found
}

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(mappings_dir().join("schema.json")).expect("mappings/schema.json exists");
    serde_json::from_str(&text).expect("mappings/schema.json is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft7::new(&committed_schema()).expect("mappings/schema.json is a valid draft-07 schema")
}

/// A YAML mapping as the JSON value an editor validates.
fn as_json(yaml: &str) -> Value {
    serde_saphyr::from_str(yaml).expect("the mapping is YAML")
}

fn problems(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn committed_schema_is_the_generated_one() {
    let committed = std::fs::read_to_string(mappings_dir().join("schema.json")).expect("mappings/schema.json exists");
    let generated = scimgate::cli::schema_text();
    assert!(
        committed == generated,
        "mappings/schema.json is out of date with the mapping types; regenerate it with\n    \
         cargo run -- schema > mappings/schema.json"
    );
}

#[test]
fn every_shipped_mapping_is_valid_against_the_schema() {
    let v = validator();
    for path in shipped_mappings() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let found = problems(&v, &as_json(&text));
        assert!(found.is_empty(), "{}:\n{}", path.display(), found.join("\n"));
    }
}

#[test]
fn every_shipped_mapping_names_the_schema_on_its_first_line() {
    for path in shipped_mappings() {
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(text.lines().next(), Some(SCHEMA_LINE), "{}", path.display());
    }
}

/// The schema is strict where the loader is: it would flag the same mistakes in an editor.
#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let v = validator();
    let base = std::fs::read_to_string(mappings_dir().join("scim.yaml")).expect("readable");
    let cases = [
        ("unknown key", base.replacen("    read: $.id", "    read: $.id\n    reed: $.id", 1)),
        ("unknown method", base.replacen("method: GET", "method: FETCH", 1)),
        ("wrong apiVersion", base.replacen("apiVersion: scimgate/v1", "apiVersion: scimgate/v2", 1)),
        ("missing section", base.replacen("\ngroups:\n", "\nteams:\n", 1)),
        (
            "paging style",
            base.replacen("paging: { style: offset, max_limit: 200 }", "paging: { style: offsets, max_limit: 200 }", 1),
        ),
        ("negative limit", base.replacen("max_limit: 200", "max_limit: -1", 1)),
    ];
    for (what, text) in cases {
        assert_ne!(text, base, "{what}: the edit must apply");
        assert!(!problems(&v, &as_json(&text)).is_empty(), "{what}: the schema accepted it");
        assert!(scimgate::mapping::compile_str("case.yaml", &text).is_err(), "{what}: the loader accepted it");
    }
}

/// Descriptions come from the doc comments, so an editor can show them on hover.
#[test]
fn the_schema_carries_the_doc_comments() {
    let schema = committed_schema();
    let users = &schema["properties"]["users"];
    assert_eq!(users["description"], "The SCIM User resource.");
    let call = &schema["definitions"]["CallSpec"]["properties"]["url"]["description"];
    assert!(call.as_str().is_some_and(|d| d.contains("percent-encoded")), "{call}");
}
