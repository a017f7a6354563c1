#!/usr/bin/env python3
"""lmsbridge_assigned_partitions{topic}: the partitions of each consumed
topic (the source topic and the retry topic, co-partitioned: 8 each) a
member holds, updated at each rebalance. Before the group assigns anything a
member exports 0 for each; alone it holds 8 and 8; with a second member the
two split them, and the range assignor gives each member the same partition
numbers of both topics (a member holding source partition k holds retry
partition k, where the parked records of k go), as the workers' "partitions
assigned" log lines name them; when the second leaves, the first holds all
again. lmsbridge_rate_limit_share follows: 1 alone, the member's part of the
source partitions in two, 1 again. The series carry only the topic label, so
a dashboard counts partitions per member from them.

Then members that hold nothing: a source and a retry topic of one
partition each and three members. The range assignor gives both partition
0s to one member; the others export 0 for both topics once their (empty)
assignment is in, and a member that handed its partitions over reads 0
again, not its old 1 (the gauges of all members add up to 1 and 1)."""
import re

from harness import (Env, check, degreed_integration, degreed_tenant, finish, info, ns,
                     renew_ns, settle, wait_for)

SECRET = "e2e-assigned-secret-08"
TOPIC = ns("completion-events")
RETRY = f"{TOPIC}.retry"
N = 8
TOPICS = [f"{TOPIC}:{N}", f"{RETRY}:{N}", f"{TOPIC}.dlq:1"]


def assigned(w):
    """{topic: partitions} from the worker's /metrics."""
    return {labels["topic"]: int(v) for labels, v in w.series("lmsbridge_assigned_partitions")}


def held_by(w, expect):
    got = assigned(w)
    return got if got == expect else None


def last_assignment(w):
    """{topic: [partitions]} of the worker's last "partitions assigned" line
    (the range assignor is eager: each assignment is the member's whole)."""
    lines = [l for l in w.logs() if l.get("msg") == "partitions assigned"]
    if not lines:
        return {}
    out = {}
    for topic, parts in re.findall(r"(\S+)\[([\d,]*)\]", lines[-1].get("partitions", "")):
        out.setdefault(topic, []).extend(int(p) for p in parts.split(",") if p)
    return {t: sorted(p) for t, p in out.items()}


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    a = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    code, text = a.get("/metrics")
    check("# TYPE lmsbridge_assigned_partitions gauge" in text,
          "lmsbridge_assigned_partitions is exported as a gauge")
    check("# TYPE lmsbridge_rate_limit_share gauge" in text and
          "# HELP lmsbridge_rate_limit_share " in text,
          "lmsbridge_rate_limit_share is exported as a gauge with a HELP line")
    first = assigned(a)
    check(first in ({TOPIC: 0, RETRY: 0}, {TOPIC: N, RETRY: N}),
          f"one series per consumed topic from the start, 0 until assigned ({first})")
    check(all(set(l) == {"topic"} for l, _ in a.series("lmsbridge_assigned_partitions")),
          "labelled by topic only")

    alone = wait_for(lambda: held_by(a, {TOPIC: N, RETRY: N}), 60,
                     "the first member's assignment")
    check(alone == {TOPIC: N, RETRY: N} and
          last_assignment(a) == {TOPIC: list(range(N)), RETRY: list(range(N))},
          f"alone, the member holds the {N} source and {N} retry partitions "
          f"({last_assignment(a)})")
    check(a.metric("lmsbridge_rate_limit_share") == 1.0,
          f"alone, its rate-limit share is 1 ({a.metric('lmsbridge_rate_limit_share')})")

    b = env.worker("completion-worker", integ, env={"SECRET": SECRET})

    def split():
        x, y = assigned(a), assigned(b)
        ok = (all(x.get(t, 0) + y.get(t, 0) == N for t in (TOPIC, RETRY)) and
              x.get(TOPIC, 0) > 0 and y.get(TOPIC, 0) > 0)
        if not ok:
            return None
        la, lb = last_assignment(a), last_assignment(b)
        if sorted(la.get(TOPIC, []) + lb.get(TOPIC, [])) != list(range(N)):
            return None   # a log line behind the gauges
        return x, y, la, lb
    x, y, la, lb = wait_for(split, 90, "the two members' split")
    check(la.get(TOPIC) == la.get(RETRY) and lb.get(TOPIC) == lb.get(RETRY),
          f"two members split the partitions alike: source k and retry k with one member "
          f"({la} and {lb})")
    check(x[TOPIC] == x[RETRY] and y[TOPIC] == y[RETRY] and x[TOPIC] + y[TOPIC] == N,
          f"their gauges agree: {x} and {y}")
    shares = [w.metric("lmsbridge_rate_limit_share") for w in (a, b)]
    check(shares == [x[TOPIC] / N, y[TOPIC] / N] and abs(sum(shares) - 1.0) < 1e-9,
          f"each member's rate-limit share is its part of the source partitions ({shares})")

    b.stop_and_check("second member")
    back = wait_for(lambda: held_by(a, {TOPIC: N, RETRY: N}), 90,
                    "the first member taking every partition back")
    check(back == {TOPIC: N, RETRY: N} and
          wait_for(lambda: a.metric("lmsbridge_rate_limit_share") == 1.0, 30,
                   "the share back to 1"),
          f"after the second member leaves, the first holds all {N} and {N} again, "
          f"share 1")
    a.stop_and_check("first member")
finally:
    env.close()
# ---- members with nothing: more members than partitions ----


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
    c = env.worker("completion-worker", integ, env={"SECRET": SECRET})

    def settled(xyz):
        return (all(assignments_logged(w) >= 1 for w in (b, c)) and adds_up(xyz, ONE) and
                sorted(xyz, key=lambda m: m[TOPIC]) == [NONE, NONE, ONE])
    xyz = settle(lambda: (assigned(a), assigned(b), assigned(c)), settled, 120)
    check(settled(xyz),
          f"three members, two one-partition topics: one member holds both, the other two "
          f"read 0 for both once their (empty) assignments are in ({list(xyz)})")
    if xyz[0] == NONE:
        info("the first member handed both partitions over: its gauges read 0, not 1")

    for w, what in ((c, "third member"), (b, "second member")):
        w.stop_and_check(what)
    got = settle(lambda: assigned(a), lambda g: g == ONE, 90)
    check(got == ONE, f"alone again, the first member holds both ({got})")
    a.stop_and_check("first member")
finally:
    env.close()
finish()
