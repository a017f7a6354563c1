#!/usr/bin/env python3
"""The one Apache Kafka broker the e2e_real tests of a build share (a ctest
fixture, tests/CMakeLists.txt).

  kafka_shared.py start DIR   starts a single node (tests/kafka-real) with
                              its data under DIR, writes DIR/bootstrap and
                              returns; the broker keeps running
  kafka_shared.py stop DIR    stops it and checks that nothing is left

The tests find the broker through LB_KAFKA_BOOTSTRAP_FILE=DIR/bootstrap and
give their topics and groups names of their own (harness.ns), so they run
side by side on it.

The broker is not detached from everything: a small holder process owns the
JVM (which dies with it, PR_SET_PDEATHSIG) and stops it when told to, or by
itself when the process that ran `start` (ctest) is gone, so a ctest run
that is interrupted or killed leaves no broker behind. LB_KAFKA_REAL=0
skips (exit 77, with the reason); a failed fetch or start fails.
"""
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kafka-real"))

import kafka_real  # noqa: E402
import kr_lib  # noqa: E402

# Kafka's own default (kafka_real.py sets 0 for quick starts): a new group's
# first rebalance waits 3 s for more members, so workers a test starts
# together join one generation and share each topic's partitions as they do
# in production, instead of in whatever order their joins reach the broker.
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": 3000}


def _holder_file(d):
    """DIR.holder, beside DIR (start wipes DIR): the holder's pid."""
    return d + ".holder"


def _holder_pid(d):
    try:
        with open(_holder_file(d)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def hold(d, watch, report):
    """The holder (a session of its own): starts the broker, reports
    'ok BOOTSTRAP' or 'error WHY' on `report`, then waits until SIGTERM or
    until process `watch` is gone, and stops the broker."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a ^C to ctest: `watch` going ends us
    rk = kafka_real.RealKafka(d, "single", broker_config=BROKER_CONFIG)
    try:
        rk.start()
    except Exception as e:  # noqa: BLE001 - any failure is reported, then we exit
        os.write(report, f"error {e}".encode())
        os.close(report)
        rk.close(keep_logs=True)
        return 1
    with open(_holder_file(d), "w") as f:
        f.write(f"{os.getpid()} {rk.nodes[0].pid}\n")
    os.write(report, f"ok {rk.bootstrap} {rk.started_s:.1f}".encode())
    os.close(report)
    why = "stop"
    while not stop:
        if not kafka_real._alive(watch):
            why = f"process {watch} that started it is gone"
            break
        time.sleep(0.5)  # the poll interval of a watch that has no end: no progress to wait on
    began = time.time()
    result = rk.close(keep_logs=True)   # data removed, the server log kept
    print(json.dumps({"stopped": why, "nodes": result, "secs": round(time.time() - began, 1)}),
          flush=True)
    return 0


def start(d):
    kr_lib.skip_if_disabled()
    version = kafka_real.resolve_version(None)
    kr_lib.fetch_or_fail(version)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    old = _holder_pid(d)
    if old and kafka_real._alive(old) and "kafka_shared.py" in kafka_real._cmdline(old):
        kr_lib.check(False, f"a shared broker's holder (pid {old}) still runs for {d}")
        kr_lib.finish()
    watch = os.getppid()
    r, w = os.pipe()
    began = time.time()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setsid()
        log = os.open(d + ".log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        sys.stdout = os.fdopen(1, "w")
        sys.stderr = os.fdopen(2, "w")
        code = 1
        try:
            code = hold(d, watch, w)
        finally:
            os._exit(code)
    os.close(w)
    msg = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        msg += chunk
    os.close(r)
    word, _, rest = msg.decode(errors="replace").partition(" ")
    if word != "ok":
        os.waitpid(pid, 0)
        kr_lib.check(False, f"start the shared Kafka {version}: {rest or 'the holder died'}"
                            f" (log {d}.log)")
        kr_lib.finish()
    bootstrap, _, started = rest.partition(" ")
    kr_lib.info(f"shared Kafka {version} at {bootstrap}: started in {started}s "
                f"({time.time() - began:.1f}s with the holder), data under {d}, "
                f"held by pid {pid} until the cleanup or until process {watch} ends")
    kr_lib.check(open(os.path.join(d, "bootstrap")).read().strip() == bootstrap,
                 f"{d}/bootstrap names the broker")
    kr_lib.finish()


def stop(d):
    kr_lib.skip_if_disabled()
    holder = _holder_pid(d)
    began = time.time()
    if holder and kafka_real._alive(holder):
        os.kill(holder, signal.SIGTERM)
        end = time.time() + 60
        while kafka_real._alive(holder) and time.time() < end:
            time.sleep(0.2)  # the poll interval of this bounded wait for the holder's exit
        kr_lib.check(not kafka_real._alive(holder),
                     f"the holder (pid {holder}) stops the broker and exits "
                     f"({time.time() - began:.1f}s)")
        if kafka_real._alive(holder):
            os.kill(holder, signal.SIGKILL)   # its broker dies with it
    else:
        kr_lib.info(f"no holder running for {d} (the start failed or was skipped)")
    left = kr_lib.processes_under(d)
    kr_lib.check(not left, f"nothing left running under {d}"
                           + (f" (pids {left})" if left else ""))
    for pid in left:
        kafka_real._sigkill_pid(pid, d)
    stopped = {}
    try:
        with open(d + ".log") as f:
            for line in f:
                kr_lib.info("holder: " + line.rstrip())
                if line.startswith("{"):
                    stopped = json.loads(line)
    except OSError:
        pass
    if holder:   # a broker that died during the run (out of memory...) shows here
        kr_lib.check(stopped.get("stopped") == "stop" and
                     set(stopped.get("nodes", {}).values()) == {"clean"},
                     f"the shared broker ran until the cleanup and stopped cleanly ({stopped})")
    try:
        os.unlink(_holder_file(d))
    except FileNotFoundError:
        pass
    kr_lib.finish()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    d = os.path.abspath(sys.argv[2])
    (start if sys.argv[1] == "start" else stop)(d)
