"""End-to-end test harness: kafka-sandbox, lms-sandbox and a worker, all on
loopback, each test with its own processes and temporary directory.

Environment (set by ctest): LB_BIN_DIR, the build directory; LB_KAFKA,
"sandbox" (default) or "real"; LB_KAFKA_BOOTSTRAP_FILE, with "real": the
file naming the broker the tests of a ctest run share (tests/e2e/
kafka_shared.py), else each Env starts a broker of its own.
Records are produced and read with kcat; a group's committed offsets are
read with Env.committed() (plain Kafka OffsetFetch, see kafka_committed).

On the shared broker every test names its topics and consumer groups with
ns(): the name behind a prefix of the test's own ("engine-basic-1f2e."),
so tests running side by side never meet; elsewhere ns(name) is name.
Workers started with Env.worker() are given their namespaced default
topic and group id (topics, group_id) in that case.
"""
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from datetime import datetime
import urllib.request

BIN = os.environ.get("LB_BIN_DIR", "build")
KAFKA_SANDBOX = os.path.join(BIN, "tests/sandbox/kafka/kafka-sandbox")
LMS_SANDBOX = os.path.join(BIN, "tests/sandbox/lms/lms-sandbox")
WORKERS = {
    "catalog-worker": os.path.join(BIN, "workers/catalog-worker/catalog-worker"),
    "completion-worker": os.path.join(BIN, "workers/completion-worker/completion-worker"),
}

# Each worker's default source topic (docs/configuration.md): a worker on
# the shared broker is given its namespaced one.
DEFAULT_TOPIC = {"catalog-worker": "catalog-events", "completion-worker": "completion-events"}

REAL = os.environ.get("LB_KAFKA", "sandbox") == "real"   # else kafka-sandbox
SHARED_BOOTSTRAP = os.environ.get("LB_KAFKA_BOOTSTRAP_FILE") if REAL else None

# A test run on real Kafka (LB_KAFKA=real) is skipped as the kafka_real
# tests are (tests/kafka-real/kr_lib.py): ctest's SKIP_RETURN_CODE, and why.
if REAL and os.environ.get("LB_KAFKA_REAL", "1") == "0":
    print("SKIP: LB_KAFKA_REAL=0 switches the real-Kafka tests off", flush=True)
    sys.exit(77)


def _namespace():
    if not SHARED_BOOTSTRAP:
        return ""
    test = os.path.basename(sys.argv[0]).rsplit(".", 1)[0]
    test = test[len("test_"):] if test.startswith("test_") else test
    # Kafka warns of names mixing '.' and '_' (its metrics confuse them)
    return f"{test.replace('_', '-')}-{secrets.token_hex(2)}."


NS = _namespace()


def own_kafka():
    """Called first by a test that needs Kafka's default names (a worker's
    default topics and group): on real Kafka its Env gets a broker of its
    own instead of the shared one, and ns(name) is name."""
    global NS, SHARED_BOOTSTRAP
    NS, SHARED_BOOTSTRAP = "", None


def ns(name):
    """A topic or consumer group name of this test: `name` on the sandbox
    and on a broker of the test's own; on the shared broker, `name` behind
    this test's prefix (NS), so no other test uses it."""
    return NS + name


def renew_ns():
    """A test that makes several Envs calls it before naming the next one's
    topics: on the shared broker an earlier Env's topics and groups are
    still there, so the next Env's names get a prefix of their own."""
    global NS
    if NS:
        NS = _namespace()


def group_line(worker):
    """For a configuration file a test writes itself: `group_id = ...;`
    with this test's group on the shared broker, "" elsewhere (the
    worker's default group)."""
    return f'group_id = "{ns(worker)}";' if NS else ""


passes = 0
failures = []


def check(cond, what):
    """Says PASS or FAIL; returns whether cond held (a caller may skip what
    depends on it)."""
    global passes
    if cond:
        passes += 1
        print("PASS", what, flush=True)
    else:
        failures.append(what)
        print("FAIL", what, flush=True)
    return bool(cond)


def info(text):
    """A figure for the closing note (timings, counts): printed, never
    asserted."""
    print("INFO", text, flush=True)


def finish():
    print(f"{passes} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lb_test_proc import die_with_parent  # noqa: E402

# Popen preexec_fn: the child gets SIGKILL when the test process dies,
# however it dies (a ctest time-out kills it outright), so a failed test
# never leaves a sandbox or a worker running. The name the e2e and
# kafka-real tests (and scripts/lib/bench_engine.py) import.
die_with_test = die_with_parent


# ctest and people stop tests with SIGTERM: unwind, so `finally` blocks stop
# what the test started in order.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def wait_progress(count, target, what, stall=60, interval=0.5):
    """Waits until count() >= target. Fails only when the count has not
    grown for `stall` seconds: a slow machine still makes progress."""
    last, since = None, time.time()
    while True:
        n = count()
        if n >= target:
            return n
        if last is None or n > last:
            last, since = n, time.time()
        elif time.time() - since > stall:
            raise TimeoutError(f"no progress for {stall}s waiting for {what} ({n}/{target})")
        time.sleep(interval)


def wait_for(pred, timeout, what, interval=0.2):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def settle(read, done, timeout, interval=0.2):
    """Calls read() until done(value) or `timeout` seconds pass, and returns
    the last value read either way: the caller checks the fact on it and
    names the value in its message (a wait_for that raises would end the
    test without a FAIL line saying what was seen)."""
    end = time.time() + timeout
    while True:
        v = read()
        if done(v) or time.time() >= end:
            return v
        time.sleep(interval)


def finished(env, group, topics, workers=(), timeout=120):
    """Waits until the group's committed offsets of `topics` are at their
    ends (read anew each time: a parked record makes the retry topic grow)
    and no worker in `workers` has a delivery in flight. The commit never
    passes an unfinished record, so from then on the LMS and the
    dead-letter topic hold all there will be: a check of "nothing more
    came" reads them without sleeping first. Returns True, or False after
    `timeout` seconds (the caller's checks then say what is missing)."""
    def done():
        for t in topics:
            end = env.end_offsets(t)
            got = env.committed(group, t, sorted(end))
            # a partition that never had a record has no commit (-1)
            if any(got.get(p, -1) != n and not (n == 0 and got.get(p, -1) == -1)
                   for p, n in end.items()):
                return False
        return all(w.metric("lmsbridge_inflight") == 0 for w in workers)
    try:
        wait_for(done, timeout, "every record finished", interval=0.5)
        return True
    except TimeoutError:
        return False


def http(method, url, body=None):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Env:
    """The sandboxes; workers are started with worker().

    kafka: "sandbox" (kafka-sandbox, librdkafka's mock cluster), "real" (the
    broker named by $LB_KAFKA_BOOTSTRAP_FILE, shared with other tests, else
    a single-node Apache Kafka started for this Env, tests/kafka-real), "own"
    (a single node for this Env even when one is shared), "cluster3" (three
    brokers and a controller for this Env; env.real kills and restarts
    them) or a started kafka_real.RealKafka (the test's own; the test stops
    it). Default: $LB_KAFKA, else "sandbox". Topic names are as given: on
    the shared broker a test passes ns() names.

    topics: "name:partitions", or (name, partitions, {config: value}) for a
    topic configuration a real broker applies (the mock has none)."""

    def __init__(self, topics, tenants, kafka=None):
        self.dir = tempfile.mkdtemp(prefix="lb-e2e-")
        self.procs = []
        self.workers = []     # Worker processes: stopped before the sandboxes
        kafka = kafka or os.environ.get("LB_KAFKA", "sandbox")
        self.real, self._own_real = None, False   # the RealKafka, when real
        self.shared = None                        # the shared broker, when used
        boot = os.path.join(self.dir, "bootstrap")
        ctl = os.path.join(self.dir, "control")
        if kafka == "sandbox":
            args = [KAFKA_SANDBOX, "--brokers", "1", "--bootstrap-file", boot,
                    "--control", "127.0.0.1:0", "--control-file", ctl]
            for t in topics:
                args += ["--topic", _sandbox_spec(t)]
            self.kafka = self._spawn(args, "kafka-sandbox.log")
        elif kafka == "real" and SHARED_BOOTSTRAP:
            self.kafka = None
            self.shared = _shared_kafka()   # env.real stays None: not the test's to kill
            self.shared.create_topics(topics)
        else:
            self.kafka = None
            self.real = _real_kafka(kafka, self.dir)
            self._own_real = isinstance(kafka, str)
            self.real.create_topics(topics)
        lms_conf = os.path.join(self.dir, "lms.json")
        with open(lms_conf, "w") as f:
            json.dump({"tenants": tenants}, f)
        ready = os.path.join(self.dir, "lms.ready")
        self.lms = self._spawn([LMS_SANDBOX, "--listen", "127.0.0.1:0", "--config", lms_conf,
                                "--ready-file", ready], "lms-sandbox.log")
        if self.real or self.shared:
            self.brokers, self.control = (self.real or self.shared).bootstrap, None
        else:
            self.brokers = wait_for(lambda: _read(boot), 20, "kafka-sandbox")
            self.control = wait_for(lambda: _read(ctl), 20, "kafka-sandbox control")
        self.lms_url = wait_for(lambda: _read(ready), 20, "lms-sandbox")

    def _spawn(self, args, log):
        out = open(os.path.join(self.dir, log), "w")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                             preexec_fn=die_with_test)
        self.procs.append(p)
        return p

    def close(self):
        """Stops every worker this test started (still running after a failed
        check or an exception), then the sandboxes: SIGTERM, SIGKILL after 30 s."""
        for group in (self.workers, self.procs):
            for p in reversed(group):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in group:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self._own_real:  # its logs stay after a failed check or an exception
            self.real.close(keep_logs=bool(failures) or sys.exc_info()[0] is not None)

    # -- Kafka --
    def produce(self, topic, records):
        """records: (key, value, {header: value}) tuples, in order."""
        for key, value, headers in records:
            args = ["kcat", "-b", self.brokers, "-t", topic, "-P", "-k", key]
            for hk, hv in (headers or {}).items():
                args += ["-H", f"{hk}={hv}"]
            subprocess.run(args, input=value.encode(), check=True, timeout=30,
                           preexec_fn=die_with_test)

    def produce_many(self, topic, records, partition=None):
        """Fast path without headers: key TAB value lines through one kcat
        (to one partition when given, else by key)."""
        data = "".join(f"{k}\t{v}\n" for k, v in records)
        args = ["kcat", "-b", self.brokers, "-t", topic, "-P", "-K", "\t"]
        if partition is not None:
            args += ["-p", str(partition)]
        subprocess.run(args, input=data.encode(), check=True, timeout=120,
                       preexec_fn=die_with_test)

    def consume_all(self, topic):
        """Every record of a topic: dicts with key, payload, headers (dict)."""
        p = subprocess.run(["kcat", "-b", self.brokers, "-t", topic, "-C", "-e", "-J",
                            "-q"], capture_output=True, timeout=60, preexec_fn=die_with_test)
        out = []
        for line in p.stdout.decode().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            h = r.get("headers") or []
            r["headers"] = dict(zip(h[0::2], h[1::2]))
            out.append(r)
        return out

    def create_topics(self, topics):
        """Creates topics ("name:partitions") as an operator would: the
        sandbox's control API, or CreateTopics on a real broker (returns
        when each has a leader). Raises when one cannot be created."""
        if self.control is None:
            (self.real or self.shared).create_topics(topics)
            return
        for t in topics:
            name, _, parts = _sandbox_spec(t).partition(":")
            code, body = http("POST", f"{self.control}/topics?name={name}&partitions={parts or 1}")
            if code != 201:
                raise RuntimeError(f"kafka-sandbox: create topic {name}: {code} {body}")

    def alter_topic_config(self, topic, configs):
        """Sets topic configurations ({name: value}) on a real broker, as an
        operator would (kafka-configs --alter --add-config), and returns
        once the broker describes them (it applies them from then on)."""
        if self.control is not None:
            raise RuntimeError("alter_topic_config: kafka-sandbox has no topic configurations")
        kafka = self.real or self.shared
        entity = ["--bootstrap-server", self.brokers, "--entity-type", "topics",
                  "--entity-name", topic]
        p = kafka.tool("kafka-configs", *entity, "--alter",
                       "--add-config", ",".join(f"{k}={v}" for k, v in configs.items()))
        if p.returncode != 0:
            raise RuntimeError(f"kafka-configs {topic} {configs}: exit {p.returncode}: "
                               f"{p.stderr.strip()[-500:]}")

        def applied():
            out = kafka.tool("kafka-configs", *entity, "--describe").stdout
            return all(f" {k}={v} " in out for k, v in configs.items())
        wait_for(applied, 120, f"{topic}: {configs} applied", interval=1)

    def kafka_control(self, method, path):
        if self.control is None:
            raise RuntimeError("kafka_control: faults are injected by kafka-sandbox only; "
                               "on a real broker of the test's own use env.real "
                               "(kill/restart a node)")
        return http(method, self.control + path)

    def committed(self, group, topic, partitions):
        """The group's committed offsets {partition: offset} (-1: none),
        read with the Kafka protocol itself (FindCoordinator v0 +
        OffsetFetch v1) without joining the group: kcat cannot show them
        and the mock cluster has no DescribeGroups/kafka-consumer-groups."""
        return kafka_committed(self.brokers, group, topic, partitions)

    def end_offsets(self, topic):
        """{partition: high watermark} of a topic (kcat -Q, timestamp -1:
        the end)."""
        nparts = len(self.partitions(topic))
        args = ["kcat", "-b", self.brokers, "-Q", "-J"]
        for p in range(nparts):
            args += ["-t", f"{topic}:{p}:-1"]
        out = subprocess.run(args, capture_output=True, timeout=30, check=True,
                             preexec_fn=die_with_test).stdout
        data = json.loads(out).get(topic, {})
        return {v["partition"]: v["offset"] for v in data.values() if isinstance(v, dict)}

    def partitions(self, topic):
        """The partition ids of a topic (kcat -L)."""
        out = subprocess.run(["kcat", "-b", self.brokers, "-L", "-J", "-t", topic],
                             capture_output=True, timeout=30, check=True,
                             preexec_fn=die_with_test).stdout
        for t in json.loads(out)["topics"]:
            if t["topic"] == topic:
                return sorted(p["partition"] for p in t["partitions"])
        return []

    # -- LMS --
    def state(self, tenant):
        code, body = http("GET", f"{self.lms_url}/_sandbox/state?tenant={tenant}")
        return json.loads(body)["tenants"][tenant]

    def lms_requests(self, tenant):
        """The LMS sandbox's request log for a tenant, every page."""
        out, since = [], 0
        while True:
            code, body = http("GET", f"{self.lms_url}/_sandbox/requests?tenant={tenant}"
                              f"&since={since}")
            r = json.loads(body)
            out += r["requests"]
            if not r.get("more"):
                return out
            since = r["next_since"]

    def lms_api_times(self, tenant):
        """When the LMS sandbox received each of the tenant's API requests
        (not its token endpoint, which rate limits leave alone), sorted, and
        how many it answered 429."""
        times, refused = [], 0
        for r in self.lms_requests(tenant):
            if "/oauth/" in r["path"]:
                continue
            times.append(datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).timestamp())
            refused += r.get("status") == 429
        return sorted(times), refused

    def lms_post(self, path, body):
        return http("POST", self.lms_url + path, json.dumps(body))

    # -- workers --
    def worker(self, name, integrations, extra_kafka="", env=None, group=None,
               log_level="info", delivery=None, session_timeout_ms=6000, kafka=""):
        """delivery: the body of the `delivery` group (default: short
        back-off, 100 ms to 2 s). kafka: more settings of the `kafka`
        group (`group_instance_id = "...";`)."""
        return Worker(self, name, integrations, extra_kafka, env or {}, group, log_level,
                      delivery, session_timeout_ms, kafka)


def _real_kafka(kafka, env_dir):
    """A started RealKafka: `kafka` itself, or for "real" and "own" a single
    node, for "cluster3" three brokers and a controller, of
    $LB_KAFKA_VERSION (default: the pinned 4.x) with their data under the
    build directory."""
    if not isinstance(kafka, str):
        return kafka
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "kafka-real"))
    import kafka_real
    run = os.path.join(os.path.abspath(BIN), "tests", "kafka-real", "run",
                       os.path.basename(env_dir))
    return kafka_real.RealKafka(run, "cluster3" if kafka == "cluster3" else "single").start()


def _shared_kafka():
    """The broker of $LB_KAFKA_BOOTSTRAP_FILE (kafka_shared.py started it in
    that file's directory)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "kafka-real"))
    import kafka_real
    return kafka_real.RealKafka.attach(os.path.dirname(os.path.abspath(SHARED_BOOTSTRAP)))


def _sandbox_spec(t):
    """A topic spec as kafka-sandbox takes it: "name:partitions"."""
    return t if isinstance(t, str) else f"{t[0]}:{t[1]}"


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


class Worker:
    counter = 0

    def __init__(self, env, name, integrations, extra_kafka, secrets, group, log_level,
                 delivery=None, session_timeout_ms=6000, kafka=""):
        Worker.counter += 1
        delivery = delivery or "backoff_initial_ms = 100; backoff_max_ms = 2000;"
        self.env = env
        self.log_path = os.path.join(env.dir, f"{name}-{Worker.counter}.log")
        conf = os.path.join(env.dir, f"{name}-{Worker.counter}.conf")
        group_line = ""
        if NS:   # the shared broker: this test's own topic and group
            group_line = f'topics = ["{ns(DEFAULT_TOPIC[name])}"]; '
            group = group or ns(name)
        group_line += f'group_id = "{group}";' if group else ""
        with open(conf, "w") as f:
            f.write(f"""
kafka: {{ brokers = "{env.brokers}"; {group_line} {kafka}
  properties = ( ["session.timeout.ms", "{session_timeout_ms}"], ["heartbeat.interval.ms", "500"],
                 ["topic.metadata.refresh.interval.ms", "2000"] {extra_kafka} ); }};
provider: {{ code = "datacamp"; ocn_provider_id = "DATACAMP";
  logo_url = "https://cdn.example.com/logo.png"; activity_iri_base = "{ACTIVITY_IRI_BASE}"; }};
delivery: {{ {delivery} }};
observability: {{ listen = "127.0.0.1:0"; log_level = "{log_level}"; }};
integrations = ( {integrations} );
""")
        penv = dict(os.environ)
        penv.update(secrets)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([WORKERS[name], "--config", conf], stderr=self.log,
                                     stdout=self.log, env=penv, preexec_fn=die_with_test)
        env.workers.append(self.proc)
        wait_for(self._port, 20, f"{name} start")

    # What the worker's log has said so far, read a piece at a time (_scan):
    # the port of its latest "consuming" line, and its own first error before
    # the first one. Class defaults, for a subclass that starts its process
    # itself (tests/kafka-real/test_sasl_worker.py).
    _scanned = 0            # bytes of the log read
    _latest_port = None     # metrics_port of the latest "consuming" line
    _fixed_port = None      # a port the configuration fixes (set by a subclass)
    _start_error = None     # the worker's own error line before it consumed

    def _scan(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._scanned)
                data = f.read()
        except FileNotFoundError:   # not started yet (a subclass fixing its port)
            return
        whole = data.rfind(b"\n") + 1   # a line being written is read next time
        self._scanned += whole
        for line in data[:whole].decode(errors="replace").splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if not isinstance(r, dict):
                continue
            if r.get("msg") == "consuming":
                self._latest_port = r["metrics_port"]
            # the worker's own errors; librdkafka's (a broker down) it lives with
            elif (self._latest_port is None and self._start_error is None and
                  r.get("level") == "error" and r.get("msg") != "librdkafka"):
                self._start_error = line

    def _port(self):
        """At start: the port once the worker consumes; raises when it
        failed first."""
        self._scan()
        if self._start_error:
            raise RuntimeError(f"worker failed: {self._start_error}")
        if self._latest_port is not None:
            return self._latest_port
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited {self.proc.returncode}")
        return None

    @property
    def metrics_port(self):
        """The observability port of the worker's LATEST "consuming" line: a
        reload with new Kafka clients, or with another observability.listen,
        serves /metrics from a new server (with port 0: on another port)."""
        self._scan()
        return self._latest_port if self._latest_port is not None else self._fixed_port

    @metrics_port.setter
    def metrics_port(self, port):
        self._fixed_port = port

    def get(self, path):
        return http("GET", f"http://127.0.0.1:{self.metrics_port}{path}")

    def metric(self, name, **labels):
        code, text = self.get("/metrics")
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        full = f"{name}{{{want}}}" if labels else name
        for line in text.splitlines():
            if line.startswith(full + " "):
                return float(line.split()[-1])
        return 0.0

    def series(self, name):
        """Every sample of a metric: [({label: value}, value)]."""
        code, text = self.get("/metrics")
        out = []
        for line in text.splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            if head == name:
                out.append(({}, float(value)))
            elif head.startswith(name + "{") and head.endswith("}"):
                labels = {}
                for part in head[len(name) + 1:-1].split('",'):
                    k, _, v = part.partition('="')
                    labels[k] = v.rstrip('"')
                out.append((labels, float(value)))
        return out

    def assigned(self, topic):
        """Partitions of `topic` this worker consumes, from its consumer lag
        metric (librdkafka statistics, every 5 s)."""
        return sorted(int(l["partition"]) for l, _ in self.series("lmsbridge_consumer_lag")
                      if l.get("topic") == topic)

    def stop(self, timeout=40):
        self.proc.send_signal(signal.SIGTERM)
        start = time.time()
        rc = self.proc.wait(timeout=timeout)
        return rc, time.time() - start

    def stop_and_check(self, who="worker"):
        """SIGTERM, then the check every test ends with: it exits 0."""
        rc, _ = self.stop()
        check(rc == 0, f"{who} exits 0")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def logs(self):
        return [json.loads(l) for l in open(self.log_path) if l.startswith("{")]


_correlation = 0


def _kafka_call(sock, api_key, version, body):
    """One Kafka request (header v1) and its response body."""
    global _correlation
    _correlation += 1
    client = b"lb-e2e"
    req = struct.pack(">hhih", api_key, version, _correlation, len(client)) + client + body
    sock.sendall(struct.pack(">i", len(req)) + req)
    size = struct.unpack(">i", _recv(sock, 4))[0]
    resp = _recv(sock, size)
    if struct.unpack(">i", resp[:4])[0] != _correlation:
        raise RuntimeError("kafka: correlation id mismatch")
    return resp[4:]


def _recv(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("kafka: connection closed")
        buf += chunk
    return buf


def _kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def kafka_committed(brokers, group, topic, partitions, timeout=10):
    """Committed offsets of `group` for `topic` partitions: {p: offset},
    -1 when the group has none. FindCoordinator v0, then OffsetFetch v1 to
    the coordinator (both plain Kafka protocol, served by the mock)."""
    for i, b in enumerate(brokers.split(",")):   # the first that answers (one may be down)
        host, port = b.rsplit(":", 1)
        try:
            s = socket.create_connection((host, int(port)), timeout=timeout)
            break
        except ConnectionRefusedError:
            if i == brokers.count(","):
                raise
    with s:
        r = _kafka_call(s, 10, 0, _kstr(group))
        err, _node, hlen = struct.unpack(">hih", r[:8])
        if err:
            raise RuntimeError(f"kafka FindCoordinator error {err}")
        chost = r[8:8 + hlen].decode()
        cport = struct.unpack(">i", r[8 + hlen:12 + hlen])[0]
    body = _kstr(group) + struct.pack(">i", 1) + _kstr(topic) + \
        struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions)
    with socket.create_connection((chost, cport), timeout=timeout) as s:
        r = _kafka_call(s, 9, 1, body)
    pos = 0
    out = {}
    (ntopics,) = struct.unpack_from(">i", r, pos)
    pos += 4
    for _ in range(ntopics):
        (tl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + tl
        (nparts,) = struct.unpack_from(">i", r, pos)
        pos += 4
        for _ in range(nparts):
            p, off, ml = struct.unpack_from(">iqh", r, pos)
            pos += 14 + max(ml, 0)
            (perr,) = struct.unpack_from(">h", r, pos)
            pos += 2
            if perr:
                raise RuntimeError(f"kafka OffsetFetch error {perr} on partition {p}")
            out[p] = off
    return out


def degreed_integration(env, id, tenant, secret_env, extra="rate_limit_per_minute = 0;",
                        org=None):
    """A Degreed integration on the sandbox tenant, for organization `org`
    (default: the tenant's name; "*": the provider's). No client-side rate
    limit unless `extra` sets one: Degreed's default is 70 a minute."""
    return (f'{{ id = "{id}"; type = "degreed"; organization = "{org or tenant}";'
            f' api_base_url = "{env.lms_url}/t/{tenant}";'
            f' token_url = "{env.lms_url}/t/{tenant}/oauth/token";'
            f' client_id = "{tenant}-id"; client_secret = "@env:{secret_env}"; {extra} }}')


def degreed_tenant(name, secret, **extra):
    t = {"name": name, "degreed": {"clients": [{"client_id": f"{name}-id",
                                                "client_secret": secret}],
                                   "rate_limit_per_minute": 1000000}}
    t["degreed"].update(extra)
    return t


ACTIVITY_IRI_BASE = "https://learn.example.com/xapi/activities"


def xapi_tenant(tenant, secret, **extra):
    """tenant (a dict of degreed_tenant's) with an LRS: Basic credentials
    <name>-lrs-key / secret, and an OAuth2 client <name>-lrs-client (an xAPI
    client id differs from the tenant's Degreed client ids)."""
    name = tenant["name"]
    tenant["xapi"] = {"credentials": [{"username": f"{name}-lrs-key", "password": secret}],
                      "clients": [{"client_id": f"{name}-lrs-client", "client_secret": secret}]}
    tenant["xapi"].update(extra)
    return tenant


def xapi_integration(env, id, tenant, secret_env, oauth2=False, extra="", org=None):
    """An xapi integration on the sandbox tenant's LRS (xapi_tenant), by
    Basic auth or, with oauth2, by the tenant's xAPI OAuth2 client."""
    auth = (f'auth = "oauth2"; token_url = "{env.lms_url}/t/{tenant}/oauth/token";'
            f' client_id = "{tenant}-lrs-client"; client_secret = "@env:{secret_env}";'
            if oauth2 else
            f'auth = "basic"; username = "{tenant}-lrs-key"; password = "@env:{secret_env}";')
    return (f'{{ id = "{id}"; type = "xapi"; organization = "{org or tenant}";'
            f' endpoint = "{env.lms_url}/t/{tenant}/xapi"; {auth} {extra} }}')


def completion(event_id, org, user, content="1", ctype="course", **extra):
    e = {"schema": "completion.v1", "event_id": event_id,
         "occurred_at": "2026-01-01T00:00:00Z", "organization_id": org,
         "user": {"id": user, "email": f"{user}@{org}.example"},
         "content": {"id": content, "type": ctype},
         "completed_at": "2026-01-01T00:00:00Z"}
    e.update(extra)
    return json.dumps(e, separators=(",", ":"))


# ---- dlq-replay ----

DLQ_REPLAY = os.path.join(BIN, "workers/dlq-replay/dlq-replay")


def worker_config_path(w):
    """The configuration file a Worker was started with (dlq-replay reads
    the same file)."""
    return w.log_path[:-len(".log")] + ".conf"


def most_in_window(times, window):
    """The most of the sorted `times` in any `window` seconds (a sliding
    window starting at each)."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def dlq_replay(*args, env=None, stdin=None, timeout=120):
    """Runs dlq-replay to the end: (exit code, stdout's JSON lines, stderr).
    stdin: text to type (default: /dev/null, i.e. no terminal)."""
    penv = dict(os.environ)
    penv.update(env or {})
    p = subprocess.run([DLQ_REPLAY, *args], capture_output=True, timeout=timeout, env=penv,
                       input=stdin.encode() if stdin is not None else b"",
                       preexec_fn=die_with_test)
    lines = []
    for line in p.stdout.decode().splitlines():
        if line.strip():
            lines.append(json.loads(line))
    return p.returncode, lines, p.stderr.decode()


def dead_letter_headers(topic, partition, offset, reason, message, integration="",
                        status=0, body="", attempts=1, last_failure="2026-01-01T00:00:00.000Z",
                        replays=0, worker="completion-worker"):
    """The headers the engine writes on a dead letter (docs/delivery.md),
    for tests that write a DLQ by hand."""
    return {"__connect.errors.topic": topic, "__connect.errors.partition": str(partition),
            "__connect.errors.offset": str(offset),
            "__connect.errors.exception.class.name": reason,
            "__connect.errors.exception.message": message,
            "lmsbridge.integration": integration, "lmsbridge.http.status": str(status),
            "lmsbridge.http.body": body, "lmsbridge.attempts": str(attempts),
            "lmsbridge.first_failure": last_failure, "lmsbridge.last_failure": last_failure,
            "lmsbridge.worker": worker, "lmsbridge.replays": str(replays)}


def produce_to(env, topic, partition, records):
    """records: (key, value, {header: value}) tuples, each to `partition`."""
    for key, value, headers in records:
        args = ["kcat", "-b", env.brokers, "-t", topic, "-p", str(partition), "-P", "-k", key]
        for hk, hv in (headers or {}).items():
            args += ["-H", f"{hk}={hv}"]
        subprocess.run(args, input=value.encode(), check=True, timeout=30,
                       preexec_fn=die_with_test)
