#!/usr/bin/env python3
"""Benchmark: completion-worker at a steady load, end to end (produce to
LMS): completions produced at RATE per second for SECONDS, each stamped
with occurred_at when it is produced; the LMS sandbox stamps received_at.
Reports completions/s delivered and the p50/p99 of received_at - occurred_at,
at 0 ms and 50 ms of LMS latency, and that span in two: occurred_at to the
record's Kafka timestamp (set by the bench's producer, kcat, when it sends:
the bench's own share) and the Kafka timestamp to received_at (the broker,
the worker's fetch and loop, the LMS).

  bench_latency.py BUILD_DIR [RATE] [SECONDS]
"""
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

from bench_harness import harness, record  # noqa: E402  (first: it sets the path)

RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 15
SECRET = "bench-latency-secret-3"
TICK = 0.1


def iso_ms(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


results = []
for latency in (0, 50):
    tenant = f"lat{latency}"
    env = harness.Env(["completion-events:8", "completion-events.retry:8",
                       "completion-events.dlq:1"], [harness.degreed_tenant(tenant, SECRET)])
    try:
        if latency:
            env.lms_post("/_sandbox/faults", {"tenant": tenant, "latency": {"ms": latency}})
        integ = harness.degreed_integration(env, "bench", tenant, "SECRET",
                                            extra="rate_limit_per_minute = 0; max_in_flight = 256;")
        w = env.worker("completion-worker", integ, env={"SECRET": SECRET}, extra_kafka=os.environ.get("BENCH_KAFKA_EXTRA", ""),
                       delivery="max_in_flight = 256;")
        # warm up: the group join and the first token
        env.produce_many("completion-events", [("w", harness.completion("warm", tenant, "w"))])
        harness.wait_for(lambda: len(env.state(tenant)["degreed"]["completions"]) == 1, 60,
                         "warm-up")
        per_tick = max(1, int(RATE * TICK))
        n, start = 0, time.time()
        while time.time() - start < SECONDS:
            now = time.time()
            batch = []
            for _ in range(per_tick):
                n += 1
                batch.append((f"u{n}", harness.completion(f"e{n}", tenant, f"u{n}",
                                                          occurred_at=iso_ms(now))))
            env.produce_many("completion-events", batch)
            time.sleep(max(0, start + (n / per_tick) * TICK - time.time()))
        harness.wait_for(lambda: len(env.state(tenant)["degreed"]["completions"]) == n + 1, 300,
                         "every completion")
        # the LMS record has received_at, the event occurred_at: match them
        # by learner (one completion each)
        received_at = {c["attributes"]["user-id"]: parse(c["received_at"])
                       for c in env.state(tenant)["degreed"]["completions"]}
        out = subprocess.run(["kcat", "-b", env.brokers, "-t", "completion-events", "-C", "-e",
                              "-q", "-f", "%T %s\n"], capture_output=True, text=True, timeout=120)
        lat, produced, onward, first_occ, last_recv = [], [], [], None, 0
        for line in out.stdout.splitlines():
            stamp, _, value = line.partition(" ")
            e = json.loads(value)
            recv = received_at.get(e["user"]["email"])
            if e["event_id"] == "warm" or recv is None:
                continue
            occ, kafka_ts = parse(e["occurred_at"]), int(stamp) / 1000
            lat.append((recv - occ) * 1000)
            produced.append((kafka_ts - occ) * 1000)
            onward.append((recv - kafka_ts) * 1000)
            first_occ = occ if first_occ is None else min(first_occ, occ)
            last_recv = max(last_recv, recv)
        rate = len(lat) / (last_recv - first_occ)
        results.append((latency, len(lat), rate, pct(lat, 50), pct(lat, 99), pct(produced, 50),
                        pct(produced, 99), pct(onward, 50), pct(onward, 99)))
        print(f"latency={latency}ms offered={RATE}/s delivered={len(lat)} rate={rate:.0f}/s "
              f"p50={pct(lat, 50):.0f}ms p99={pct(lat, 99):.0f}ms "
              f"producer_p50={pct(produced, 50):.0f}ms producer_p99={pct(produced, 99):.0f}ms "
              f"kafka_to_lms_p50={pct(onward, 50):.0f}ms kafka_to_lms_p99={pct(onward, 99):.0f}ms",
              flush=True)
        record("latency", kafka="real" if harness.REAL else "sandbox", latency_ms=latency,
               offered=RATE, rate=rate, p50_ms=pct(lat, 50), p99_ms=pct(lat, 99),
               kafka_to_lms_p50_ms=pct(onward, 50), kafka_to_lms_p99_ms=pct(onward, 99))
        w.stop()
    finally:
        env.close()

print()
print(f"{'steady load, offered %d/s' % RATE:34} {'events/s':>9} {'p50':>8} {'p99':>8}"
      f"   {'of which: producer p50/p99':>27}   {'Kafka ts -> LMS p50/p99':>23}")
for latency, n, rate, p50, p99, pp50, pp99, op50, op99 in results:
    print(f"{'LMS latency %d ms (%d events)' % (latency, n):34} {rate:9.0f} {p50:6.0f}ms {p99:6.0f}ms"
          f"   {pp50:20.0f}/{pp99:.0f}ms   {op50:16.0f}/{op99:.0f}ms")
