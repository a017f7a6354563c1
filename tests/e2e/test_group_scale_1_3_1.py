#!/usr/bin/env python3
"""Scale 1 -> 3 -> 1 members under load (issue 16's acceptance): 0 lost,
duplicates within what the group read again, limits held throughout.

completion-worker members of one group consume co-partitioned topics (6
partitions each). Two customers: "limited", whose Degreed allows LIMIT
requests a minute (lms-sandbox counts them per API client in fixed 60 s
windows) and whose integration says so (rate_limit_per_minute = LIMIT),
offered more than that so its lane is always throttled; and "other",
without a limit; lms-sandbox holds each of their requests 0.3 to 0.5 s, so
members have requests on the wire at every change. A paced stream of both
runs through three phases: one member; two more started (three); two of
them stopped with SIGTERM (one again). Checked:
- every event id produced is recorded by lms-sandbox (0 lost) and nothing
  is dead-lettered;
- after each change settles the members' lmsbridge_rate_limit_share add up
  to 1 (1, then 1/3 each, then 1);
- the limited customer's requests in any 60 s window, over the whole run,
  at most LIMIT * 1.1, and at most 3 answered 429 (test_group_rate_limit's
  bounds);
- duplicates: lms-sandbox's `repeats` (completions received again). At
  least once redelivers the records a member had consumed but not
  committed when its partitions were handed over (a revocation: the
  engine commits its watermark first; a stop likewise; kafka-sandbox's
  mock may refuse a commit during a rebalance, and then more is read
  again, which the measure below counts as well). Those are the
  records it handed back unfinished (waiting for the throttled customer's
  turn, or a slot: never sent, not repeats) and the records it finished
  ABOVE one of them (the watermark cannot pass a gap): the next owner
  sends those again. So the bound is not max_in_flight (per process, 16
  here): a throttled customer's waiting delivery pins its partition's
  commit, and everything the unthrottled customer got delivered on that
  partition since is read again (up to the engine's span limit, 10 x 1,000
  records above the commit per partition, where it pauses the partition).
  The test measures it: records the group read twice = the members'
  lmsbridge_events_consumed_total (source and retry topics; a stopped
  member's is the "consumed" of its "stopped" log line) - the records in
  those topics; the repeats must be
  at most that less what the members handed back unfinished (their
  "partitions handed back" and "stopped" log lines). Equal when no
  request was cut at a deadline (none is: requests take 0.5 s at most).
Figures (repeats, records read twice, what the members handed back, the
busiest window, phase lengths) are printed as INFO lines."""
import signal
import threading
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, info,
                     most_in_window, ns, wait_for, wait_progress)

SECRET = "e2e-group-scale-secret-16"
TOPIC = ns("completion-events")
GROUP = ns("completion-worker")
PARTITIONS = 6
TOPICS = [f"{TOPIC}:{PARTITIONS}", f"{TOPIC}.retry:{PARTITIONS}", f"{TOPIC}.dlq:1"]
LIMIT = 300            # the limited customer's requests a minute (5 a second)
WINDOW_S = 60
# The stream: every EVERY_S a batch of L_BATCH limited and O_BATCH other
# completions (8 and 20 a second: the limited customer is offered more than
# its 5 a second), PHASE_BATCHES batches per phase at least: a phase ends
# once its change has settled and that many batches went out in it.
L_BATCH, O_BATCH, EVERY_S, PHASE_BATCHES = 4, 10, 0.5, 30


def recorded(tenant):
    return {c["attributes"]["user-id"].split("@")[0]: c
            for c in env.state(tenant)["degreed"]["completions"]}


def consumed(w):
    return int(sum(v for l, v in w.series("lmsbridge_events_consumed_total")
               if l.get("topic") in (TOPIC, f"{TOPIC}.retry")))


def final_counts(leaving):
    """After SIGTERM: each leaving member's consumed count, from its
    "stopped" log line (its count of records taken from Kafka, final by
    then; its /metrics may be gone by the time a busy test reads it), once
    it exited."""
    out = []
    for w in leaving:
        w.proc.wait(timeout=120)
        counts = log_values(w, "stopped", "consumed")
        out.append(counts[-1] if counts else None)
    return out


def log_values(w, msg, field):
    return [l.get(field) for l in w.logs() if l.get("msg") == msg]


env = Env(TOPICS, [degreed_tenant("limited", SECRET, rate_limit_per_minute=LIMIT),
                   degreed_tenant("other", SECRET)])
producer = None
stop_producing = threading.Event()
try:
    integs = ", ".join([
        degreed_integration(env, "limited-degreed", "limited", "SECRET",
                            extra=f"rate_limit_per_minute = {LIMIT};"),
        degreed_integration(env, "other-degreed", "other", "SECRET")])

    def member():
        return env.worker("completion-worker", integs, env={"SECRET": SECRET})

    def settled(members, what):
        """Waits until the live members hold every source partition between
        them, each its share; returns the shares."""
        def shares():
            held = [m.metric("lmsbridge_assigned_partitions", topic=TOPIC) for m in members]
            s = [m.metric("lmsbridge_rate_limit_share") for m in members]
            return s if sum(held) == PARTITIONS and all(held) and all(s) else None
        return wait_for(shares, 120, what, interval=0.5)

    # requests take 0.3 to 0.5 s: at every change members have requests on
    # the wire (the stop waits for them, a revocation gives them 5 s)
    for tenant in ("limited", "other"):
        env.lms_post("/_sandbox/faults", {"tenant": tenant, "latency": {
            "ms": 300, "jitter_ms": 200, "api": "degreed"}})
    t_start = time.time()
    first = member()
    phases = {"one": settled([first], "the first member holding every partition")}

    produced = {"limited": [], "other": []}
    batches = [0]

    def produce():
        b = 0
        while not stop_producing.is_set():
            lim = [f"l{i}" for i in range(b * L_BATCH, (b + 1) * L_BATCH)]
            oth = [f"o{i}" for i in range(b * O_BATCH, (b + 1) * O_BATCH)]
            env.produce_many(TOPIC, [(k, completion(k, "limited", k)) for k in lim] +
                             [(k, completion(k, "other", k)) for k in oth])
            produced["limited"] += lim
            produced["other"] += oth
            b += 1
            batches[0] = b
            time.sleep(EVERY_S)  # paces the stream on purpose
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    t0 = time.time()

    def batches_go_by(n):
        """Lets n more batches of the stream out (the stream's pace)."""
        target = batches[0] + n
        wait_progress(lambda: batches[0], target, f"{n} batches of the stream", stall=60)

    # 1 member
    batches_go_by(PHASE_BATCHES)
    t1 = time.time()
    # -> 3 members
    second, third = member(), member()
    members = [first, second, third]
    phases["three"] = settled(members, "three members sharing the partitions")
    t_three = time.time()
    up_s = t_three - t1
    check(abs(sum(phases["three"]) - 1) < 1e-6 and
          all(abs(x - 1 / 3) < 1e-6 for x in phases["three"]),
          f"three members: the shares add up to 1, a third each ({phases['three']})")
    batches_go_by(PHASE_BATCHES)
    # -> 1 member: SIGTERM to the two started last, counts read after it
    t2 = time.time()
    for w in (second, third):
        w.proc.send_signal(signal.SIGTERM)
    rcs = [w.proc.wait(timeout=120) for w in (second, third)]
    leaving_counts = final_counts([second, third])
    check(rcs == [0, 0], f"the two members stopped with SIGTERM exit 0 ({rcs})")
    check(None not in leaving_counts,
          f"the stopping members' consumed counts, from their \"stopped\" lines "
          f"({leaving_counts})")
    phases["one again"] = settled([first], "the first member holding every partition again")
    t_one = time.time()
    down_s = t_one - t2
    check(phases["one again"] == [1.0] and phases["one"] == [1.0],
          f"one member: its share is 1, before and after ({phases['one']}, {phases['one again']})")
    batches_go_by(PHASE_BATCHES)
    stop_producing.set()
    producer.join(timeout=60)
    check(not producer.is_alive(), f"the stream ran through the changes ({batches[0]} batches)")
    produced_s = time.time() - t0

    # every event recorded
    for tenant in ("other", "limited"):
        n = len(produced[tenant])
        wait_progress(lambda: len(recorded(tenant)), n, f"{tenant}'s {n} completions",
                      stall=90, interval=1)
    t_done = time.time()
    ends = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(GROUP, TOPIC, sorted(ends)) == ends, 60, "the final commit")
    got = {t: recorded(t) for t in produced}
    missing = {t: sorted(set(produced[t]) - set(got[t])) for t in produced}
    check(not missing["limited"] and not missing["other"],
          f"0 lost: all {len(produced['limited'])} limited and {len(produced['other'])} other "
          f"completions recorded by lms-sandbox (missing: {missing['limited'][:5]} "
          f"{missing['other'][:5]})")
    check(env.consume_all(f"{TOPIC}.dlq") == [] and
          sum(first.metric("lmsbridge_dlq_records_total", reason=r)
              for r in ("retries_exhausted", "permanent_http")) == 0,
          "nothing dead-lettered")

    # limits
    times, refused = env.lms_api_times("limited")
    most = most_in_window(times, WINDOW_S)
    sandbox_refused = env.state("limited")["degreed"]["rate_limited_requests"]
    info(f"the limited customer ({LIMIT}/min): most requests in any {WINDOW_S} s window {most} "
         f"over {times[-1] - times[0]:.0f} s, 429s {refused} (sandbox count {sandbox_refused}); "
         f"{len(produced['limited'])} delivered, the last {t_done - t0:.0f} s after the stream "
         f"began")
    def per_minute(a, b):
        return sum(a <= t < b for t in times) * 60 / (b - a)
    info(f"the limited customer's requests a minute: {per_minute(t0, t1):.0f} with one member, "
         f"{per_minute(t_three, t2):.0f} with three, {per_minute(t_one, t_one + 30):.0f} in the "
         f"first 30 s with one again (limit {LIMIT})")
    check(most <= LIMIT * 1.1,
          f"the limited customer: at most {int(LIMIT * 1.1)} requests in any {WINDOW_S} s "
          f"window through the changes ({most})")
    check(refused <= 3 and sandbox_refused <= 3,
          f"the limited customer: at most 3 answered 429 ({refused}, sandbox {sandbox_refused})")

    # duplicates
    records = sum(env.end_offsets(TOPIC).values()) + sum(env.end_offsets(f"{TOPIC}.retry").values())
    read = consumed(first) + sum(n or 0 for n in leaving_counts)
    twice = read - records
    repeats = {t: sum(c.get("repeats", 0) for c in got[t].values()) for t in got}
    handed = [x for w in members for x in log_values(w, "partitions handed back", "handed_back")]
    stopped = [x for w in (second, third) for x in log_values(w, "stopped", "handed_back")]
    info(f"repeats: limited {repeats['limited']}, other {repeats['other']}; records read twice "
         f"{twice} ({read} consumed, {records} in the source and retry topics); handed back "
         f"unfinished at the revocations {handed}, at the stops {stopped}")
    bound = twice - sum(handed) - sum(stopped)
    check(0 <= sum(repeats.values()) <= bound,
          f"duplicates within what the group read again less what it handed back unfinished: "
          f"{sum(repeats.values())} repeats <= {bound:.0f} ({twice:.0f} read twice - "
          f"{sum(handed) + sum(stopped)} handed back)")
    info(f"phases: one member {PHASE_BATCHES} batches, 1 -> 3 settled in {up_s:.1f} s, "
         f"3 -> 1 settled in {down_s:.1f} s; stream {produced_s:.0f} s, "
         f"{batches[0]} batches; the whole test {time.time() - t_start:.0f} s")
    first.stop_and_check("the remaining member")
finally:
    stop_producing.set()
    env.close()
finish()
