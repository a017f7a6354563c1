#!/usr/bin/env python3
"""Instructions per delivered completion, counted by callgrind (valgrind
--tool=callgrind), which counts the same on a busy machine as on a quiet
one: completion-worker delivering EVENTS completions end to end
(kafka-sandbox -> worker -> lms-sandbox, 256 in flight, LMS answering at
once), and the floor under it, lb-bench-floor (libcurl alone, the same
request, the same body size, 256 in flight) for as many requests; then the
table of tests/bench/callgrind_split.py: the worker's total, the floor,
ours above it and ours split by area. With --before, the completion-worker
of BEFORE_BUILD_DIR (an older revision's build: scripts/bench.sh builds the
one before the cuts of docs/cost.md) is counted the same way in the same
run, and the two tables are printed side by side with their ratio.

  bench_cost.py BUILD_DIR [EVENTS] [--keep DIR] [--before BEFORE_BUILD_DIR]

The worker is started as scripts/bench.sh's end-to-end runs start it
(scripts/lib/bench_engine.py), under callgrind with one output per thread.
Its counters are zeroed (callgrind_control -z) once its partitions are
assigned, the events are produced, and the counters are dumped
(callgrind_control -d) once the LMS holds every completion and the worker's
/metrics counted them: startup and the group join are not in the figures,
the idle wake-ups of the window (a second or so) are. The floor counts only
its timed part (--toggle-collect=run_requests): not the token fetch, not
the handles' setup. --keep DIR keeps callgrind's files there (for
callgrind_annotate --inclusive=yes DIR/worker.out.*).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

KEEP = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
BEFORE = sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else None
args = [a for i, a in enumerate(sys.argv[1:], 1)
        if not a.startswith("--") and sys.argv[i - 1] not in ("--keep", "--before")]
BUILD = args[0]
EVENTS = int(args[1]) if len(args) > 1 else 5000
sys.argv[1:] = [BUILD]  # what bench_engine (and the harness) read at import
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "lib"))
import bench_engine  # noqa: E402  (sets up the harness with BUILD_DIR)
from bench_engine import harness  # noqa: E402
from bench_harness import record  # noqa: E402
import callgrind_split  # noqa: E402
TENANT, BEFORE_TENANT, FLOOR_TENANT = "cost", "cost_before", "floor"
SECRET = bench_engine.SECRET
FLOOR = os.path.join(BUILD, "tests", "lb-bench-floor")


def callgrind(out, *options):
    return ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}",
            *options]


def control(what, pid):
    p = subprocess.run(["callgrind_control", what, str(pid)], timeout=300, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       preexec_fn=harness.die_with_test)
    if p.returncode != 0:
        raise SystemExit(f"callgrind_control {what} {pid} failed: {p.stdout}")


def worker_run(env, out_dir, tenant, binary=None):
    """completion-worker (this build's, or `binary`) under callgrind,
    delivering to lms-sandbox tenant `tenant`: its thread files for the
    window in which it delivered EVENTS completions."""
    conf = bench_engine.worker_conf(env, env.brokers, tenant, 256)
    out = os.path.join(out_dir, f"{tenant}.out")
    start = time.time()
    proc, port = bench_engine.start_worker(
        conf, os.path.join(env.dir, f"{tenant}.log"),
        prefix=callgrind(out, "--separate-threads=yes"), timeout=600,
        ready='"partitions assigned"', binary=binary)
    try:
        print(f"worker under callgrind: consuming after {time.time() - start:.1f}s", flush=True)
        control("-z", proc.pid)
        start = time.time()
        bench_engine.produce(env.brokers, f"completion-events-{tenant}",
                             bench_engine.bench_events(EVENTS))
        harness.wait_for(lambda: len(env.state(tenant)["degreed"]["completions"]) >= EVENTS,
                         3600, f"{EVENTS} completions at the LMS", interval=1)
        harness.wait_for(lambda: bench_engine.delivered([port]) >= EVENTS, 600,
                         "the worker's count of deliveries", interval=0.5)
        control("-d", proc.pid)
        secs = time.time() - start
        # the dump's files, one a thread: TENANT.out.1-01, TENANT.out.1-02...
        files = sorted(f for f in os.listdir(out_dir)
                       if re.fullmatch(re.escape(tenant) + r"\.out\.1-\d+", f))
    finally:
        proc.terminate()
        proc.wait(timeout=300)
    print(f"worker{' (before)' if binary else ''} under callgrind: {EVENTS} completions in "
          f"{secs:.1f}s, "
          f"{len(files)} threads", flush=True)
    return [os.path.join(out_dir, f) for f in files]


def body_bytes(env):
    """The size of the body the worker sent for a completion (the LMS
    sandbox's request log)."""
    code, body = harness.http("GET", f"{env.lms_url}/_sandbox/requests?tenant={TENANT}&since=0")
    sizes = [r["body_bytes"] for r in json.loads(body)["requests"]
             if r["path"].endswith("/api/v2/completions") and r.get("body_bytes")]
    return sorted(sizes)[len(sizes) // 2]


def floor_run(env, out_dir, size):
    out = os.path.join(out_dir, "floor.out")
    start = time.time()
    p = subprocess.run(callgrind(out, "--toggle-collect=run_requests") +
                       [FLOOR, env.lms_url, FLOOR_TENANT, f"{FLOOR_TENANT}-id", str(EVENTS),
                        "256", str(size)],
                       env=dict(os.environ, BENCH_SECRET=SECRET), stdout=subprocess.PIPE,
                       text=True, timeout=1800, preexec_fn=harness.die_with_test)
    if p.returncode != 0:
        raise SystemExit(f"lb-bench-floor failed ({p.returncode}): {p.stdout}")
    print(f"floor under callgrind: {EVENTS} requests of {size} bytes in "
          f"{time.time() - start:.1f}s", flush=True)
    return out


def main():
    tenants = [TENANT] + ([BEFORE_TENANT] if BEFORE else [])
    env = harness.Env([f"completion-events-{t}{suffix}" for t in tenants
                       for suffix in (":8", ".retry:8", ".dlq:1")],
                      [harness.degreed_tenant(t, SECRET) for t in tenants + [FLOOR_TENANT]])
    out_dir = os.path.abspath(KEEP) if KEEP else os.path.join(env.dir, "callgrind")
    os.makedirs(out_dir, exist_ok=True)
    try:
        workers = worker_run(env, out_dir, TENANT)
        before = (worker_run(env, out_dir, BEFORE_TENANT,
                             os.path.join(BEFORE, "workers", "completion-worker",
                                          "completion-worker")) if BEFORE else None)
        size = body_bytes(env)
        floor = floor_run(env, out_dir, size)
    finally:
        env.close()
    floor_ir = callgrind_split.Profile(floor).summary
    print()
    after_rows = callgrind_split.table(
        callgrind_split.split([callgrind_split.Profile(f) for f in workers]), EVENTS, floor_ir,
        EVENTS)
    record("cost", which="after", events=EVENTS, rows=after_rows)
    if before:
        before_rows = callgrind_split.rows(
            callgrind_split.split([callgrind_split.Profile(f) for f in before]), EVENTS,
            floor_ir, EVENTS)
        record("cost", which="before", events=EVENTS, rows=before_rows)
        print()
        print(f"before ({BEFORE}) and after (this build), the same run, the same floor:")
        callgrind_split.compare(before_rows, after_rows)
    if KEEP:
        print(f"callgrind's files in {KEEP}: callgrind_annotate --inclusive=yes FILE")
    shutil.rmtree(env.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
