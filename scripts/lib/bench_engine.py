#!/usr/bin/env python3
"""Benchmark: completion-worker end to end (kafka-sandbox -> worker ->
lms-sandbox), side by side in one run: events/s, CPU seconds per 1,000
events and peak RSS, at 0 ms and 50 ms of LMS latency, with 256 requests in
flight and with one (a sequential consumer), and at 0 ms with two workers
in one consumer group (how SREs scale: a process is one event loop, one
core at most).

  bench_engine.py BUILD_DIR EVENTS [WRK_RATE]

With wrk's request rate on the same endpoint, each run also shows its
ratio to it.
"""
import json
import os
import subprocess
import urllib.request
import sys
import time

from bench_harness import harness  # noqa: E402  (first: it sets the path)

N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
WRK = float(sys.argv[3]) if len(sys.argv) > 3 else 0
SECRET = "bench-engine-secret-5"
RUNS = [  # tenant, latency ms, in flight, events, worker processes
    ("lat0_256", 0, 256, N, 1),
    ("lat0_64", 0, 64, N, 1),   # as many connections as wrk's
    ("lat0_16", 0, 16, N, 1),   # the per-integration default max_in_flight
    ("lat0_256x2", 0, 256, N, 2),
    ("lat0_1", 0, 1, min(N, 5000), 1),
    ("lat50_256", 50, 256, N, 1),
    ("lat50_1", 50, 1, 200, 1),
]


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
    return cpu, rss


tenants = [harness.degreed_tenant(t, SECRET) for t, *_ in RUNS]
env = harness.Env([f"completion-events-{t}:8" for t, *_ in RUNS] +
                  [f"completion-events-{t}.retry:2" for t, *_ in RUNS] +
                  [f"completion-events-{t}.dlq:1" for t, *_ in RUNS], tenants)
results = []
try:
    for tenant, latency, in_flight, events, nprocs in RUNS:
        topic = f"completion-events-{tenant}"
        if latency:
            env.lms_post("/_sandbox/faults", {"tenant": tenant, "latency": {"ms": latency}})
        env.produce_many(topic, [(f"u{i}", harness.completion(f"e{i}", "bench", f"u{i}"))
                                 for i in range(events)])
        integ = harness.degreed_integration(
            env, "bench", tenant, "SECRET",
            extra=f"rate_limit_per_minute = 0; max_in_flight = {in_flight};")
        integ = integ.replace(f'organization = "{tenant}"', 'organization = "bench"')
        conf = os.path.join(env.dir, f"{tenant}.conf")
        with open(conf, "w") as f:
            f.write(f"""
kafka: {{ brokers = "{env.brokers}"; group_id = "bench-{tenant}"; topics = ["{topic}"];
  properties = ( ["session.timeout.ms", "6000"], ["heartbeat.interval.ms", "500"] ); }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
delivery: {{ max_in_flight = {in_flight}; }};
observability: {{ listen = "127.0.0.1:0"; log_level = "info"; }};
integrations = ( {integ} );
""")
        start = time.time()
        procs, ports = [], []
        for i in range(nprocs):
            log_path = os.path.join(env.dir, f"{tenant}-{i}.log")
            procs.append(subprocess.Popen(
                [harness.WORKERS["completion-worker"], "--config", conf],
                stderr=open(log_path, "w"), stdout=subprocess.DEVNULL,
                env=dict(os.environ, SECRET=SECRET)))
            ports.append(harness.wait_for(
                lambda: next((json.loads(l)["metrics_port"] for l in open(log_path)
                              if '"consuming"' in l), None), 30, "worker start"))
        # timed from the first delivery to the last (the group join before
        # it is the mock cluster's, 3 s); progress is read from the workers'
        # /metrics, which costs next to nothing (polling the LMS state of
        # 20,000 completions would take the CPU being measured)
        first = [None]

        def count():
            n = 0
            for port in ports:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
                for line in text.decode().splitlines():
                    if line.startswith('lmsbridge_deliveries_total{integration="bench",'
                                       'outcome="success"}'):
                        n += int(float(line.split()[-1]))
            if n and first[0] is None:
                first[0] = time.time()
            return n >= events
        harness.wait_for(count, 1800, f"{tenant}: {events} completions", interval=0.05)
        check = len(env.state(tenant)["degreed"]["completions"])
        if check != events:
            raise SystemExit(f"{tenant}: the LMS holds {check} completions, not {events}")
        secs = time.time() - (first[0] or start)
        stats = [proc_stats(p.pid) for p in procs]
        cpu, rss = sum(c for c, _ in stats), max(r for _, r in stats)
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        results.append((tenant, latency, in_flight, events, nprocs, secs, cpu, rss))
        print(f"latency={latency}ms in_flight={in_flight} workers={nprocs} events={events} "
              f"seconds={secs:.2f} "
              f"rate={events / secs:.0f}/s cpu_per_1000={cpu * 1000 / events:.3f}s "
              f"peak_rss={rss:.1f}MiB", flush=True)
finally:
    env.close()

print()
print(f"{'run':40} {'events/s':>10} {'CPU s/1000':>11} {'peak RSS':>10}" +
      (f" {'vs wrk':>8}" if WRK else ""))
for tenant, latency, in_flight, events, nprocs, secs, cpu, rss in results:
    name = f"{latency} ms latency, {in_flight} in flight" + (
        f", {nprocs} workers" if nprocs > 1 else "")
    print(f"{name:40} {events / secs:10.0f} {cpu * 1000 / events:11.3f} {rss:8.1f} MiB" +
          (f" {events / secs / WRK:7.2f}x" if WRK else ""))
ideal = 256 / 0.05
for tenant, latency, in_flight, events, nprocs, secs, cpu, rss in results:
    if latency == 50 and in_flight == 256:
        print(f"50 ms, 256 in flight: {events / secs:.0f} events/s = "
              f"{100 * events / secs / ideal:.0f}% of 256/0.05 = {ideal:.0f}/s")
