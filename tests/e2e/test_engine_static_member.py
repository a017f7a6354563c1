#!/usr/bin/env python3
"""Static membership (kafka.group_instance_id, KIP-345; issue 16, item 6).
Two completion-workers with ids of their own, one given as a value, one
as "@env:MEMBER_ID" (as the Kubernetes manifests give the pod's name),
share a group with a session timeout of 30 s. One of them is stopped with
SIGTERM and started again within the session timeout, while completions
keep coming: on Apache Kafka the group does not rebalance (the other
member's log has no "partitions revoked" and no new "partitions
assigned"; it keeps its partitions) and the restarted member gets its
own partitions back. Nothing is lost either way: every completion is
delivered, the group's offsets end at the end of every partition.

On kafka-sandbox (librdkafka 2.0.2's mock cluster) the group instance id
is read but not honoured: the restarted member joins as a new member and
the group rebalances; the test says so (INFO) and checks the rebalance
the mock does, so that a mock that starts to honour it is noticed.

Last, a second member with member-a's id joins: on Kafka the older
member-a is fenced and stops with exit 1 (librdkafka's fatal error) rather
than staying on as a member that can no longer consume."""
import time

from harness import (REAL, Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, info, ns, wait_for, wait_progress)

SECRET = "e2e-static-secret-53"
TOPIC = ns("completion-events")
PARTITIONS = 4
TOPICS = [f"{TOPIC}:{PARTITIONS}", f"{TOPIC}.retry:{PARTITIONS}", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
# the restart must fit in the session timeout on Kafka. The mock keeps a
# phantom member for each static join (it does not honour the id) until the
# session times out, and rebalances then: a short timeout there keeps those
# rebalances from stalling the group for half a minute at a time
SESSION_MS = 30000 if REAL else 6000


def delivered():
    return {c["attributes"]["user-id"].split("@")[0]
            for c in env.state("acme")["degreed"]["completions"]}


def rebalance_lines(w):
    return [l for l in w.logs()
            if l.get("msg") in ("partitions assigned", "partitions revoked, handing back",
                                "partitions lost")]


def events(lo, hi):
    return [(f"u{i}", completion(f"u{i}", "acme", f"u{i}")) for i in range(lo, hi)]


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    secrets = {"SECRET": SECRET, "MEMBER_ID": "member-b"}

    def member(instance):
        return env.worker("completion-worker", integ, env=secrets, session_timeout_ms=SESSION_MS,
                          kafka=f'group_instance_id = "{instance}";')
    a = member("member-a")
    b = member("@env:MEMBER_ID")
    check(any(l.get("msg") == "consuming" and l.get("group_instance_id") == "member-b"
              for l in b.logs()), "the id given as @env:MEMBER_ID is the environment's value")
    env.produce_many(TOPIC, events(0, 200))
    wait_progress(lambda: len(delivered()), 200, "the first 200 delivered")
    # both hold source partitions (named by the statistics of partitions
    # consumed from, every 5 s)
    split = wait_for(lambda: (lambda pa, pb: (pa, pb) if pa and pb and
                              sorted(pa + pb) == list(range(PARTITIONS)) else None)(
        a.assigned(TOPIC), b.assigned(TOPIC)), 90, "both members consuming")
    info(f"partitions of {TOPIC}: member-a {split[0]}, member-b {split[1]}")
    a_lines = len(rebalance_lines(a))

    # b restarts within the session timeout; completions keep coming
    t = time.time()
    rc, stop_s = b.stop()
    check(rc == 0, f"member-b exits 0 on SIGTERM ({stop_s:.1f} s)")
    check(not any(l.get("msg") == "the consumer did not leave the group in time, exiting "
                  "without it" for l in b.logs()), "member-b closed its consumer in time")
    env.produce_many(TOPIC, events(200, 400))
    b2 = member("@env:MEMBER_ID")
    back_s = time.time() - t
    info(f"member-b stopped in {stop_s:.1f} s and consumes again {back_s:.1f} s after its "
         f"SIGTERM (session timeout {SESSION_MS / 1000:g} s)")
    wait_progress(lambda: len(delivered()), 400, "every completion delivered")
    got = wait_for(lambda: b2.assigned(TOPIC) or None, 60, "member-b's partitions named")
    if REAL:
        # member-b holds partitions again: a rebalance its return caused
        # would have come before that, in member-a's log too
        new_lines = rebalance_lines(a)[a_lines:]
        check(new_lines == [],
              f"member-a saw no rebalance while member-b restarted ({new_lines})")
        check(a.assigned(TOPIC) == split[0],
              f"member-a keeps its partitions {split[0]} ({a.assigned(TOPIC)})")
        check(got == split[1], f"the restarted member-b gets its own partitions {split[1]} back "
              f"({got})")
    else:
        new_lines = wait_for(lambda: rebalance_lines(a)[a_lines:] or None, 60,
                             "the mock's rebalance")
        info("kafka-sandbox (librdkafka 2.0.2's mock cluster) does not honour "
             f"group.instance.id: member-a rebalanced ({[l['msg'] for l in new_lines]}), "
             f"member-b came back with {got}")
        check(bool(new_lines), "on the mock the restart rebalances the group (no static "
              "membership there)")
    done = finished(env, GROUP, [TOPIC, f"{TOPIC}.retry"], [a, b2], timeout=120)
    check(done and delivered() == {f"u{i}" for i in range(400)},
          "nothing lost: all 400 delivered, the offsets at the end of every partition")
    repeats = sum(c["repeats"] for c in env.state("acme")["degreed"]["completions"])
    info(f"{repeats} completions delivered twice (at least once)")

    # two members must never share an id: on Kafka the newer fences the
    # older, which stops (exit 1) instead of holding on as a member that
    # can no longer consume
    twin = member("member-a")
    if REAL:
        rc = wait_for(lambda: a.proc.poll() is not None and [a.proc.returncode], 60,
                      "the fenced member to exit")[0]
        fenced = [l for l in a.logs() if l.get("msg") == "fatal kafka error, stopping"]
        check(rc == 1 and fenced and "fenced" in fenced[0].get("error", ""),
              f"the older member-a, fenced by a second member-a, stops with exit 1 ({rc}, "
              f"{[l.get('error') for l in fenced]})")
        survivors = (("the second member-a", twin), ("member-b", b2))
    else:
        info("kafka-sandbox: no fencing of a second member-a (the mock does not honour "
             "group.instance.id)")
        survivors = (("member-a", a), ("the second member-a", twin), ("member-b", b2))
    for who, w in survivors:
        rc, secs = w.stop()
        check(rc == 0, f"{who} exits 0 ({secs:.1f} s)")
finally:
    env.close()
finish()
