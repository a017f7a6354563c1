#!/usr/bin/env python3
"""Pretty-prints the JSON lines of a worker's --map output for people."""
import json
import sys

for raw in sys.stdin:
    r = json.loads(raw)
    where = "line %s: %s" % (r["line"], r.get("integration", "-"))
    if "dead_letter" in r:
        print("  %s: DEAD LETTER (%s): %s" % (where, r["dead_letter"], r["reason"]))
    elif "skip" in r:
        print("  %s: skipped: %s" % (where, r["skip"]))
    else:
        print("  %s: %s: %s %s" % (where, r["step"], r["method"], r["url"]))
        if r.get("body") is not None:
            body = json.dumps(r["body"])
            print("      " + (body if len(body) <= 300 else body[:300] + "..."))
