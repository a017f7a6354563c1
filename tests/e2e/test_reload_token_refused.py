#!/usr/bin/env python3
"""A reload drains at once when the deliveries wait for a token the LMS
refuses (issue 16, item 6, found by the test review). The customer's
Degreed secret is revoked (lms-sandbox accepts only a new one, its live
tokens expired): the worker's deliveries wait for a token, backing off,
none on the wire. The operator puts the new secret in the @file: the
integration names and sends SIGHUP, the reload being what fixes it: the
drain hands the waiting deliveries back at once instead of holding them
until the 25 s deadline (the drain is timed from the worker's own log
lines and must take under half the deadline), then the worker goes on
with the new secret and delivers every completion, none dead-lettered,
none twice."""
import os
import signal
import sys
import time
from datetime import datetime

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, info,
                     ns, wait_for, wait_progress)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy"))
from deploy_lib import code_defaults  # noqa: E402

OLD = "e2e-refused-old-61"
NEW = "e2e-refused-new-83"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]
N = 30
DEADLINE_S = code_defaults()["shutdown_ms"] / 1000


def delivered():
    return env.state("acme")["degreed"]["completions"]


def token_answers():
    return [r["status"] for r in env.lms_requests("acme") if r["path"].endswith("/oauth/token")]


def write_secret(path, value):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(value + "\n")
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def ts(line):
    return datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


env = Env(TOPICS, [degreed_tenant("acme", OLD)])
try:
    secret_file = os.path.join(env.dir, "acme-degreed.client_secret")
    write_secret(secret_file, OLD)
    integ = degreed_integration(env, "acme-degreed", "acme", "UNUSED").replace(
        '"@env:UNUSED"', f'"@file:{secret_file}"')
    # retries long enough that nothing runs out of them before the reload
    w = env.worker("completion-worker", integ,
                   delivery="backoff_initial_ms = 500; backoff_max_ms = 20000; "
                            "max_attempts = 100;")
    env.produce_many(TOPIC, [("c0", completion("c0", "acme", "c0"))])
    wait_for(lambda: len(delivered()) == 1, 60, "the first completion")

    # the secret is revoked: only a new one is accepted, live tokens expire
    code, _ = env.lms_post("/_sandbox/tenants", degreed_tenant("acme", NEW))
    check(code == 200, f"lms-sandbox: acme accepts only the new secret ({code})")
    code, _ = env.lms_post("/_sandbox/tokens/expire?tenant=acme", {})
    check(code == 200, f"lms-sandbox: acme's live tokens expired ({code})")
    before = len(token_answers())
    env.produce_many(TOPIC, [(f"c{i}", completion(f"c{i}", "acme", f"c{i}"))
                             for i in range(1, N + 1)])
    wait_for(lambda: token_answers()[before:].count(403) >= 2, 120,
             "token requests refused twice")
    waiting = w.metric("lmsbridge_inflight")
    check(waiting == N and len(delivered()) == 1,
          f"the {N} completions wait for a token ({waiting:.0f} in flight, "
          f"{len(delivered()) - 1} delivered)")

    # the operator puts the new secret in place and reloads
    write_secret(secret_file, NEW)
    t0 = time.time()
    w.proc.send_signal(signal.SIGHUP)
    reloaded = wait_for(lambda: [l for l in w.logs() if l.get("msg") == "configuration reloaded"],
                        60, "the reload")
    sighup_s = time.time() - t0
    logs = w.logs()
    start = [l for l in logs if l.get("msg") == "reloading: finishing in-flight work"]
    back = [l for l in logs if l.get("msg") == "reloading: handed back the deliveries not on "
            "the wire"]
    drained = [l for l in logs if l.get("msg") == "drained for the reload"]
    drain_s = round(ts(drained[0]) - ts(start[0]), 3) if start and drained else None
    info(f"reload with the token refused: drain {drain_s} s (deadline {DEADLINE_S:g} s), "
         f"SIGHUP to 'configuration reloaded' {sighup_s:.1f} s; "
         f"handed back at once {[l.get('handed_back') for l in back]}, on the wire "
         f"{[l.get('on_the_wire') for l in back]}")
    # nothing was on the wire, so nothing was left for the deadline to cut
    check(drained and drained[0].get("unfinished_at_deadline") == 0,
          f"the drain did not wait for the deadline ("
          f"{[l.get('unfinished_at_deadline') for l in drained]} unfinished at it)")
    check(back and back[0].get("handed_back") == N and back[0].get("on_the_wire") == 0,
          f"all {N} were handed back, none was on the wire "
          f"({[(l.get('handed_back'), l.get('on_the_wire')) for l in back]})")
    check(reloaded[0].get("kafka") == "same clients, partitions kept",
          f"the clients and partitions are kept ({reloaded[0].get('kafka')})")

    # the handed-back completions come again and go with the new secret
    wait_progress(lambda: len(delivered()), N + 1, "every completion after the reload")
    done = delivered()
    check(len(done) == N + 1 and sum(c["repeats"] for c in done) == 0,
          f"all {N + 1} delivered, none twice ({len(done)})")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    w.stop_and_check()
    log = open(w.log_path).read()
    check(OLD not in log and NEW not in log, "neither secret in the worker's output")
finally:
    env.close()
finish()
