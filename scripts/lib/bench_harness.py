"""The e2e test harness (tests/e2e/harness.py) for the bench scripts, set
to the build directory given as their first argument:

  from bench_harness import harness
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/e2e"))
os.environ.setdefault("LB_BIN_DIR", sys.argv[1])
import harness  # noqa: E402,F401

harness.BIN = sys.argv[1]


def record(bench, **figures):
    """Appends one result (JSON: {"bench": bench, **figures}) to the file
    named by BENCH_RESULTS, for scripts/lib/bench_summary.py; nothing when it
    is unset (a bench script run alone)."""
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(dict(bench=bench, **figures)) + "\n")
