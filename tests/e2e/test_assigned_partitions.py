#!/usr/bin/env python3
"""lmsbridge_assigned_partitions{topic}: the partitions of each consumed
topic (the source topic, 8 partitions, and the retry topic, 2) a member
holds, updated at each rebalance. Before the group assigns anything a
member exports 0 for each; alone it holds 8 and 2; with a second member the
two split them (their gauges add up to 8 and 2, each member with some: the
assignor balances the total, not each topic); when the
second leaves, the first holds all again. The series carry only the topic
label, so a dashboard counts partitions per member from them.

Then a member that holds nothing: a source and a retry topic of one
partition each and three members (cooperative-sticky). Alone the first
holds both; with a second each holds one, so the first's gauge for the
topic it handed over reads 0 again (not its old 1); the third holds none
and exports 0 for both topics once its (empty) assignment is in."""
from harness import (Env, check, degreed_integration, degreed_tenant, finish, ns, renew_ns,
                     settle)

SECRET = "e2e-assigned-secret-08"


def assigned(w):
    """{topic: partitions} from the worker's /metrics."""
    return {labels["topic"]: int(v) for labels, v in w.series("lmsbridge_assigned_partitions")}


def assignments_logged(w):
    """How many rebalances gave this member an assignment (empty ones
    included): its "partitions assigned" log lines."""
    return sum(1 for l in w.logs() if l.get("msg") == "partitions assigned")


def adds_up(members, totals):
    """Every member exports a gauge for each topic and, per topic, the
    members' gauges add up to its partitions (a stale gauge of a handed
    over partition would count it twice)."""
    return all(set(m) == set(totals) for m in members) and \
        all(sum(m[t] for m in members) == n for t, n in totals.items())


TOPIC = ns("completion-events")
RETRY = f"{TOPIC}.retry"
ALL = {TOPIC: 8, RETRY: 2}
env = Env([f"{TOPIC}:8", f"{RETRY}:2", f"{TOPIC}.dlq:1"], [degreed_tenant("acme", SECRET)])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    a = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    code, text = a.get("/metrics")
    check("# TYPE lmsbridge_assigned_partitions gauge" in text,
          "lmsbridge_assigned_partitions is exported as a gauge")
    first = assigned(a)
    check(first in ({TOPIC: 0, RETRY: 0}, ALL),
          f"one series per consumed topic from the start, 0 until assigned ({first})")
    check(all(set(l) == {"topic"} for l, _ in a.series("lmsbridge_assigned_partitions")),
          "labelled by topic only")

    got = settle(lambda: assigned(a), lambda g: g == ALL, 60)
    check(got == ALL, f"alone, the member holds the 8 source and 2 retry partitions ({got})")

    b = env.worker("completion-worker", integ, env={"SECRET": SECRET})

    def split_ok(xy):
        return adds_up(xy, ALL) and all(sum(m.values()) > 0 for m in xy)
    x, y = settle(lambda: (assigned(a), assigned(b)), split_ok, 90)
    check(split_ok((x, y)), f"two members split the partitions, each with some: {x} and {y}")

    b.stop_and_check("second member")
    got = settle(lambda: assigned(a), lambda g: g == ALL, 90)
    check(got == ALL, f"after the second member leaves, the first holds all 8 and 2 again ({got})")
    a.stop_and_check("first member")
finally:
    env.close()

# ---- a member with nothing: more members than partitions ----
renew_ns()
TOPIC = ns("completion-events")
RETRY = f"{TOPIC}.retry"
ONE = {TOPIC: 1, RETRY: 1}
NONE = {TOPIC: 0, RETRY: 0}
env = Env([f"{TOPIC}:1", f"{RETRY}:1", f"{TOPIC}.dlq:1"], [degreed_tenant("acme", SECRET)])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    a = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    got = settle(lambda: assigned(a), lambda g: g == ONE, 60)
    check(got == ONE, f"alone, the first member holds both one-partition topics ({got})")

    b = env.worker("completion-worker", integ, env={"SECRET": SECRET})

    def one_each(xy):
        return adds_up(xy, ONE) and all(sorted(m.values()) == [0, 1] for m in xy)
    x, y = settle(lambda: (assigned(a), assigned(b)), one_each, 90)
    check(one_each((x, y)), f"two members hold one partition each: {x} and {y}")
    handed = [t for t, n in x.items() if n == 0]
    check(len(handed) == 1,
          f"the first member's gauge for the topic it handed over reads 0, not its old 1 ({x})")

    c = env.worker("completion-worker", integ, env={"SECRET": SECRET})

    def third_in(xyz):
        return assignments_logged(c) >= 1 and adds_up(xyz, ONE)
    xyz = settle(lambda: (assigned(a), assigned(b), assigned(c)), third_in, 90)
    check(assignments_logged(c) >= 1, "the third member's (empty) assignment came "
          f"({assignments_logged(c)} \"partitions assigned\" lines)")
    check(adds_up(xyz, ONE) and xyz.count(NONE) == 1,
          f"three members, two partitions: the gauges add up to 1 and 1 and exactly one "
          f"member reads 0 for both topics ({list(xyz)})")
    check(xyz[2] == NONE, f"the member that joined last holds nothing and reads 0 ({xyz[2]})")

    c.stop_and_check("third member")
    b.stop_and_check("second member")
    got = settle(lambda: assigned(a), lambda g: g == ONE, 90)
    check(got == ONE, f"alone again, the first member holds both ({got})")
    a.stop_and_check("first member")
finally:
    env.close()
finish()
