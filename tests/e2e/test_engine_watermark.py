#!/usr/bin/env python3
"""Watermark: a slow message at offset k keeps the group's committed offset
at k while the later messages of its partition finish; other partitions
advance. Proven twice: by reading the committed offsets (Kafka OffsetFetch
against the mock cluster, harness.kafka_committed: kcat cannot show them),
and by SIGKILL + restart: the slow message and those after it on its
partition are delivered again, those before it are not."""
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, ns, wait_for)

SECRET = "e2e-watermark-secret-52"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
K = 10       # offset of the slow message on partition 0
AFTER = 19   # fast messages after it on partition 0
OTHER = 15   # fast messages on partition 1
SLOW_MS = 25000


def by_user(tenant):
    return {c["attributes"]["user-id"].split("@")[0]: c
            for c in env.state(tenant)["degreed"]["completions"]}


env = Env(TOPICS, [degreed_tenant("fast", SECRET), degreed_tenant("slow", SECRET)])
try:
    # every API request of "slow" is answered after 25 s (the token endpoint
    # is not delayed); the request timeout is longer, so it is one attempt
    env.lms_post("/_sandbox/faults", {"tenant": "slow",
                                      "latency": {"ms": SLOW_MS, "api": "degreed"}})
    integs = ", ".join([degreed_integration(env, "fast-degreed", "fast", "SECRET"),
                        degreed_integration(env, "slow-degreed", "slow", "SECRET")])
    delivery = "backoff_initial_ms = 100; backoff_max_ms = 2000; request_timeout_ms = 60000;"

    before = [f"b{i}" for i in range(K)]
    after = [f"a{i}" for i in range(AFTER)]
    p0 = [(u, completion(u, "fast", u)) for u in before]
    p0.append(("s0", completion("s0", "slow", "s0")))
    p0 += [(u, completion(u, "fast", u)) for u in after]
    env.produce_many(TOPIC, p0, partition=0)
    other = [f"o{i}" for i in range(OTHER)]
    env.produce_many(TOPIC, [(u, completion(u, "fast", u)) for u in other], partition=1)
    check(env.end_offsets(TOPIC) == {0: K + 1 + AFTER, 1: OTHER},
          f"partition 0: {K} fast, the slow one at offset {K}, {AFTER} fast; "
          f"partition 1: {OTHER} fast")

    w = env.worker("completion-worker", integs, env={"SECRET": SECRET}, delivery=delivery)
    n_fast = K + AFTER + OTHER
    wait_for(lambda: len(env.state("fast")["degreed"]["completions"]) == n_fast, 30,
             "the fast completions")
    t_fast = time.time()
    check(len(env.state("slow")["degreed"]["completions"]) == 0,
          "the slow message is still in flight when every later one has finished")
    # the commit interval is 1 s: give it time, then the offsets must be
    # exactly: partition 0 at the slow message, partition 1 at its end
    want = {0: K, 1: OTHER}
    try:
        got = wait_for(lambda: (lambda c: c if c == want else None)(
            env.committed(GROUP, TOPIC, [0, 1])), 8, "committed offsets")
    except TimeoutError:
        got = env.committed(GROUP, TOPIC, [0, 1])
    check(got == want, f"committed offsets {got}: partition 0 held at the slow message "
          f"(offset {K}) although the {AFTER} after it are delivered; partition 1 at its end")
    # on purpose: time passes to show the commit does NOT move past the gap.
    # Nothing happens to wait on (an unchanged offset is not committed again);
    # 3 s are three commit intervals (1 s), and the slow request has 25 s
    time.sleep(3)
    got = env.committed(GROUP, TOPIC, [0, 1])
    check(got == want, f"3 s later, still {got}: never past the gap")
    check(w.metric("lmsbridge_inflight") >= 1, "the slow delivery is in flight (metric)")
    check(time.time() - t_fast < SLOW_MS / 1000 - 5, "checked while the slow request waits")

    # SIGKILL while the slow one is in flight; the LMS is healthy again
    w.kill()
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "latency": None})
    w2 = env.worker("completion-worker", integs, env={"SECRET": SECRET}, delivery=delivery)
    wait_for(lambda: (lambda s: all(s[u]["repeats"] >= 1 for u in after) and
                      env.state("slow")["degreed"]["completions"])(by_user("fast")), 40,
             "redelivery after the restart")
    wait_for(lambda: env.committed(GROUP, TOPIC, [0, 1]) == {0: K + 1 + AFTER, 1: OTHER}, 60,
             "committed offsets at the ends")
    finished(env, GROUP, [TOPIC], [w2])   # nothing in flight: the LMS state is final
    fast = by_user("fast")
    check(len(fast) == n_fast, f"fast tenant: {n_fast} completions, nothing lost")
    check(all(fast[u]["repeats"] == 0 for u in before),
          f"the {K} messages before the slow one were not delivered again")
    check(all(fast[u]["repeats"] == 1 for u in after),
          f"the {AFTER} messages after it were delivered again, once")
    check(all(fast[u]["repeats"] == 0 for u in other),
          "partition 1 (committed to its end) was not delivered again")
    check(len(env.state("slow")["degreed"]["completions"]) == 1 and
          w2.metric("lmsbridge_deliveries_total", integration="slow-degreed",
                    outcome="success") == 1,
          "the slow message was delivered by the restarted worker")
    check(w2.metric("lmsbridge_events_consumed_total", topic=TOPIC) == 1 + AFTER,
          f"restart consumed exactly the slow message and the {AFTER} after it")
    check(env.committed(GROUP, TOPIC, [0, 1]) == {0: K + 1 + AFTER, 1: OTHER},
          "in the end both partitions are committed to their ends")
    w2.stop_and_check()
finally:
    env.close()
finish()
