"""Shared by the real-Kafka tests (label kafka_real): the switch, the fetch,
kcat, and the checks that nothing is left running.

Environment (set by ctest): LB_BIN_DIR, the build directory (the brokers'
data goes under LB_BIN_DIR/tests/kafka-real/run/); LB_KAFKA_REAL=0 skips.
"""
import contextlib
import ctypes
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402
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


# ---- a steady stream under faults (test_broker_restart, test_failover) ----

class _RdMessage(ctypes.Structure):
    _fields_ = [("err", ctypes.c_int), ("rkt", ctypes.c_void_p), ("partition", ctypes.c_int32),
                ("payload", ctypes.c_void_p), ("len", ctypes.c_size_t),
                ("key", ctypes.c_void_p), ("key_len", ctypes.c_size_t),
                ("offset", ctypes.c_int64), ("_private", ctypes.c_void_p)]


_DR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_RdMessage), ctypes.c_void_p)
_LOG_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_char_p)


def _rdkafka():
    lib = ctypes.CDLL("librdkafka.so.1")
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_conf_set_dr_msg_cb.argtypes = [ctypes.c_void_p, _DR_CB]
    lib.rd_kafka_conf_set_log_cb.argtypes = [ctypes.c_void_p, _LOG_CB]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                                 ctypes.c_size_t]
    lib.rd_kafka_topic_new.restype = ctypes.c_void_p
    lib.rd_kafka_topic_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    lib.rd_kafka_produce.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int,
                                     ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                     ctypes.c_size_t, ctypes.c_void_p]
    lib.rd_kafka_last_error.restype = ctypes.c_int
    lib.rd_kafka_poll.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_flush.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_outq_len.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_topic_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_err2str.restype = ctypes.c_char_p
    return lib


class Stream:
    """A steady stream into `topic`: `rate` (key, value) records a second
    from a thread, through librdkafka itself (ctypes; the workers' library)
    as an idempotent producer with acks=all and a message timeout of
    5 minutes, so it rides out a broker outage (kcat gives up when every
    broker is down). fed[i]: the time record i was handed to librdkafka;
    acked[i]: (error code, partition, offset, time) of its delivery report.
    librdkafka's own log lines go to `log`."""

    def __init__(self, brokers, topic, records, rate, log):
        import threading
        self.records, self.rate = records, rate
        self.fed, self.acked = [], {}
        self._stop = threading.Event()
        self._log = open(log, "w")
        self.lib = lib = _rdkafka()
        err = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        for k, v in (("bootstrap.servers", brokers), ("enable.idempotence", "true"),
                     ("acks", "all"), ("message.timeout.ms", "300000"), ("linger.ms", "5")):
            if lib.rd_kafka_conf_set(conf, k.encode(), v.encode(), err, 512) != 0:
                raise RuntimeError(f"producer {k}: {err.value.decode()}")
        self._dr = _DR_CB(self._delivered)   # kept: librdkafka calls them
        self._logcb = _LOG_CB(self._logged)
        lib.rd_kafka_conf_set_dr_msg_cb(conf, self._dr)
        lib.rd_kafka_conf_set_log_cb(conf, self._logcb)
        self.rk = lib.rd_kafka_new(0, conf, err, 512)   # RD_KAFKA_PRODUCER
        if not self.rk:
            raise RuntimeError(f"producer: {err.value.decode()}")
        self.rkt = lib.rd_kafka_topic_new(self.rk, topic.encode(), None)
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self.started = time.time()
        self._thread.start()

    def _delivered(self, rk, m, opaque):
        m = m.contents
        self.acked[int(m._private or 0) - 1] = (m.err, m.partition, m.offset, time.time())

    def _logged(self, rk, level, fac, buf):
        with contextlib.suppress(Exception):
            self._log.write(f"{time.time():.3f} {level} {fac.decode()} {buf.decode()}\n")

    def _feed(self):
        lib = self.lib
        for i, (k, v) in enumerate(self.records):
            due = self.started + i / self.rate
            while not self._stop.is_set() and time.time() < due:
                lib.rd_kafka_poll(self.rk, 0)
                time.sleep(min(0.01, max(0.0, due - time.time())))
            if self._stop.is_set():
                return
            kb, vb = k.encode(), v.encode()
            while lib.rd_kafka_produce(self.rkt, -1, 2, vb, len(vb), kb, len(kb),
                                       ctypes.c_void_p(i + 1)) != 0:   # RD_KAFKA_MSG_F_COPY
                lib.rd_kafka_poll(self.rk, 100)   # queue full: wait for room
            self.fed.append(time.time())
            lib.rd_kafka_poll(self.rk, 0)

    def fed_before(self, t):
        """How many records were handed to the producer before time t."""
        return sum(1 for x in self.fed if x < t)

    def done(self):
        return not self._thread.is_alive()

    def close(self, timeout=400):
        """Stops feeding, waits for every delivery report (up to `timeout`
        s) and destroys the producer. {error name: count} of the reports
        that failed; records with no report count as "no report"."""
        self._stop.set()
        self._thread.join()
        if self.rk:
            end = time.time() + timeout
            while self.lib.rd_kafka_outq_len(self.rk) > 0 and time.time() < end:
                self.lib.rd_kafka_poll(self.rk, 100)
            self.lib.rd_kafka_topic_destroy(self.rkt)
            self.lib.rd_kafka_destroy(self.rk)
            self.rk = None
            self._log.close()
        bad = {}
        for i in range(len(self.fed)):
            e = self.acked.get(i, (None,))[0]
            if e != 0:
                name = "no report" if e is None else self.lib.rd_kafka_err2str(e).decode()
                bad[name] = bad.get(name, 0) + 1
        return bad


class Sampler:
    """Calls fn() (a dict of numbers) every `interval` s from a thread;
    samples is [(time, dict)]; a call that raised is skipped."""

    def __init__(self, fn, interval=0.25):
        import threading
        self.fn, self.interval, self.samples = fn, interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            t = time.time()
            try:
                self.samples.append((t, self.fn()))
            except Exception:  # noqa: BLE001 (a broker or worker mid-restart)
                pass
            self._stop.wait(max(0.0, self.interval - (time.time() - t)))

    def stop(self):
        self._stop.set()
        self._thread.join()

    def rises(self, key, t0, t1):
        """Times in [t0, t1] at which sample[key] grew."""
        out, last = [], None
        for t, s in self.samples:
            v = s.get(key)
            if v is None:
                continue
            if last is not None and v > last and t0 <= t <= t1:
                out.append(t)
            last = v
        return out

    def stall(self, key, t0, t1):
        """The longest time in [t0, t1] during which sample[key] did not
        grow (from t0 to its first growth, between growths, from the last
        to t1 when it never grew again)."""
        marks = [t0] + self.rises(key, t0, t1) + [t1]
        return max(b - a for a, b in zip(marks, marks[1:]))

    def first_rise(self, key, t0):
        r = self.rises(key, t0, float("inf"))
        return r[0] if r else None

    def value_at(self, key, t):
        """sample[key] of the last sample at or before t (None if none)."""
        v = None
        for ts, s in self.samples:
            if ts > t:
                break
            v = s.get(key, v)
        return v


def topic_records(brokers, topic):
    """Every record of a topic as dicts with partition, offset, key,
    payload (kcat -C -J)."""
    p = kcat(["-b", brokers, "-t", topic, "-C", "-e", "-J", "-q"], timeout=180)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def metric_values(text):
    """(series, value) of each sample line of a /metrics text."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, v = line.rpartition(" ")
        yield head, float(v)


def topic_vs_acked(rk, topic, stream, records):
    """What `topic` holds against what `stream` (fed with `records`) had
    acknowledged: (records in the topic, {key: (partition, offset)} of
    them, {key: (partition, offset)} of the acknowledged ones)."""
    in_topic = topic_records(rk.bootstrap, topic)
    where = {r["key"]: (r["partition"], r["offset"]) for r in in_topic}
    acked = {records[i][0]: (a[1], a[2]) for i, a in stream.acked.items() if a[0] == 0}
    return in_topic, where, acked


def info_rebalances(logs):
    """How often the worker's log says its partitions were lost, revoked
    and assigned."""
    for what in ("partitions lost", "partitions revoked, handing back", "partitions assigned"):
        info(f"worker log: '{what}' x{sum(1 for l in logs if l.get('msg') == what)}")


def info_librdkafka_errors(logs, when):
    """librdkafka's error lines while a broker is down, by facility (a
    refused connection, FAIL, is logged as a warning: lb_kafka_log_level)."""
    rd_errors = [l for l in logs if l.get("level") == "error" and l.get("msg") == "librdkafka"]
    info(f"librdkafka error lines {when}: {len(rd_errors)} ("
         + ", ".join(sorted({l.get("facility", "") for l in rd_errors})) + ")")


def info_worker_said(logs, expected, most):
    """The first `most` warnings and errors of the worker whose message
    `expected(msg)` does not pass over."""
    for l in [l for l in logs if l.get("level") in ("warn", "error") and
              not expected(l.get("msg", ""))][:most]:
        info(f"worker said ({l.get('level')}): {l.get('msg')}: "
             f"{l.get('error') or l.get('reason') or l.get('detail') or ''}"[:300])


def check_worker_no_error(logs):
    """The worker itself logged no error (librdkafka's lines aside)."""
    errors = [l for l in logs if l.get("level") == "error" and l.get("msg") != "librdkafka"]
    check(not errors, "no error from the worker itself in its log"
          + (f": {errors[:2]}" if errors else ""))


def close_stream_test(rk, env, sampler, stream, failed):
    """The `finally` of a stream test: stops the sampler and the stream,
    closes env (naming its logs) and the brokers, whose logs are kept when
    a check failed or `failed` (an exception is on its way)."""
    if sampler:
        sampler.stop()
    if stream:
        stream.close(timeout=0)
    if env:
        print(f"worker and sandbox logs in {env.dir}", flush=True)
        env.close()
    rk.close(keep_logs=bool(harness.failures) or failed)
