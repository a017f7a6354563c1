#!/usr/bin/env python3
"""The alert rules of deploy/observability: `promtool check rules` accepts
the rule file, and `promtool test rules` passes its unit tests
(deploy/observability/tests/*.yaml). Every alert of the rule file is
tested both ways: an evaluation where it fires (with its labels and
annotations) and one where it stays silent at a time past its `for:`, so
that the silence is the expression's and not the wait's. An alert added
without both tests fails here.

promtool is in Debian's prometheus package (scripts/lib/common.sh installs
it): when it is missing this test fails, it does not skip."""
import glob
import os
import re
import shutil
import subprocess

import yaml

from deploy_lib import DEPLOY, check, finish, read, rel

RULES = os.path.join(DEPLOY, "observability", "prometheus-rules.yaml")
TESTS = sorted(glob.glob(os.path.join(DEPLOY, "observability", "tests", "*.yaml")))


def seconds(duration):
    """A Prometheus duration ("1h30m", "10m", "0s") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(duration))
    if not parts or "".join(n + u for n, u in parts) != str(duration):
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * units[u] for n, u in parts)


promtool = shutil.which("promtool")
check(promtool is not None,
      "promtool is installed (Debian package prometheus; scripts/test.sh installs it)")
check(len(TESTS) >= 1, f"unit tests of the rules: {[rel(t) for t in TESTS]}")

if promtool:
    p = subprocess.run([promtool, "check", "rules", RULES], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"promtool check rules {rel(RULES)}"
          + ("" if p.returncode == 0 else f":\n{p.stdout}{p.stderr}"))
    if TESTS:
        p = subprocess.run([promtool, "test", "rules", *TESTS], capture_output=True, text=True,
                           timeout=120)
        check(p.returncode == 0, "promtool test rules: every unit test passes"
              + ("" if p.returncode == 0 else f":\n{p.stdout}{p.stderr}"))

# every alert is tested firing, and silent past its "for:"
alerts = {r["alert"]: seconds(r.get("for", "0s"))
          for g in yaml.safe_load(read(RULES))["groups"] for r in g["rules"] if "alert" in r}
fires, silent = {}, {}
for path in TESTS:
    doc = yaml.safe_load(read(path))
    check(any(os.path.normpath(os.path.join(os.path.dirname(path), f)) == RULES
              for f in doc.get("rule_files", [])),
          f"{rel(path)} tests {rel(RULES)}")
    for t in doc.get("tests", []):
        for a in t.get("alert_rule_test", []):
            name, at = a["alertname"], seconds(a["eval_time"])
            if a.get("exp_alerts"):
                fires.setdefault(name, []).append(at)
            else:
                silent.setdefault(name, []).append(at)
check(len(alerts) >= 8, f"{len(alerts)} alerts in {rel(RULES)}")
for name, wait in sorted(alerts.items()):
    check(name in fires, f"{name}: a unit test where it fires")
    check(any(at >= wait for at in silent.get(name, [])),
          f"{name}: a unit test where it stays silent, evaluated past its for: "
          f"({wait // 60} min)")
unknown = sorted((set(fires) | set(silent)) - set(alerts))
check(not unknown, "the unit tests name only alerts of the rule file"
      + (f" (unknown: {unknown})" if unknown else ""))
finish()
