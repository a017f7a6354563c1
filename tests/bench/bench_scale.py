#!/usr/bin/env python3
"""Benchmark "1,000 customers": the workers with 1, 100 and 1,000
integrations in one configuration file (tests/bench/gen_integrations.py:
a third each of Degreed, SuccessFactors and xAPI, each with a secret of its
own by @env or @file, one lms-sandbox tenant each), on kafka-sandbox and
lms-sandbox, figures side by side in one run and the ratios 1,000 : 1.

  bench_scale.py BUILD_DIR [--sizes 1,100,1000] [--completions N]
                 [--skipped N] [--tracks N] [--perf DIR] [--restore-items N]
                 [--restore-cap N] [--restore-partitions N] [--restore-only]

Per size, for completion-worker:
  --check-config   wall time of `--check-config` (median of 3 runs)
  start            process start to the "consuming" log line, and to the
                   first /readyz 200 (the group joined: about 3 s of it is
                   the mock cluster's group join, the same for every size)
  RSS at ready     VmRSS once ready
  idle CPU         CPU ms per second of the ready, idle worker (over 5 s;
                   /proc counts 10 ms ticks)
  1 per integ.     one completion to each integration: produce to the LMS's
                   last receipt; first (each integration's token fetched
                   on the way), again with the tokens held, and after a
                   reload
  load             N completions (default 18,000) spread evenly over every
                   integration: events/s from the LMS's first receipt to
                   its last; worker CPU s per 1,000 (every thread, produce
                   to the last offset committed)
  skipped          N tested-out completions (default 3,000): not sent, one
                   "not sent" info line each; CPU s per 1,000
  RSS after        VmRSS and VmHWM after the load
  SIGHUP reload    the same file read again: SIGHUP to the "configuration
                   reloaded" log line, and to /readyz 200 again
and for catalog-worker: start to ready, RSS, N custom tracks (default
6,000) spread over every integration that takes catalogs (Degreed and
SuccessFactors; xAPI takes completions only): items/s, CPU s per 1,000,
RSS after, SIGHUP to ready; and the catalog state restore (issue 16):
the state topic `<topic>.state` (--restore-partitions, 64) filled with
--restore-items (10,000) items for every integration that takes catalogs,
capped at --restore-cap (1,000,000) records (fewer items each above it),
then catalog-worker started and its restore timed: records, seconds (the
first "restoring the catalog state" log line to the last "catalog state
restored"; the largest lmsbridge_state_restore_seconds beside it),
records/s, RSS once ready and at its peak, and the figure extrapolated to
10,000 items x 1,000 integrations (10 M records) at the rate of the
largest size. --perf DIR: each load recorded with `perf record`
(DIR/<load>-n<size>.data).

Bench settings of the generated files: no client-side rate limit,
SuccessFactors without a minimum POST interval and a 200 ms linger. The
state records are written with kcat from a file (one process, not one call
a record). Nothing is asserted but that every event arrives (the LMS holds
every record, no dead letter), every state record is read by the restore,
and no secret shows in --check-config.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--sizes", default="1,100,1000")
ap.add_argument("--completions", type=int, default=18000)
ap.add_argument("--tracks", type=int, default=6000)
ap.add_argument("--skipped", type=int, default=3000)
ap.add_argument("--restore-items", type=int, default=10000,
                help="state records per catalog-taking integration (default 10,000)")
ap.add_argument("--restore-cap", type=int, default=1000000,
                help="state records at most per size (default 1,000,000: 10 M do not fit "
                     "this machine's bench; the figure for them is extrapolated)")
ap.add_argument("--restore-partitions", type=int, default=64,
                help="partitions of the restore's topics (default 64: the mock keeps 5 MiB "
                     "of each, about 24,000 state records)")
ap.add_argument("--restore-only", action="store_true",
                help="the state restore alone (no completion and catalog loads)")
ap.add_argument("--perf", metavar="DIR",
                help="record each load with `perf record --call-graph dwarf` into DIR")
args = ap.parse_args()
os.environ.setdefault("LB_BIN_DIR", args.build)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import gen_integrations as gen  # noqa: E402

harness.BIN = args.build
SIZES = [int(s) for s in args.sizes.split(",")]
PARTS = 8
# The restore's topics (--restore-partitions, 64): kafka-sandbox (librdkafka's
# mock) keeps at most 5 MiB of each partition, older records deleted as if by
# retention; 64 partitions hold 1.5 M state records of about 200 bytes, 128
# hold 3 M (fill_state checks that none was dropped).
RESTORE_PARTS = args.restore_partitions


def info(text):
    print(f"INFO {text}", flush=True)


def proc_stats(pid):
    """(CPU s of every thread, VmRSS MiB, VmHWM MiB)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    mem = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                mem[k] = int(v.split()[0]) / 1024
    return cpu, mem.get("VmRSS", 0), mem.get("VmHWM", 0)


def ts_of(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Log:
    """A worker's JSON log, read as it grows."""

    def __init__(self, path):
        self.path, self.pos, self.lines = path, 0, []

    def read(self):
        with open(self.path) as f:
            f.seek(self.pos)
            chunk = f.read()
        end = chunk.rfind("\n") + 1
        self.pos += len(chunk[:end].encode())
        for line in chunk[:end].splitlines():
            if line.startswith("{"):
                self.lines.append(json.loads(line))
        return self.lines

    def find(self, msg, after=0.0):
        for r in self.read():
            if r.get("msg") == msg and ts_of(r["ts"]) >= after:
                return r
            if r.get("level") == "error" and r.get("msg") != "librdkafka":
                raise RuntimeError(f"worker error: {r}")
        return None


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status == 200
    except Exception:  # 503 while not ready
        return False


class Worker:
    def __init__(self, name, conf, env, tag):
        self.name = name
        self.log_path = os.path.join(E.dir, f"{tag}.log")
        self.t0 = time.time()
        self.proc = subprocess.Popen([harness.WORKERS[name], "--config", conf],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"),
                                     env=env, preexec_fn=harness.die_with_test)
        E.workers.append(self.proc)
        self.log = Log(self.log_path)
        line = harness.wait_for(lambda: self._alive() and self.log.find("consuming"), 120,
                                f"{tag}: consuming", interval=0.01)
        self.port = line["metrics_port"]
        self.consuming_s = ts_of(line["ts"]) - self.t0
        harness.wait_for(lambda: ready(self.port), 120, f"{tag}: ready", interval=0.01)
        self.ready_s = time.time() - self.t0

    def _alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.proc.returncode}: see {self.log_path}")
        return True

    def stats(self):
        return proc_stats(self.proc.pid)

    def reload(self):
        """SIGHUP: (s to "configuration reloaded", s to /readyz 200 again)."""
        t0 = time.time()
        self.proc.send_signal(signal.SIGHUP)
        line = harness.wait_for(lambda: self._alive() and self.log.find("configuration reloaded",
                                                                        t0 - 0.001),
                                120, "configuration reloaded", interval=0.01)
        harness.wait_for(lambda: ready(self.port), 120, "ready after the reload", interval=0.01)
        return ts_of(line["ts"]) - t0, time.time() - t0

    def stop(self, n):
        """SIGTERM: it exits 0, and its log holds none of the n secrets."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        if rc != 0:
            raise RuntimeError(f"{self.name} exited {rc}: see {self.log_path}")
        with open(self.log_path) as f:
            text = f.read()
        if any(gen.secret(i) in text for i in range(n)):
            raise RuntimeError(f"a secret in {self.log_path}")


def end_offsets(topic):
    return E.end_offsets(topic)


def wait_committed(group, topic, what):
    """Until the group has committed every offset of `topic` (each message
    finished: delivered, or parked/dead-lettered, which the checks after
    catch). Kafka answers this: it costs the worker nothing."""
    ends = end_offsets(topic)

    def done():
        return sum(max(v, 0) for v in E.committed(group, topic, list(ends)).values())
    harness.wait_progress(done, sum(ends.values()), what, stall=120, interval=0.1)


def produce(topic, records):
    E.produce_many(topic, records)


class Perf:
    """With --perf: `perf record` of the worker while a load runs."""

    def __init__(self, w, tag):
        self.p = None
        if args.perf:
            os.makedirs(args.perf, exist_ok=True)
            self.p = subprocess.Popen(
                ["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,16384", "-p",
                 str(w.proc.pid), "-o", os.path.join(args.perf, f"{tag}.data")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=harness.die_with_test)
            time.sleep(0.5)

    def stop(self):
        if self.p:
            self.p.send_signal(signal.SIGINT)
            self.p.wait(timeout=120)


def lms_receipts(n, worker, prefix):
    """Receipt times (epoch s) of the records of this load in the tenants of
    integrations 0..n-1: completions (Degreed), learning events (SF),
    statements (xAPI); or courses (Degreed) and OCN courses (SF)."""
    code, body = harness.http("GET", f"{E.lms_url}/_sandbox/state")
    tenants = json.loads(body)["tenants"]
    out = []
    for i in range(n):
        st = tenants[gen.integ_id(i)]
        if worker == "completion-worker":
            for c in st["degreed"]["completions"]:
                if c["attributes"]["user-id"].startswith(prefix):
                    out.append(ts_of(c["received_at"]))
            for ev in st["sf"]["learning_events"]:
                if ev["event"]["userID"].startswith("sso-" + prefix):
                    out.append(ts_of(ev["received_at"]))
            for s in st["xapi"]["statements"]:
                if s["statement"]["actor"]["mbox"].startswith("mailto:" + prefix):
                    out.append(ts_of(s["received_at"]))
        else:
            for c in st["degreed"]["courses"]:
                if c["attributes"]["external-id"].startswith("custom_track-" + prefix):
                    out.append(ts_of(c["created_at"]))
            for c in st["sf"]["ocn_courses"]:
                if c["courseID"].startswith("custom_track-" + prefix):
                    out.append(ts_of(c["first_posted_at"]))
    return out


def dlq_empty(topic):
    return sum(end_offsets(topic + ".dlq").values()) == 0


def one_each(n, topic, group, tag):
    """Seconds from producing one completion to each integration to the
    LMS's last receipt of them."""
    t0 = time.time()
    produce(topic, [gen.completion(f"{tag}{n}-{i}", i, f"{tag}{n}u{i}") for i in range(n)])
    wait_committed(group, topic, f"n={n}: one completion each ({tag})")
    got = lms_receipts(n, "completion-worker", f"{tag}{n}u")
    if len(got) != n:
        raise RuntimeError(f"n={n}: the LMS holds {len(got)} of {n} completions ({tag})")
    return max(got) - t0


def run_completions(n, env):
    topic, group = f"completion-events-n{n}", f"bench-scale-n{n}-completion"
    conf = os.path.join(E.dir, f"completion-n{n}.conf")
    with open(conf, "w") as f:
        f.write(gen.config_text("completion-worker", n, E.lms_url, E.brokers, SECRETS,
                                topic=topic, group=group))
    r = {}
    times = []
    for _ in range(3):
        t0 = time.time()
        p = subprocess.run([harness.WORKERS["completion-worker"], "--config", conf,
                            "--check-config"], capture_output=True, env=env, timeout=120)
        times.append(time.time() - t0)
        if p.returncode != 0:
            raise RuntimeError(f"--check-config exits {p.returncode}: {p.stderr.decode()[:2000]}")
        if any(gen.secret(i).encode() in p.stdout + p.stderr for i in range(n)):
            raise RuntimeError("--check-config shows a secret")
    r["check"] = statistics.median(times)
    w = Worker("completion-worker", conf, env, f"completion-n{n}")
    r["consuming"], r["ready"] = w.consuming_s, w.ready_s
    perf = Perf(w, f"idle-n{n}")
    cpu0, r["rss_ready"], _ = w.stats()
    time.sleep(5)
    cpu1, _, _ = w.stats()
    perf.stop()
    r["idle_ms_s"] = (cpu1 - cpu0) * 1000 / 5
    # warm-up: every integration's first delivery (and token)
    r["warmup"] = one_each(n, topic, group, "w")
    # the load
    prefix = f"l{n}u"
    events = args.completions
    perf = Perf(w, f"completion-n{n}")
    cpu0, _, _ = w.stats()
    produce(topic, [gen.completion(f"l{n}-{j}", j % n, f"{prefix}{j}", content=str(j % 50))
                    for j in range(events)])
    wait_committed(group, topic, f"n={n}: {events} completions")
    cpu1, r["rss_after"], r["hwm_after"] = w.stats()
    perf.stop()
    got = lms_receipts(n, "completion-worker", prefix)
    if len(got) != events or not dlq_empty(topic):
        raise RuntimeError(f"n={n}: the LMS holds {len(got)} of {events} completions "
                           f"(dead letters: {not dlq_empty(topic)}): see {w.log_path}")
    r["rate"] = events / max(max(got) - min(got), 1e-3)
    r["cpu_1000"] = (cpu1 - cpu0) * 1000 / events
    # tested-out completions: not sent, one "not sent" log line each (at
    # info), every secret of the file redacted from it
    skips = args.skipped
    perf = Perf(w, f"skipped-n{n}")
    cpu0, _, _ = w.stats()
    produce(topic, [gen.completion(f"s{n}-{j}", j % n, f"s{n}u{j}", skipped=True)
                    for j in range(skips)])
    wait_committed(group, topic, f"n={n}: {skips} skipped completions")
    cpu1, _, _ = w.stats()
    perf.stop()
    r["skip_cpu_1000"] = (cpu1 - cpu0) * 1000 / skips
    # one completion to each integration again, its token cached; then the
    # same after a reload (SIGHUP, the same file)
    r["round"] = one_each(n, topic, group, "again")
    r["reload"], r["reload_ready"] = w.reload()
    r["round_reload"] = one_each(n, topic, group, "after-reload")
    w.stop(n)
    info(f"completion-worker n={n}: check_config={r['check']:.3f}s "
         f"consuming={r['consuming']:.3f}s ready={r['ready']:.2f}s rss_ready={r['rss_ready']:.1f}MiB "
         f"idle_cpu={r['idle_ms_s']:.1f}ms/s one_each_first={r['warmup']:.2f}s rate={r['rate']:.0f}/s "
         f"cpu_per_1000={r['cpu_1000']:.3f}s skipped_cpu_per_1000={r['skip_cpu_1000']:.3f}s "
         f"rss_after={r['rss_after']:.1f}MiB hwm={r['hwm_after']:.1f}MiB reload={r['reload']:.3f}s "
         f"reload_ready={r['reload_ready']:.3f}s")
    return r


def run_catalog(n, env):
    topic, group = f"catalog-events-n{n}", f"bench-scale-n{n}-catalog"
    conf = os.path.join(E.dir, f"catalog-n{n}.conf")
    with open(conf, "w") as f:
        f.write(gen.config_text("catalog-worker", n, E.lms_url, E.brokers, SECRETS,
                                topic=topic, group=group))
    takers = [i for i in range(n) if gen.type_of(i) != "xapi"]
    r = {}
    w = Worker("catalog-worker", conf, env, f"catalog-n{n}")
    r["ready"] = w.ready_s
    _, r["rss_ready"], _ = w.stats()
    t0 = time.time()
    produce(topic, [gen.custom_track(f"w{n}-{i}", i, f"w{n}-{i}") for i in takers])
    wait_committed(group, topic, f"n={n}: catalog warm-up")
    r["warmup"] = time.time() - t0
    prefix = f"l{n}-"
    items = args.tracks
    perf = Perf(w, f"catalog-n{n}")
    cpu0, _, _ = w.stats()
    produce(topic, [gen.custom_track(f"l{n}-{j}", takers[j % len(takers)], f"{prefix}{j}")
                    for j in range(items)])
    wait_committed(group, topic, f"n={n}: {items} custom tracks")
    cpu1, r["rss_after"], r["hwm_after"] = w.stats()
    perf.stop()
    got = lms_receipts(n, "catalog-worker", prefix)
    if len(got) != items or not dlq_empty(topic):
        raise RuntimeError(f"n={n}: the LMS holds {len(got)} of {items} custom tracks "
                           f"(dead letters: {not dlq_empty(topic)}): see {w.log_path}")
    r["rate"] = items / max(max(got) - min(got), 1e-3)
    r["cpu_1000"] = (cpu1 - cpu0) * 1000 / items
    r["reload"], r["reload_ready"] = w.reload()
    w.stop(n)
    info(f"catalog-worker n={n}: ready={r['ready']:.2f}s rss_ready={r['rss_ready']:.1f}MiB "
         f"first_round_to_commit={r['warmup']:.2f}s rate={r['rate']:.0f}/s cpu_per_1000={r['cpu_1000']:.3f}s "
         f"rss_after={r['rss_after']:.1f}MiB reload={r['reload']:.3f}s "
         f"reload_ready={r['reload_ready']:.3f}s")
    return r


def fill_state(topic, takers, items):
    """Writes `items` state records for each integration in `takers` to
    `topic` (key "<integration>/custom_track-<n>", lb_state's JSON; Degreed
    ones with an LMS id) through one kcat reading a file. Returns (records,
    seconds)."""
    path = os.path.join(E.dir, f"{topic}.tsv")
    with open(path, "w") as f:
        for i in takers:
            iid, lms = gen.integ_id(i), gen.type_of(i) == "degreed"
            for j in range(items):
                fp = f"{i:08x}-{j >> 16:04x}-5{j & 0xfff:03x}-8000-{j:012x}"
                lid = f'"dg-{i}-{j}"' if lms else "null"
                f.write(f'{iid}/custom_track-r{j}\t{{"v":1,"version":1,"fingerprint":"{fp}",'
                        f'"lms_id":{lid},"delivered_at":"2026-11-20T10:00:00.000Z",'
                        f'"archived":false}}\n')
    t0 = time.time()
    with open(path, "rb") as f:
        subprocess.run(["kcat", "-b", E.brokers, "-t", topic, "-P", "-K", "\t",
                        "-X", "linger.ms=50", "-X", "batch.num.messages=10000",
                        "-X", "queue.buffering.max.messages=1000000"],
                       stdin=f, check=True, timeout=1800, preexec_fn=harness.die_with_test)
    secs = time.time() - t0
    os.unlink(path)
    n = sum(hi - lo for lo, hi in watermarks(topic).values())
    if n != len(takers) * items:
        raise RuntimeError(f"{topic}: {n} records of {len(takers) * items} kept (the mock keeps "
                           f"5 MiB a partition: more partitions, or a lower --restore-cap)")
    return n, secs


def watermarks(topic):
    """{partition: (first offset, end offset)} (kcat -Q, timestamps -2 and -1)."""
    out = {}
    for ts in (-2, -1):
        args = ["kcat", "-b", E.brokers, "-Q", "-J"]
        for p in range(RESTORE_PARTS):
            args += ["-t", f"{topic}:{p}:{ts}"]
        data = json.loads(subprocess.run(args, capture_output=True, timeout=60, check=True,
                                         preexec_fn=harness.die_with_test).stdout)
        for v in data.get(topic, {}).values():
            if isinstance(v, dict):
                out.setdefault(v["partition"], []).append(v["offset"])
    return out


def run_restore(n, env):
    """catalog-worker's state restore with n integrations in the file."""
    topic, group = f"catalog-restore-n{n}", f"bench-scale-n{n}-restore"
    takers = [i for i in range(n) if gen.type_of(i) != "xapi"]
    items = min(args.restore_items, max(args.restore_cap // len(takers), 1))
    r = {"items": items, "integrations": len(takers)}
    r["records"], r["fill_s"] = fill_state(f"{topic}.state", takers, items)
    conf = os.path.join(E.dir, f"restore-n{n}.conf")
    with open(conf, "w") as f:
        f.write(gen.config_text("catalog-worker", n, E.lms_url, E.brokers, SECRETS,
                                topic=topic, group=group))
    w = Worker("catalog-worker", conf, env, f"restore-n{n}")
    r["ready"] = w.ready_s
    _, r["rss"], r["hwm"] = w.stats()
    lines = w.log.read()
    began = [ts_of(l["ts"]) for l in lines if l.get("msg") == "restoring the catalog state"]
    ended = [l for l in lines if l.get("msg") == "catalog state restored"]
    read = sum(l["records"] for l in ended)
    if len(ended) != RESTORE_PARTS or read != r["records"] or any(l["malformed"] for l in ended):
        raise RuntimeError(f"n={n}: the restore read {read} of {r['records']} records over "
                           f"{len(ended)} of {RESTORE_PARTS} partitions: see {w.log_path}")
    r["seconds"] = max(ts_of(l["ts"]) for l in ended) - min(began)
    _, text = harness.http("GET", f"http://127.0.0.1:{w.port}/metrics")
    r["metric_s"] = max(float(line.split()[-1]) for line in text.splitlines()
                        if line.startswith("lmsbridge_state_restore_seconds{"))
    r["rate"] = r["records"] / max(r["seconds"], 1e-3)
    w.stop(n)
    info(f"catalog-worker n={n}: state restore records={r['records']} "
         f"({len(takers)} integrations x {items} items) written_in={r['fill_s']:.1f}s "
         f"restore={r['seconds']:.2f}s (largest lmsbridge_state_restore_seconds "
         f"{r['metric_s']:.2f}s) rate={r['rate']:.0f}/s start_to_ready={r['ready']:.2f}s "
         f"rss_ready={r['rss']:.1f}MiB hwm={r['hwm']:.1f}MiB")
    return r


topics = []
for n in SIZES:
    for base in (f"completion-events-n{n}", f"catalog-events-n{n}"):
        topics += [f"{base}:{PARTS}", f"{base}.retry:{PARTS}", f"{base}.dlq:1"]
        if base.startswith("catalog"):
            topics.append(f"{base}.state:{PARTS}")   # catalog-worker's state
    base = f"catalog-restore-n{n}"
    topics += [f"{base}:{RESTORE_PARTS}", f"{base}.retry:{RESTORE_PARTS}", f"{base}.dlq:1",
               f"{base}.state:{RESTORE_PARTS}"]
start = time.time()
E = harness.Env(topics, gen.tenants(max(SIZES)))
try:
    SECRETS = os.path.join(E.dir, "secrets")
    env = dict(os.environ)
    env.update(gen.write_secrets(E.dir, max(SIZES)))
    results = {}
    for n in SIZES:
        if args.restore_only:
            results[n] = ({}, {}, run_restore(n, env))
        else:
            results[n] = (run_completions(n, env), run_catalog(n, env), run_restore(n, env))
finally:
    E.close()
# the logs stay after a failure; after a run, nothing (secret files included)
shutil.rmtree(E.dir)

rows = [  # label, (worker 0 completion / 1 catalog, key), format
    ("--check-config (s)", (0, "check"), "{:.3f}"),
    ("start to consuming (s)", (0, "consuming"), "{:.3f}"),
    ("start to /readyz 200 (s)", (0, "ready"), "{:.2f}"),
    ("RSS at ready (MiB)", (0, "rss_ready"), "{:.1f}"),
    ("idle CPU (ms/s)", (0, "idle_ms_s"), "{:.1f}"),
    ("1 per integ., first (s)", (0, "warmup"), "{:.2f}"),
    ("completions/s", (0, "rate"), "{:.0f}"),
    ("CPU s / 1,000 completions", (0, "cpu_1000"), "{:.3f}"),
    ("CPU s / 1,000 skipped (logged)", (0, "skip_cpu_1000"), "{:.3f}"),
    ("RSS after load (MiB)", (0, "rss_after"), "{:.1f}"),
    ("peak RSS (MiB)", (0, "hwm_after"), "{:.1f}"),
    ("SIGHUP to reloaded (s)", (0, "reload"), "{:.3f}"),
    ("SIGHUP to /readyz 200 (s)", (0, "reload_ready"), "{:.3f}"),
    ("1 per integ., tokens held (s)", (0, "round"), "{:.2f}"),
    ("1 per integ. after reload (s)", (0, "round_reload"), "{:.2f}"),
    ("catalog: start to ready (s)", (1, "ready"), "{:.2f}"),
    ("catalog: RSS at ready (MiB)", (1, "rss_ready"), "{:.1f}"),
    ("catalog: custom tracks/s", (1, "rate"), "{:.0f}"),
    ("catalog: CPU s / 1,000 items", (1, "cpu_1000"), "{:.3f}"),
    ("catalog: RSS after (MiB)", (1, "rss_after"), "{:.1f}"),
    ("catalog: SIGHUP to ready (s)", (1, "reload_ready"), "{:.3f}"),
    ("state: records restored", (2, "records"), "{:,}"),
    ("state: items per integration", (2, "items"), "{:,}"),
    ("state: restore (s)", (2, "seconds"), "{:.2f}"),
    ("state: records/s", (2, "rate"), "{:,.0f}"),
    ("state: start to /readyz 200 (s)", (2, "ready"), "{:.2f}"),
    ("state: RSS at ready (MiB)", (2, "rss"), "{:.1f}"),
    ("state: peak RSS (MiB)", (2, "hwm"), "{:.1f}"),
]
lo, hi = min(SIZES), max(SIZES)
print()
print(f"{'integrations in the file':30}" + "".join(f"{n:>10,}" for n in SIZES) +
      f"{'%d : %d' % (hi, lo):>12}")
for label, (k, key), fmt in rows:
    if key not in results[hi][k]:   # --restore-only
        continue
    vals = [results[n][k][key] for n in SIZES]
    a, b = results[hi][k][key], results[lo][k][key]
    print(f"{label:30}" + "".join(f"{fmt.format(v):>10}" for v in vals) +
          (f"{a / b:11.2f}x" if b else f"{'-':>12}"))
big = results[hi][2]
TEN_M = 10000 * 1000
print(f"(loads spread evenly over every integration: {args.completions:,} completions, "
      f"{args.skipped:,} tested-out ones, {args.tracks:,} custom tracks; state: "
      f"{args.restore_items:,} items per catalog-taking integration, at most "
      f"{args.restore_cap:,} records; {time.time() - start:.0f} s)")
print(f"state restore of 10,000 items x 1,000 integrations ({TEN_M:,} records), extrapolated "
      f"from n={hi} ({big['records']:,} records at {big['rate']:,.0f}/s): "
      f"{TEN_M / big['rate']:.0f} s for one member holding every partition (a member holding "
      f"k of the {RESTORE_PARTS} reads k/{RESTORE_PARTS} of it); assumes each record costs "
      f"what it cost here (read, parse, an index look-up, a cache insert that evicts one past "
      f"200,000) and the broker serves 10 M as fast as {big['records']:,}. RSS "
      f"{big['rss']:.0f} MiB once ready, {big['hwm']:.0f} MiB at its peak: the memory's "
      f"200,000 items and the restore consumer's prefetch (librdkafka's "
      f"queued.max.messages.kbytes), neither growing with the topic")
