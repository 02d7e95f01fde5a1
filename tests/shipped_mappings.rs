//! Every mapping shipped in `mappings/` loads and compiles without errors or warnings.

use std::path::Path;

#[test]
fn every_shipped_mapping_compiles_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("mappings/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        seen += 1;
        match scimgate::mapping::load(&path) {
            Ok((_, warnings)) => assert!(warnings.items.is_empty(), "{}:\n{}", path.display(), warnings.render()),
            Err(d) => panic!("{}", d.render()),
        }
    }
    assert!(seen >= 4, "expected the four shipped mappings, found {seen}");
}
