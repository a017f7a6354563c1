#!/usr/bin/env python3
"""Leaders SIGKILLed under a worker that consumes, parks and dead-letters
(argv[1]: "4", "3" or a version): three Apache Kafka brokers (cluster3:
replication factor 3, min.insync.replicas=2).

completion-worker consumes a steady stream of completion events for two
customers: acme's LMS answers at once, slow's answers 503 with Retry-After
35 s, past the 30 s parking threshold, so each of slow's deliveries is
parked in the retry topic (and parked again when it comes back while slow
still refuses). Invalid events and acme learners its LMS does not know
(400) are dead-lettered. While the worker works, the broker leading most
of the consumed partitions is SIGKILLed, then restarted on its data and
ports and back in every ISR; then the leader of the DLQ's partition is
SIGKILLed and restarted the same way. The worker is not restarted.

Consumption, parking and dead-lettering go on after each kill (each
counter grows again once the partitions have new leaders); after the
stream slow recovers and every parked delivery comes back from the retry
topic: 0 lost (every valid event delivered to its customer, every invalid
or unknown-learner event dead-lettered with its class), the group's
commits at the end of the source topic and of the retry topic. Printed:
produced / delivered / parked / dead-lettered / lost / duplicated, and the
stall each kill caused to consumption, parking and dead-lettering."""
import os
import sys
import time

import kr_lib
from kr_lib import check, finish, info, kafka_real

kr_lib.skip_if_disabled()

from harness import (Env, completion, degreed_integration, degreed_tenant,  # noqa: E402
                     kafka_committed, wait_for, wait_progress)

VERSION = kr_lib.version_arg()
kr_lib.fetch_or_fail(VERSION)
SECRET = "kafka-real-failover-secret-63"
TOPIC, RETRY, DLQ = "completion-events", "completion-events.retry", "completion-events.dlq"
PARTS = 6
GROUP = "kr-failover"
RATE = 40                  # events a second
# 503 with Retry-After 35 s: each delivery waits past the 30 s threshold and
# is parked as it comes (a 429 would stop slow's whole lane for 35 s and
# park in bursts)
SLOW_FAULT = {"rate": 1, "status": 503, "retry_after": 35, "api": "degreed"}

records, fate = [], {}     # fate: acme | slow | invalid_event | permanent_http
for i in range(RATE * 300):    # more than the run feeds: it stops the stream
    if i % 25 == 3:
        key = f"bad{i}"
        value = "not json" if i % 50 == 3 else '{"schema":"completion.v1","event_id":"%s"}' % key
        fate[key] = "invalid_event"
    elif i % 25 == 11:     # a learner acme's LMS does not know: 400
        key = f"x{i}"
        value = completion(key, "acme", key, content=f"c{i}")
        fate[key] = "permanent_http"
    elif i % 5 == 4:
        key = f"s{i}"
        value = completion(key, "slow", key, content=f"c{i}")
        fate[key] = "slow"
    else:
        key = f"a{i}"
        value = completion(key, "acme", key, content=f"c{i}")
        fate[key] = "acme"
    records.append((key, value))
KEYS = ("consumed", "delivered", "parked", "dead_lettered", "retry_consumed")


def counts(w):
    code, text = w.get("/metrics")
    out = dict.fromkeys(KEYS + ("lag",), 0.0)
    for head, v in kr_lib.metric_values(text):
        if head == f'lmsbridge_events_consumed_total{{topic="{TOPIC}"}}':
            out["consumed"] += v
        elif head == f'lmsbridge_events_consumed_total{{topic="{RETRY}"}}':
            out["retry_consumed"] += v
        elif head.startswith("lmsbridge_deliveries_total{") and 'outcome="success"' in head:
            out["delivered"] += v
        elif head.startswith("lmsbridge_deliveries_total{") and 'outcome="parked"' in head:
            out["parked"] += v
        elif head.startswith("lmsbridge_dlq_records_total{"):
            out["dead_lettered"] += v
        elif head.startswith(f'lmsbridge_consumer_lag{{topic="{TOPIC}"'):
            out["lag"] += v
    return out


def coordinator(rk, group):
    """The broker coordinating `group` (FindCoordinator v0)."""
    with kafka_real.KafkaConn(rk._live_node().address) as c:
        r = c.call(10, 0, kafka_real._s(group))
        err, node = r.take(">h"), r.take(">i")
    return node if not err else None


def leaders(rk, topic):
    return {p: v["leader"] for p, v in rk.partitions(topic).items()}


def all_led(rk, dead):
    """Every partition of our topics led by a live broker."""
    return all(l not in (dead, -1) for t in (TOPIC, RETRY, DLQ) for l in leaders(rk, t).values())


def kill_and_restart(rk, victim, why, sampler, w):
    """SIGKILLs `victim`; waits for new leaders and for every counter to
    grow again; restarts it and waits for it in every ISR. Returns the
    figures of this kill."""
    what = {t: sorted(p for p, l in leaders(rk, t).items() if l == victim)
            for t in (TOPIC, RETRY, DLQ)}
    coord = coordinator(rk, GROUP)
    info(f"killing broker {victim} ({why}): it leads {TOPIC} {what[TOPIC]}, {RETRY} "
         f"{what[RETRY]}, {DLQ} {what[DLQ]}; the group's coordinator is broker {coord}")
    t_kill = time.time()
    rk.kill(victim)
    rk.wait_for(lambda: all_led(rk, victim), 120, f"new leaders for broker {victim}'s partitions")
    t_led = time.time()
    # the wait is the check: every counter grows again after the failover
    wait_for(lambda: all(sampler.first_rise(k, t_led) for k in KEYS), 180,
             f"consumption, parking and dead-lettering going on without broker {victim}")
    t_restart = time.time()
    stalls = {k: sampler.stall(k, t_kill, t_restart) for k in KEYS}
    info(f"broker {victim} down: new leaders after {t_led - t_kill:.1f}s; longest stall "
         + ", ".join(f"{k} {v:.1f}s" for k, v in stalls.items())
         + f"; coordinator now broker {coordinator(rk, GROUP)}")
    check(w.proc.poll() is None,
          f"consumption, parking and dead-lettering go on with broker {victim} dead "
          f"(the worker runs on)")
    rk.restart(victim)
    for t in (TOPIC, RETRY, DLQ):
        rk.wait_isr(t, 3)
    info(f"broker {victim} restarted and back in every ISR in {time.time() - t_restart:.1f}s")
    return {"victim": victim, "why": why, "failover": t_led - t_kill, "stalls": stalls,
            "coordinator": coord}


rk = kafka_real.RealKafka(kr_lib.run_dir(f"failover-{VERSION}"), "cluster3", VERSION)
env = stream = sampler = None
try:
    kr_lib.start_or_fail(rk)
    info(f"Kafka {VERSION}: three brokers and a controller started in {rk.started_s:.1f}s")
    known = [f"{k}@acme.example" for k, f in fate.items() if f == "acme"]
    env = Env([f"{TOPIC}:{PARTS}", f"{RETRY}:{PARTS}", f"{DLQ}:1"],
              [degreed_tenant("acme", SECRET, users=known), degreed_tenant("slow", SECRET)],
              kafka=rk)
    check(all(len(p["replicas"]) == 3 and len(p["isr"]) == 3
              for t in (TOPIC, RETRY, DLQ) for p in rk.partitions(t).values()),
          "source, retry and DLQ topics: 3 replicas of every partition, all in sync "
          "(min.insync.replicas=2 on the brokers)")
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": SLOW_FAULT})
    integs = ", ".join(degreed_integration(env, f"{t}-degreed", t, "SECRET")
                       for t in ("acme", "slow"))
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET}, group=GROUP)
    wait_for(lambda: w.get("/readyz")[0] == 200, 60, "the worker's partitions")
    pid = w.proc.pid

    sampler = kr_lib.Sampler(lambda: counts(w))
    stream = kr_lib.Stream(rk.bootstrap, TOPIC, records, RATE,
                           os.path.join(env.dir, "producer.log"))
    for k in ("delivered", "parked", "dead_lettered"):
        wait_progress(lambda: counts(w)[k], RATE // 2, f"{k} before the kills")
    wait_for(lambda: len(stream.fed) >= 10 * RATE, 120, "10 s of stream")

    counts_tp = {}
    for t in (TOPIC,):
        for p, l in leaders(rk, t).items():
            counts_tp[l] = counts_tp.get(l, 0) + 1
    victim1 = max(sorted(counts_tp), key=lambda b: counts_tp[b])
    t0 = time.time()
    baseline = {k: sampler.stall(k, t0 - 8, t0) for k in KEYS}
    info("before the kills, longest time without growth in 8 s: "
         + ", ".join(f"{k} {v:.1f}s" for k, v in baseline.items()))
    kills = [kill_and_restart(rk, victim1, "leader of the most consumed partitions", sampler, w)]
    victim2 = rk.leader(DLQ, 0)
    kills.append(kill_and_restart(rk, victim2, "leader of the DLQ partition", sampler, w))
    time.sleep(5)   # the stream goes on with all three a little longer

    bad = stream.close()
    t_end = time.time()
    check(not bad, f"the producer had each of the {len(stream.fed)} events acknowledged "
          f"(failed: {bad or 'none'})")
    in_topic, where, acked = kr_lib.topic_vs_acked(rk, TOPIC, stream, records)
    check(len(in_topic) == len(where) and where == acked,
          f"the topic holds each acknowledged event once ({len(in_topic)} records)")
    produced = {f: sorted(k for k in where if fate[k] == f) for f in set(fate.values())}

    # every one of slow's completions parked before slow recovers
    wait_progress(lambda: len({r["key"] for r in env.consume_all(RETRY)} &
                              set(produced["slow"])), len(produced["slow"]),
                  "slow's completions parked", stall=120, interval=1)
    # slow recovers: what is parked comes back (not before 35 s) and goes
    env.lms_post("/_sandbox/faults", {"tenant": "slow", "error_rate": None})
    t_healed = time.time()

    def delivered(tenant):
        return {c["attributes"]["user-id"].split("@")[0]: c
                for c in env.state(tenant)["degreed"]["completions"]}

    n_acme, n_slow = len(produced["acme"]), len(produced["slow"])
    n_dead = len(produced["invalid_event"]) + len(produced["permanent_http"])
    wait_progress(lambda: len(delivered("acme")), n_acme, "acme's completions", stall=120,
                  interval=1)
    wait_progress(lambda: len({r["key"] for r in env.consume_all(DLQ)}), n_dead,
                  "the dead letters", stall=120, interval=1)
    # parked records are held until their not-before (up to 35 s ahead)
    wait_progress(lambda: len(delivered("slow")), n_slow, "slow's parked completions",
                  stall=150, interval=1)
    t_parked_done = time.time()
    src_ends = env.end_offsets(TOPIC)
    wait_for(lambda: kafka_committed(rk.bootstrap, GROUP, TOPIC, sorted(src_ends)) == src_ends,
             120, f"the group's commits at the end of {TOPIC} {src_ends}")
    retry_ends = env.end_offsets(RETRY)
    want_retry = {p: (o if o else -1) for p, o in retry_ends.items()}
    wait_for(lambda: kafka_committed(rk.bootstrap, GROUP, RETRY, sorted(retry_ends))
             == want_retry, 120, f"the group's commits at the end of {RETRY} {retry_ends}")
    wait_for(lambda: w.assigned(TOPIC) == list(range(PARTS)) and counts(w)["lag"] == 0, 60,
             "consumer lag 0")
    sampler.stop()
    check(w.proc.poll() is None and w.proc.pid == pid and w.get("/readyz")[0] == 200,
          f"the same worker runs on, /readyz 200, lag 0, its commits at the end of {TOPIC} "
          f"{src_ends} and of {RETRY} {retry_ends}")

    acme, slow = delivered("acme"), delivered("slow")
    dlq = env.consume_all(DLQ)
    dlq_by_key = {}
    for r in dlq:
        dlq_by_key.setdefault(r["key"], []).append(r)
    lost = sorted(set(produced["acme"]) - set(acme)) + sorted(set(produced["slow"]) - set(slow))
    lost += sorted(k for f in ("invalid_event", "permanent_http") for k in produced[f]
                   if k not in dlq_by_key)
    check(not lost, f"0 lost: {n_acme} of acme's and {n_slow} of slow's completions delivered, "
          f"{n_dead} dead-lettered" + (f" (missing {lost[:10]})" if lost else ""))
    wrong = [k for k, rs in dlq_by_key.items() if
             any(r["headers"].get("__connect.errors.exception.class.name") != fate.get(k)
                 for r in rs)]
    check(not wrong and set(acme) <= set(produced["acme"]) and
          set(slow) <= set(produced["slow"]),
          "each event went where its kind says: acme's and slow's completions to their LMS, "
          "invalid events as invalid_event and unknown learners as permanent_http to the DLQ"
          + (f" (wrong: {wrong[:5]})" if wrong else ""))
    retry = env.consume_all(RETRY)
    parked_keys = {r["key"] for r in retry}
    check(parked_keys == set(produced["slow"]) and
          all(r["headers"].get("lmsbridge.target") == "slow-degreed" for r in retry),
          f"every one of slow's completions was parked in {RETRY} (for slow-degreed only), "
          f"none of the others ({len(retry)} parked records for {len(parked_keys)} events)")

    dup_lms = sum(c["repeats"] for c in list(acme.values()) + list(slow.values()))
    dup_dlq = sum(len(rs) - 1 for rs in dlq_by_key.values())
    info(f"Kafka {VERSION}: events produced {len(in_topic)} (acme {n_acme}, slow {n_slow}, "
         f"invalid {len(produced['invalid_event'])}, unknown learners "
         f"{len(produced['permanent_http'])}); delivered {len(acme) + len(slow)}; parked "
         f"{len(retry)} times for {len(parked_keys)} events; dead-lettered {len(dlq_by_key)}; "
         f"lost {len(lost)}; duplicated {dup_lms + dup_dlq} (LMS repeats {dup_lms}, DLQ "
         f"{dup_dlq})")
    for k in kills:
        info(f"kill of broker {k['victim']} ({k['why']}; coordinator was {k['coordinator']}): "
             f"new leaders {k['failover']:.1f}s after; stall of consumption "
             f"{k['stalls']['consumed']:.1f}s, deliveries {k['stalls']['delivered']:.1f}s, "
             f"parking {k['stalls']['parked']:.1f}s, dead-lettering "
             f"{k['stalls']['dead_lettered']:.1f}s, retry-topic consumption "
             f"{k['stalls']['retry_consumed']:.1f}s")
    info(f"stream ended; slow healed {t_healed - t_end:.1f}s later; every parked completion "
         f"delivered {t_parked_done - t_healed:.1f}s after that")
    logs = w.logs()
    kr_lib.info_rebalances(logs)
    timeouts = [l for l in logs if l.get("facility") == "SESSTMOUT"]
    info(f"group session timeouts: {len(timeouts)} (the tests' session.timeout.ms is 6 s, "
         "librdkafka's default 45 s: a coordinator killed, or one whose offset commits wait "
         "for a dead replica while the heartbeats queue behind them on the same connection, "
         "answers no heartbeat for longer; the member rejoins and what it finished since its "
         "last commit is delivered again: the duplicates above)")
    for l in timeouts:
        info(f"  {l.get('ts')}: {l.get('detail', '')[:200]}")
    kr_lib.info_librdkafka_errors(logs, "while brokers were down")
    kr_lib.info_worker_said(logs, lambda msg: msg in (
        "invalid event, sent to the dead-letter topic",
        "delivery failed for good, sent to the dead-letter topic"), 10)
    kr_lib.check_worker_no_error(logs)
    w.stop_and_check("completion-worker")
    env.close()
    env = None
    kr_lib.stop_and_check(rk)
finally:
    kr_lib.close_stream_test(rk, env, sampler, stream, sys.exc_info()[0] is not None)
finish()
