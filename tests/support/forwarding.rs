//! What the differential tests of `update.forward_patch` share: a shipped mapping without its
//! forwarding, a route with a static token, and the backend call counters.

use scimgate::settings::{AuthSettings, RouteSettings, StaticTokenSettings, TargetSettings};

/// A route to `target` that accepts the static bearer `token`.
pub fn route(target: TargetSettings, token: &str) -> RouteSettings {
    RouteSettings {
        target,
        auth: AuthSettings {
            tokens: vec![StaticTokenSettings {
                name: "idp".into(),
                value: Some(token.into()),
                value_env: None,
                value_file: None,
                sha256: None,
                read_only: false,
            }],
            ..Default::default()
        },
    }
}

/// The shipped mapping `mappings/{name}.yaml` without its `forward_patch` sections (and their
/// steps), so that every PATCH takes the read-modify-write.
pub fn without_forwarding(name: &str) -> String {
    let path = format!("{}/mappings/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = String::new();
    let mut skipping = false;
    for line in src.lines() {
        let indent = line.len() - line.trim_start().len();
        if line.trim_start() == "forward_patch:" {
            skipping = true;
            continue;
        }
        if skipping && (indent > 4 || line.trim().is_empty()) {
            continue;
        }
        skipping = false;
        out.push_str(line);
        out.push('\n');
    }
    assert!(!out.contains("forward_patch:"), "{out}");
    out
}

/// `scimgate_backend_requests_total` of one backend and method, over every status.
pub fn backend_requests(metrics: &str, backend: &str, method: &str) -> u64 {
    let head = format!(r#"scimgate_backend_requests_total{{backend="{backend}",method="{method}","#);
    metrics.lines().filter(|l| l.starts_with(&head)).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum()
}
