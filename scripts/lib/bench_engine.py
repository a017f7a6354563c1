#!/usr/bin/env python3
"""Benchmark: completion-worker end to end (Kafka -> worker -> lms-sandbox),
side by side in one run: events/s, CPU seconds per 1,000 events and peak
RSS, at 0 ms and 50 ms of LMS latency, with 256 requests in flight and with
one (a sequential consumer), and at 0 ms with two workers in one consumer
group (how SREs scale: a process is one event loop, one core at most).

  bench_engine.py BUILD_DIR EVENTS [WRK_RATE] [--real]

Each run goes through kafka-sandbox (librdkafka's mock cluster); with
--real, also through a real single-node Apache Kafka (the pinned 4.x, or
LB_KAFKA_VERSION; tests/kafka-real/kafka_real.py), right after it with the
same events, configuration and lms-sandbox, and the ratios real/sandbox
are printed (the broker's JVM is warmed up first with kcat: EVENTS records
produced and consumed by a group). The brokers' own CPU (kafka-sandbox, the broker's JVM) while
the workers consume is shown beside the workers'. With wrk's request rate
on the same endpoint, each run also shows its ratio to it.
"""
import json
import os
import subprocess
import urllib.request
import sys
import time

from bench_harness import harness, record  # noqa: E402  (first: it sets the path)

args = [a for a in sys.argv[1:] if not a.startswith("--")]
REAL = "--real" in sys.argv[1:]
N = int(args[1]) if len(args) > 1 else 20000
WRK = float(args[2]) if len(args) > 2 else 0
SECRET = "bench-engine-secret-5"
RUNS = [  # tenant, latency ms, in flight, events, worker processes
    ("lat0_256", 0, 256, N, 1),
    ("lat0_256_3n", 0, 256, 3 * N, 1),  # a backlog three times as long: peak RSS
    ("lat0_64", 0, 64, N, 1),   # as many connections as wrk's
    ("lat0_16", 0, 16, N, 1),   # the per-integration default max_in_flight
    ("lat0_256x2", 0, 256, N, 2),
    ("lat0_1", 0, 1, min(N, 5000), 1),
    ("lat50_256", 50, 256, N, 1),
    ("lat50_1", 50, 1, 200, 1),
]
# The broker's JVM for a measurement: the JIT at full strength and room to
# batch (the tests' default is a small heap and the C1 compiler only, for a
# quick start). LB_KAFKA_JAVA_OPTS replaces it.
REAL_JAVA_OPTS = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                  "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]


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


PARTITIONS = 8  # of each source topic and its retry topic


def topics(suffix=""):
    return ([f"completion-events-{t}{suffix}:{PARTITIONS}" for t, *_ in RUNS] +
            [f"completion-events-{t}{suffix}.retry:{PARTITIONS}" for t, *_ in RUNS] +
            [f"completion-events-{t}{suffix}.dlq:1" for t, *_ in RUNS])


def produce(brokers, topic, records):
    data = "".join(f"{k}\t{v}\n" for k, v in records)
    subprocess.run(["kcat", "-b", brokers, "-t", topic, "-P", "-K", "\t"], input=data.encode(),
                   check=True, timeout=600, preexec_fn=harness.die_with_test)


def worker_conf(env, brokers, tenant, in_flight):
    """completion-worker's configuration for lms-sandbox tenant `tenant`
    (group bench-TENANT, topic completion-events-TENANT, no client-side
    rate limit, `in_flight` requests in flight): its path."""
    topic = f"completion-events-{tenant}"
    integ = harness.degreed_integration(
        env, "bench", tenant, "SECRET",
        extra=f"rate_limit_per_minute = 0; max_in_flight = {in_flight};")
    integ = integ.replace(f'organization = "{tenant}"', 'organization = "bench"')
    conf = os.path.join(env.dir, f"{tenant}.conf")
    with open(conf, "w") as f:
        f.write(f"""
kafka: {{ brokers = "{brokers}"; group_id = "bench-{tenant}"; topics = ["{topic}"];
  properties = ( ["session.timeout.ms", "6000"], ["heartbeat.interval.ms", "500"]{os.environ.get("BENCH_KAFKA_EXTRA", "")} ); }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
delivery: {{ max_in_flight = {in_flight}; }};
observability: {{ listen = "127.0.0.1:0"; log_level = "info"; }};
integrations = ( {integ} );
""")
    return conf


def bench_events(events):
    """The bench's events: (key, completion) of `events` users of org bench."""
    return [(f"u{i}", harness.completion(f"e{i}", "bench", f"u{i}")) for i in range(events)]


def start_worker(conf, log_path, prefix=(), timeout=60, ready='"consuming"', binary=None):
    """completion-worker (this build's, or `binary`) on `conf` (under the
    command `prefix`, valgrind say), logging to `log_path`: (Popen, metrics
    port) once a log line holds `ready`."""
    proc = subprocess.Popen(
        list(prefix) + [binary or harness.WORKERS["completion-worker"], "--config", conf],
        stderr=open(log_path, "w"), stdout=subprocess.DEVNULL,
        env=dict(os.environ, SECRET=SECRET), preexec_fn=harness.die_with_test)
    try:
        port = harness.wait_for(
            lambda: next((json.loads(l)["metrics_port"] for l in open(log_path)
                          if '"consuming"' in l), None), timeout, "worker start")
        harness.wait_for(lambda: any(ready in l for l in open(log_path)), timeout,
                         f"{ready} logged")
    except BaseException:
        proc.kill()  # not the caller's yet: nothing else would stop it
        proc.wait()
        raise
    return proc, port


def group_settled(logs):
    """Whether the workers logging to `logs` hold every partition of the
    bench's topics between them (source and retry), none of them revoked
    since."""
    held = 0
    for path in logs:
        count = None
        for line in open(path):
            if '"partitions assigned"' in line:
                count = json.loads(line)["count"]
            elif '"partitions revoked' in line:
                count = None
        if count is None:
            return False
        held += count
    return held == 2 * PARTITIONS


def delivered(ports):
    """Completions delivered by the workers of metrics ports `ports`
    (their /metrics: reading it costs next to nothing, polling the LMS state
    of 20,000 completions would take the CPU being measured)."""
    n = 0
    for port in ports:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        for line in text.decode().splitlines():
            if line.startswith('lmsbridge_deliveries_total{integration="bench",'
                               'outcome="success"}'):
                n += int(float(line.split()[-1]))
    return n


def run(env, kafka, brokers, broker_pid, tenant, latency, in_flight, events, nprocs):
    """One run through `brokers` to lms-sandbox tenant `tenant`: (seconds,
    worker CPU s, peak RSS MiB, broker CPU s while the workers ran)."""
    topic = f"completion-events-{tenant}"
    if latency:
        env.lms_post("/_sandbox/faults", {"tenant": tenant, "latency": {"ms": latency}})
    # one worker takes the backlog as it starts; a group gets it once every
    # member holds its share (else the first member's work before the next
    # one joins is redelivered, counted twice, and the run measures a
    # rebalance)
    if nprocs == 1:
        produce(brokers, topic, bench_events(events))
    conf = worker_conf(env, brokers, tenant, in_flight)
    broker_cpu0 = proc_stats(broker_pid)[0]
    start = time.time()
    procs, ports = [], []
    logs = [os.path.join(env.dir, f"{tenant}-{i}.log") for i in range(nprocs)]
    try:
        for log in logs:
            proc, port = start_worker(conf, log)
            procs.append(proc)
            ports.append(port)
        if nprocs > 1:
            harness.wait_for(lambda: group_settled(logs), 120, f"{tenant}: every member assigned")
            produce(brokers, topic, bench_events(events))
        # timed from the first delivery to the last (the group join before
        # it is the broker's: 3 s on the mock cluster)
        first = [None]

        def count():
            n = delivered(ports)
            if n and first[0] is None:
                first[0] = time.time()
            return n >= events
        harness.wait_for(count, 1800, f"{tenant}: {events} completions", interval=0.05)
        secs = time.time() - (first[0] or start)
        broker_cpu = proc_stats(broker_pid)[0] - broker_cpu0
        check = len(env.state(tenant)["degreed"]["completions"])
        if check != events:
            raise SystemExit(f"{tenant}: the LMS holds {check} completions, not {events}")
        stats = [proc_stats(p.pid) for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    cpu, rss = sum(c for c, _ in stats), max(r for _, r in stats)
    print(f"kafka={kafka} latency={latency}ms in_flight={in_flight} workers={nprocs} "
          f"events={events} seconds={secs:.2f} "
          f"rate={events / secs:.0f}/s cpu_per_1000={cpu * 1000 / events:.3f}s "
          f"peak_rss={rss:.1f}MiB broker_cpu_per_1000={broker_cpu * 1000 / events:.3f}s",
          flush=True)
    record("engine", kafka=kafka, latency_ms=latency, in_flight=in_flight, workers=nprocs,
           events=events, rate=events / secs, cpu_us=cpu * 1e6 / events, peak_rss_mib=rss)
    return secs, cpu, rss, broker_cpu


def name_of(latency, in_flight, nprocs, events):
    return (f"{latency} ms latency, {in_flight} in flight" +
            (f", {nprocs} workers" if nprocs > 1 else "") +
            (f", {events:,} events" if events != N else ""))


def main():
    tenants = [harness.degreed_tenant(t, SECRET) for t, *_ in RUNS]
    if REAL:
        tenants += [harness.degreed_tenant(f"{t}_real", SECRET) for t, *_ in RUNS]
    env = harness.Env(topics(), tenants)
    rk = None
    results = {"sandbox": {}, "real": {}}
    try:
        if REAL:
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                            "..", "tests", "kafka-real"))
            import kafka_real
            env_opts = os.environ.get("LB_KAFKA_JAVA_OPTS")
            rk = kafka_real.RealKafka(os.path.join(env.dir, "kafka-real"), "single",
                                      java_opts=env_opts.split() if env_opts else REAL_JAVA_OPTS)
            rk.start()
            rk.create_topics(topics("_real") + ["bench-warm-up:8"])
            print(f"real broker: Apache Kafka {rk.version}, one node, started in "
                  f"{rk.started_s:.1f}s, JVM {' '.join(rk.java_opts)}", flush=True)
            # the JVM compiles its hot paths as they run: warm them up (produce,
            # a group's fetches and commits) before the first measured run
            start = time.time()
            produce(rk.bootstrap, "bench-warm-up", [(f"w{i}", "x" * 300) for i in range(N)])
            subprocess.run(["kcat", "-b", rk.bootstrap, "-G", "bench-warm-up", "-o", "beginning",
                            "-e", "-q", "bench-warm-up"], stdout=subprocess.DEVNULL, check=True,
                           timeout=600, preexec_fn=harness.die_with_test)
            print(f"real broker warmed up: {N} records produced and consumed by a group with "
                  f"kcat in {time.time() - start:.1f}s", flush=True)
        for tenant, latency, in_flight, events, nprocs in RUNS:
            results["sandbox"][tenant] = run(env, "sandbox", env.brokers, env.kafka.pid, tenant,
                                             latency, in_flight, events, nprocs)
            if rk:
                results["real"][tenant] = run(env, "real", rk.bootstrap, rk.pids()[0],
                                              f"{tenant}_real", latency, in_flight, events, nprocs)
    finally:
        env.close()
        if rk:
            rk.close(keep_logs=False)

    print()
    print(f"{'run':40} {'events/s':>10} {'CPU s/1000':>11} {'peak RSS':>10}" +
          (f" {'vs wrk':>8}" if WRK else ""))
    for tenant, latency, in_flight, events, nprocs in RUNS:
        secs, cpu, rss, _ = results["sandbox"][tenant]
        print(f"{name_of(latency, in_flight, nprocs, events):40} {events / secs:10.0f} "
              f"{cpu * 1000 / events:11.3f} {rss:8.1f} MiB" +
              (f" {events / secs / WRK:7.2f}x" if WRK else ""))
    ideal = 256 / 0.05
    for tenant, latency, in_flight, events, nprocs in RUNS:
        secs = results["sandbox"][tenant][0]
        if latency == 50 and in_flight == 256:
            print(f"50 ms, 256 in flight: {events / secs:.0f} events/s = "
                  f"{100 * events / secs / ideal:.0f}% of 256/0.05 = {ideal:.0f}/s")

    if not REAL:
        return
    print()
    print(f"the same runs on Apache Kafka {rk.version} (one node) beside kafka-sandbox: "
          "real/sandbox ratios")
    print(f"{'run':40} {'events/s':^24} {'worker CPU s/1000':^24} {'peak RSS MiB':^14} "
          f"{'broker CPU s/1000':^17}")
    print(f"{'':40} {'sandbox':>8} {'real':>8} {'ratio':>6} {'sandbox':>8} {'real':>8} "
          f"{'ratio':>6} {'sandbox':>7} {'real':>6} {'sandbox':>8} {'real':>8}")
    for tenant, latency, in_flight, events, nprocs in RUNS:
        s_secs, s_cpu, s_rss, s_bcpu = results["sandbox"][tenant]
        r_secs, r_cpu, r_rss, r_bcpu = results["real"][tenant]
        s_rate, r_rate = events / s_secs, events / r_secs
        print(f"{name_of(latency, in_flight, nprocs, events):40} {s_rate:8.0f} {r_rate:8.0f} "
              f"{r_rate / s_rate:5.2f}x {s_cpu * 1000 / events:8.3f} "
              f"{r_cpu * 1000 / events:8.3f} {(r_cpu / s_cpu if s_cpu else 0):5.2f}x "
              f"{s_rss:7.1f} {r_rss:6.1f} "
              f"{s_bcpu * 1000 / events:8.3f} {r_bcpu * 1000 / events:8.3f}")
    for tenant, latency, in_flight, events, nprocs in RUNS:
        secs = results["real"][tenant][0]
        if latency == 50 and in_flight == 256:
            print(f"real broker, 50 ms, 256 in flight: {events / secs:.0f} events/s = "
                  f"{100 * events / secs / ideal:.0f}% of 256/0.05 = {ideal:.0f}/s")


if __name__ == "__main__":
    main()
