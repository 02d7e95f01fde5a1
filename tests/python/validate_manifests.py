"""Renders the kustomize overlays under deploy/kubernetes and validates every resource against
the Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields are errors).

The overlays only list `resources:` (no patches or generators), so rendering is following those
lists; `kubectl apply -k` renders the same documents. Prints a JSON report:
{"overlays": {name: [{"kind", "name", "errors": [...]}]}, "configmaps": {name: {key: text}}}.
"""
import json
import os
import sys

import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33.0"


def render(directory):
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    unknown = set(kustomization) - {"apiVersion", "kind", "resources"}
    if unknown:
        raise SystemExit(f"{directory}: the renderer does not support {sorted(unknown)}")
    docs = []
    for entry in kustomization.get("resources", []):
        path = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(path):
            docs.extend(render(path))
        else:
            with open(path) as f:
                docs.extend(d for d in yaml.safe_load_all(f) if d)
    return docs


def main():
    root = sys.argv[1]
    report = {"overlays": {}, "configmaps": {}}
    overlays = os.path.join(root, "overlays")
    for name in sorted(os.listdir(overlays)):
        results = []
        for doc in render(os.path.join(overlays, name)):
            errors = []
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as e:
                errors.append(str(e.message))
            except Exception as e:  # an unknown kind or version is a failure too
                errors.append(f"{type(e).__name__}: {e}")
            results.append({"kind": doc.get("kind"), "name": doc["metadata"]["name"], "errors": errors})
            if doc.get("kind") == "ConfigMap":
                report["configmaps"][doc["metadata"]["name"]] = doc.get("data", {})
            if doc.get("kind") == "Deployment":
                for c in doc["spec"]["template"]["spec"]["containers"]:
                    if c["name"] == "scimgate":
                        env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
                        report.setdefault("scimgate_env", {})[name] = env
        report["overlays"][name] = results
    print(json.dumps(report))


if __name__ == "__main__":
    main()
