#!/usr/bin/env python3
"""No loss under faults: 20,000 completion events for two customers while
their LMS answers with random faults (503s, 429s with Retry-After, 500s,
connection resets, latency with requests timing out, a short outage), the
faults changing half way. Degreed's 503 means "come back in 30-120 s":
those deliveries are parked in the retry topic and come back from it. Every event ends delivered (the LMS state) or
dead-lettered (the DLQ topic), accounted for by event id: nothing lost,
nothing in both places, nothing dead-lettered that should have been
delivered; the group's offsets end committed at the end of every
partition."""
import json
import random
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, http, ns, wait_for, wait_progress)

SECRET = "e2e-noloss-secret-18"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
TENANTS = ["alpha", "beta"]
N_GOOD = 9970      # per tenant, known learners (20,000 events in all)
N_UNKNOWN = 15     # per tenant, learners the LMS does not know: 400, dead-lettered
N_INVALID = 30     # invalid events, dead-lettered without any request
TOTAL = len(TENANTS) * (N_GOOD + N_UNKNOWN) + N_INVALID

rng = random.Random(5)
events = []        # (event id = key = user id, value, expected fate, tenant)
for t in TENANTS:
    events += [(f"{t}-{i}", None, "delivered", t) for i in range(N_GOOD)]
    events += [(f"{t}-x{i}", None, "permanent_http", t) for i in range(N_UNKNOWN)]
events += [(f"inv-{i}", None, "invalid_event", None) for i in range(N_INVALID)]
rng.shuffle(events)
records = []
for n, (eid, _, fate, tenant) in enumerate(events):
    if fate == "invalid_event" and n % 2:    # an unknown content type
        value = completion(eid, "alpha", eid).replace('"course"', '"webinar"')
    elif fate == "invalid_event":            # required fields missing
        value = '{"schema":"completion.v1","event_id":"%s"}' % eid
    else:
        value = completion(eid, tenant, eid, content=str(rng.randrange(50)))
    records.append((eid, value))
fate = {eid: f for eid, _, f, _ in events}

OUTAGE = {"seconds": 5, "status": 502, "api": "degreed"}
FAULTS_1 = {
    "alpha": {"error_rate": {"rate": 0.1, "status": 503, "api": "degreed"},
              "connection_reset": {"rate": 0.05, "api": "degreed"},
              "latency": {"ms": 0, "jitter_ms": 1150, "api": "degreed"}},
    "beta": {"error_rate": {"rate": 0.01, "status": 429, "retry_after": 1, "api": "degreed"},
             "connection_reset": {"rate": 0.03, "api": "degreed"},
             "latency": {"ms": 5, "jitter_ms": 40, "api": "degreed"}},
}
FAULTS_2 = {
    "alpha": {"error_rate": {"rate": 0.01, "status": 429, "retry_after": 1, "api": "degreed"},
              "latency": {"ms": 5, "jitter_ms": 40, "api": "degreed"}},
    # a 5 s outage (Retry-After: the seconds left), set again until it was
    # seen to answer: one window could pass while every beta delivery waits
    "beta": {"error_rate": {"rate": 0.1, "status": 500, "api": "degreed"},
             "outage": OUTAGE,
             "latency": {"ms": 0, "jitter_ms": 1150, "api": "degreed"}},
}


def outage_seen(tenant):
    """True once the tenant's outage has answered a request; sets the outage
    again when its window ended unseen."""
    code, body = http("GET", f"{env.lms_url}/_sandbox/faults?tenant={tenant}")
    faults = json.loads(body)["tenants"][tenant]
    if faults["stats"]["outage_responses"] > 0:
        return True
    if not faults.get("outage", {}).get("active"):
        env.lms_post("/_sandbox/faults", {"tenant": tenant, "outage": OUTAGE})
    return False


def delivered():
    out = {}
    for t in TENANTS:
        for c in env.state(t)["degreed"]["completions"]:
            out[c["attributes"]["user-id"].split("@")[0]] = c
    return out


known = {t: [f"{e[0]}@{t}.example" for e in events if e[3] == t and e[2] == "delivered"]
         for t in TENANTS}
env = Env(TOPICS, [degreed_tenant(t, SECRET, users=known[t]) for t in TENANTS])
try:
    for t in TENANTS:
        env.lms_post("/_sandbox/faults", dict(tenant=t, **FAULTS_1[t]))
    integs = ", ".join(degreed_integration(env, f"{t}-degreed", t, "SECRET",
                                           "rate_limit_per_minute = 0; max_in_flight = 64;")
                       for t in TENANTS)
    # requests time out after 1 s (the latency above passes that now and
    # then); short back-off keeps the run short
    delivery = ("backoff_initial_ms = 50; backoff_max_ms = 1000; request_timeout_ms = 1000;"
                " max_attempts = 20;")
    env.produce_many(TOPIC, records)
    start = time.time()
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET}, delivery=delivery)

    n_deliver = len(TENANTS) * N_GOOD
    # waits fail only when nothing moves for a minute: ASan on a busy
    # machine is slow, not stuck
    wait_progress(lambda: len(delivered()), n_deliver // 2, "half of the deliveries", interval=1)
    for t in TENANTS:
        env.lms_post("/_sandbox/faults", dict(tenant=t, **{
            k: FAULTS_2[t].get(k) for k in set(FAULTS_1[t]) | set(FAULTS_2[t])}))
    wait_for(lambda: outage_seen("beta"), 300, "the outage's first 502", interval=0.5)
    n_dead = TOTAL - n_deliver
    try:
        wait_progress(lambda: min(len(delivered()), n_deliver) +
                      min(len(env.consume_all(f"{TOPIC}.dlq")), n_dead),
                      n_deliver + n_dead, "every event delivered or dead-lettered",
                      stall=180, interval=1)  # parked 503s wait up to 120 s
    except TimeoutError as e:
        print(e)
    elapsed = time.time() - start
    for t in TENANTS:
        env.lms_post("/_sandbox/faults", dict(tenant=t, **{
            k: None for k in set(FAULTS_1[t]) | set(FAULTS_2[t])}))
    # every record of the source and retry topics finished and committed,
    # nothing in flight: what the LMS and the DLQ hold is final
    finished(env, GROUP, [TOPIC, f"{TOPIC}.retry"], [w], timeout=300)

    got = delivered()
    dlq = env.consume_all(f"{TOPIC}.dlq")
    dlq_ids = [r["key"] for r in dlq]
    by_id = {r["key"]: r for r in dlq}
    accounted = set(got) | set(dlq_ids)
    lost = [e for e in fate if e not in accounted]
    check(not lost, f"all {TOTAL} events accounted for in {elapsed:.0f}s "
          f"(lost: {len(lost)} {sorted(lost)[:10]})")
    check(set(got) == {e for e, f in fate.items() if f == "delivered"},
          f"every known learner's completion delivered ({len(got)}/{n_deliver})")
    wrong = [e for e in dlq_ids if fate.get(e) == "delivered"]
    check(not wrong, f"nothing deliverable dead-lettered ({len(wrong)}: "
          f"{[(e, by_id[e]['headers'].get('__connect.errors.exception.message')) for e in wrong[:5]]})")
    check(len(dlq_ids) == len(set(dlq_ids)), f"no dead letter written twice ({len(dlq_ids)})")
    check(all(by_id[e]["headers"].get("__connect.errors.exception.class.name") == f
              for e, f in fate.items() if f != "delivered" and e in by_id) and
          set(dlq_ids) == {e for e, f in fate.items() if f != "delivered"},
          f"the {n_dead} dead letters: unknown learners (permanent_http) and invalid events")
    values = dict(records)
    check(all(r["payload"] == values[r["key"]] for r in dlq),
          "dead letters keep the original value byte for byte")
    ends = env.end_offsets(TOPIC)
    try:
        wait_for(lambda: env.committed(GROUP, TOPIC, sorted(ends)) == ends, 60,
                 "offsets committed to the end")
    except TimeoutError:
        pass
    committed = env.committed(GROUP, TOPIC, sorted(ends))
    check(committed == ends, f"committed offsets at the end of every partition {ends}")

    # the faults were there and the engine went through them
    statuses = {}
    for t in TENANTS:
        for r in env.lms_requests(t):
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    print("LMS answers:", statuses)
    check(statuses.get(503, 0) >= 10 and statuses.get(429, 0) >= 5 and
          statuses.get(500, 0) >= 5 and statuses.get(502, 0) >= 1 and
          statuses.get(None, 0) >= 20,
          "the LMS answered 503, 429, 500, 502 and reset connections")
    parked = env.consume_all(f"{TOPIC}.retry")
    check(len(parked) >= 20 and all(r["key"] in got or r["key"] in by_id for r in parked),
          f"{len(parked)} deliveries parked in the retry topic (503), all delivered from it")
    retried = sum(w.metric("lmsbridge_deliveries_total", integration=f"{t}-degreed",
                           outcome="retried") for t in TENANTS)
    timeouts = sum(w.metric("lmsbridge_http_requests_total", integration=f"{t}-degreed",
                            code="none") for t in TENANTS)
    check(retried > 100 and timeouts > 20,
          f"metrics: {retried:.0f} retries, {timeouts:.0f} requests without an answer "
          "(resets, time-outs)")
    check(w.metric("lmsbridge_events_consumed_total", topic=TOPIC) == TOTAL,
          f"metric: {TOTAL} events consumed")
    rc, secs = w.stop()
    check(rc == 0, f"worker exits 0 ({secs:.1f}s)")
finally:
    env.close()
finish()
