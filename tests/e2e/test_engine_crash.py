#!/usr/bin/env python3
"""Crash safety: the worker is killed with SIGKILL at random points, four
times, while it consumes 3,000 completions (the LMS answers after 100-150
ms, so deliveries are in flight at every kill), and restarted each time;
each kill comes at a random point 0-2 s after the worker's first commit. In the end every event is delivered at least once, and the
duplicates are only what was in flight: an event is delivered again only
if it was at or after the group's committed offset at a kill (read just
before it), and per kill what the worker delivered but had not committed
stays within the in-flight bound: the requests on the wire plus the
deliveries of the last commit interval (1 s, with 0.5 s of slack)."""
import datetime
import random
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, ns, wait_for, wait_progress)

SECRET = "e2e-crash-secret-64"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
N = 3000
KILLS = 4
HTTP_IN_FLIGHT = 16          # the integration's max_in_flight (its default)
COMMIT_WINDOW_S = 1.5        # auto.commit.interval.ms (1 s) + slack

rng = random.Random()
seed = rng.randrange(1 << 30)
rng.seed(seed)
print("random seed", seed)


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def received(state):
    """Completions requests the LMS accepted (first ones and repeats)."""
    return sum(c["repeats"] + 1 for c in state.values())


def completions():
    return {c["attributes"]["user-id"].split("@")[0]: c
            for c in env.state("acme")["degreed"]["completions"]}


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    env.lms_post("/_sandbox/faults", {"tenant": "acme",
                                      "latency": {"ms": 100, "jitter_ms": 50, "api": "degreed"}})
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET",
                                f"rate_limit_per_minute = 0; max_in_flight = {HTTP_IN_FLIGHT};")
    env.produce_many(TOPIC, [(f"u{i}", completion(f"u{i}", "acme", f"u{i}")) for i in range(N)])
    where = {r["key"]: (r["partition"], r["offset"]) for r in env.consume_all(TOPIC)}
    parts = sorted({p for p, _ in where.values()})

    kills = []  # (wall time, committed offsets just before, LMS state just after)
    w = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    for k in range(KILLS):
        base = received(completions())
        before = env.committed(GROUP, TOPIC, parts)
        wait_for(lambda: received(completions()) > base + 20, 30,
                 f"deliveries before kill {k + 1}")
        # past the first commit of this worker's life
        wait_for(lambda: env.committed(GROUP, TOPIC, parts) != before, 60,
                 f"worker {k + 1}'s first commit")
        # then a random point of the commit cycle, on purpose (the seed is printed)
        time.sleep(rng.uniform(0, 2))
        committed = env.committed(GROUP, TOPIC, parts)
        t = time.time()
        w.kill()
        snap = completions()
        kills.append((t, committed, snap))
        print(f"kill {k + 1}: {len(snap)} delivered, committed {committed}", flush=True)
        check(len(snap) < N, f"kill {k + 1} happened while consuming ({len(snap)}/{N} "
              "delivered)")
        w = env.worker("completion-worker", integ, env={"SECRET": SECRET})

    wait_progress(lambda: len(completions()), N, "every completion")
    ends = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(GROUP, TOPIC, parts) == ends, 60, "final commit")
    finished(env, GROUP, [TOPIC], [w])   # nothing in flight: the LMS state is final
    got = completions()
    check(len(got) == N, f"after {KILLS} SIGKILLs: all {N} events delivered at least once")

    repeats = {u: c["repeats"] for u, c in got.items()}
    dups = sum(repeats.values())
    # an event may come again only as often as it was uncommitted at a kill
    exposed = {u: sum(1 for _, c, _ in kills if where[u][1] >= c.get(where[u][0], -1))
               for u in got}
    wrong = [u for u in got if repeats[u] > exposed[u]]
    check(not wrong, "only events at or after a kill's committed offset were delivered again "
          f"({len(wrong)} others: {[(u, where[u], repeats[u]) for u in wrong[:5]]})")
    # per kill: what that worker delivered but had not committed stays within
    # the in-flight bound. Its deliveries: the events the LMS received more
    # often at its kill than at the previous one.
    prev = {}
    bound_total = 0
    for i, (t, c, snap) in enumerate(kills):
        mine = [u for u, rec in snap.items()
                if rec["repeats"] + 1 > (prev[u]["repeats"] + 1 if u in prev else 0)]
        uncommitted = [u for u in mine if where[u][1] >= c.get(where[u][0], -1)]
        recent = sum(1 for u in mine if ts(snap[u]["last_received_at"]) >= t - COMMIT_WINDOW_S)
        # requests on the wire: this worker's gap, and the previous worker's
        # that landed after its kill
        bound = 2 * HTTP_IN_FLIGHT + recent
        bound_total += bound
        check(len(uncommitted) <= bound,
              f"kill {i + 1}: the worker delivered {len(mine)}, {len(uncommitted)} of them "
              f"uncommitted <= in-flight bound {bound} (2 x {HTTP_IN_FLIGHT} on the wire + "
              f"{recent} delivered in its last {COMMIT_WINDOW_S} s)")
        prev = snap
    check(dups <= bound_total, f"{dups} duplicates in all, within the bound {bound_total} "
          f"({max(repeats.values())} at most for one event)")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    w.stop_and_check("the last worker")
finally:
    env.close()
finish()
