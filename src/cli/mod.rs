//! Authoring commands of the `scimgate` command line that need no running gateway: `check`
//! validates mapping and settings files, `schema` prints the JSON Schema of the mapping format.
//! They live in the library so that tests run them exactly as the binary does.

pub mod check;
pub mod explain;
pub mod replay;

/// The JSON Schema of the mapping format as `scimgate schema` prints it and `mappings/schema.json`
/// holds it: pretty-printed, with a final newline.
pub fn schema_text() -> String {
    let schema = crate::mapping::json_schema();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
