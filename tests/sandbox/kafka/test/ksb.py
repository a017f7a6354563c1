"""Harness of the kafka-sandbox tests (python3 stdlib only).

Starts a kafka-sandbox, waits for its bootstrap file, calls its control API,
runs kcat and kafka-sandbox-client, and stops the sandbox with SIGTERM,
checking that it exits 0 (in the sanitizer build that includes the leak
check). Every wait is bounded; a test case that fails raises TestFailure.

A test script defines functions and ends with ksb.main({"name": fn, ...});
it is run as: test_x.py --sandbox BIN --client BIN --kcat BIN [CASE...].
"""

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

SANDBOX = None
CLIENT = None
KCAT = None

START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 20


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_sanitizers(stderr_text, what):
    """Fails when ASan/LSan/UBSan reported anything (sanitizer build)."""
    for marker in ("Sanitizer", "runtime error:"):
        check(marker not in stderr_text,
              f"{what}: sanitizer report: {stderr_text[-4000:]}")


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a true value (returned) or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Sandbox:
    """One kafka-sandbox process; use as a context manager."""

    def __init__(self, brokers=3, topics=(), control=True, extra=()):
        self.dir = tempfile.mkdtemp(prefix="ksb-")
        self.bootstrap_file = os.path.join(self.dir, "bootstrap")
        self.control_file = os.path.join(self.dir, "control")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.args = [SANDBOX, "--brokers", str(brokers),
                     "--bootstrap-file", self.bootstrap_file]
        for t in topics:
            self.args += ["--topic", t]
        if control:
            self.args += ["--control", "127.0.0.1:0",
                          "--control-file", self.control_file]
        self.args += list(extra)
        self.control = control
        self.proc = None
        self.bootstrap = None
        self.base_url = None
        self.stopped = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            if not self.stopped:
                self.stop()
        else:
            if self.proc and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
            self.dump_stderr()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def start(self):
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.stderr_file)
        wait_until(lambda: os.path.exists(self.bootstrap_file)
                   or self.proc.poll() is not None,
                   START_TIMEOUT_S, "the bootstrap file")
        check(self.proc.poll() is None,
              f"kafka-sandbox exited {self.proc.returncode} at start")
        with open(self.bootstrap_file) as f:
            self.bootstrap = f.read().strip()
        check(self.bootstrap.count(",") >= 0 and ":" in self.bootstrap,
              f"bad bootstrap file content {self.bootstrap!r}")
        if self.control:
            with open(self.control_file) as f:
                self.base_url = f.read().strip()

    def stop(self, sig=signal.SIGTERM):
        """Signals the sandbox and checks it exits 0; returns its stderr."""
        check(self.proc.poll() is None, "kafka-sandbox died before the end")
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)
            self.dump_stderr()
            raise TestFailure("kafka-sandbox did not stop on a signal")
        self.stderr_file.close()
        self.stopped = True
        err = self.stderr()
        if rc != 0:
            self.dump_stderr()
        check(rc == 0, f"kafka-sandbox exited {rc}, not 0")
        check_sanitizers(err, "kafka-sandbox")
        return err

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def dump_stderr(self):
        sys.stderr.write("--- kafka-sandbox stderr ---\n")
        sys.stderr.write(self.stderr()[-20000:])
        sys.stderr.write("--- end ---\n")

    # control API

    def request(self, method, path, data=None):
        """Returns (HTTP status, parsed JSON body)."""
        req = urllib.request.Request(self.base_url + path, method=method,
                                     data=data)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, body = resp.status, resp.read()
                ctype = resp.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
            ctype = e.headers.get("Content-Type")
        check(ctype == "application/json",
              f"{method} {path}: content type {ctype!r}")
        try:
            doc = json.loads(body)
        except ValueError:
            raise TestFailure(f"{method} {path}: body is not JSON: {body!r}")
        return status, doc

    def call(self, method, path, expect=200):
        status, doc = self.request(method, path)
        check(status == expect,
              f"{method} {path}: status {status}, expected {expect}: {doc}")
        check(doc.get("ok") is (expect < 400),
              f"{method} {path}: ok is {doc.get('ok')!r}: {doc}")
        if expect >= 400:
            check(isinstance(doc.get("error"), str) and doc["error"],
                  f"{method} {path}: no error message: {doc}")
        return doc

    # Kafka side

    def metadata(self, topic=None, bootstrap=None, timeout_s=5):
        """kcat -L -J: returns the parsed metadata, or None on failure."""
        args = ["-L", "-J", "-m", str(timeout_s)]
        if topic:
            args += ["-t", topic]
        p = kcat(args, bootstrap=bootstrap or self.bootstrap,
                 timeout=timeout_s + 10)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def broker_address(self, broker_id):
        md = self.metadata()
        check(md is not None, "no metadata")
        for b in md["brokers"]:
            if b["id"] == broker_id:
                return b["name"]
        raise TestFailure(f"broker {broker_id} not in metadata")

    def partitions(self, topic):
        """{partition: leader} of topic, from a fresh metadata request."""
        md = self.metadata(topic)
        check(md is not None, f"no metadata for {topic}")
        for t in md["topics"]:
            if t["topic"] == topic:
                check("error" not in t, f"topic {topic}: {t.get('error')}")
                return {p["partition"]: p["leader"] for p in t["partitions"]}
        raise TestFailure(f"topic {topic} not in metadata")


def kcat(args, bootstrap, input=None, timeout=20):
    try:
        return subprocess.run([KCAT, "-b", bootstrap] + list(args),
                              input=input, capture_output=True,
                              timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"kcat {' '.join(args)} did not end in {timeout} s")


def produce(sb, topic, count=1, partition=None, key=None, headers=(),
            retries=None, timeout_ms=None, deadline_s=30):
    """Runs kafka-sandbox-client produce; returns its delivery events."""
    events = run_producer(sb, topic, count, partition, key, headers, retries,
                          timeout_ms, deadline_s=deadline_s)
    check(len(events) == count,
          f"{len(events)} delivery reports for {count} messages")
    return events


def produce_txn(sb, topic, transactional_id, count=1, timeout_ms=5000,
                deadline_s=30):
    """Produces count messages as one transaction. Returns ({step: error}
    for the steps run (init, begin, commit), delivery events): a failed
    step ends the run."""
    events = run_producer(sb, topic, count, timeout_ms=timeout_ms,
                          transactional_id=transactional_id,
                          deadline_s=deadline_s)
    steps = {e["step"]: e["error"] for e in events if e["event"] == "txn"}
    return steps, [e for e in events if e["event"] == "delivery"]


def run_producer(sb, topic, count=1, partition=None, key=None, headers=(),
                 retries=None, timeout_ms=None, transactional_id=None,
                 deadline_s=30):
    """Runs kafka-sandbox-client produce; returns all its events."""
    args = [CLIENT, "produce", "-b", sb.bootstrap, "-t", topic,
            "-n", str(count)]
    if partition is not None:
        args += ["-p", str(partition)]
    if key is not None:
        args += ["-k", key]
    for h in headers:
        args += ["-H", h]
    if retries is not None:
        args += ["--retries", str(retries)]
    if timeout_ms is not None:
        args += ["--timeout-ms", str(timeout_ms)]
    if transactional_id is not None:
        args += ["--transactional-id", transactional_id]
    try:
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=deadline_s)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"producer did not end in {deadline_s} s")
    check(p.returncode == 0,
          f"producer exited {p.returncode}: {p.stderr[-2000:]}")
    check_sanitizers(p.stderr, "producer")
    return [json.loads(line) for line in p.stdout.splitlines()]


class Consumer:
    """A kafka-sandbox-client consume process; its events are queued as
    they come. Use as a context manager (killed on error)."""

    def __init__(self, sb, topic, group, commit="auto", debug_cgrp=False,
                 session_timeout_ms=6000, name="consumer"):
        args = [CLIENT, "consume", "-b", sb.bootstrap, "-t", topic,
                "-g", group, "--commit", commit,
                "--session-timeout-ms", str(session_timeout_ms),
                "--max-runtime-ms", "80000"]
        if debug_cgrp:
            args.append("--debug-cgrp")
        self.name = name
        self.events = []        # every event seen, in order
        self.queue = queue.Queue()
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_lines = []
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.proc.poll() is None:
            if exc_type is None:
                self.stop()
            else:
                self.proc.kill()
                self.proc.wait(10)
        if exc_type is not None:
            sys.stderr.write(f"--- {self.name} stderr ---\n")
            sys.stderr.write("".join(self.err_lines[-50:]))
        return False

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "garbage", "line": line}
            self.queue.put(ev)

    def _read_err(self):
        for line in self.proc.stderr:
            self.err_lines.append(line)

    def drain(self):
        while True:
            try:
                self.events.append(self.queue.get_nowait())
            except queue.Empty:
                return

    def wait_for(self, pred, timeout, what):
        """Returns the first event matching pred that no earlier wait_for
        returned, waiting at most timeout seconds for it."""
        if not hasattr(self, "_returned"):
            self._returned = set()
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            for i, ev in enumerate(self.events):
                if i not in self._returned and pred(ev):
                    self._returned.add(i)
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"{self.name}: timed out after {timeout} s "
                                  f"waiting for {what}; events: "
                                  f"{self.events[-10:]}")
            try:
                self.events.append(self.queue.get(timeout=min(left, 0.2)))
            except queue.Empty:
                pass

    def messages(self):
        self.drain()
        return [e for e in self.events if e["event"] == "message"]

    def committed(self):
        """{partition: offset} committed so far, from the commit results
        (a commit result lists -1001 for partitions it did not change)."""
        self.drain()
        out = {}
        for e in self.events:
            if e["event"] != "committed":
                continue
            for o in e["offsets"]:
                if o["error"] is None and o["offset"] >= 0:
                    out[o["partition"]] = o["offset"]
        return out

    def wait_assigned(self, timeout=40):
        """The first assignment. The mock's first join takes 3 s; the bound
        is generous because a fresh machine running the suite in parallel
        once took over 20 s."""
        return self.wait_for(lambda e: e["event"] == "assigned", timeout, "assignment")

    def assignment(self):
        """Partitions currently assigned, from the rebalance events."""
        self.drain()
        current = []
        for e in self.events:
            if e["event"] == "assigned":
                current = e["partitions"]
            elif e["event"] == "revoked":
                current = []
        return sorted(current)

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self, timeout=20):
        """Asks the consumer to leave (SIGTERM) and checks it exits 0."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise TestFailure(f"{self.name} did not stop in {timeout} s")
        self.reader.join(5)
        self.drain()
        self.err_reader.join(5)
        check(rc == 0, f"{self.name} exited {rc}: "
              + "".join(self.err_lines[-20:]))
        check_sanitizers("".join(self.err_lines), self.name)


def main(cases):
    global SANDBOX, CLIENT, KCAT
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--kcat", default=shutil.which("kcat") or "kcat")
    ap.add_argument("case", nargs="*")
    a = ap.parse_args()
    SANDBOX, CLIENT, KCAT = a.sandbox, a.client, a.kcat
    names = a.case or list(cases)
    failed = 0
    for name in names:
        start = time.monotonic()
        try:
            cases[name]()
        except Exception:
            failed += 1
            traceback.print_exc()
            print(f"FAIL {name} ({time.monotonic() - start:.1f} s)",
                  flush=True)
        else:
            print(f"PASS {name} ({time.monotonic() - start:.1f} s)",
                  flush=True)
    sys.exit(1 if failed else 0)
