//! The mapping language: the file format, its compiler and diagnostics.
//!
//! A mapping file describes one application's native user/group API; `compile::load` turns it
//! into a [`compile::CompiledMapping`] that the engine runs. See `docs/mapping.md`.

pub mod builtin;
pub mod compile;
pub mod diag;
pub mod expr;
pub mod jsonpath;
pub mod model;
pub mod native_path;

pub use compile::{CompiledMapping, compile_str, load};
pub use diag::Diagnostics;

/// The JSON Schema of the mapping format, for editors (`mappings/schema.json`). Draft-07, the
/// newest draft the YAML language server (VS Code's YAML extension) fully supports.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<model::MappingFile>();
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}
