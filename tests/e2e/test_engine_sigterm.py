#!/usr/bin/env python3
"""SIGTERM under load. (1) 8,000 completions stream through (many
deliveries in flight, partitions paused and resumed); SIGTERM in the
middle: the worker stops fetching, finishes what it has in flight, commits
and exits 0 well within its deadline; the committed offsets cover exactly
what was delivered (every event below them delivered, none above), so a
restart delivers the rest and nothing twice. (2) A customer's LMS hangs
(60 s per request, past the 25 s shutdown deadline): SIGTERM still exits 0
within the deadline, hands those deliveries back uncommitted, and the next
worker delivers them; nothing else comes again."""
import signal
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for)

SECRET = "e2e-sigterm-secret-83"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
N = 8000
N_HUNG = 40
DEADLINE_S = 25


def delivered(tenant):
    return {c["attributes"]["user-id"].split("@")[0]: c
            for c in env.state(tenant)["degreed"]["completions"]}


def sigterm(w):
    t = time.time()
    w.proc.send_signal(signal.SIGTERM)
    try:
        rc = w.proc.wait(timeout=DEADLINE_S + 15)
    except Exception:
        w.kill()
        rc = None
    logs = w.logs()
    stopping = [l.get("messages") for l in logs if l.get("msg") ==
                "stopping: finishing in-flight work"]
    stopped = [l.get("handed_back") for l in logs if l.get("msg") == "stopped"]
    return rc, time.time() - t, stopping[0] if stopping else None, \
        stopped[0] if stopped else None


env = Env(TOPICS, [degreed_tenant("acme", SECRET), degreed_tenant("hung", SECRET)])
try:
    env.lms_post("/_sandbox/faults", {"tenant": "acme",
                                      "latency": {"ms": 50, "jitter_ms": 50, "api": "degreed"}})
    integs = ", ".join([
        degreed_integration(env, "acme-degreed", "acme", "SECRET",
                            "rate_limit_per_minute = 0; max_in_flight = 128;"),
        degreed_integration(env, "hung-degreed", "hung", "SECRET")])
    env.produce_many(TOPIC, [(f"a{i}", completion(f"a{i}", "acme", f"a{i}"))
                             for i in range(N)])
    where = {r["key"]: (r["partition"], r["offset"]) for r in env.consume_all(TOPIC)}
    parts = sorted({p for p, _ in where.values()})

    # (1) under load
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    wait_for(lambda: len(delivered("acme")) >= N // 4, 60, "a quarter delivered")
    rc, secs, in_flight, handed_back = sigterm(w)
    n1 = len(delivered("acme"))
    print(f"SIGTERM with {in_flight} messages in flight; {n1} delivered; handed back "
          f"{handed_back}", flush=True)
    check(rc == 0 and secs < DEADLINE_S, f"under load: exit 0 in {secs:.1f}s "
          f"(deadline {DEADLINE_S} s)")
    check(in_flight and in_flight > 100, f"it was under load: {in_flight} messages in flight")
    check(handed_back == 0, "it finished everything it had in flight")
    check(n1 < N, f"stopped in the middle of the stream ({n1}/{N})")
    committed = env.committed(GROUP, TOPIC, parts)
    got = delivered("acme")
    below = {k for k, (p, o) in where.items() if o < committed.get(p, -1)}
    check(set(got) == below, f"the committed offsets {committed} cover exactly the "
          f"{len(got)} delivered events ({len(below - set(got))} committed but not "
          f"delivered, {len(set(got) - below)} delivered but not committed)")

    w2 = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    wait_for(lambda: len(delivered("acme")) == N, 60, "the rest delivered")
    ends = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(GROUP, TOPIC, parts) == ends, 10, "committed to the end")
    got = delivered("acme")
    check(len(got) == N and sum(c["repeats"] for c in got.values()) == 0,
          f"restart: all {N} delivered, nothing twice")
    check(w2.metric("lmsbridge_events_consumed_total", topic=TOPIC) == N - len(below),
          "restart: consumed exactly what was not committed")

    # (2) a customer's LMS hangs past the deadline
    env.lms_post("/_sandbox/faults", {"tenant": "hung",
                                      "latency": {"ms": 60000, "api": "degreed"}})
    hung = [(f"h{i}", completion(f"h{i}", "hung", f"h{i}")) for i in range(N_HUNG)]
    env.produce_many(TOPIC, hung)
    where.update({r["key"]: (r["partition"], r["offset"]) for r in env.consume_all(TOPIC)
                  if r["key"].startswith("h")})
    wait_for(lambda: w2.metric("lmsbridge_inflight") >= N_HUNG, 20,
             "the hung deliveries in flight")
    rc, secs, in_flight, handed_back = sigterm(w2)
    check(rc == 0 and secs < DEADLINE_S + 3,
          f"LMS hung: exit 0 in {secs:.1f}s, at the {DEADLINE_S} s deadline")
    check(secs > DEADLINE_S - 3, "it waited for the deadline before handing back")
    # the "stopped" log line counts only the messages whose request was
    # still on the wire (16, the integration's max_in_flight), not those
    # cancelled while queued: the offsets below say what was handed back
    check(handed_back and 1 <= handed_back <= N_HUNG,
          f"it reports unfinished messages handed back ({handed_back})")
    first_hung = {}
    for k, (p, o) in where.items():
        if k.startswith("h"):
            first_hung[p] = min(o, first_hung.get(p, o))
    committed = env.committed(GROUP, TOPIC, parts)
    check(all(committed[p] == first_hung.get(p, ends[p]) for p in parts),
          f"committed offsets {committed} stop at the first unfinished message "
          f"{first_hung}")

    env.lms_post("/_sandbox/faults", {"tenant": "hung", "latency": None})
    w3 = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    wait_for(lambda: w3.metric("lmsbridge_deliveries_total", integration="hung-degreed",
                               outcome="success") == N_HUNG, 40, "the hung ones delivered")
    check(len(delivered("hung")) == N_HUNG, f"after the restart the {N_HUNG} are delivered")
    check(w3.metric("lmsbridge_events_consumed_total", topic=TOPIC) == N_HUNG and
          sum(c["repeats"] for c in delivered("acme").values()) == 0,
          "only the handed-back messages came again")
    w3.stop_and_check("the last worker")
finally:
    env.close()
finish()
