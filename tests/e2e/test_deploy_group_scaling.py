#!/usr/bin/env python3
"""The restart procedure of deploy/README.md ("Restarting or replacing one
member"), on kafka-sandbox: three completion-worker processes form one
consumer group; while a steady stream of completions is produced, one
member is stopped with SIGTERM (what `systemctl stop`, `kubectl delete pod`
and a rolling update send), exits 0 within the deadline, and is started
again; it rejoins the group, gets partitions back and is ready. Nothing is
lost: every event id produced is recorded by lms-sandbox, nothing is
dead-lettered, the group's offsets end committed at the end of every
partition and its lag at 0. (At least once: a record consumed but not yet
committed when the group rebalances may be delivered twice; the count is
printed, not asserted.)"""
import os
import signal
import sys
import threading
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy"))
from deploy_lib import code_defaults  # noqa: E402

SECRET = "e2e-deploy-scaling-secret-83"
TOPIC = ns("completion-events")
PARTITIONS = 6
TOPICS = [f"{TOPIC}:{PARTITIONS}", f"{TOPIC}.retry:{PARTITIONS}", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
# the stream runs until the restarted member is back (at least MIN_BATCHES,
# at most MAX_BATCHES): on a slow machine the procedure takes longer, the
# stream with it
BATCH, MIN_BATCHES, MAX_BATCHES, EVERY_S = 50, 80, 600, 0.2
DEADLINE_S = code_defaults()["shutdown_ms"] / 1000


def recorded():
    return {c["attributes"]["user-id"].split("@")[0]: c
            for c in env.state("acme")["degreed"]["completions"]}


def assigned_log(w):
    return [l.get("count") for l in w.logs() if l.get("msg") == "partitions assigned"]


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
producer = None
try:
    # half a second per request: the member that leaves has deliveries in
    # flight (three members deliver about 300 a second, above the stream)
    env.lms_post("/_sandbox/faults", {"tenant": "acme",
                                      "latency": {"ms": 500, "jitter_ms": 200, "api": "degreed"}})
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET",
                                "rate_limit_per_minute = 0; max_in_flight = 64;")

    def member():
        return env.worker("completion-worker", integ, env={"SECRET": SECRET})
    workers = {"a": member(), "b": member(), "c": member()}
    wait_for(lambda: all(assigned_log(w) for w in workers.values()), 30,
             "three members assigned")

    produced = []
    restarted = threading.Event()

    def produce():
        for b in range(MAX_BATCHES):
            if b >= MIN_BATCHES and restarted.is_set():
                break
            batch = [(f"s{i}", completion(f"s{i}", "acme", f"s{i}"))
                     for i in range(b * BATCH, (b + 1) * BATCH)]
            env.produce_many(TOPIC, batch)
            produced.extend(k for k, _ in batch)
            time.sleep(EVERY_S)  # paces the stream on purpose: a batch every EVERY_S
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()

    split = wait_for(lambda: (lambda parts: parts if sorted(sum(parts.values(), [])) ==
                              list(range(PARTITIONS)) and all(parts.values()) else None)(
        {n: w.assigned(TOPIC) for n, w in workers.items()}), 30, "the three members consuming")
    check(sorted(sum(split.values(), [])) == list(range(PARTITIONS)),
          f"three members split {PARTITIONS} partitions: {split}")

    # the procedure: stop one member with SIGTERM, wait for it to exit
    leaving = workers["b"]
    wait_for(lambda: leaving.metric("lmsbridge_inflight") > 0, 60,
             "the member to stop has deliveries in flight")
    t = time.time()
    leaving.proc.send_signal(signal.SIGTERM)
    rc = leaving.proc.wait(timeout=DEADLINE_S + 60)
    secs = time.time() - t
    check(rc == 0, f"the stopped member exits 0 ({secs:.1f} s, deadline {DEADLINE_S:g} s)")
    logs = leaving.logs()
    in_flight = [l.get("messages") for l in logs
                 if l.get("msg") == "stopping: finishing in-flight work"]
    at_once = [l.get("handed_back") for l in logs
               if l.get("msg") == "stopping: handed back the deliveries not on the wire"]
    stopped = [(l.get("handed_back"), l.get("unfinished_at_deadline")) for l in logs
               if l.get("msg") == "stopped"]
    check(in_flight and in_flight[0] > 0 and at_once and
          stopped == [(at_once[0], 0)],
          f"it finished its requests on the wire before leaving ({in_flight} messages in flight "
          f"at SIGTERM; handed back at once, what waited for a slot: {at_once}; (handed back, "
          f"cut at the deadline): {stopped})")
    def others():
        return sorted(workers["a"].assigned(TOPIC) + workers["c"].assigned(TOPIC))
    wait_for(lambda: others() == list(range(PARTITIONS)), 30, "the two others take its partitions")
    check(others() == list(range(PARTITIONS)), "the two other members took over its partitions")
    check(producer.is_alive(), f"the stream goes on meanwhile ({len(produced)} produced so far)")

    # ... and start it again: it rejoins, gets partitions back, is ready
    workers["b"] = member()
    back = wait_for(lambda: workers["b"].assigned(TOPIC) or None, 30,
                    "the restarted member gets partitions")
    check(bool(back), f"the restarted member consumes partitions {back} again")
    check(workers["b"].get("/readyz")[0] == 200, "the restarted member is ready (/readyz 200)")
    restarted.set()
    producer.join(timeout=120)
    N = len(produced)
    check(not producer.is_alive() and N >= MIN_BATCHES * BATCH and N % BATCH == 0,
          f"{N} events produced, the stream running through the procedure")

    got = wait_for(lambda: (lambda r: r if len(r) >= N else None)(recorded()), 90,
                   "every event recorded by lms-sandbox")
    ends = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(GROUP, TOPIC, sorted(ends)) == ends, 30, "the final commit")
    missing = sorted(set(produced) - set(got), key=lambda k: int(k[1:]))
    check(not missing, f"no loss: all {N} event ids recorded by lms-sandbox"
          + (f" (missing {len(missing)}: {missing[:10]})" if missing else ""))
    repeats = sum(c.get("repeats", 0) for c in got.values())
    print(f"INFO: {repeats} deliveries repeated (at least once across the rebalances)")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    check(env.committed(GROUP, TOPIC, sorted(ends)) == ends,
          f"the group's offsets are committed to the end of every partition {ends}")
    lag = wait_for(lambda: (lambda s: s if len(s) == PARTITIONS and all(v == 0 for _, v in s)
                            else None)(
        [x for w in workers.values() for x in w.series("lmsbridge_consumer_lag")
         if x[0].get("topic") == TOPIC]), 20, "lag 0")
    check(len(lag) == PARTITIONS, f"lag 0 on all {PARTITIONS} partitions of {TOPIC}")
    rcs = [w.stop()[0] for w in workers.values()]
    check(rcs == [0, 0, 0], f"the three members exit 0 ({rcs})")
finally:
    env.close()
finish()
