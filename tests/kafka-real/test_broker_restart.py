#!/usr/bin/env python3
"""A single Apache Kafka broker SIGKILLed and restarted under load
(argv[1]: "4", "3" or a version).

completion-worker consumes a steady stream of completion events (a few of
them invalid) and delivers them to lms-sandbox. Mid-stream the broker's
JVM is SIGKILLed; some seconds later it is started again on the same data
directory and ports. The stream's producer (librdkafka, idempotent,
acks=all) holds its records through the outage. The worker is not
restarted: it finds the broker again by itself (/readyz 200, consumer lag
back to 0).

Nothing is lost: every valid event in the topic reaches the LMS at least
once and every invalid one is in the DLQ; the group's commits reach the end
of every partition. Duplicates are what at-least-once allows and no more.
librdkafka commits the offsets the engine stored (the lowest unfinished
record of each partition) every auto.commit.interval.ms (1 s); while the
broker is down nothing is fetched or committed, but the worker finishes
what it had fetched. So an event can reach the LMS twice only when it was
in the topic, above the offset committed, when the broker died (the
window, read just before the kill), and no more of them than the worker
finished since its last commit plus what it held unfinished or had fetched
ahead: when it keeps up with the stream, two commit intervals of the
stream (2 * RATE * auto.commit.interval.ms). The produced, delivered, lost
and duplicated counts, the outage and the recovery are printed."""
import datetime
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
SECRET = "kafka-real-restart-secret-27"
TOPIC, RETRY, DLQ = "completion-events", "completion-events.retry", "completion-events.dlq"
PARTS = 4
GROUP = "kr-restart"
RATE = 50              # events a second
N = 2000               # 40 s of stream
KILL_AT = 12           # seconds into the stream
DOWN = 8               # seconds the broker stays dead before its restart begins
COMMIT_INTERVAL_MS = 1000   # auto.commit.interval.ms, set explicitly below

records, valid, invalid = [], set(), set()
for i in range(N):
    if i % 40 == 17:   # 2.5 %: invalid, in two ways
        key = f"bad{i}"
        value = "not json" if i % 80 == 17 else '{"schema":"completion.v1","event_id":"%s"}' % key
        invalid.add(key)
    else:
        key = f"r{i}"
        value = completion(key, "acme", key, content=f"c{i}")
        valid.add(key)
    records.append((key, value))


def counts(w):
    """The worker's counters that show progress, and /readyz."""
    code, text = w.get("/metrics")
    out = {"consumed": 0.0, "delivered": 0.0, "dead_lettered": 0.0, "lag": 0.0}
    for head, v in kr_lib.metric_values(text):
        if head == f'lmsbridge_events_consumed_total{{topic="{TOPIC}"}}':
            out["consumed"] += v
        elif head.startswith("lmsbridge_deliveries_total{") and 'outcome="success"' in head:
            out["delivered"] += v
        elif head.startswith("lmsbridge_dlq_records_total{"):
            out["dead_lettered"] += v
        elif head.startswith(f'lmsbridge_consumer_lag{{topic="{TOPIC}"'):
            out["lag"] += v
    out["ready"] = w.get("/readyz")[0]
    return out


def wall(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


rk = kafka_real.RealKafka(kr_lib.run_dir(f"restart-{VERSION}"), "single", VERSION)
env = stream = sampler = None
try:
    kr_lib.start_or_fail(rk)
    info(f"Kafka {VERSION} single node started in {rk.started_s:.1f}s at {rk.bootstrap}")
    env = Env([f"{TOPIC}:{PARTS}", f"{RETRY}:{PARTS}", f"{DLQ}:1"],
              [degreed_tenant("acme", SECRET)], kafka=rk)
    w = env.worker("completion-worker",
                   degreed_integration(env, "acme-degreed", "acme", "ACME_SECRET"),
                   env={"ACME_SECRET": SECRET}, group=GROUP,
                   extra_kafka=f', ["auto.commit.interval.ms", "{COMMIT_INTERVAL_MS}"]')
    wait_for(lambda: w.get("/readyz")[0] == 200, 60, "the worker's partitions")
    pid = w.proc.pid

    sampler = kr_lib.Sampler(lambda: counts(w))
    stream = kr_lib.Stream(rk.bootstrap, TOPIC, records, RATE,
                           os.path.join(env.dir, "producer.log"))
    wait_for(lambda: len(stream.fed) >= KILL_AT * RATE, KILL_AT + 60, "the stream's first part")
    wait_progress(lambda: counts(w)["delivered"], 0.5 * KILL_AT * RATE,
                  "deliveries before the kill")
    committed_at_kill = kafka_committed(rk.bootstrap, GROUP, TOPIC, list(range(PARTS)))
    t_kill = time.time()
    rk.kill(1)
    info(f"broker SIGKILLed {t_kill - stream.started:.1f}s into the stream, "
         f"{len(stream.fed)} events fed, commits just before: {committed_at_kill}")
    time.sleep(DOWN)
    rk.restart(1)
    t_back = time.time()
    outage = t_back - t_kill
    info(f"broker restarted on its data and ports, answering again {outage:.1f}s after the kill")

    wait_for(stream.done, N / RATE + 120, "the whole stream fed")
    t_end = time.time()
    bad = stream.close()
    check(len(stream.fed) == N and not bad,
          f"the producer had each of the {N} events acknowledged by the broker "
          f"(failed: {bad or 'none'})")

    # what the topic holds is what was produced
    in_topic, where, acked = kr_lib.topic_vs_acked(rk, TOPIC, stream, records)
    check(len(in_topic) == len(where) == len(acked) and where == acked,
          f"the topic holds each acknowledged event once, where its acknowledgement said "
          f"({len(in_topic)} records, {len(acked)} acknowledged)")
    n_valid = len(valid & set(where))
    n_invalid = len(invalid & set(where))

    def delivered():
        return {c["attributes"]["user-id"].split("@")[0]: c
                for c in env.state("acme")["degreed"]["completions"]}

    def dead_letters():
        return env.consume_all(DLQ)

    # every event ends delivered or dead-lettered; waits fail only when
    # nothing moves for two minutes
    wait_progress(lambda: len(delivered()), n_valid, "every valid event delivered", stall=120,
                  interval=1)
    wait_progress(lambda: len(dead_letters()), n_invalid, "every invalid event dead-lettered",
                  stall=120, interval=1)
    ends = env.end_offsets(TOPIC)
    wait_for(lambda: kafka_committed(rk.bootstrap, GROUP, TOPIC, sorted(ends)) == ends, 120,
             f"the group's commits at the end of every partition {ends}")
    info(f"the worker's commits reached the end of every partition ({ends})")
    # the lag metric comes from librdkafka's statistics, every 5 s
    wait_for(lambda: w.assigned(TOPIC) == list(range(PARTS)) and counts(w)["lag"] == 0, 60,
             "consumer lag 0 on every partition")
    t_caught_up = time.time()
    check(w.proc.poll() is None and w.proc.pid == pid and w.get("/readyz")[0] == 200,
          "the same worker process runs on, /readyz 200, consumer lag 0 on all "
          f"{PARTS} partitions: it recovered by itself")
    sampler.stop()

    got = delivered()
    dlq = dead_letters()
    lost_valid = sorted(valid & set(where) - set(got))
    dlq_keys = [r["key"] for r in dlq]
    lost_invalid = sorted(invalid & set(where) - set(dlq_keys))
    check(not lost_valid and not lost_invalid,
          f"0 events lost: {n_valid} valid all delivered, {n_invalid} invalid all "
          f"dead-lettered" + (f" (missing: {lost_valid[:10]} {lost_invalid[:10]})"
                              if lost_valid or lost_invalid else ""))
    check(set(got) <= valid and set(dlq_keys) <= invalid and
          all(r["headers"].get("__connect.errors.exception.class.name") == "invalid_event"
              for r in dlq),
          "the LMS received only valid events and the DLQ only the invalid ones "
          "(class invalid_event)")

    dup_lms = {k: c["repeats"] for k, c in got.items() if c["repeats"] > 0}
    dup_dlq = len(dlq_keys) - len(set(dlq_keys))
    duplicated = sum(dup_lms.values()) + dup_dlq
    # the window: in the topic when the broker died (handed to kcat before
    # the kill, a superset) and above the offset committed then
    before_kill = {k for k, _ in records[:stream.fed_before(t_kill)]}
    window = {k for k in before_kill
              if where[k][1] >= max(committed_at_kill.get(where[k][0], -1), 0)}
    dup_keys = set(dup_lms) | {k for k in dlq_keys if dlq_keys.count(k) > 1}
    outside = sorted(dup_keys - window)
    check(not outside, f"every duplicate is an event the worker held or had delivered "
          f"above the committed offset when the broker died ({len(window)} such events)"
          + (f"; outside it: {outside[:10]}" if outside else ""))
    # the configuration's bound: what it finished since its last commit (one
    # commit interval of the stream) and what it held or had fetched ahead
    # unfinished (another, when it keeps up with the stream). A worker that
    # lagged behind the stream at the kill had more in hand: then only the
    # window holds, and the figures say so.
    consumed_at_kill = sampler.value_at("consumed", t_kill) or 0
    lag_at_kill = stream.fed_before(t_kill) - consumed_at_kill
    bound = 2 * RATE * COMMIT_INTERVAL_MS // 1000
    check(all(v == 1 for v in dup_lms.values()) and dup_dlq == 0 and len(dup_keys) <= len(window),
          f"no event delivered more than twice, none dead-lettered twice, duplicates "
          f"{duplicated} <= the {len(window)} events of the window")
    if lag_at_kill <= RATE * COMMIT_INTERVAL_MS // 1000:
        check(duplicated <= bound,
              f"duplicates {duplicated} <= {bound}, two commit intervals "
              f"(auto.commit.interval.ms {COMMIT_INTERVAL_MS}) of a {RATE}/s stream the worker "
              f"kept up with ({lag_at_kill:.0f} behind it at the kill)")
    else:
        info(f"the worker was {lag_at_kill:.0f} events behind the stream at the kill (a slow "
             f"machine): the bound of two commit intervals ({bound}) does not apply, the "
             "window does")

    # figures
    resumed = sampler.first_rise("consumed", t_back)
    fed_in_outage = [k for k, t in zip((k for k, _ in records), stream.fed)
                     if t_kill <= t < t_back]
    first_after = min((wall(got[k]["received_at"]) for k in fed_in_outage if k in got),
                      default=None)
    backlog_done = max((wall(got[k]["received_at"]) for k, _ in
                        records[:stream.fed_before(t_back)] if k in got), default=None)
    last_rise = (sampler.rises("delivered", t_kill, float("inf")) or [t_back])[-1]
    stall = sampler.stall("delivered", t_kill, last_rise)
    ready_503 = sum(1 for t, s in sampler.samples if t_kill <= t <= t_back and
                    s.get("ready") != 200)
    info(f"Kafka {VERSION}: events produced {len(in_topic)} ({n_valid} valid, {n_invalid} "
         f"invalid), delivered {len(got)} (+{sum(dup_lms.values())} repeats), dead-lettered "
         f"{len(set(dlq_keys))} (+{dup_dlq} repeats), lost "
         f"{len(lost_valid) + len(lost_invalid)}, duplicated {duplicated}")
    info(f"outage (SIGKILL to broker answering again) {outage:.1f}s; events fed meanwhile "
         f"{len(fed_in_outage)}; longest stall of deliveries {stall:.1f}s")
    info("recovery: consumption resumed "
         + (f"{resumed - t_back:.1f}s" if resumed else "never seen")
         + " after the broker was back; first event fed during the outage delivered "
         + (f"{first_after - t_back:.1f}s" if first_after else "never")
         + " after; backlog of the outage delivered "
         + (f"{backlog_done - t_back:.1f}s" if backlog_done else "never")
         + f" after; stream ended {t_end - t_back:.1f}s after, lag 0 and commits at the end "
         f"{t_caught_up - t_end:.1f}s after that")
    info(f"commit window at the kill: {len(window)} events above the committed offsets "
         f"{committed_at_kill}; duplicates {sorted(dup_lms)[:20]}")
    info(f"/readyz during the outage: {ready_503} of "
         f"{sum(1 for t, _ in sampler.samples if t_kill <= t <= t_back)} samples not 200")
    logs = w.logs()
    kr_lib.info_rebalances(logs)
    info(f"group session timeouts: "
         f"{sum(1 for l in logs if l.get('facility') == 'SESSTMOUT')} (the tests' "
         "session.timeout.ms is 6 s, librdkafka's default 45 s: an outage longer than the "
         "session makes the member rejoin, its partitions lost, and what it finished since its "
         "last commit is delivered again; with 45 s this outage causes no rejoin and no "
         "duplicate)")
    kr_lib.info_worker_said(logs, lambda msg: msg.startswith("invalid event"), 8)
    kr_lib.info_librdkafka_errors(logs, "while the broker was down")
    kr_lib.check_worker_no_error(logs)
    w.stop_and_check("completion-worker")
    env.close()
    env = None
    kr_lib.stop_and_check(rk)
finally:
    kr_lib.close_stream_test(rk, env, sampler, stream, sys.exc_info()[0] is not None)
finish()
