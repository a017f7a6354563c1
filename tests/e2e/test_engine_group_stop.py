#!/usr/bin/env python3
"""Clean stops in a group with a throttled customer (issue 16, item 6).
Three completion-workers in one group; customer "slow" allows 60 requests
a minute (lms-sandbox answers 429 past it) and has a backlog of
completions, customer "fast" has none of that. SIGTERM to each member in
turn, each right after the previous one exited (the group rebalancing
meanwhile): every member exits 0 with nothing left for the shutdown
deadline to cut, because the deliveries that are not on the wire (waiting for a
rate-limit turn, a retry timer, a token or a concurrency slot) are handed
back at once and only the requests on the wire get the deadline. Each
stop's duration is printed. Then three members start again and are
stopped all at once (a scale to zero, a node drain), their closes meeting
the rebalances the others cause: each exits 0, nothing cut at the deadline, too. Last, a member is started again: every completion is delivered
at least once (the records handed back are delivered by it), nothing is
dead-lettered and the group's offsets end at the end of every partition."""
import os
import signal
import sys
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, info, ns, wait_for, wait_progress)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy"))
from deploy_lib import code_defaults  # noqa: E402

SECRET = "e2e-group-stop-secret-47"
TOPIC = ns("completion-events")
PARTITIONS = 6
TOPICS = [f"{TOPIC}:{PARTITIONS}", f"{TOPIC}.retry:{PARTITIONS}", f"{TOPIC}.dlq:1"]
GROUP = ns("completion-worker")
N_SLOW, N_FAST = 60, 300  # 60 at 60 a minute: the backlog outlasts the stops, drains in a minute after
DEADLINE_S = code_defaults()["shutdown_ms"] / 1000


def delivered(tenant):
    return {c["attributes"]["user-id"].split("@")[0]
            for c in env.state(tenant)["degreed"]["completions"]}


def line(w, msg, field):
    return [l.get(field) for l in w.logs() if l.get("msg") == msg]


env = Env(TOPICS, [degreed_tenant("slow", SECRET, rate_limit_per_minute=60),
                   degreed_tenant("fast", SECRET)])
try:
    # a request to "fast" takes a while: some are on the wire at each stop
    env.lms_post("/_sandbox/faults", {"tenant": "fast",
                                      "latency": {"ms": 300, "jitter_ms": 100,
                                                  "api": "degreed"}})
    # "slow" is configured with its LMS's limit, 60 a minute: the members'
    # deliveries wait for their turns (and, three members sharing one
    # client id, some get 429 and Retry-After)
    integs = ", ".join([degreed_integration(env, "slow-degreed", "slow", "SECRET",
                                            "rate_limit_per_minute = 60;"),
                        degreed_integration(env, "fast-degreed", "fast", "SECRET",
                                            "rate_limit_per_minute = 0; max_in_flight = 8;")])

    def member():
        return env.worker("completion-worker", integs, env={"SECRET": SECRET})
    members = [member(), member(), member()]
    wait_for(lambda: all(line(w, "partitions assigned", "count") for w in members), 60,
             "three members assigned")
    env.produce_many(TOPIC, [(f"s{i}", completion(f"s{i}", "slow", f"s{i}"))
                             for i in range(N_SLOW)])
    # every member that holds source partitions (the assignor may give one
    # only retry partitions) has deliveries of the slow customer waiting for
    # their turn (not parked, not held)
    wait_for(lambda: (lambda busy: busy and all(w.metric("lmsbridge_inflight") >= 2
                                                for w in busy))(
        [w for w in members if w.assigned(TOPIC)]), 120, "deliveries waiting in the members")
    # the fast customer's completions arrive now: requests on the wire at
    # the stops, more waiting for a concurrency slot
    env.produce_many(TOPIC, [(f"f{i}", completion(f"f{i}", "fast", f"f{i}"))
                             for i in range(N_FAST)])
    wait_for(lambda: len(delivered("fast")) > 0, 60, "the fast customer's first delivery")
    held = [w.metric("lmsbridge_inflight") for w in members]
    info(f"at the first SIGTERM: {len(delivered('slow'))}/{N_SLOW} slow and "
         f"{len(delivered('fast'))}/{N_FAST} fast completions delivered; deliveries in "
         f"flight per member {held}")

    durations, handed_back = [], []
    for k, w in enumerate(members):
        t = time.time()
        w.proc.send_signal(signal.SIGTERM)
        try:
            rc = w.proc.wait(timeout=DEADLINE_S + 60)
        except Exception:
            w.kill()
            rc = None
        secs = time.time() - t
        durations.append(secs)
        waiting = line(w, "stopping: handed back the deliveries not on the wire",
                       "handed_back")
        wire = line(w, "stopping: handed back the deliveries not on the wire", "on_the_wire")
        stopped = line(w, "stopped", "handed_back")
        cut = line(w, "stopped", "unfinished_at_deadline")
        handed_back.append(stopped[0] if stopped else None)
        info(f"member {k + 1}: SIGTERM to exit {secs:.1f} s (deadline {DEADLINE_S:g} s), "
             f"exit code {rc}; messages at SIGTERM "
             f"{line(w, 'stopping: finishing in-flight work', 'messages')}, handed back at "
             f"once {waiting}, requests on the wire {wire}, handed back in all {stopped}")
        # the time is a figure; the behaviour is that only requests on the
        # wire were waited for, and they all ended before the deadline
        check(rc == 0 and waiting and wire is not None and cut == [0],
              f"member {k + 1} exits 0, having handed back at once what was not on the wire "
              f"({waiting}) and finished the {wire} requests on it before the deadline "
              f"(unfinished at it: {cut}; exit code {rc})")
    info("stop durations, in turn (s): " + ", ".join(f"{s:.1f}" for s in durations))
    check(sum(n or 0 for n in handed_back) > 0,
          f"the members handed work back ({handed_back} messages)")

    # three again, then SIGTERM to all of them at once
    members = [member(), member(), member()]
    wait_for(lambda: sum(w.metric("lmsbridge_inflight") for w in members) >= 2, 120,
             "deliveries in flight again")
    t = time.time()
    for w in members:
        w.proc.send_signal(signal.SIGTERM)
    exits = {}
    while len(exits) < len(members) and time.time() - t < DEADLINE_S + 60:
        for k, w in enumerate(members):
            if k not in exits and w.proc.poll() is not None:
                exits[k] = (w.proc.returncode, time.time() - t)
        time.sleep(0.05)  # polls three exits at once; the measure's resolution
    for k, w in enumerate(members):
        if k not in exits:
            w.kill()
        rc, secs = exits.get(k, (None, time.time() - t))
        cut = line(w, "stopped", "unfinished_at_deadline")
        check(rc == 0 and cut == [0],
              f"all at once: member {k + 4} exits 0 with nothing cut at the deadline ({cut}; "
              f"exit code {rc}; handed back {line(w, 'stopped', 'handed_back')})")
    info("stop durations, all at once (s): " +
         ", ".join(f"{exits[k][1]:.1f}" if k in exits else "killed" for k in range(3)))

    # started again: it delivers what was handed back
    again = member()
    total = N_SLOW + N_FAST
    wait_progress(lambda: len(delivered("slow")) + len(delivered("fast")), total,
                  "every completion delivered", stall=120)
    got_slow, got_fast = delivered("slow"), delivered("fast")
    check(got_slow == {f"s{i}" for i in range(N_SLOW)} and
          got_fast == {f"f{i}" for i in range(N_FAST)},
          f"nothing lost: all {N_SLOW} slow and {N_FAST} fast completions delivered")
    check(again.metric("lmsbridge_events_consumed_total", topic=TOPIC) +
          again.metric("lmsbridge_events_consumed_total", topic=f"{TOPIC}.retry") > 0,
          "the restarted member consumed the records handed back")
    done = finished(env, GROUP, [TOPIC, f"{TOPIC}.retry"], [again], timeout=300)
    check(done, "the group's offsets end at the end of every partition, nothing in flight")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    repeats = {t: sum(c["repeats"] for c in env.state(t)["degreed"]["completions"])
               for t in ("slow", "fast")}
    info(f"repeated deliveries (at least once): {repeats}; requests the slow customer's LMS "
         f"refused (429): {env.state('slow')['degreed']['rate_limited_requests']}")
    again.stop_and_check("the restarted member")
finally:
    env.close()
finish()
