#!/usr/bin/env python3
"""Real Apache Kafka on loopback, for the tests, the demo and people.

The broker is the Apache Kafka release published on Maven Central
(org.apache.kafka:kafka_2.13 and its dependencies, the command-line tools
from kafka-tools), fetched with Maven into a cache outside the tree and run
with java in KRaft mode. No Docker, no download but Maven's.

Modes:
  single    one combined broker+controller (the tests' default)
  cluster3  three combined broker+controller nodes, a three-voter quorum,
            replication factor 3 and min.insync.replicas=2 by default
  sasl      one node whose client listener is SASL_SSL (SCRAM-SHA-512 users,
            ACLs by StandardAuthorizer, a TLS certificate for 127.0.0.1 and
            localhost from a CA made with openssl at start); a PLAINTEXT
            listener on 127.0.0.1 is for the inter-broker traffic and the
            admin tools (its anonymous principal is a super user)

As a library (tests/e2e, scripts): RealKafka(workdir, mode).start(), its
bootstrap address, create_topics(), create_acls(), kill()/restart() of a
node, tool() for the Kafka command-line tools, stop(). The JVMs die with
the process that started them (PR_SET_PDEATHSIG), and a pid file lets the
next start in the same directory kill what a killed run left behind.

As a command (tests/kafka-real/kafka-real.sh is a wrapper):
  fetch [VERSION]       resolve a release into the cache
  start [--mode M] [--version V] [--dir D] [--user NAME]...
                        start detached; prints the bootstrap address
  stop|status [--dir D]
  kill|restart NODE [--dir D]
  tool [--dir D | --version V] NAME ARGS...   e.g. kafka-topics --list ...
  versions

Environment:
  LB_KAFKA_CACHE      cache root (default ${XDG_CACHE_HOME:-~/.cache}/lmsbridge/kafka)
  LB_KAFKA_VERSION    the version used when none is given (default: DEFAULT_VERSION)
  LB_KAFKA_JAVA_OPTS  JVM options of the brokers (default: JAVA_OPTS below)
"""
import base64
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lb_test_proc import die_with_parent as _die_with_parent  # noqa: E402

# The pinned releases: the newest 4.x and the newest 3.x (3.9 is the last 3.x
# line) that Maven Central serves. Any other version can be fetched by name.
PINNED = {"4": "4.4.0", "3": "3.9.2"}
DEFAULT_VERSION = PINNED["4"]

# Logging bindings, as the Apache distributions ship them: log4j2 for 4.x,
# reload4j for 3.x.
LOGGING_DEPS = {
    "4": [("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3"),
          ("org.apache.logging.log4j", "log4j-core", "2.24.3")],
    "3": [("org.slf4j", "slf4j-reload4j", "1.7.36"),
          ("ch.qos.reload4j", "reload4j", "1.2.25")],
}

# Small heaps and a quick start on a 2-core machine: the serial collector and
# the C1 compiler only. LB_KAFKA_JAVA_OPTS replaces them (e.g. for a benchmark).
JAVA_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]
TOOL_JAVA_OPTS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                  "-XX:-UsePerfData", "-Djava.awt.headless=true"]

# mode: (brokers, SASL_SSL). One broker is also the controller; three
# brokers have a controller of their own (node CONTROLLER_ID), so a broker
# killed never takes the quorum with it and a whole-cluster stop is clean
# (the last of three combined nodes could not get its controlled shutdown
# approved without a quorum).
MODES = {"single": (1, False), "cluster3": (3, False), "sasl": (1, True)}
CONTROLLER_ID = 100
SCRAM = "SCRAM-SHA-512"

# The command-line tools by their script names; the first class found in the
# release's jars is used (4.x moved several from kafka_2.13 to kafka-tools).
TOOLS = {
    "kafka-topics": ["org.apache.kafka.tools.TopicCommand", "kafka.admin.TopicCommand"],
    "kafka-consumer-groups": ["org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                              "kafka.admin.ConsumerGroupCommand"],
    "kafka-acls": ["org.apache.kafka.tools.AclCommand", "kafka.admin.AclCommand"],
    "kafka-configs": ["org.apache.kafka.tools.ConfigCommand", "kafka.admin.ConfigCommand"],
    "kafka-storage": ["kafka.tools.StorageTool"],
    "kafka-metadata-quorum": ["org.apache.kafka.tools.MetadataQuorumCommand"],
    "kafka-get-offsets": ["org.apache.kafka.tools.GetOffsetShell", "kafka.tools.GetOffsetShell"],
    "kafka-broker-api-versions": ["org.apache.kafka.tools.BrokerApiVersionsCommand",
                                  "kafka.admin.BrokerApiVersionsCommand"],
    "kafka-console-producer": ["org.apache.kafka.tools.ConsoleProducer",
                               "kafka.tools.ConsoleProducer"],
    "kafka-console-consumer": ["org.apache.kafka.tools.consumer.ConsoleConsumer",
                               "kafka.tools.ConsoleConsumer"],
}


class KafkaRealError(RuntimeError):
    """Fetching, starting or talking to the real broker failed; the message
    says why (never with a password)."""


def say(msg):
    print(f"kafka-real: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- fetch --

def major(version):
    return version.split(".")[0]


def cache_root():
    root = os.environ.get("LB_KAFKA_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "lmsbridge", "kafka")
    return os.path.abspath(root)


def default_version():
    return os.environ.get("LB_KAFKA_VERSION") or DEFAULT_VERSION


def resolve_version(v):
    """'4' or '3' name the pinned release of that line; anything else is a
    version as Maven Central spells it."""
    v = v or default_version()
    return PINNED.get(v, v)


def _pom(version):
    # kafka-tools without Kafka Connect (only its plugin tool needs it; Maven
    # Central does not serve every release's connect-* jars)
    deps = [("org.apache.kafka", "kafka_2.13", version, ""),
            ("org.apache.kafka", "kafka-tools", version,
             "<exclusions><exclusion><groupId>org.apache.kafka</groupId>"
             "<artifactId>connect-runtime</artifactId></exclusion></exclusions>"),
            ("org.apache.kafka", "kafka-storage", version, "")]
    deps += [d + ("",) for d in LOGGING_DEPS["3" if major(version) in ("2", "3") else "4"]]
    lines = "\n".join(f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
                      f"<version>{v}</version>{x}</dependency>" for g, a, v, x in deps)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by lmsbridge tests/kafka-real/kafka_real.py: the jars of an
     Apache Kafka {version} broker and its tools, copied into libs/. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.lmsbridge</groupId>
  <artifactId>kafka-real-{version}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{lines}
  </dependencies>
</project>
"""


def fetch(version=None, quiet=False):
    """The directory of the release's jars, resolved with Maven into the
    cache on first use (checksums verified: mvn -C fails on a mismatch).
    Raises KafkaRealError with Maven's reason when it cannot."""
    version = resolve_version(version)
    vdir = os.path.join(cache_root(), version)
    libs = os.path.join(vdir, "libs")
    if os.path.exists(os.path.join(libs, ".complete")):
        return libs
    for tool, pkg in (("mvn", "maven"), ("java", "openjdk-17-jre-headless")):
        if not shutil.which(tool):
            raise KafkaRealError(f"fetch Kafka {version}: `{tool}` not found (Debian package "
                                 f"{pkg}; ./scripts/test.sh installs it)")
    os.makedirs(vdir, exist_ok=True)
    with open(os.path.join(vdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching it
        if os.path.exists(os.path.join(libs, ".complete")):
            return libs
        pom = os.path.join(vdir, "pom.xml")
        with open(pom, "w") as f:
            f.write(_pom(version))
        partial = libs + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        if not quiet:
            say(f"fetching Apache Kafka {version} from Maven Central into {vdir}")
        start = time.time()
        p = subprocess.run(["mvn", "-B", "-q", "-C", "-f", pom,
                            "dependency:copy-dependencies", "-DincludeScope=runtime",
                            f"-DoutputDirectory={partial}"],
                           capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            # Maven's first error line is the cause; the rest is advice
            out = [l.strip() for l in (p.stdout + p.stderr).replace("\x1b[0m", "").splitlines()
                   if l.strip() and l.strip() != "[ERROR]"]
            errors = [l for l in out if l.startswith("[ERROR]")] or out or ["no output"]
            raise KafkaRealError(f"fetch Kafka {version}: mvn exited {p.returncode}: "
                                 + errors[0][:1200])
        jar = os.path.join(partial, f"kafka_2.13-{version}.jar")
        if not os.path.exists(jar):
            raise KafkaRealError(f"fetch Kafka {version}: Maven finished without {jar}")
        jars = sorted(f for f in os.listdir(partial) if f.endswith(".jar"))
        with open(os.path.join(partial, ".complete"), "w") as f:
            json.dump({"version": version, "jars": len(jars),
                       "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f)
        shutil.rmtree(libs, ignore_errors=True)
        os.rename(partial, libs)
        if not quiet:
            say(f"fetched Kafka {version}: {len(jars)} jars in {time.time() - start:.0f}s")
    return libs


def _tool_class(libs, name):
    if "." in name:
        return name  # a class name
    candidates = TOOLS.get(name)
    if not candidates:
        raise KafkaRealError(f"unknown tool {name} (known: {', '.join(sorted(TOOLS))})")
    entries = set()
    for jar in os.listdir(libs):
        if jar.startswith(("kafka_2.13-", "kafka-tools-")) and jar.endswith(".jar"):
            with zipfile.ZipFile(os.path.join(libs, jar)) as z:
                entries.update(z.namelist())
    for c in candidates:
        if c.replace(".", "/") + ".class" in entries:
            return c
    raise KafkaRealError(f"tool {name}: none of {candidates} in {libs}")


def _log_config(version, path, logfile, level="INFO"):
    """A logging configuration: to `logfile`, or to stderr when None."""
    if major(version) in ("2", "3"):
        if logfile:
            text = f"""log4j.rootLogger={level}, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={logfile}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
        else:
            text = f"""log4j.rootLogger={level}, err
log4j.appender.err=org.apache.log4j.ConsoleAppender
log4j.appender.err.Target=System.err
log4j.appender.err.layout=org.apache.log4j.PatternLayout
log4j.appender.err.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
        prop = f"-Dlog4j.configuration=file:{path}"
    else:
        if logfile:
            app = f"appender.out.type = File\nappender.out.fileName = {logfile}\n"
        else:
            app = "appender.out.type = Console\nappender.out.target = SYSTEM_ERR\n"
        text = f"""status = warn
{app}appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = out
"""
        prop = f"-Dlog4j2.configurationFile={path}"
    with open(path, "w") as f:
        f.write(text)
    return prop


def run_tool(name, args, version=None, timeout=180, input=None):
    """Runs one of the Kafka command-line tools (TOOLS, or a class name) of
    `version`: a CompletedProcess with text stdout and stderr."""
    version = resolve_version(version)
    libs = fetch(version, quiet=True)
    cls = _tool_class(libs, name)
    conf = os.path.join(os.path.dirname(libs), "tools-log.properties")
    if not os.path.exists(conf):
        tmp = f"{conf}.{os.getpid()}"
        _log_config(version, tmp, None, "WARN")
        os.replace(tmp, conf)
    logprop = ("-Dlog4j.configuration=file:" if major(version) in ("2", "3")
               else "-Dlog4j2.configurationFile=") + conf
    cmd = ["java", *TOOL_JAVA_OPTS, logprop, "-cp", os.path.join(libs, "*"), cls, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                          preexec_fn=_die_with_parent)


# ------------------------------------------------------------ processes --

# _die_with_parent: Popen preexec_fn, SIGKILL when the process that started
# us dies (tests/support/lb_test_proc.py)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _sigkill_pid(pid, ndir, timeout=10):
    """SIGKILLs `pid` if it still runs with `ndir` on its command line (a
    recycled pid is left alone) and waits up to `timeout` s for it to go.
    True when it was sent the signal; one that died meanwhile is no error."""
    if not (pid and _alive(pid) and ndir in _cmdline(pid)):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    end = time.time() + timeout
    while _alive(pid) and time.time() < end:
        time.sleep(0.05)
    return True


def _kill_pidfile(path, only_orphans=False):
    """Kills the process a pid file names if it still runs with the pid
    file's directory on its command line (a recycled pid is left alone).
    only_orphans: only when the process that started it is gone."""
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return False
    pid, owner = rec.get("pid", 0), rec.get("owner", 0)
    if only_orphans and (not owner or _alive(owner)):
        return False
    killed = _sigkill_pid(pid, os.path.dirname(os.path.abspath(path)))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return killed


def reap_stale(base):
    """Kills brokers that runs under `base` left behind when the process that
    started them died without them (a pid file whose owner is gone). Returns
    how many."""
    n = 0
    if not os.path.isdir(base):
        return 0
    for run in os.listdir(base):
        rdir = os.path.join(base, run)
        if not os.path.isdir(rdir):
            continue
        for node in os.listdir(rdir):
            pf = os.path.join(rdir, node, "pid")
            if node.startswith("node-") and os.path.exists(pf):
                n += _kill_pidfile(pf, only_orphans=True)
    return n


def _free_ports(n):
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def _cluster_id():
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _password():
    return secrets.token_hex(16)


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


# ------------------------------------------------------ Kafka protocol --
# A few requests of the plain Kafka protocol (non-flexible versions every
# broker from 2.4 to 4.x serves, none of those KIP-896 removed), sent to the
# PLAINTEXT listener: fast topic and ACL creation without a JVM per call.

RESOURCE = {"topic": 2, "group": 3, "cluster": 4, "transactional_id": 5}
PATTERN = {"literal": 3, "prefixed": 4}
OPERATION = {"all": 2, "read": 3, "write": 4, "create": 5, "delete": 6, "alter": 7,
             "describe": 8, "cluster_action": 9, "describe_configs": 10,
             "alter_configs": 11, "idempotent_write": 12}
PERMISSION = {"deny": 2, "allow": 3}
ERRORS = {7: "REQUEST_TIMED_OUT", 29: "TOPIC_AUTHORIZATION_FAILED", 31: "CLUSTER_AUTHORIZATION_FAILED",
          36: "TOPIC_ALREADY_EXISTS", 37: "INVALID_PARTITIONS", 38: "INVALID_REPLICATION_FACTOR",
          40: "INVALID_CONFIG", 41: "NOT_CONTROLLER", 42: "INVALID_REQUEST",
          3: "UNKNOWN_TOPIC_OR_PARTITION", 5: "LEADER_NOT_AVAILABLE", 6: "NOT_LEADER_OR_FOLLOWER"}


def _s(text):
    b = text.encode()
    return struct.pack(">h", len(b)) + b


def _ns(text):
    return struct.pack(">h", -1) if text is None else _s(text)


class _Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def str(self):
        n = self.take(">h")
        if n < 0:
            return None
        v = self.d[self.p:self.p + n].decode()
        self.p += n
        return v

    def array(self, item):
        return [item() for _ in range(self.take(">i"))]


class KafkaConn:
    """One connection to a broker's PLAINTEXT listener."""
    _correlation = 0

    def __init__(self, address, timeout=10):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, api_key, version, body):
        KafkaConn._correlation += 1
        cid = KafkaConn._correlation
        req = struct.pack(">hhi", api_key, version, cid) + _s("lb-kafka-real") + body
        self.sock.sendall(struct.pack(">i", len(req)) + req)
        size = struct.unpack(">i", self._recv(4))[0]
        resp = self._recv(size)
        if struct.unpack(">i", resp[:4])[0] != cid:
            raise KafkaRealError("kafka: correlation id mismatch")
        return _Reader(resp[4:])

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("kafka: connection closed")
            buf += chunk
        return buf

    def api_versions(self):
        """{api_key: (min, max)} the broker serves (ApiVersions v0)."""
        r = self.call(18, 0, b"")
        err = r.take(">h")
        if err:
            raise KafkaRealError(f"ApiVersions: error {err}")
        return {k: (lo, hi) for k, lo, hi in r.array(lambda: r.take(">hhh"))}

    def metadata(self, topics=None):
        """Metadata v5: {"brokers": {id: "host:port"}, "controller": id,
        "topics": {name: {"error": code, "partitions": {p: {"leader",
        "replicas", "isr", "error"}}}}}."""
        body = (struct.pack(">i", -1) if topics is None else
                struct.pack(">i", len(topics)) + b"".join(_s(t) for t in topics))
        r = self.call(3, 5, body + b"\x00")
        r.take(">i")  # throttle
        brokers = {}
        for _ in range(r.take(">i")):
            nid = r.take(">i")
            host = r.str()
            port = r.take(">i")
            r.str()  # rack
            brokers[nid] = f"{host}:{port}"
        r.str()  # cluster id
        controller = r.take(">i")
        out = {}
        for _ in range(r.take(">i")):
            err = r.take(">h")
            name = r.str()
            r.take(">b")
            parts = {}
            for _ in range(r.take(">i")):
                perr, pid, leader = r.take(">hii")
                replicas = r.array(lambda: r.take(">i"))
                isr = r.array(lambda: r.take(">i"))
                r.array(lambda: r.take(">i"))  # offline
                parts[pid] = {"leader": leader, "replicas": replicas, "isr": isr, "error": perr}
            out[name] = {"error": err, "partitions": parts}
        return {"brokers": brokers, "controller": controller, "topics": out}

    def create_topics(self, topics, timeout_ms=30000):
        """topics: (name, partitions, replication_factor, {config: value});
        -1 takes the broker's default. CreateTopics v4: [(name, error, message)]."""
        body = struct.pack(">i", len(topics))
        for name, parts, rf, configs in topics:
            body += _s(name) + struct.pack(">ih", parts, rf) + struct.pack(">i", 0)
            body += struct.pack(">i", len(configs))
            for k, v in configs.items():
                body += _s(k) + _ns(str(v))
        body += struct.pack(">i", timeout_ms) + b"\x00"
        r = self.call(19, 4, body)
        r.take(">i")
        return r.array(lambda: (r.str(), r.take(">h"), r.str()))

    def create_acls(self, acls):
        """acls: dicts resource_type, name, pattern, principal, host,
        operation, permission. CreateAcls v1: [(error, message)]."""
        body = struct.pack(">i", len(acls))
        for a in acls:
            body += struct.pack(">b", a["resource_type"]) + _s(a["name"])
            body += struct.pack(">b", a["pattern"]) + _s(a["principal"]) + _s(a["host"])
            body += struct.pack(">bb", a["operation"], a["permission"])
        r = self.call(30, 1, body)
        r.take(">i")
        return r.array(lambda: (r.take(">h"), r.str()))

    def describe_acls(self):
        """Every ACL this broker's authorizer holds (DescribeAcls v1, filter
        ANY): a set of (resource_type, name, pattern, principal, host,
        operation, permission)."""
        body = struct.pack(">b", 1) + _ns(None) + struct.pack(">b", 1) + _ns(None) + _ns(None)
        body += struct.pack(">bb", 1, 1)
        r = self.call(29, 1, body)
        r.take(">i")
        err = r.take(">h")
        msg = r.str()
        if err:
            raise KafkaRealError(f"DescribeAcls: error {ERRORS.get(err, err)} {msg or ''}")
        out = set()
        for _ in range(r.take(">i")):
            rtype = r.take(">b")
            name = r.str()
            pattern = r.take(">b")
            for _ in range(r.take(">i")):
                principal = r.str()
                host = r.str()
                op, perm = r.take(">bb")
                out.add((rtype, name, pattern, principal, host, op, perm))
        return out


# -------------------------------------------------------------- cluster --

class Node:
    def __init__(self, nid, ndir, roles="broker,controller"):
        self.id = nid
        self.dir = ndir
        self.roles = roles       # process.roles
        self.port = 0            # PLAINTEXT (clients, or the admin tools in sasl mode)
        self.sasl_port = 0       # SASL_SSL (sasl mode)
        self.controller_port = 0
        self.proc = None         # Popen when this process started it
        self.pid = 0

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pidfile(self):
        return os.path.join(self.dir, "pid")

    @property
    def log(self):
        return os.path.join(self.dir, "server.log")

    @property
    def stdout(self):
        return os.path.join(self.dir, "stdout.log")

    @property
    def broker(self):
        return "broker" in self.roles

    @property
    def controller(self):
        return "controller" in self.roles

    def running(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return bool(self.pid) and _alive(self.pid)


class RealKafka:
    """A Kafka cluster of `mode` (MODES) with its data and logs under
    `workdir` (wiped at start). detach: the JVMs outlive this process (the
    command line's start); else they die with it."""

    def __init__(self, workdir, mode="single", version=None, users=None, detach=False,
                 java_opts=None, broker_config=None, cert_sans=("DNS:localhost", "IP:127.0.0.1")):
        if mode not in MODES:
            raise KafkaRealError(f"unknown mode {mode} (one of {', '.join(MODES)})")
        self.workdir = os.path.abspath(workdir)
        self.mode = mode
        self.version = resolve_version(version)
        self.nnodes, self.sasl = MODES[mode]
        self.detach = detach
        env_opts = os.environ.get("LB_KAFKA_JAVA_OPTS")
        self.java_opts = java_opts or (env_opts.split() if env_opts else JAVA_OPTS)
        self.broker_config = dict(broker_config or {})
        self.cert_sans = cert_sans
        # SCRAM users: name -> password (admin is a super user)
        self.users = {"admin": _password()} if self.sasl else {}
        for u in users or []:
            if isinstance(u, tuple):
                self.users[u[0]] = u[1]
            else:
                self.users.setdefault(u, _password())
        dedicated = self.nnodes > 1
        self.nodes = [Node(i + 1, os.path.join(self.workdir, f"node-{i + 1}"),
                           "broker" if dedicated else "broker,controller")
                      for i in range(self.nnodes)]        # the brokers
        self.controllers = ([Node(CONTROLLER_ID, os.path.join(
            self.workdir, f"node-{CONTROLLER_ID}"), "controller")] if dedicated else [])
        self.cluster_id = None
        self.libs = None
        self.started_s = None   # seconds start() took, fetch excluded

    # -- addresses --
    @property
    def bootstrap(self):
        """The PLAINTEXT listeners (in sasl mode: the admin listener)."""
        return ",".join(n.address for n in self.nodes)

    @property
    def sasl_bootstrap(self):
        return ",".join(f"127.0.0.1:{n.sasl_port}" for n in self.nodes) if self.sasl else None

    @property
    def ca_file(self):
        return os.path.join(self.workdir, "tls", "ca.pem") if self.sasl else None

    @property
    def all_nodes(self):
        """Every process: the dedicated controllers, then the brokers."""
        return self.controllers + self.nodes

    def node(self, nid):
        for n in self.all_nodes:
            if n.id == nid:
                return n
        raise KafkaRealError(f"no node {nid}")

    # -- start --
    def start(self, timeout=180):
        self.libs = fetch(self.version)
        for tool, pkg in (("java", "openjdk-17-jre-headless"), ("openssl", "openssl")):
            if not shutil.which(tool):
                raise KafkaRealError(f"`{tool}` not found (Debian package {pkg}; "
                                     "./scripts/test.sh installs it)")
        if os.path.isdir(self.workdir):
            for d in sorted(os.listdir(self.workdir)):
                pidfile = os.path.join(self.workdir, d, "pid")
                if d.startswith("node-") and os.path.exists(pidfile):
                    with contextlib.suppress(OSError, ValueError):
                        owner = json.load(open(pidfile)).get("owner", 0)
                        if owner and owner != os.getpid() and _alive(owner):
                            raise KafkaRealError(f"{self.workdir} is in use by process {owner}")
                    if _kill_pidfile(pidfile):
                        say(f"killed a broker a previous run left in {os.path.dirname(pidfile)}")
        if not self.detach:
            reap_stale(os.path.dirname(self.workdir))
        began = time.time()
        for attempt in range(3):
            shutil.rmtree(self.workdir, ignore_errors=True)
            os.makedirs(self.workdir)
            self._configure()
            self._format()
            for n in self.all_nodes:
                self._spawn(n)
            try:
                self._wait_ready(timeout)
                break
            except KafkaRealError as e:
                bind = any("Address already in use" in self._tail(n, 200) for n in self.all_nodes)
                self.stop(timeout=10)
                if not bind or attempt == 2:
                    raise KafkaRealError(f"{e}; {self._diagnosis()}") from None
                say("a port was taken meanwhile; starting again on other ports")
        self.started_s = time.time() - began
        with open(os.path.join(self.workdir, "bootstrap"), "w") as f:
            f.write((self.sasl_bootstrap or self.bootstrap) + "\n")
        self._save_state()
        return self

    def _configure(self):
        ports = iter(_free_ports(3 * len(self.all_nodes)))
        for n in self.all_nodes:
            n.port = next(ports) if n.broker else 0
            n.controller_port = next(ports) if n.controller else 0
            n.sasl_port = next(ports) if self.sasl and n.broker else 0
            os.makedirs(n.dir)
        self.cluster_id = _cluster_id()
        if self.sasl:
            self._make_certs()
            self._write_client_files()
        voters = ",".join(f"{n.id}@127.0.0.1:{n.controller_port}"
                          for n in self.all_nodes if n.controller)
        rf = min(self.nnodes, 3)
        for n in self.all_nodes:
            c = {
                "process.roles": n.roles,
                "node.id": n.id,
                "controller.quorum.voters": voters,
                "controller.listener.names": "CONTROLLER",
                "log.dirs": os.path.join(n.dir, "data"),
                "num.partitions": 1,
                "default.replication.factor": rf,
                "min.insync.replicas": 2 if rf >= 3 else 1,
                "offsets.topic.replication.factor": rf,
                "offsets.topic.num.partitions": 10,
                "transaction.state.log.replication.factor": rf,
                "transaction.state.log.min.isr": 2 if rf >= 3 else 1,
                "transaction.state.log.num.partitions": 4,
                "share.coordinator.state.topic.replication.factor": rf,
                "share.coordinator.state.topic.min.isr": 2 if rf >= 3 else 1,
                "group.initial.rebalance.delay.ms": 0,
                "auto.create.topics.enable": "false",
                "num.network.threads": 2,
                "num.io.threads": 4,
                "num.recovery.threads.per.data.dir": 1,
                "background.threads": 4,
                "log.cleaner.threads": 1,
                "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
                "broker.heartbeat.interval.ms": 1000,
                "broker.session.timeout.ms": 6000,
            }
            listeners = [f"CONTROLLER://127.0.0.1:{n.controller_port}"] if n.controller else []
            if self.sasl:
                tls = os.path.join(self.workdir, "tls")
                broker = [f"INTERNAL://127.0.0.1:{n.port}", f"SASL_SSL://127.0.0.1:{n.sasl_port}"]
                c.update({
                    "listener.security.protocol.map":
                        "INTERNAL:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
                    "authorizer.class.name":
                        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                    "super.users": "User:ANONYMOUS;User:admin",
                    "allow.everyone.if.no.acl.found": "false",
                })
                if n.broker:
                    c.update({
                        "inter.broker.listener.name": "INTERNAL",
                        "sasl.enabled.mechanisms": SCRAM,
                        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
                            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                        "ssl.keystore.type": "PKCS12",
                        "ssl.keystore.location": os.path.join(tls, "broker.p12"),
                        "ssl.keystore.password": self._keystore_password,
                        "ssl.client.auth": "none",
                    })
            else:
                broker = [f"PLAINTEXT://127.0.0.1:{n.port}"]
                c["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
                if n.broker:
                    c["inter.broker.listener.name"] = "PLAINTEXT"
            if n.broker:
                c["listeners"] = ",".join(broker + listeners)
                c["advertised.listeners"] = ",".join(broker)
            else:
                c["listeners"] = ",".join(listeners)
            c.update(self.broker_config)
            text = "".join(f"{k}={v}\n" for k, v in c.items())
            _write_private(os.path.join(n.dir, "server.properties"), text)
            n.logprop = _log_config(self.version, os.path.join(n.dir, "log.properties"), n.log)

    def _java(self, *args):
        return ["java", *self.java_opts, "-cp", os.path.join(self.libs, "*"), *args]

    def _format(self):
        """kafka-storage format of every node at once (one cluster id; the
        SCRAM users go into the bootstrap metadata)."""
        procs = []
        for n in self.all_nodes:
            args = ["kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                    "-c", os.path.join(n.dir, "server.properties")]
            for user, pw in self.users.items():
                args += ["--add-scram", f"{SCRAM}=[name={user},password={pw}]"]
            out = open(os.path.join(n.dir, "format.log"), "w")
            procs.append((n, subprocess.Popen(self._java(n.logprop, *args), stdout=out,
                                              stderr=subprocess.STDOUT,
                                              preexec_fn=_die_with_parent), out))
        for n, p, out in procs:
            rc = p.wait(timeout=180)
            out.close()
            if rc != 0:
                with open(os.path.join(n.dir, "format.log")) as f:
                    tail = f.read()[-1500:]
                raise KafkaRealError(f"kafka-storage format of node {n.id} exited {rc}: "
                                     + self._redact(tail))

    def _spawn(self, n):
        out = open(n.stdout, "a")
        kw = dict(stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if self.detach:
            kw["start_new_session"] = True
        else:
            kw["preexec_fn"] = _die_with_parent
        n.proc = subprocess.Popen(self._java(n.logprop, "kafka.Kafka",
                                             os.path.join(n.dir, "server.properties")), **kw)
        out.close()
        n.pid = n.proc.pid
        with open(n.pidfile, "w") as f:
            json.dump({"pid": n.pid, "owner": 0 if self.detach else os.getpid()}, f)

    def _wait_ready(self, timeout, nodes=None):
        """Until each broker of `nodes` (default: all) answers a Metadata
        request that lists all of them (so the controller has them
        registered and unfenced). Fails at once when one exits."""
        end = time.time() + timeout
        nodes = self.nodes if nodes is None else nodes
        want = {n.id for n in nodes}
        while True:
            for n in self.controllers + nodes:
                if not n.running():
                    raise KafkaRealError(f"node {n.id} exited during start")
            ready = 0
            for n in nodes:
                try:
                    with KafkaConn(n.address, timeout=5) as c:
                        md = c.metadata([])
                    if want <= set(md["brokers"]):
                        ready += 1
                except (OSError, ConnectionError, struct.error):
                    pass
            if ready == len(nodes) and self._sasl_listening(nodes):
                return
            if time.time() > end:
                raise KafkaRealError(f"not ready after {timeout}s")
            time.sleep(0.2)

    def _sasl_listening(self, nodes):
        if not self.sasl:
            return True
        for n in nodes:
            try:
                socket.create_connection(("127.0.0.1", n.sasl_port), timeout=2).close()
            except OSError:
                return False
        return True

    def _tail(self, n, lines=40):
        out = []
        for path in (n.stdout, n.log):
            try:
                with open(path, errors="replace") as f:
                    out += f.readlines()[-lines:]
            except OSError:
                pass
        return "".join(out)

    def _redact(self, text):
        for pw in list(self.users.values()) + [getattr(self, "_keystore_password", None)]:
            if pw:
                text = text.replace(pw, "[hidden]")
        return text

    def _diagnosis(self):
        out = []
        for n in self.all_nodes:
            errs = [l.strip() for l in self._tail(n, 400).splitlines()
                    if " ERROR " in l or "Exception" in l or "Error:" in l]
            if errs:
                out.append(f"node {n.id} ({n.log}): " + " | ".join(errs[-3:]))
        return self._redact("; ".join(out) or f"see the logs under {self.workdir}")

    # -- TLS and SCRAM clients (sasl) --
    def _make_certs(self):
        tls = os.path.join(self.workdir, "tls")
        os.makedirs(tls)
        self._keystore_password = _password()
        ext = os.path.join(tls, "broker.ext")
        with open(ext, "w") as f:
            f.write(f"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                    f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(self.cert_sans)}\n")
        env = dict(os.environ, LB_KS_PASS=self._keystore_password)
        steps = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "30", "-subj", "/CN=lmsbridge kafka-real test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out",
             "broker.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "broker.pem", "-days", "30", "-extfile", "broker.ext"],
            ["pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-certfile",
             "ca.pem", "-name", "broker", "-out", "broker.p12", "-passout", "env:LB_KS_PASS"],
        ]
        for s in steps:
            p = subprocess.run(["openssl", *s], cwd=tls, capture_output=True, text=True, env=env)
            if p.returncode != 0:
                raise KafkaRealError(f"openssl {s[0]} failed: {p.stderr.strip()[-500:]}")
        for key in ("ca.key", "broker.key"):
            os.chmod(os.path.join(tls, key), 0o600)

    def _write_client_files(self):
        for user in self.users:
            self.write_client_config(user)

    def write_client_config(self, user, password=None):
        """DIR/kcat-USER.conf (librdkafka properties: kcat -F, a worker's
        kafka.properties) and DIR/client-USER.properties (the Java tools'
        --command-config), mode 0600; the password only in these files."""
        password = password or self.users[user]
        props = self.librdkafka_properties(user, password)
        _write_private(os.path.join(self.workdir, f"kcat-{user}.conf"),
                       "".join(f"{k}={v}\n" for k, v in props.items()))
        _write_private(os.path.join(self.workdir, f"client-{user}.properties"),
                       f"security.protocol=SASL_SSL\nsasl.mechanism={SCRAM}\n"
                       "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule"
                       f' required username="{user}" password="{password}";\n'
                       f"ssl.truststore.type=PEM\nssl.truststore.location={self.ca_file}\n")

    def librdkafka_properties(self, user, password=None):
        """The librdkafka properties of a SASL_SSL client as `user`."""
        return {"bootstrap.servers": self.sasl_bootstrap, "security.protocol": "SASL_SSL",
                "sasl.mechanisms": SCRAM, "sasl.username": user,
                "sasl.password": password or self.users[user], "ssl.ca.location": self.ca_file}

    def kcat_config(self, user):
        """The path of the kcat -F file for `user` (sasl)."""
        return os.path.join(self.workdir, f"kcat-{user}.conf")

    def client_properties(self, user):
        """The path of the Java tools' --command-config file for `user`."""
        return os.path.join(self.workdir, f"client-{user}.properties")

    def add_user(self, user, password=None):
        """A SCRAM-SHA-512 user created at run time (kafka-configs over the
        admin listener). Returns its password."""
        password = password or _password()
        p = self.tool("kafka-configs", "--bootstrap-server", self.node(1).address, "--alter",
                      "--add-config", f"{SCRAM}=[iterations=4096,password={password}]",
                      "--entity-type", "users", "--entity-name", user)
        if p.returncode != 0:
            raise KafkaRealError(f"kafka-configs add user {user}: "
                                 + self._redact(p.stderr.replace(password, "[hidden]"))[-800:])
        self.users[user] = password
        self.write_client_config(user)
        return password

    # -- topics and ACLs --
    def create_topics(self, specs, replication=-1, configs=None, timeout=60):
        """specs: "name:partitions" strings (as harness.Env takes) or
        (name, partitions) / (name, partitions, {config: value}) tuples.
        Returns when every node's metadata has a leader for each partition."""
        topics = []
        for s in specs:
            if isinstance(s, str):
                name, _, parts = s.partition(":")
                s = (name, int(parts or 1))
            name, parts = s[0], s[1]
            conf = dict(configs or {})
            conf.update(s[2] if len(s) > 2 else {})
            topics.append((name, parts, replication, conf))
        with KafkaConn(self._live_node().address) as c:
            res = c.create_topics(topics, timeout_ms=timeout * 1000)
        errs = [f"{n}: {ERRORS.get(e, e)} {m or ''}".strip() for n, e, m in res if e]
        if errs:
            raise KafkaRealError("CreateTopics: " + "; ".join(errs))
        names = [t[0] for t in topics]
        self.wait_for(lambda: all(self._has_leaders(n, names) for n in self.nodes if n.running()),
                      timeout, f"leaders of {', '.join(names)}")

    def _has_leaders(self, node, names):
        try:
            with KafkaConn(node.address, timeout=5) as c:
                md = c.metadata(names)["topics"]
        except (OSError, ConnectionError):
            return False
        return all(t in md and not md[t]["error"] and md[t]["partitions"] and
                   all(p["leader"] >= 0 for p in md[t]["partitions"].values()) for t in names)

    def acl(self, principal, resource, name, operations, pattern="literal", permission="allow",
            host="*"):
        """ACL entries for create_acls: acl("User:alice", "topic", "orders",
        ["read", "describe"])."""
        return [{"resource_type": RESOURCE[resource], "name": name, "pattern": PATTERN[pattern],
                 "principal": principal, "host": host, "operation": OPERATION[op],
                 "permission": PERMISSION[permission]} for op in operations]

    def create_acls(self, entries, timeout=60):
        """Creates the ACLs (lists from acl()) and returns when every node's
        authorizer holds them."""
        with KafkaConn(self._live_node().address) as c:
            res = c.create_acls(entries)
        errs = [f"{ERRORS.get(e, e)} {m or ''}".strip() for e, m in res if e]
        if errs:
            raise KafkaRealError("CreateAcls: " + "; ".join(errs))
        want = {(a["resource_type"], a["name"], a["pattern"], a["principal"], a["host"],
                 a["operation"], a["permission"]) for a in entries}

        def held():
            for n in self.nodes:
                if n.running():
                    with KafkaConn(n.address) as c:
                        if not want <= c.describe_acls():
                            return False
            return True
        self.wait_for(held, timeout, "the ACLs on every node")

    # -- metadata --
    def metadata(self, topics=None, node=None):
        with KafkaConn((self.node(node) if node else self._live_node()).address) as c:
            return c.metadata(topics)

    def partitions(self, topic, node=None):
        """{partition: {"leader", "replicas", "isr"}} as a node sees it."""
        return self.metadata([topic], node)["topics"][topic]["partitions"]

    def leader(self, topic, partition, node=None):
        return self.partitions(topic, node)[partition]["leader"]

    def controller(self):
        """The node id of the active controller, from the quorum's own
        state (kafka-metadata-quorum would need a JVM): the node whose
        controller reports itself leader in its quorum-state file."""
        for n in self.all_nodes:
            if not n.running():
                continue
            path = os.path.join(n.dir, "data", "__cluster_metadata-0", "quorum-state")
            with contextlib.suppress(OSError, ValueError):
                st = json.load(open(path))
                if st.get("leaderId") == n.id:
                    return n.id
        return None

    def wait_isr(self, topic, size, timeout=120):
        """Until every partition of `topic` has `size` in-sync replicas."""
        self.wait_for(lambda: all(len(p["isr"]) >= size for p in
                                  self.partitions(topic).values()),
                      timeout, f"{topic}: {size} in-sync replicas")

    def _live_node(self):
        for n in self.nodes:
            if n.running():
                return n
        raise KafkaRealError("no node running")

    @staticmethod
    def wait_for(pred, timeout, what, interval=0.2):
        end = time.time() + timeout
        while True:
            try:
                if pred():
                    return
            except (OSError, ConnectionError, KeyError, struct.error):
                pass
            if time.time() > end:
                raise KafkaRealError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    # -- nodes --
    def kill(self, nid):
        """SIGKILL one node (no clean shutdown)."""
        self._sigkill(self.node(nid))

    def _sigkill(self, n):
        """SIGKILL node n and wait until it is gone; a node that died already
        is no error. Its pid file goes."""
        if n.proc is not None:
            n.proc.kill()   # our child: its pid is ours until waited for
            n.proc.wait()
        elif _sigkill_pid(n.pid, n.dir, timeout=30) and _alive(n.pid):
            raise KafkaRealError(f"node {n.id} (pid {n.pid}) still runs 30s after SIGKILL")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(n.pidfile)

    def restart(self, nid, timeout=180):
        """Starts a stopped or killed node again on its data and ports and
        returns when the cluster lists it again."""
        n = self.node(nid)
        if n.running():
            raise KafkaRealError(f"node {nid} is running")
        self._spawn(n)
        self._wait_ready(timeout, [b for b in self.nodes if b.running()])
        self._save_state()

    def stop(self, timeout=30):
        """SIGTERM to every broker at once (a controlled shutdown), then to
        the dedicated controller; SIGKILL to a node still running after
        `timeout` s. {node id: "clean" | "killed" | "not running"}."""
        result = {}
        for group in (self.nodes, self.controllers):
            result.update(self._stop_nodes(group, timeout))
        return result

    def _stop_nodes(self, nodes, timeout):
        result = {}
        for n in nodes:
            if n.running():
                with contextlib.suppress(ProcessLookupError):  # died meanwhile
                    os.kill(n.pid, signal.SIGTERM)
            else:
                result[n.id] = "not running"
        end = time.time() + timeout
        for n in nodes:
            if n.id in result:
                continue
            while n.running() and time.time() < end:
                if n.proc is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        n.proc.wait(timeout=0.2)
                else:
                    time.sleep(0.2)
            result[n.id] = "killed" if n.running() else "clean"
            self._sigkill(n)   # a node that stopped: only its pid file goes
        return result

    def close(self, keep_logs=True):
        """stop(), then the data directories go; the logs and configuration
        stay for a look after a failure unless keep_logs is false."""
        result = self.stop()
        for n in self.all_nodes:
            shutil.rmtree(os.path.join(n.dir, "data"), ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return result

    def pids(self):
        """The pids of the running nodes, controllers included."""
        return [n.pid for n in self.all_nodes if n.running()]

    def tool(self, name, *args, timeout=180):
        """A Kafka command-line tool of this cluster's version
        (CompletedProcess, text)."""
        return run_tool(name, list(args), self.version, timeout=timeout)

    # -- state for the command line --
    def _save_state(self):
        st = {"mode": self.mode, "version": self.version, "cluster_id": self.cluster_id,
              "bootstrap": self.bootstrap, "sasl_bootstrap": self.sasl_bootstrap,
              "ca_file": self.ca_file, "users": sorted(self.users),
              "nodes": [{"id": n.id, "roles": n.roles, "port": n.port,
                         "sasl_port": n.sasl_port, "controller_port": n.controller_port,
                         "pid": n.pid} for n in self.all_nodes]}
        with open(os.path.join(self.workdir, "state.json"), "w") as f:
            json.dump(st, f, indent=1)

    @classmethod
    def attach(cls, workdir):
        """The cluster a detached start left in `workdir`."""
        workdir = os.path.abspath(workdir)
        try:
            with open(os.path.join(workdir, "state.json")) as f:
                st = json.load(f)
        except FileNotFoundError:
            raise KafkaRealError(f"no cluster in {workdir} (state.json missing)") from None
        rk = cls.__new__(cls)
        rk.__init__(workdir, st["mode"], st["version"], detach=True)
        rk.users = {u: None for u in st["users"]}
        rk.cluster_id = st["cluster_id"]
        rk.libs = os.path.join(cache_root(), rk.version, "libs")
        for n, s in zip(rk.all_nodes, st["nodes"]):
            n.port, n.sasl_port, n.controller_port = s["port"], s["sasl_port"], s["controller_port"]
            n.logprop = ("-Dlog4j.configuration=file:" if major(rk.version) in ("2", "3")
                         else "-Dlog4j2.configurationFile=") + os.path.join(n.dir,
                                                                            "log.properties")
            try:
                n.pid = json.load(open(n.pidfile))["pid"]
            except (OSError, ValueError):
                n.pid = 0
            if n.pid and os.path.dirname(n.pidfile) not in _cmdline(n.pid):
                n.pid = 0
        return rk


# ---------------------------------------------------------- command line --

def _default_dir():
    return os.environ.get("LB_KAFKA_REAL_DIR") or os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"lmsbridge-kafka-real-{os.getuid()}")


USAGE = """usage: kafka-real.sh COMMAND [options]
  fetch [VERSION]                 resolve VERSION (default {default}; 4 and 3 name the
                                  pinned {p4} and {p3}) with Maven into {cache}
  start [--mode single|cluster3|sasl] [--version V] [--dir D] [--user NAME]...
                                  format and start detached on free loopback ports; prints
                                  the bootstrap address (also in D/bootstrap). sasl: SCRAM
                                  users admin and each NAME, client files D/kcat-NAME.conf
                                  and D/client-NAME.properties, CA D/tls/ca.pem
  stop [--dir D]                  SIGTERM, SIGKILL after 30 s
  status [--dir D]
  kill NODE [--dir D]             SIGKILL node NODE (1..3)
  restart NODE [--dir D]
  tool [--dir D | --version V] NAME [ARGS...]
                                  a Kafka tool: {tools}
  versions                        the pinned versions and what the cache holds
D defaults to {dir}."""


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE.format(default=default_version(), p4=PINNED["4"], p3=PINNED["3"],
                           cache=cache_root(), tools=", ".join(sorted(TOOLS)),
                           dir=_default_dir()))
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    opts = {"--dir": _default_dir(), "--mode": "single", "--version": None}
    users, pos = [], []
    while rest:
        a = rest.pop(0)
        if cmd == "tool" and pos:
            pos.append(a)
        elif a in opts and rest:
            opts[a] = rest.pop(0)
        elif a == "--user" and rest:
            users.append(rest.pop(0))
        else:
            pos.append(a)
    try:
        if cmd == "fetch":
            libs = fetch(pos[0] if pos else opts["--version"])
            print(libs)
        elif cmd == "versions":
            for line, v in PINNED.items():
                have = os.path.exists(os.path.join(cache_root(), v, "libs", ".complete"))
                print(f"{v}\t{line}.x{' (default)' if v == DEFAULT_VERSION else ''}"
                      f"\t{'cached' if have else 'not fetched'}")
        elif cmd == "start":
            d = opts["--dir"]
            if os.path.exists(os.path.join(d, "state.json")):
                old = RealKafka.attach(d)
                if old.pids():
                    raise KafkaRealError(f"a cluster runs in {d}: stop it first")
            rk = RealKafka(d, opts["--mode"], opts["--version"], users=users, detach=True)
            rk.start()
            print(f"Kafka {rk.version} ({rk.mode}) started in {rk.started_s:.1f}s, data in {d}")
            print(f"bootstrap {rk.sasl_bootstrap or rk.bootstrap}")
            if rk.sasl:
                print(f"admin listener (PLAINTEXT, super user) {rk.bootstrap}")
                print(f"CA {rk.ca_file}")
                for u in rk.users:
                    print(f"user {u}: kcat -F {rk.kcat_config(u)}; "
                          f"Java tools --command-config {rk.client_properties(u)}")
        elif cmd in ("stop", "status", "kill", "restart"):
            rk = RealKafka.attach(opts["--dir"])
            if cmd == "stop":
                for nid, how in rk.stop().items():
                    print(f"node {nid}: {how}")
            elif cmd == "status":
                print(f"Kafka {rk.version} ({rk.mode}) in {rk.workdir}")
                for n in rk.all_nodes:
                    print(f"node {n.id} ({n.roles}): "
                          f"{'running pid %d' % n.pid if n.running() else 'stopped'}"
                          f" 127.0.0.1:{n.sasl_port or n.port or n.controller_port}")
                return 0 if rk.pids() else 3
            elif cmd == "kill":
                rk.kill(int(pos[0]))
            else:
                rk.restart(int(pos[0]))
                print(f"node {pos[0]} is back")
        elif cmd == "tool":
            if not pos:
                raise KafkaRealError("tool: which one?")
            version = opts["--version"]
            if not version and os.path.exists(os.path.join(opts["--dir"], "state.json")):
                version = RealKafka.attach(opts["--dir"]).version
            p = run_tool(pos[0], pos[1:], version, timeout=3600)
            sys.stdout.write(p.stdout)
            sys.stderr.write(p.stderr)
            return p.returncode
        else:
            raise KafkaRealError(f"unknown command {cmd} (see --help)")
    except KafkaRealError as e:
        say(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
