//! The shipped mappings, compiled into the binary so `file: builtin:NAME` works with no files
//! on disk (the demo, a container without a mounted mapping).

/// Name and YAML source of every shipped mapping.
pub const BUILTIN: [(&str, &str); 4] = [
    ("openmetadata", include_str!("../../mappings/openmetadata.yaml")),
    ("collibra", include_str!("../../mappings/collibra.yaml")),
    ("datahub", include_str!("../../mappings/datahub.yaml")),
    ("scim", include_str!("../../mappings/scim.yaml")),
];

/// The prefix of a mapping `file` setting that names a shipped mapping.
pub const PREFIX: &str = "builtin:";

/// The source of the shipped mapping `name`.
pub fn source(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Loads `file`: a shipped mapping when it reads `builtin:NAME`, otherwise a file on disk.
pub fn load(file: &std::path::Path) -> Result<(super::CompiledMapping, super::Diagnostics), super::Diagnostics> {
    let text = file.to_string_lossy();
    match text.strip_prefix(PREFIX) {
        Some(name) => match source(name) {
            Some(src) => super::compile_str(&format!("{PREFIX}{name}"), src),
            None => {
                let mut d = super::Diagnostics::new(&text, std::sync::Arc::from(""));
                let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                d.general(format!("no shipped mapping is named `{name}` (shipped: {})", known.join(", ")));
                Err(d)
            }
        },
        None => super::load(file),
    }
}
