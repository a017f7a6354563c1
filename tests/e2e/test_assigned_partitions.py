#!/usr/bin/env python3
"""lmsbridge_assigned_partitions{topic}: the partitions of each consumed
topic (the source topic, 8 partitions, and the retry topic, 2) a member
holds, updated at each rebalance. Before the group assigns anything a
member exports 0 for each; alone it holds 8 and 2; with a second member the
two split them (their gauges add up to 8 and 2, each member with some: the
assignor balances the total, not each topic); when the
second leaves, the first holds all again. The series carry only the topic
label, so a dashboard counts partitions per member from them."""
from harness import Env, check, degreed_integration, degreed_tenant, finish, ns, wait_for

SECRET = "e2e-assigned-secret-08"
TOPIC = ns("completion-events")
RETRY = f"{TOPIC}.retry"
TOPICS = [f"{TOPIC}:8", f"{RETRY}:2", f"{TOPIC}.dlq:1"]


def assigned(w):
    """{topic: partitions} from the worker's /metrics."""
    return {labels["topic"]: int(v) for labels, v in w.series("lmsbridge_assigned_partitions")}


def held_by(w, expect):
    got = assigned(w)
    return got if got == expect else None


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    a = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    code, text = a.get("/metrics")
    check("# TYPE lmsbridge_assigned_partitions gauge" in text,
          "lmsbridge_assigned_partitions is exported as a gauge")
    first = assigned(a)
    check(first in ({TOPIC: 0, RETRY: 0}, {TOPIC: 8, RETRY: 2}),
          f"one series per consumed topic from the start, 0 until assigned ({first})")
    check(all(set(l) == {"topic"} for l, _ in a.series("lmsbridge_assigned_partitions")),
          "labelled by topic only")

    wait_for(lambda: held_by(a, {TOPIC: 8, RETRY: 2}), 60, "the first member's assignment")
    check(True, "alone, the member holds the 8 source and 2 retry partitions")

    b = env.worker("completion-worker", integ, env={"SECRET": SECRET})

    def split():
        x, y = assigned(a), assigned(b)
        ok = (all(x.get(t, 0) + y.get(t, 0) == n for t, n in ((TOPIC, 8), (RETRY, 2))) and
              sum(x.values()) > 0 and sum(y.values()) > 0)
        return (x, y) if ok else None
    x, y = wait_for(split, 90, "the two members' split")
    check(True, f"two members split the partitions: {x} and {y}")

    b.stop_and_check("second member")
    wait_for(lambda: held_by(a, {TOPIC: 8, RETRY: 2}), 90,
             "the first member taking every partition back")
    check(True, "after the second member leaves, the first holds all 8 and 2 again")
    a.stop_and_check("first member")
finally:
    env.close()
finish()
