"""Shared by the real-Kafka tests (label kafka_real): the switch, the fetch,
kcat, and the checks that nothing is left running.

Environment (set by ctest): LB_BIN_DIR, the build directory (the brokers'
data goes under LB_BIN_DIR/tests/kafka-real/run/); LB_KAFKA_REAL=0 skips.
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import kafka_real  # noqa: E402
from harness import BIN, check, finish  # noqa: E402,F401

SKIP = 77  # ctest SKIP_RETURN_CODE


def info(text):
    print("INFO", text, flush=True)


def skip_if_disabled():
    if os.environ.get("LB_KAFKA_REAL", "1") == "0":
        print("SKIP: LB_KAFKA_REAL=0 switches the real-Kafka tests off", flush=True)
        sys.exit(SKIP)


def version_arg():
    """The Kafka version of this run: argv[1] ("4", "3" or a version), else
    the default (LB_KAFKA_VERSION or the pinned 4.x)."""
    return kafka_real.resolve_version(sys.argv[1] if len(sys.argv) > 1 else None)


def run_dir(name):
    return os.path.join(os.path.abspath(BIN), "tests", "kafka-real", "run", name)


def fetch_or_fail(version):
    """The release's jars, fetched or from the cache. A failed fetch fails
    the test with Maven's reason (never a skip)."""
    start = time.time()
    try:
        kafka_real.fetch(version)
    except kafka_real.KafkaRealError as e:
        check(False, str(e))
        finish()
    info(f"Kafka {version} in the cache ({time.time() - start:.1f}s)")


def start_or_fail(rk):
    try:
        rk.start()
    except kafka_real.KafkaRealError as e:
        check(False, f"start {rk.mode} Kafka {rk.version}: {e}")
        finish()  # exits 1; the caller's `finally` stops what was started
    return rk


def kcat(args, input=None, timeout=90):
    """kcat with text in and out (CompletedProcess)."""
    return subprocess.run(["kcat", *args], input=input, capture_output=True, text=True,
                          timeout=timeout)


def librdkafka_version():
    """The librdkafka kcat (and the workers) use, e.g. (2, 0, 2)."""
    out = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
    m = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def processes_under(path):
    """Pids of running processes whose command line names `path`."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid() and path in kafka_real._cmdline(int(pid)):
            if kafka_real._alive(int(pid)):
                out.append(int(pid))
    return out


def stop_and_check(rk, what="stop"):
    """stop(): every node exits on SIGTERM, nothing is left running."""
    start = time.time()
    result = rk.close()
    check(all(v in ("clean", "not running") for v in result.values()),
          f"{what}: every node exits on SIGTERM ({result}, {time.time() - start:.1f}s)")
    left = processes_under(rk.workdir)
    check(not left, f"{what}: nothing left running under {rk.workdir}"
          + (f" (pids {left})" if left else ""))


def api_version_line(rk):
    """The ApiVersions ranges lmsbridge's clients care about, for the log."""
    names = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
             9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 14: "SyncGroup",
             17: "SaslHandshake", 22: "InitProducerId", 36: "SaslAuthenticate"}
    with kafka_real.KafkaConn(rk.nodes[0].address) as c:
        v = c.api_versions()
    return ", ".join(f"{n} v{v[k][0]}-{v[k][1]}" for k, n in names.items() if k in v)
