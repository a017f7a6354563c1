#!/usr/bin/env python3
"""The start-up topic check while no broker answers (kafka.brokers naming
a closed port). docs/operations.md ("Starting", step 3) and
common/lb_engine.c (topics_exist) agree: the worker does not exit; it
waits, and says so in a warning naming the brokers, `cannot reach the
brokers to check the topics, retrying`, again every 30 s while it lasts;
it stays up (/healthz 200: its loop turns) and not ready (/readyz 503),
never consumes; SIGTERM meanwhile logs `stopped before consuming` and
exits 0. Once the address answers (here a TCP forwarder to the test's
broker opened on that port) it goes on by itself: checks the topics,
joins its group, becomes ready and delivers. The figures (time to the
first warning, the gap to the next) are printed, not asserted."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

from harness import (NS, WORKERS, Env, check, completion, degreed_integration, degreed_tenant,
                     die_with_test, finish, group_line, http, info, ns, wait_for)

SECRET = "e2e-unreachable-secret-23"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{TOPIC}.dlq:1"]
OWN = f'topics = ["{TOPIC}"]; {group_line("completion-worker")}' if NS else ""
WARNING = "cannot reach the brokers to check the topics, retrying"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Forwarder:
    """Accepts on 127.0.0.1:port and relays each connection to `target`
    (host:port): the brokers' address starts answering."""

    def __init__(self, port, target):
        host, tport = target.rsplit(":", 1)
        self.target = (host, int(tport))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
                t = socket.create_connection(self.target, timeout=10)
            except OSError:
                return
            t.settimeout(None)
            self.conns += [c, t]
            for a, b in ((c, t), (t, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        for s in [self.sock] + self.conns:
            try:
                s.close()
            except OSError:
                pass


class Waiting:
    """A completion-worker whose kafka.brokers is 127.0.0.1:<port> (nothing
    listens there yet) and whose observability server has a fixed port
    (the worker names its port only once it consumes)."""
    n = 0

    def __init__(self, port):
        Waiting.n += 1
        self.brokers = f"127.0.0.1:{port}"
        self.obs = free_port()
        conf = os.path.join(env.dir, f"unreachable-{Waiting.n}.conf")
        with open(conf, "w") as f:
            f.write(f"""
kafka: {{ brokers = "{self.brokers}"; {OWN}
  properties = ( ["session.timeout.ms", "6000"], ["heartbeat.interval.ms", "500"] ); }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
delivery: {{ backoff_initial_ms = 100; backoff_max_ms = 2000; }};
observability: {{ listen = "127.0.0.1:{self.obs}"; }};
integrations = ( {degreed_integration(env, "acme-degreed", "acme", "SECRET")} );
""")
        self.log_path = conf[:-len(".conf")] + ".log"
        self.log = open(self.log_path, "w")
        self.started = time.time()
        self.proc = subprocess.Popen([WORKERS["completion-worker"], "--config", conf],
                                     stdout=self.log, stderr=self.log,
                                     env=dict(os.environ, SECRET=SECRET),
                                     preexec_fn=die_with_test)
        env.workers.append(self.proc)

    def lines(self, msg=None):
        out = []
        for l in open(self.log_path):
            try:
                r = json.loads(l)
            except ValueError:
                continue
            if msg is None or r.get("msg") == msg:
                out.append(r)
        return out

    def warnings(self):
        return [l for l in self.lines(WARNING)]

    def get(self, path):
        try:
            return http("GET", f"http://127.0.0.1:{self.obs}{path}")[0]
        except OSError:
            return None


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
fwd = None
try:
    # -- nothing answers: it waits, says so, stays up and not ready --
    w = Waiting(free_port())
    first = wait_for(lambda: w.warnings(), 120, "the first warning")[0]
    first_s = time.time() - w.started
    check(first.get("level") == "warn" and first.get("brokers") == w.brokers and
          first.get("error"),
          f"a warning names the brokers and the error: {first.get('brokers')}: "
          f"{first.get('error')}")
    check(w.proc.poll() is None, "the worker does not exit")
    check(w.get("/healthz") == 200 and w.get("/readyz") == 503,
          f"it stays up (/healthz {w.get('/healthz')}) and not ready (/readyz {w.get('/readyz')})")
    wait_for(lambda: len(w.warnings()) >= 2, 120, "the warning again")
    gap = (time.time() - w.started) - first_s
    info(f"first warning {first_s:.1f} s after the start, the next {gap:.1f} s later "
         "(documented: every 30 s)")
    check(len(w.warnings()) == 2 and w.proc.poll() is None and
          not w.lines("consuming") and w.get("/readyz") == 503,
          f"still waiting: the warning said again ({len(w.warnings())}), never consuming, "
          "not ready")
    # librdkafka's own lines (connection refused) come at level error too
    errors = [l for l in w.lines() if l.get("level") == "error" and l.get("msg") != "librdkafka"]
    check(not errors, f"no error of the worker's own: a broker that does not answer is waited "
          f"for ({errors[:2]})")
    w.proc.send_signal(signal.SIGTERM)
    rc = w.proc.wait(timeout=60)
    check(rc == 0 and w.lines("stopped before consuming"),
          f"SIGTERM meanwhile: 'stopped before consuming', exit 0 ({rc})")
    check(SECRET not in open(w.log_path).read(), "no secret in the worker's output")

    # -- the address starts answering: it goes on by itself --
    port = free_port()
    w = Waiting(port)
    wait_for(lambda: w.warnings(), 120, "the first warning")
    fwd = Forwarder(port, env.brokers.split(",")[0])
    t = time.time()
    wait_for(lambda: w.lines("consuming") or w.proc.poll() is not None, 180,
             "the worker consuming once the brokers answer")
    check(w.proc.poll() is None and w.lines("consuming"),
          f"once the brokers answer it goes on by itself: consuming "
          f"({time.time() - t:.1f} s after the address opened)")
    wait_for(lambda: w.get("/readyz") == 200, 120, "ready")
    env.produce_many(TOPIC, [("c1", completion("c1", "acme", "c1"))])
    wait_for(lambda: len(env.state("acme")["degreed"]["completions"]) == 1, 120,
             "the delivery")
    check(w.get("/readyz") == 200 and len(env.state("acme")["degreed"]["completions"]) == 1,
          "ready, and it delivers")
    w.proc.send_signal(signal.SIGTERM)
    rc = w.proc.wait(timeout=60)
    check(rc == 0, f"worker exits 0 ({rc})")
finally:
    env.close()
    if fwd:
        fwd.close()
finish()
