//! The examples of `docs/mapping.md` are compiled and evaluated, so the mapping reference cannot
//! drift from what the gateway accepts.
//!
//! Every fenced `yaml` block is preceded by a marker comment saying what it is:
//!
//! - `<!-- check: base -->`: the tutorial's complete mapping; it must compile without warnings,
//!   and the fragments below are applied to it;
//! - `<!-- check: mapping -->`: a complete mapping of its own;
//! - `<!-- check: merge [PATH] -->`: a mapping whose keys replace those of the object at PATH
//!   (dotted; the document root when absent) in the base;
//! - `<!-- check: append PATH -->`: a list whose items are added to the list at PATH in the base;
//! - `<!-- check: settings -->`: gateway settings using the base mapping as `taskboard.yaml`.
//!
//! Fenced `text` blocks marked `<!-- check: expressions -->` hold `EXPRESSION ⇒ JSON` lines; each
//! expression is evaluated and must give that JSON value.

use std::path::Path;

use scimgate::mapping::compile_str;
use scimgate::mapping::expr::{self, NoLookups, Transform};
use serde_json::{Map, Value};

struct Block {
    /// 1-based line of the opening fence in the document.
    line: usize,
    lang: String,
    marker: Option<String>,
    text: String,
}

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mapping.md");
    std::fs::read_to_string(path).expect("docs/mapping.md is readable")
}

/// The fenced blocks of a Markdown text, each with the marker comment just above it.
fn blocks(md: &str) -> Vec<Block> {
    let mut out = vec![];
    let mut lines = md.lines().enumerate();
    let mut last_text: Option<&str> = None;
    while let Some((i, line)) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let mut text = String::new();
            for (_, l) in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                text.push_str(l);
                text.push('\n');
            }
            let marker = last_text
                .and_then(|t| t.trim().strip_prefix("<!-- check:"))
                .and_then(|t| t.strip_suffix("-->"))
                .map(|t| t.trim().to_owned());
            out.push(Block { line: i + 1, lang: lang.trim().to_owned(), marker, text });
            last_text = None;
        } else if !line.trim().is_empty() {
            last_text = Some(line);
        }
    }
    out
}

fn yaml_value(text: &str, line: usize) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("docs/mapping.md:{line}: not YAML: {e}"))
}

/// The value at a dotted path, created as an empty object where missing.
fn at_path<'a>(root: &'a mut Value, path: &str, line: usize) -> &'a mut Value {
    let mut cur = root;
    for key in path.split('.').filter(|k| !k.is_empty()) {
        let Value::Object(o) = cur else { panic!("docs/mapping.md:{line}: `{path}` is not inside a mapping") };
        cur = o.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
    cur
}

/// The base mapping with a fragment applied, compiled; panics with the block's line on failure.
fn compile_fragment(base: &Value, block: &Block, verb: &str, path: &str) {
    let mut doc = base.clone();
    let fragment = yaml_value(&block.text, block.line);
    let target = at_path(&mut doc, path, block.line);
    match (verb, target, fragment) {
        ("merge", Value::Object(t), Value::Object(f)) => t.extend(f),
        ("append", Value::Array(t), Value::Array(f)) => t.extend(f),
        (verb, _, _) => panic!("docs/mapping.md:{}: `{verb} {path}` does not fit this block", block.line),
    }
    // JSON is YAML: the merged document compiles as it is.
    let text = serde_json::to_string_pretty(&doc).expect("serialisable");
    if let Err(d) = compile_str("merged.yaml", &text) {
        panic!("docs/mapping.md:{}: the example does not compile once merged:\n{}\n{text}", block.line, d.render());
    }
}

fn base_block(all: &[Block]) -> &Block {
    let bases: Vec<&Block> = all.iter().filter(|b| b.marker.as_deref() == Some("base")).collect();
    assert_eq!(bases.len(), 1, "docs/mapping.md needs exactly one `<!-- check: base -->` block");
    bases[0]
}

#[test]
fn every_yaml_example_compiles() {
    let md = doc();
    let all = blocks(&md);
    let base = base_block(&all);
    let (_, warnings) = compile_str("taskboard.yaml", &base.text).unwrap_or_else(|d| {
        panic!("docs/mapping.md:{}: the tutorial mapping does not compile:\n{}", base.line, d.render())
    });
    assert!(warnings.items.is_empty(), "docs/mapping.md:{}: {}", base.line, warnings.render());
    let base_value = yaml_value(&base.text, base.line);

    let mut checked = 0;
    for b in all.iter().filter(|b| b.lang == "yaml") {
        let marker = b.marker.as_deref().unwrap_or_else(|| {
            panic!("docs/mapping.md:{}: a yaml block without a `<!-- check: … -->` marker is not tested", b.line)
        });
        let mut words = marker.split_whitespace();
        match (words.next(), words.next()) {
            (Some("base"), None) => {}
            (Some("mapping"), None) => {
                if let Err(d) = compile_str("example.yaml", &b.text) {
                    panic!("docs/mapping.md:{}: the example does not compile:\n{}", b.line, d.render());
                }
            }
            (Some(verb @ ("merge" | "append")), path) => compile_fragment(&base_value, b, verb, path.unwrap_or("")),
            (Some("settings"), None) => check_settings(&base.text, b),
            _ => panic!("docs/mapping.md:{}: unknown marker `{marker}`", b.line),
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} yaml examples found");
}

/// The settings example, with the tutorial mapping beside it, passes `scimgate check`.
fn check_settings(mapping: &str, block: &Block) {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("taskboard.yaml"), mapping).expect("write");
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, &block.text).expect("write");
    let env = [("ENTRA_SCIM_TOKEN".to_owned(), "x".to_owned())];
    let c = scimgate::cli::check::check_file(&settings, &env);
    assert!(c.is_ok(), "docs/mapping.md:{}: the settings example fails the check:\n{}", block.line, c.render());
    assert_eq!(c.kind, Some(scimgate::cli::check::FileKind::Settings));
}

#[tokio::test]
async fn every_transform_example_gives_its_result() {
    let md = doc();
    let mut checked = 0;
    for b in blocks(&md).iter().filter(|b| b.marker.as_deref() == Some("expressions")) {
        for (i, line) in b.text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let at = b.line + 1 + i;
            let (src, want) = line.split_once('⇒').unwrap_or_else(|| panic!("docs/mapping.md:{at}: no `⇒`"));
            let e = expr::parse_expr(src.trim()).unwrap_or_else(|e| panic!("docs/mapping.md:{at}: {e}"));
            let want: Value =
                serde_json::from_str(want.trim()).unwrap_or_else(|e| panic!("docs/mapping.md:{at}: result: {e}"));
            let got = expr::eval(&e, &Map::new(), &NoLookups)
                .await
                .unwrap_or_else(|e| panic!("docs/mapping.md:{at}: `{}` fails: {e}", src.trim()));
            assert_eq!(got, want, "docs/mapping.md:{at}: `{}`", src.trim());
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} transform examples found");
}

/// Every transform and every key of the format is documented.
#[test]
fn the_reference_names_every_transform_and_key() {
    let md = doc();
    for name in Transform::NAMES {
        let documented = [format!("| {name}"), format!("`{name}`"), format!("`{name}(")];
        assert!(documented.iter().any(|d| md.contains(d.as_str())), "transform `{name}` is not in docs/mapping.md");
    }
    // Keys of the mapping format; the backend's own sections are summarised, not listed key by key.
    let schema = scimgate::mapping::json_schema();
    let backend = [
        "BackendSettings",
        "AuthSettings",
        "TlsSettings",
        "TimeoutSettings",
        "RetrySettings",
        "CircuitBreakerSettings",
        "ClientAuthMethod",
        "Secret",
    ];
    let mut keys: Vec<String> =
        schema["properties"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    for (name, def) in schema["definitions"].as_object().expect("definitions") {
        if backend.contains(&name.as_str()) {
            continue;
        }
        let variants = def["oneOf"].as_array().cloned().unwrap_or_else(|| vec![def.clone()]);
        for v in variants {
            keys.extend(v["properties"].as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default());
        }
    }
    assert!(keys.len() > 60, "{keys:?}");
    for key in keys {
        let documented = [format!("`{key}`"), format!(".{key}`"), format!("`{key}:"), format!("`{key} ")];
        assert!(documented.iter().any(|d| md.contains(d.as_str())), "key `{key}` is not described in docs/mapping.md");
    }
}
