#!/usr/bin/env python3
"""completion-worker to a real LRS no one here wrote: Learning Locker's
statement service (real_lrs.py), on the e2e harness's Kafka sandbox.

Completions become statements the LRS accepts; each is read back with
GET ?statementId=<its UUID v5> and is what docs/mapping.md says (actor,
activity, result, platform); every statement read back passes Learning
Locker's xapi-validation; a tested-out completion is not sent; a dead letter
of a delivered completion replayed with dlq-replay is answered 204 or 409
(success or outcome=repeat) and the LRS holds no second statement.

LB_LRS_REAL=0 skips (77); a failed npm install fails the test.
Environment (ctest): LB_BIN_DIR."""
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

if os.environ.get("LB_LRS_REAL", "1") == "0":
    print("SKIP: LB_LRS_REAL=0 switches the real-LRS tests off", flush=True)
    sys.exit(77)

import real_lrs  # noqa: E402
from harness import (ACTIVITY_IRI_BASE, Env, check, completion, dead_letter_headers,  # noqa: E402
                     dlq_replay, finish, ns, produce_to, wait_for, worker_config_path)

TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{DLQ}:1"]
INTEG = "hooli-lrs"
SENT = ["r1", "r2", "r3", "r4"]


def statement_id(event_id):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lmsbridge:{INTEG}:{event_id}"))


def read_back(lrs, event_id):
    status, _, body = lrs.request("GET", f"/statements?statementId={statement_id(event_id)}")
    return json.loads(body) if status == 200 else None


def all_statements(lrs):
    status, _, body = lrs.request("GET", "/statements?limit=1000")
    return json.loads(body).get("statements", []) if status == 200 else None


def delivered(w):
    return sum(w.metric("lmsbridge_deliveries_total", integration=INTEG, outcome=o) or 0
               for o in ("success", "repeat"))


env = Env(TOPICS, [])
lrs = None
try:
    lrs = real_lrs.RealLRS(os.path.join(env.dir, "lrs")).start()
    print(f"INFO: Learning Locker's statement service ready in {lrs.ready_seconds:.1f}s "
          f"at {lrs.endpoint}", flush=True)
    integ = (f'{{ id = "{INTEG}"; type = "xapi"; organization = "hooli";'
             f' endpoint = "{lrs.endpoint}"; auth = "basic"; username = "{lrs.key}";'
             f' password = "@env:LRS_SECRET"; }}')
    w = env.worker("completion-worker", integ, env={"LRS_SECRET": lrs.secret})
    events = [
        ("u1", completion("r1", "hooli", "u1", "11", duration_hours=1.25)),
        ("u2", completion("r2", "hooli", "u2", "12", "assessment", score=67.5)),
        ("u3", completion("r3", "hooli", "u3", "13", "project", duration_hours=0.01)),
        ("u4", completion("r4", "hooli", "u4", "14", "practice",
                          completed_at="2026-02-03T04:05:06.789+01:00")),
        ("u5", completion("r5", "hooli", "u5", "15", skipped=True)),
    ]
    env.produce(TOPIC, [(k, v, None) for k, v in events])
    wait_for(lambda: all(read_back(lrs, e) for e in SENT), 120, "the statements in the LRS")

    got = {e: read_back(lrs, e) for e in SENT}
    check(all(got[e] and got[e].get("id") == statement_id(e) for e in SENT),
          "the LRS accepted every statement and GET ?statementId= returns it")
    s2 = got["r2"] or {}
    check(s2.get("actor") == {"objectType": "Agent", "mbox": "mailto:u2@hooli.example"} and
          s2.get("verb", {}).get("id") == "http://adlnet.gov/expapi/verbs/completed" and
          s2.get("object", {}).get("id") == f"{ACTIVITY_IRI_BASE}/assessment/12" and
          s2.get("result", {}).get("score") == {"scaled": 0.675, "raw": 67.5, "min": 0,
                                                "max": 100} and
          s2.get("context", {}).get("platform") == "datacamp",
          f"an assessment statement read back from the LRS ({s2})")
    ok, lines = real_lrs.validate([got[e] for e in SENT])
    check(ok, "every statement read back passes xapi-validation" +
          ("" if ok else ": " + " | ".join(lines[-5:])))
    stored = all_statements(lrs)
    check(stored is not None and len(stored) == len(SENT),
          f"a tested-out completion is not sent: {len(SENT)} statements in the LRS")
    wait_for(lambda: delivered(w) == len(SENT), 60, "the delivery counts")

    # a dead letter of a completion the LRS holds, replayed
    r1 = next(r for r in env.consume_all(TOPIC) if r["key"] == "u1")
    produce_to(env, DLQ, 0, [("u1", r1["payload"], dead_letter_headers(
        TOPIC, r1["partition"], r1["offset"], "retries_exhausted",
        "no response (network error or timeout)", INTEG))])
    rc, _, err = dlq_replay("replay", "--config", worker_config_path(w), "--worker",
                            "completion-worker", "--yes", env={"LRS_SECRET": lrs.secret})
    check(rc == 0, "dlq-replay replays the dead letter")
    wait_for(lambda: delivered(w) == len(SENT) + 1, 60, "the replayed delivery")
    repeat = w.metric("lmsbridge_deliveries_total", integration=INTEG, outcome="repeat") or 0
    print(f"INFO: the LRS answered the replay with {'409 (repeat)' if repeat else '204'}",
          flush=True)
    stored = all_statements(lrs)
    check(stored is not None and len(stored) == len(SENT) and read_back(lrs, "r1") == got["r1"]
          and len(env.consume_all(DLQ)) == 1,
          "the replay gave no second statement and no new dead letter")
    text = open(w.log_path).read()
    check(lrs.secret not in text and lrs.secret not in err, "no LRS secret in the logs")
    w.stop_and_check()
finally:
    if lrs:
        lrs.stop()
    env.close()
finish()
