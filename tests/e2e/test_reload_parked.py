#!/usr/bin/env python3
"""A reload that keeps the partitions loses nothing it had consumed but not
finished: records of the retry topic waiting for their not-before are
handed back at the reload (their offsets are not committed), and the worker,
which keeps its partitions, fetches them again from the committed offset,
holds them again and delivers them once the customer is back. A customer
answers 429 with Retry-After 35 s (past the 30 s parking threshold): its
completions are parked, consumed back from the retry topic and held; then a
SIGHUP; then the customer recovers: every completion is delivered, once."""
import signal

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, ns, settle, wait_for)

SECRET = "e2e-reloadparked-secret-10"
TOPIC = ns("completion-events")
RETRY = f"{TOPIC}.retry"
N = 5

env = Env([f"{TOPIC}:2", f"{RETRY}:2", f"{TOPIC}.dlq:1"], [degreed_tenant("slow", SECRET)])
try:
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": {
        "rate": 1, "status": 429, "retry_after": 35, "api": "degreed"}})
    integ = degreed_integration(env, "slow-degreed", "slow", "SECRET")
    w = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    env.produce_many(TOPIC, [(f"s{i}", completion(f"s{i}", "slow", f"s{i}")) for i in range(N)])
    wait_for(lambda: w.metric("lmsbridge_events_consumed_total", topic=RETRY) >= N, 60,
             "the parked records consumed back from the retry topic")
    check(w.metric("lmsbridge_deliveries_total", integration="slow-degreed",
                   outcome="parked") == N and
          len(env.state("slow")["degreed"]["completions"]) == 0,
          f"{N} completions parked and held, none delivered")

    w.proc.send_signal(signal.SIGHUP)  # the same file: a valid reload
    reloaded = wait_for(lambda: [l for l in w.logs() if l.get("msg") == "configuration reloaded"],
                        30, "the reload")
    check(reloaded[0].get("kafka") == "same clients, partitions kept",
          "the reload keeps the partitions")
    # the held records were handed back and are fetched again
    refetched = settle(lambda: w.metric("lmsbridge_events_consumed_total", topic=RETRY),
                       lambda n: n >= 2 * N, 120)
    check(refetched == 2 * N,
          f"the {N} records held at the reload are fetched again, each once "
          f"({refetched:.0f} consumed from the retry topic)")
    # from the committed offset: the held records' offsets were not committed
    # (the worker still holds them: Retry-After 35 s), so their fetch again
    # starts there
    end = env.end_offsets(RETRY)
    committed = env.committed(ns("completion-worker"), RETRY, sorted(end))
    pending = sum(end[p] - max(committed.get(p, -1), 0) for p in end)
    check(pending == N, f"the held records are past the retry topic's committed offsets "
          f"({pending} of {N}: end {end}, committed {committed})")

    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": None})
    wait_for(lambda: len(env.state("slow")["degreed"]["completions"]) == N, 120,
             "the parked completions delivered")
    finished(env, ns("completion-worker"), [TOPIC, RETRY], [w])   # the LMS state is final
    done = env.state("slow")["degreed"]["completions"]
    check(len(done) == N and sum(c["repeats"] for c in done) == 0,
          f"after the customer recovers every parked completion is delivered, once ({len(done)})")
    check(not any(l.get("msg", "").startswith("partitions revoked") for l in w.logs()),
          "no partition was revoked")
    w.stop_and_check()
finally:
    env.close()
finish()
