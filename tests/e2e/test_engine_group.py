#!/usr/bin/env python3
"""Two workers in one consumer group split the partitions (each consumes
its own, none both); one of them leaves (SIGTERM) in the middle of the
stream: it finishes its requests on the wire, hands back at once what
waits (for one of the integration's 16 concurrency slots), commits, exits
0 within the deadline, and its partitions are handed over to the other,
which delivers everything after them, what was handed back included:
nothing lost, nothing delivered twice, the group's offsets committed to
the end of every partition.

The range assignor is eager: at the handover the survivor hands back its
own partitions too (what waits at once, its requests on the wire get 5 s),
committing what it finished, and gets all four back.
Kafka accepts that commit; kafka-sandbox (librdkafka's mock cluster)
refuses every commit while the group rebalances (REBALANCE_IN_PROGRESS),
so there the survivor delivers again what it finished since its last
commit (at least once): on the sandbox the test checks that only the
survivor's own partitions are delivered twice, never the leaver's, and
prints how many."""
import signal
import time
import zlib

from harness import (REAL, Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, ns, wait_for, wait_progress)

SECRET = "e2e-group-secret-29"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
N1, N2 = 2000, 1000


def completions():
    return {c["attributes"]["user-id"].split("@")[0]: c
            for c in env.state("acme")["degreed"]["completions"]}


def events(lo, hi):
    return [(f"u{i}", completion(f"u{i}", "acme", f"u{i}")) for i in range(lo, hi)]


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    env.lms_post("/_sandbox/faults", {"tenant": "acme",
                                      "latency": {"ms": 300, "jitter_ms": 50, "api": "degreed"}})
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET",
                                "rate_limit_per_minute = 0; max_in_flight = 16;")
    # both join before there is anything to consume (the mock refuses
    # commits during a rebalance, so a split in mid-stream could redeliver)
    a = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    b = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    wait_for(lambda: all(any(l.get("msg") == "partitions assigned" for l in w.logs())
                         for w in (a, b)), 30, "both workers assigned")
    env.produce_many(TOPIC, events(0, N1))
    split = wait_for(lambda: (lambda pa, pb: (pa, pb) if pa and pb and
                              sorted(pa + pb) == [0, 1, 2, 3] else None)(
        a.assigned(TOPIC), b.assigned(TOPIC)), 20, "both workers consuming")
    check(not set(split[0]) & set(split[1]),
          f"the two workers split the partitions: {split[0]} and {split[1]}")
    check(a.metric("lmsbridge_events_consumed_total", topic=TOPIC) > 0 and
          b.metric("lmsbridge_events_consumed_total", topic=TOPIC) > 0,
          "both workers consume")

    # B leaves in the middle of the stream; more events come meanwhile (and
    # the LMS gets faster, to keep the test short)
    b_consumed = b.metric("lmsbridge_events_consumed_total", topic=TOPIC)
    t = time.time()
    b.proc.send_signal(signal.SIGTERM)
    env.lms_post("/_sandbox/faults", {"tenant": "acme",
                                      "latency": {"ms": 10, "jitter_ms": 20, "api": "degreed"}})
    env.produce_many(TOPIC, events(N1, N1 + N2))
    rc = b.proc.wait(timeout=40)
    secs = time.time() - t
    check(rc == 0 and secs < 25, f"the leaving worker exits 0 in {secs:.1f}s (deadline 25 s)")
    logs = b.logs()
    stopping = [l.get("messages") for l in logs if l.get("msg") ==
                "stopping: finishing in-flight work"]
    at_once = [(l.get("handed_back"), l.get("on_the_wire")) for l in logs if l.get("msg") ==
               "stopping: handed back the deliveries not on the wire"]
    stopped = [(l.get("handed_back"), l.get("unfinished_at_deadline")) for l in logs
               if l.get("msg") == "stopped"]
    handed_back = stopped[0][0] if stopped else 0
    check(stopping and stopping[0] > 0 and at_once and 0 < at_once[0][1] <= 16 and
          stopped and stopped[0][1] == 0 and handed_back == at_once[0][0],
          f"it left with {stopping} messages in flight: finished the requests on the wire, "
          f"handed back at once what waited ((handed back, on the wire): {at_once}), none cut "
          f"at the deadline ((handed back, cut): {stopped})")
    wait_for(lambda: a.assigned(TOPIC) == [0, 1, 2, 3], 30, "the survivor takes every partition")
    check(a.assigned(TOPIC) == [0, 1, 2, 3], "the survivor consumes every partition")

    wait_progress(lambda: len(completions()), N1 + N2, "every completion")
    ends = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(GROUP, TOPIC, sorted(ends)) == ends, 60, "final commit")
    finished(env, GROUP, [TOPIC, f"{TOPIC}.retry"], [a])   # the LMS state is final
    got = completions()
    check(len(got) == N1 + N2, f"all {N1 + N2} events delivered: nothing lost in the handover")
    dups = sum(c["repeats"] for c in got.values())
    a_consumed = a.metric("lmsbridge_events_consumed_total", topic=TOPIC)
    if REAL:
        check(dups == 0, f"nothing delivered twice ({dups} repeats)")
        # the eager handover revokes the survivor's own partitions too: what
        # it handed back unfinished it consumes again
        a_back = sum(l.get("handed_back", 0) for l in a.logs()
                     if l.get("msg") == "partitions handed back")
        check(N2 <= a_consumed <= N1 + N2 - b_consumed + handed_back + a_back,
              f"the survivor consumed {a_consumed:.0f}, the leaver {b_consumed:.0f} before "
              f"it was told to stop: no event consumed by both but the {handed_back} the "
              f"leaver handed back (and the survivor's own {a_back}, handed back at the "
              "handover)")
    else:
        # the partition kcat's producer (librdkafka's consistent_random:
        # CRC-32 of the key) put each learner's event in
        twice = sorted({zlib.crc32(u.encode()) % 4 for u, c in got.items() if c["repeats"]})
        print(f"INFO kafka-sandbox: {dups} events delivered twice, of partitions {twice} (the "
              f"survivor's: {split[0]}; the mock refuses its commit during the rebalance)",
              flush=True)
        check(not set(twice) & set(split[1]),
              f"nothing of the leaver's partitions {split[1]} delivered twice (repeats only in "
              f"{twice})")
    check(env.committed(GROUP, TOPIC, sorted(ends)) == ends,
          f"the group's offsets are committed to the end of every partition {ends}")
    a.stop_and_check("the survivor")
finally:
    env.close()
finish()
