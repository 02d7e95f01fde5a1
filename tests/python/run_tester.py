"""Run a third-party SCIM conformance tester against a SCIM base URL and print
its per-check results as one JSON document on stdout.

Usage:
    run_tester.py scim2-tester --url URL --token TOKEN
    run_tester.py scim-sanity  --url URL --token TOKEN

Output shape (shared by both testers so the Rust side parses one format):

    {"tool": "scim2-tester", "version": "0.5.2",
     "checks": [{"id": "...", "status": "pass" | "fail" | "skip", "detail": "..."}]}

A check id is stable across runs: resource ids are replaced by "{id}", and
results a tester reports several times under one name are merged, the worst
status winning. Anything a tester does not call a plain success or a skip
(warnings, SHOULD-level deviations, errors) is reported as "fail", so that a
regression from "pass" to "warning" is visible too.
"""

import argparse
import json
import re
import sys
from importlib.metadata import version

# Severity order used when several raw results share one check id.
_RANK = {"pass": 0, "skip": 1, "fail": 2}


class Checks:
    """Collects results under stable ids, merging duplicates."""

    def __init__(self):
        self._order = []
        self._by_id = {}

    def add(self, check_id, status, detail):
        detail = (detail or "").strip()
        entry = self._by_id.get(check_id)
        if entry is None:
            entry = {"id": check_id, "status": status, "detail": detail}
            self._by_id[check_id] = entry
            self._order.append(check_id)
            return
        if _RANK[status] > _RANK[entry["status"]]:
            entry["status"] = status
        if detail and detail not in entry["detail"]:
            entry["detail"] = f"{entry['detail']} | {detail}" if entry["detail"] else detail

    def as_list(self):
        return [self._by_id[i] for i in self._order]


def run_scim2_tester(url, token):
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    passing = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
    http = httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    results = check_server(SyncSCIMClient(http))
    checks = Checks()
    seen = {}
    for result in results:
        base = result.title or "unnamed"
        if result.resource_type:
            base = f"{base}[{result.resource_type}]"
        data = result.data if isinstance(result.data, dict) else {}
        if data.get("urn"):
            base = f"{base} {data['urn']}"
        # Some checkers report several sub-results with nothing but their
        # position to tell them apart (e.g. one per HTTP method tried).
        seen[base] = seen.get(base, 0) + 1
        check_id = base if seen[base] == 1 else f"{base} #{seen[base]}"
        if result.status in passing:
            status = "pass"
        elif result.status == Status.SKIPPED:
            status = "skip"
        else:
            status = "fail"
        detail = f"{result.status.name}: {result.reason or ''}"
        checks.add(check_id, status, detail)
    return {"tool": "scim2-tester", "version": version("scim2-tester"), "checks": checks.as_list()}


_RESOURCE_PATH = re.compile(r"(/(?:Users|Groups|Agents|AgenticApplications))/[^\s/?]+")


def run_scim_sanity(url, token):
    from scim_sanity.probe.runner import run_probe_api

    report = run_probe_api(url, token=token, strict=True, timeout=30)
    checks = Checks()
    for result in report.get("results", []):
        name = result.get("name", "unnamed")
        phase = result.get("phase", "")
        if phase == "Cleanup":
            # One result per created resource, named after its server-assigned id.
            name = _RESOURCE_PATH.sub(r"\1/{id}", name)
        check_id = f"{phase}: {name}" if phase else name
        raw = result.get("status", "error")
        status = {"pass": "pass", "skip": "skip"}.get(raw, "fail")
        detail = f"{raw}: {result.get('message', '')}"
        checks.add(check_id, status, detail)
    return {"tool": "scim-sanity", "version": version("scim-sanity"), "checks": checks.as_list()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=["scim2-tester", "scim-sanity"])
    parser.add_argument("--url", required=True, help="SCIM base URL, e.g. http://127.0.0.1:8080/main/scim/v2")
    parser.add_argument("--token", required=True, help="bearer token")
    args = parser.parse_args()
    runner = run_scim2_tester if args.tool == "scim2-tester" else run_scim_sanity
    # Testers may print progress of their own; keep stdout for the JSON document.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        report = runner(args.url, args.token)
    finally:
        sys.stdout = real_stdout
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
