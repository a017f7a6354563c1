#!/usr/bin/env python3
"""SIGTERM under load. (1) 8,000 completions stream through (many
deliveries in flight, partitions paused and resumed); SIGTERM in the
middle: the worker stops fetching, hands back at once the deliveries that
are not on the wire (here: those waiting for one of the integration's 128
concurrency slots), finishes the requests on the wire, commits and exits
0 well within its deadline; the committed offsets cover exactly what was
delivered (every event below them delivered, none above), so a restart
delivers the rest and nothing twice. (2) A customer's LMS hangs (60 s per
request, past the 25 s shutdown deadline): the 16 requests on the wire are
waited for (until their 20 s request timeout ends them, within the
deadline), the 24 deliveries behind them go back at once; SIGTERM exits 0
within the deadline, hands all 40 back uncommitted, and the next worker
delivers them; nothing else comes again."""
import signal
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, info,
                     ns, wait_for, wait_progress)

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
        rc = w.proc.wait(timeout=DEADLINE_S + 60)
    except Exception:
        w.kill()
        rc = None
    logs = w.logs()
    stopping = [l.get("messages") for l in logs if l.get("msg") ==
                "stopping: finishing in-flight work"]
    stopped = [l for l in logs if l.get("msg") == "stopped"]
    at_once = [(l.get("handed_back"), l.get("on_the_wire")) for l in logs if l.get("msg") ==
               "stopping: handed back the deliveries not on the wire"]
    return rc, time.time() - t, stopping[0] if stopping else None, \
        stopped[0].get("handed_back") if stopped else None, \
        stopped[0].get("unfinished_at_deadline") if stopped else None, \
        at_once[0] if at_once else (None, None), \
        stopped[0].get("consumed") if stopped else None


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
    rc, secs, in_flight, handed_back, cut, (at_once, on_wire), taken = sigterm(w)
    n1 = len(delivered("acme"))
    info(f"SIGTERM with {in_flight} messages in flight: {on_wire} requests on the wire, "
         f"{at_once} messages handed back at once, {handed_back} in all; exit in {secs:.1f} s; "
         f"{n1} delivered")
    check(rc == 0, f"under load: exit 0 ({secs:.1f} s, deadline {DEADLINE_S} s)")
    check(in_flight and in_flight > 100, f"it was under load: {in_flight} messages in flight")
    check(cut == 0 and on_wire and 0 < on_wire <= 128 and at_once == handed_back,
          f"it finished the requests on the wire ({on_wire}) and handed the rest back at once "
          f"({at_once}); none was cut at the deadline ({cut})")
    check(n1 < N, f"stopped in the middle of the stream ({n1}/{N})")
    check(taken == n1 + handed_back,
          f"its \"stopped\" line counts every record it took: {taken} consumed = {n1} "
          f"delivered + {handed_back} handed back")
    committed = env.committed(GROUP, TOPIC, parts)
    got = delivered("acme")
    below = {k for k, (p, o) in where.items() if o < committed.get(p, -1)}
    check(set(got) == below, f"the committed offsets {committed} cover exactly the "
          f"{len(got)} delivered events ({len(below - set(got))} committed but not "
          f"delivered, {len(set(got) - below)} delivered but not committed)")

    w2 = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    wait_progress(lambda: len(delivered("acme")), N, "the rest delivered")
    ends = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(GROUP, TOPIC, parts) == ends, 60, "committed to the end")
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
    wait_for(lambda: w2.metric("lmsbridge_inflight") >= N_HUNG, 60,
             "the hung deliveries in flight")
    rc, secs, in_flight, handed_back, cut, (at_once, on_wire), taken = sigterm(w2)
    info(f"LMS hung: SIGTERM with {in_flight} messages in flight, {on_wire} requests on the "
         f"wire, {at_once} handed back at once; exit in {secs:.1f} s")
    check(rc == 0, f"LMS hung: exit 0 ({secs:.1f} s, deadline {DEADLINE_S} s)")
    # 16: the integration's max_in_flight; the others waited for a slot
    check(on_wire == 16 and at_once == N_HUNG - 16,
          f"the {N_HUNG - 16} deliveries waiting for a slot went back at once ({at_once}), the "
          f"16 on the wire were waited for ({on_wire})")
    check(secs > 5, f"it waited for the requests on the wire before handing them back "
          f"({secs:.1f} s: their 20 s request timeout, or the deadline)")
    check(handed_back == N_HUNG,
          f"it reports every hung message handed back ({handed_back}; cut at the deadline: "
          f"{cut})")
    check(taken == N - len(below) + N_HUNG,
          f"its \"stopped\" line counts every record it took ({taken}: the "
          f"{N - len(below)} left by the first worker and the {N_HUNG} hung ones)")
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
