#!/usr/bin/env python3
"""SIGKILL in the middle of a 5,000-record replay, then the same command
again: no dead letter is lost (each is republished at least once) and the
only duplicates are records at or after the offset the replay group had
committed when it was killed (the unacknowledged tail, bounded by
--max-in-flight). 5,000 completions of learners the LMS does not know are
dead-lettered by a real worker over four DLQ partitions; the worker is then
stopped so the original topic shows exactly what the replays wrote. During
the first run the broker is slow to answer, so the kill finds records
written but not acknowledged: kafka-sandbox answers 300 ms late (records
are written before the answer); real Kafka (a broker of this test's own)
is SIGSTOPped once dlq-replay has a full window in flight, dlq-replay is
SIGKILLed, and the broker, continued, writes the requests that were
waiting for it. Both runs are paced with --rate."""
import json
import os
import signal
import subprocess
import time

from harness import (DLQ_REPLAY, REAL, Env, check, completion, degreed_integration,
                     degreed_tenant, dlq_replay, finish, ns, wait_for, worker_config_path)

SECRET = "e2e-dlq-crash-secret-23"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{DLQ}:4"]
N = 5000
IN_FLIGHT = 200
RATE = 2000
GROUP = ns("completion-worker.dlq-replay")


def dlq_count():
    return sum(env.end_offsets(DLQ).values())


def progress(path):
    """The last progress line dlq-replay wrote."""
    last = None
    for line in open(path):
        if '"replay progress"' in line:
            last = line
    return last


def in_flight(path):
    """in_flight of dlq-replay's last progress line (0 before the first)."""
    line = progress(path)
    return json.loads(line).get("in_flight", 0) if line else 0


# real Kafka: a broker of its own, to be SIGSTOPped
env = Env(TOPICS, [degreed_tenant("acme", SECRET, users=["someone@acme.example"])],
          kafka="own" if REAL else None)
stopped = None   # the broker's pid while it is SIGSTOPped
try:
    w = env.worker("completion-worker", degreed_integration(env, "acme-degreed", "acme", "SECRET"),
                   env={"SECRET": SECRET})
    conf = worker_config_path(w)
    env.produce_many(TOPIC, [(f"u{i}", completion(f"e{i}", "acme", f"u{i}")) for i in range(N)])
    wait_for(lambda: dlq_count() >= N, 120, f"{N} dead letters", interval=1)
    rc, _ = w.stop()
    check(rc == 0 and dlq_count() == N, f"{N} dead letters over 4 partitions, worker stopped")
    before = env.end_offsets(TOPIC)

    # the first run: paced, and once it replays the broker is slow to answer
    # (having written the records, or reading them only after the kill), so
    # the kill finds records written and not acknowledged
    log = os.path.join(env.dir, "replay-1.log")
    penv = dict(os.environ, SECRET=SECRET)
    p = subprocess.Popen([DLQ_REPLAY, "replay", "--config", conf, "--worker", "completion-worker",
                          "--yes", "--rate", "1000", "--max-in-flight", str(IN_FLIGHT)],
                         stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=penv)
    wait_for(lambda: '"replaying"' in open(log).read(), 60, "the replay pass", interval=0.05)
    if env.control:
        code, body = env.kafka_control("POST", "/brokers/1/rtt?ms=300")
        check(code == 200, f"the broker answers 300 ms late ({body[:60]})")
        wait_for(lambda: progress(log), 30, "replay progress")
    else:
        wait_for(lambda: progress(log), 30, "replay progress")
        stopped = env.real.pids()[0]
        os.kill(stopped, signal.SIGSTOP)
        wait_for(lambda: in_flight(log) >= IN_FLIGHT, 30, f"{IN_FLIGHT} records in flight")
        print(f"INFO broker SIGSTOPped, dlq-replay has {in_flight(log)} records in flight",
              flush=True)
    p.send_signal(signal.SIGKILL)
    p.wait()
    if env.control:
        env.kafka_control("POST", "/brokers/1/rtt?ms=0")
    else:
        os.kill(stopped, signal.SIGCONT)
        stopped = None
    committed = env.committed(GROUP, DLQ, [0, 1, 2, 3])
    after_kill = sum(env.end_offsets(TOPIC).values()) - sum(before.values())
    done = sum(max(c, 0) for c in committed.values())
    check(0 < done < N and after_kill < N,
          f"killed mid-replay: {after_kill} republished, progress committed at {done} "
          f"({committed})")

    # the same command again
    t0 = time.time()
    rc, lines, err = dlq_replay("replay", "--config", conf, "--worker", "completion-worker",
                                "--yes", "--max-in-flight", str(IN_FLIGHT), "--rate", str(RATE),
                                env={"SECRET": SECRET}, timeout=300)
    secs = time.time() - t0
    plan, summary = lines[0], lines[-1]
    check(rc == 0 and plan["matched"] == N - done and summary["replayed"] == N - done,
          f"rerun from the committed offsets: {summary.get('replayed')} replayed in {secs:.1f}s "
          f"({summary.get('records_per_s')}/s)")
    check(summary["records_per_s"] <= RATE * 1.1, f"--rate {RATE}: the rerun kept the pace")
    check(env.committed(GROUP, DLQ, [0, 1, 2, 3]) == env.end_offsets(DLQ),
          "progress committed to the end of every partition")

    # what landed on the original topic
    seen = {}
    for r in env.consume_all(TOPIC):
        src = r["headers"].get("lmsbridge.replayed_from")
        if src:
            _, part, off = src.rsplit("/", 2)
            seen.setdefault((int(part), int(off)), []).append(r)
    ends = env.end_offsets(DLQ)
    expected = {(p, o) for p, end in ends.items() for o in range(end)}
    check(set(seen) == expected, f"none lost: all {N} dead letters republished "
                                 f"({len(expected - set(seen))} missing)")
    dups = {k: len(v) for k, v in seen.items() if len(v) > 1}
    check(all(n == 2 for n in dups.values()) and
          all(off >= max(committed[part], 0) for part, off in dups),
          f"duplicates only in the tail not committed at the kill ({len(dups)} records)")
    check(0 < len(dups) <= 2 * IN_FLIGHT,
          f"duplicates bounded by what was in flight ({len(dups)}; --max-in-flight {IN_FLIGHT}, "
          f"{after_kill - done} written past the commit when killed)")
    check(all(len({x["payload"] for x in v}) == 1 and
              all(x["headers"].get("lmsbridge.target") == "acme-degreed" for x in v)
              for v in seen.values()), "every copy targeted at acme-degreed, value intact")
    check(dlq_count() == N, "nothing deleted from the DLQ")
finally:
    if stopped:
        os.kill(stopped, signal.SIGCONT)
    env.close()
finish()
