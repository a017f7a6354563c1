#!/usr/bin/env python3
"""Every YAML and JSON file under deploy/ parses (python3-yaml, json);
every Kubernetes document names its apiVersion, kind and name; the alert
rules and the dashboard are well formed (each rule has an alert, an expr,
a severity; each panel an id of its own; PromQL parentheses balance and
only PromQL's functions are called)."""
import json

import yaml

from deploy_lib import (check, deploy_files, finish, grafana_queries, promql_parse, read, rel,
                        rule_queries)

yamls = deploy_files("*.yaml", "*.yml")
jsons = deploy_files("*.json")
check(len(yamls) >= 10 and len(jsons) >= 1,
      f"deploy/ holds {len(yamls)} YAML and {len(jsons)} JSON files")

docs = {}
for path in yamls:
    try:
        docs[path] = [d for d in yaml.safe_load_all(read(path)) if d is not None]
        check(len(docs[path]) > 0, f"{rel(path)}: parses ({len(docs[path])} documents)")
    except yaml.YAMLError as e:
        check(False, f"{rel(path)}: does not parse: {e}")

parsed_json = {}
for path in jsons:
    try:
        parsed_json[path] = json.loads(read(path))
        check(isinstance(parsed_json[path], (dict, list)) and len(parsed_json[path]) > 0,
              f"{rel(path)}: parses (a non-empty {type(parsed_json[path]).__name__})")
    except ValueError as e:
        check(False, f"{rel(path)}: does not parse: {e}")

# Kubernetes manifests (kustomize's own files and JSON patches aside)
for path, ds in docs.items():
    if "/kubernetes/" not in path:
        continue
    for d in ds:
        if isinstance(d, list):  # a JSON 6902 patch
            check(all(isinstance(op, dict) and op.get("op") in ("add", "replace", "remove")
                      and str(op.get("path", "")).startswith("/") for op in d),
                  f"{rel(path)}: a JSON patch of add/replace/remove operations")
            continue
        ok = isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
        if d.get("kind") != "Kustomization":
            ok = ok and d.get("metadata", {}).get("name")
        check(bool(ok), f"{rel(path)}: {d.get('kind')} {d.get('metadata', {}).get('name', '')} "
              "has apiVersion, kind and name")


def balanced(expr):
    depth = 0
    for ch in expr:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


rules_path = [p for p in yamls if p.endswith("observability/prometheus-rules.yaml")]
dash_path = [p for p in jsons if p.endswith("observability/grafana-dashboard.json")]
check(rules_path and dash_path, "deploy/observability has the alert rules and the dashboard")
queries = []
if rules_path:
    rules = docs[rules_path[0]][0]
    for g in rules.get("groups", []):
        for r in g.get("rules", []):
            check(r.get("alert") and r.get("expr") and
                  r.get("labels", {}).get("severity") in ("critical", "warning", "info") and
                  r.get("annotations", {}).get("summary"),
                  f"rule {r.get('alert')}: alert, expr, severity and summary")
    queries += rule_queries(rules)
if dash_path:
    dash = parsed_json[dash_path[0]]
    ids = []

    def walk(ps):
        for p in ps:
            ids.append(p.get("id"))
            check(isinstance(p.get("gridPos"), dict), f'panel "{p.get("title")}": gridPos')
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    check(len(ids) == len(set(ids)) and None not in ids,
          f"dashboard: {len(ids)} panels, unique ids")
    check(dash.get("uid") and dash.get("title"), "dashboard: uid and title")
    queries += grafana_queries(dash)
for where, expr in queries:
    _, _, _, unknown = promql_parse(expr)
    check(balanced(expr) and not unknown,
          f"{where}: parentheses balance, functions known"
          + (f" (unknown: {sorted(unknown)})" if unknown else ""))
finish()
