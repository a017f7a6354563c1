#!/usr/bin/env python3
"""The soak test (issue 17 items 3 and 5; docs/testing.md, "Soak").

Three catalog-workers and three completion-workers, each trio in its
group, consume from a single-node Apache Kafka (tests/kafka-real) and
deliver to lms-sandbox's Degreed API (tests/e2e/harness.py), while:

- a producer writes catalog and completion events at a steady rate for
  --minutes (librdkafka, idempotent, acks=all: it rides out the broker's
  restarts), among them a known number of invalid events, the only ones
  that may be dead-lettered; the catalog events are version 1 of every
  item, then new versions of items drawn at random (ten an item on
  average);
- members are SIGKILLed at random (--kills) and started again a moment
  later;
- the LMS misbehaves at random, per customer, changing every few seconds:
  503 (Degreed's asks for 30 s: the record is parked), 429 with
  Retry-After, 500, connection resets, answers slower than the workers'
  request timeout (3 s here); one customer has an outage of 2 minutes
  (a fifth of the stream for shorter runs);
- the broker is restarted (--broker-restarts) on its data, once by
  SIGKILL, once by SIGTERM, alternately.

Then the faults stop, the groups finish what they hold, and it prints:
produced, delivered (lms-sandbox's state), lost, duplicated and its bound,
dead-lettered (with the reason), occurred-to-delivered latency, RSS and
open descriptors of each member once warm and at the end. Exit 1 when
something is lost, duplicates exceed the bound, a dead letter is not an
injected invalid event, a member's RSS grew more than 10 % once warm or
its descriptors grew, a member died by itself or did not exit 0 on
SIGTERM (with --asan: a leak at exit, members built with AddressSanitizer
and LeakSanitizer). Exit 77 when LB_KAFKA_REAL=0.

The duplicate bound: a record's offset is committed only once it is
finished, so the group delivers an event again only when a member died,
or was cut off by a broker restart, after delivering it and before
committing it, or when the LMS applied a request the worker had given up
on. Summed over the run:
  - each SIGKILL: the events (a completion, a catalog item's version) of
    the victim's group that the LMS had received by the kill while their
    record (source or retry) was at or after the group's committed offset
    read just before the kill, plus M requests on the wire that may land
    after it;
  - each broker restart: the same for both groups, the committed offsets
    read before the stop and the LMS read once every partition's commit
    has moved on after the restart, plus M per member;
  - each request the LMS answered with success after as long as the
    request timeout less a second (the worker may have given up on it and
    sent it again).
M = min(delivery.max_in_flight, the sum of the integrations'
max_in_flight): the requests one member can have on the wire.

Environment: LB_BIN_DIR (the build, default build), LB_KAFKA_VERSION,
LB_KAFKA_REAL=0 (skip).
"""
import argparse
import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="soak.sh", description="lmsbridge soak test "
                                "(docs/testing.md, \"Soak\")")
    p.add_argument("--events", type=int, default=50000,
                   help="events to produce, both kinds (default 50000)")
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs of members (default 20)")
    p.add_argument("--broker-restarts", type=int, default=2,
                   help="restarts of the broker (default 2)")
    p.add_argument("--minutes", type=float, default=15,
                   help="how long the producer writes (default 15)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--plan", action="store_true",
                   help="print the plan (the seed, when each kill, restart and the outage "
                        "come) and exit")
    p.add_argument("--asan", action="store_true",
                   help="members built with AddressSanitizer (LB_ASAN_BIN_DIR, default "
                        "build-asan): a leak at exit fails the run; RSS is shown, not judged")
    a = p.parse_args(argv)
    if a.events < 100 or a.kills < 0 or a.broker_restarts < 0 or a.minutes <= 0:
        p.error("--events at least 100, --kills and --broker-restarts at least 0, "
                "--minutes above 0")
    return a


ARGS = parse_args(sys.argv[1:])
# our own broker, never a shared one
for v in ("LB_KAFKA", "LB_KAFKA_BOOTSTRAP_FILE"):
    os.environ.pop(v, None)
os.environ.setdefault("LB_BIN_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(HERE, "..", "kafka-real"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import kr_lib  # noqa: E402

kr_lib.skip_if_disabled()

import harness  # noqa: E402
from catalog_fixtures import catalog_event  # noqa: E402
from harness import (Env, check, completion, degreed_integration, degreed_tenant,  # noqa: E402
                     http, info, kafka_committed, wait_progress)
from kr_lib import kafka_real  # noqa: E402

SECRETS = {"ACME_SECRET": "soak-acme-secret-5150", "GLOBEX_SECRET": "soak-globex-secret-2112"}
TENANTS = ("acme", "globex")
OUTAGE_TENANT = "acme"
KINDS = ("completion", "catalog")
WORKER = {"completion": "completion-worker", "catalog": "catalog-worker"}
TOPIC = {"completion": "completion-events", "catalog": "catalog-events"}
GROUP = {"completion": "completion-worker", "catalog": "catalog-worker"}  # the defaults
PARTS = 6
MEMBERS = 3                     # per group
MAX_IN_FLIGHT = 64              # delivery.max_in_flight
INTEG_IN_FLIGHT = 16            # integrations[].max_in_flight (the default), two of them
ON_WIRE = min(MAX_IN_FLIGHT, 2 * INTEG_IN_FLIGHT)
REQUEST_TIMEOUT_MS = 3000
DELIVERY = f"max_in_flight = {MAX_IN_FLIGHT}; request_timeout_ms = {REQUEST_TIMEOUT_MS};"
RSS_GROWTH_MAX = 0.10
SETTLE_S = 10                   # a warm window starts once the broker is up this long
TAIL_S = 5                      # a member's end sample comes this long after its warm window
# the LMS connections curl keeps for reuse (CURLMOPT_MAXCONNECTS =
# delivery.max_in_flight), in any TCP state (one the LMS closed is found
# closed when next taken): a pool, judged by its cap at rest, not by its
# size once warm
LMS_POOL = "tcp lms-sandbox "
CATALOG_VERSIONS = 10           # versions per catalog item, on average
HOT_ITEMS, HOT_SHARE = 5, 0.2   # items that get this share of the new versions
INVALID_SHARE = 0.005           # of the events, at least 2 of each kind


def now_iso(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def wall(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


# ------------------------------------------------------------------ plan --

class Plan:
    """Everything random, drawn from one seed (printed: a run can be
    repeated): the events, the kills, the broker restarts, the outage."""

    def __init__(self, args):
        self.seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
        rng = self.rng = random.Random(self.seed)
        self.stream_s = args.minutes * 60
        n = args.events
        n_invalid = max(4, round(n * INVALID_SHARE))
        self.invalid = {"completion": n_invalid // 2, "catalog": n_invalid - n_invalid // 2}
        n_comp = n // 2
        n_cat = n - n_comp
        # completions: (key, kind) with kind org name or "bad-json" / "bad-schema"
        comp = [(f"c{i}", rng.choice(TENANTS)) for i in range(n_comp - self.invalid["completion"])]
        for j in range(self.invalid["completion"]):
            comp.insert(rng.randrange(len(comp) + 1),
                        (f"bad-c{j}", "bad-json" if j % 2 else "bad-schema"))
        self.completions = comp
        # catalog: version 1 of each item first (a tenth of the stream),
        # then new versions of items drawn at random: the items a member
        # remembers stop growing early, as a provider's catalog does. A
        # fifth of the new versions go to a few hot items, edited every
        # second or so: a version parked (503) comes back from the retry
        # topic while a newer one of its item is on its way
        n_valid = n_cat - self.invalid["catalog"]
        n_items = max(20, n_valid // CATALOG_VERSIONS)
        cat = [(str(i), 1) for i in range(min(n_items, n_valid))]
        latest = {cid: 1 for cid, _ in cat}
        for _ in range(n_valid - len(cat)):
            cid = str(rng.randrange(HOT_ITEMS) if rng.random() < HOT_SHARE
                      else rng.randrange(n_items))
            latest[cid] += 1
            cat.append((cid, latest[cid]))
        for j in range(self.invalid["catalog"]):
            cat.insert(rng.randrange(len(cat) + 1), (f"bad-k{j}", 0))
        self.catalog = cat
        self.newest = {}
        for cid, ver in cat:
            if ver:
                self.newest[cid] = max(ver, self.newest.get(cid, 0))
        # the chaos, in seconds from the stream's start
        S = self.stream_s
        self.outage_s = min(120.0, 0.2 * S)
        self.outage_at = rng.uniform(0.15, 0.45) * S
        self.actions = []
        for _ in range(args.kills):
            self.actions.append((rng.uniform(0.1, 0.75) * S, "kill",
                                 (rng.choice(KINDS), rng.randrange(MEMBERS), rng.uniform(0.5, 3))))
        R = args.broker_restarts
        for i in range(R):
            t = (0.1 + 0.5 * (i + rng.uniform(0.2, 0.8)) / R) * S
            self.actions.append((t, "broker", ("SIGKILL" if i % 2 == 0 else "SIGTERM",
                                               rng.uniform(5, 12))))
        self.actions.sort(key=lambda a: a[0])
        self.fault_period = min(10.0, max(3.0, S / 100))
        # warm: a member's RSS and descriptors are taken once it is this old
        self.warm_s = max(10.0, 0.1 * S)
        # at rest after the groups finished, for the members started late
        # to live through their warm window (those that would need more are
        # not judged)
        self.tail_max_s = max(20.0, self.warm_s)


# --------------------------------------------------------------- members --

class Proc:
    """One process of a member slot: its samples of RSS (KiB) and open
    descriptors."""

    def __init__(self, worker, started):
        self.worker = worker
        self.pid = worker.proc.pid
        self.started = started
        self.ended = None
        self.killed = False
        self.died = None          # exit status when it exited by itself
        self.samples = []         # (time, rss_kib, fds)

    def life(self):
        return (self.ended or time.time()) - self.started

    def sample(self, ports=None):
        """One sample; `ports` ({port: name}) names the peers of its TCP
        sockets in the sample's breakdown of descriptors by kind."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            fds = os.listdir(f"/proc/{self.pid}/fd")
            kinds = fd_kinds(self.pid, fds, ports or {})
        except (OSError, StopIteration):
            return
        self.samples.append((time.time(), rss, len(fds), kinds))

    def warm(self, warm_s, start, settled):
        """(RSS, {descriptor kind: count}): the highest of each over warm_s
        seconds of samples taken from `start` on while settled(time) (the
        broker up for a while); None when the process did not live through
        such a window."""
        ok = [x for x in self.samples if x[0] >= start and settled(x[0])]
        if not ok:
            return None
        w = [x for x in ok if x[0] <= ok[0][0] + warm_s]
        if self.samples[-1][0] < ok[0][0] + warm_s:
            return None
        kinds = {}
        for x in w:
            for k, v in x[3].items():
                kinds[k] = max(v, kinds.get(k, 0))
        return max(x[1] for x in w), kinds


def tcp_peers():
    """{socket inode: (local port, remote port, state)} of the TCP sockets
    on this machine (IPv4 and IPv6)."""
    out = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    c = line.split()
                    out[c[9]] = (int(c[1].rsplit(":", 1)[1], 16),
                                 int(c[2].rsplit(":", 1)[1], 16), c[3])
        except OSError:
            pass
    return out


TCP_STATES = {"01": "established", "06": "time-wait", "08": "close-wait", "0A": "listen"}


def fd_kinds(pid, fds, ports):
    """Descriptors by kind: "socket <peer> <state>" for TCP (the peer named
    by `ports` by its port, else "other"), "pipe", "eventfd", a file..."""
    peers = tcp_peers() if ports is not None else {}
    out = {}
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = target[8:-1]
            if inode in peers:
                lport, rport, st = peers[inode]
                kind = (f"tcp {ports.get(rport) or ports.get(lport) or 'other'} "
                        f"{TCP_STATES.get(st, st)}")
            else:
                kind = "socket (not tcp)"
        elif target.startswith("pipe:"):
            kind = "pipe"
        elif target.startswith("anon_inode:"):
            kind = target[len("anon_inode:"):].strip("[]")
        else:
            kind = "file " + target
        out[kind] = out.get(kind, 0) + 1
    return out


class Member:
    def __init__(self, soak, kind, index):
        self.soak, self.kind, self.index = soak, kind, index
        self.name = f"{WORKER[kind]}-{index + 1}"
        self.procs = []

    @property
    def proc(self):
        return self.procs[-1]

    def start(self):
        t = time.time()
        w = self.soak.env.worker(WORKER[self.kind], self.soak.integrations,
                                 env=self.soak.worker_env, delivery=DELIVERY, log_level="info")
        with self.soak.lock:
            self.procs.append(Proc(w, t))

    def kill(self):
        p = self.proc
        with self.soak.lock:
            p.killed = True
        p.worker.kill()
        p.ended = time.time()


# ------------------------------------------------------------------ soak --

class Soak:
    def __init__(self, args, plan):
        self.args, self.plan = args, plan
        self.lock = threading.Lock()
        self.stop_evt = threading.Event()      # the sampler
        self.faults_stop = threading.Event()   # the fault thread
        self.occurred = {}        # completion key or (catalog id, version) -> time fed
        self.disruptions = []     # {what, kinds, t_eval, committed, on_wire}: kill, broker_restart
        self.broker_down = []     # [stop time, back time or None]
        self.t0 = None
        self.rk = self.env = None
        self.members = []
        self.streams = {}
        self.fault_counts = {}
        if args.asan:
            asan = os.environ.get("LB_ASAN_BIN_DIR", os.path.join(ROOT, "build-asan"))
            for name in harness.WORKERS:
                path = os.path.join(asan, "workers", name, name)
                if not os.path.exists(path):
                    raise SystemExit(f"soak: --asan: {path} missing (build build-asan with "
                                     "-DLB_SANITIZE=ON, as ./scripts/soak.sh --asan does)")
                harness.WORKERS[name] = path
        self.worker_env = dict(SECRETS)
        if args.asan:
            self.worker_env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=23"
            self.worker_env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"

    def settled(self, t):
        """Whether at time t the broker had been up for SETTLE_S."""
        return not any(a <= t and (b is None or t < b + SETTLE_S) for a, b in self.broker_down)

    def warm_start(self, p):
        """When process p's warm window may begin: once it is warm_s old
        and, when the broker restarted during its life, SETTLE_S after the
        first such restart: catching up after it is a member's busiest
        moment (every partition's backlog at once, the connections to the
        LMS at their most), which sets its working set; a member judged
        before it would count that as growth."""
        start = p.started + self.plan.warm_s
        end = p.samples[-1][0] if p.samples else p.started
        for a, b in self.broker_down:
            if p.started < a < end and b is not None:
                return max(start, b + SETTLE_S)
        return start

    def t(self):
        return time.time() - self.t0 if self.t0 else 0.0

    def say(self, text):
        info(f"[{self.t():7.1f}s] {text}")

    # -- the producer's records, made when fed (occurred_at = now) --
    def _completion_records(self):
        for key, kind in self.plan.completions:
            if kind == "bad-json":
                yield key, "not json {"
            elif kind == "bad-schema":
                yield key, json.dumps({"schema": "completion.v1", "event_id": key})
            else:
                ts = time.time()
                self.occurred[key] = ts
                yield key, completion(key, kind, key, content=f"k{key}", occurred_at=now_iso(ts),
                                      completed_at=now_iso(ts))

    def _catalog_records(self):
        for cid, ver in self.plan.catalog:
            if ver == 0:
                yield cid, ("{\"schema\":\"catalog.v1\"" if cid.endswith(("1", "3", "5", "7", "9"))
                            else json.dumps({"schema": "catalog.v1", "event_id": cid,
                                             "event_type": "content.upserted"}))
                continue
            ts = time.time()
            self.occurred[(cid, ver)] = ts
            key, value = catalog_event("course", cid, ver)
            e = json.loads(value)
            e["occurred_at"] = now_iso(ts)
            yield key, json.dumps(e, separators=(",", ":"))

    # -- set-up --
    def start(self):
        bin_dir = os.path.abspath(harness.BIN)
        version = kafka_real.resolve_version(None)
        kr_lib.fetch_or_fail(version)
        self.rk = kafka_real.RealKafka(os.path.join(bin_dir, "tests", "kafka-real", "run",
                                                    f"soak-{os.getpid()}"), "single", version)
        kr_lib.start_or_fail(self.rk)
        info(f"Kafka {version} single node started in {self.rk.started_s:.1f}s "
             f"at {self.rk.bootstrap}")
        topics = []
        for kind in KINDS:
            t = TOPIC[kind]
            topics += [f"{t}:{PARTS}", f"{t}.retry:{PARTS}", f"{t}.dlq:1"]
        topics.append(f"{TOPIC['catalog']}.state:{PARTS}")
        tenants = [degreed_tenant(n, SECRETS[f"{n.upper()}_SECRET"]) for n in TENANTS]
        self.env = Env(topics, tenants, kafka=self.rk)
        info(f"worker, producer and sandbox logs in {self.env.dir}")
        self.ports = {int(self.env.lms_url.rsplit(":", 1)[1]): "lms-sandbox",
                      int(self.rk.bootstrap.rsplit(":", 1)[1]): "kafka"}
        self.integrations = ", ".join(
            degreed_integration(self.env, f"{n}-degreed", n, f"{n.upper()}_SECRET",
                                "rate_limit_per_minute = 0;" +
                                (" catalog = { public = true; };" if n == "acme" else ""))
            for n in TENANTS)
        for kind in KINDS:
            for i in range(MEMBERS):
                m = Member(self, kind, i)
                m.start()
                self.members.append(m)
        info(f"members started: {', '.join(f'{m.name} (pid {m.proc.pid})' for m in self.members)}"
             + (" [AddressSanitizer builds]" if self.args.asan else ""))

    # -- threads --
    def _sampler(self):
        while not self.stop_evt.is_set():
            with self.lock:
                procs = [(m, m.proc) for m in self.members]
            for m, p in procs:
                if p.killed or p.died is not None:
                    continue
                rc = p.worker.proc.poll()
                if rc is not None:
                    with self.lock:
                        if not p.killed:
                            p.died, p.ended = rc, time.time()
                            self.say(f"{m.name} (pid {p.pid}) exited by itself, status {rc} "
                                     f"(log {p.worker.log_path})")
                    continue
                p.sample(self.ports)
            self.stop_evt.wait(1.0)

    def _faults(self):
        """Every fault_period: for each customer, at random, an error rate
        (503, 429 with Retry-After, 500), connection resets, answers slower
        than the request timeout, or nothing."""
        rng = random.Random(self.plan.seed + 1)
        while not self.faults_stop.wait(self.plan.fault_period):
            for tenant in TENANTS:
                f = {"tenant": tenant, "error_rate": None, "connection_reset": None,
                     "latency": None}
                what = rng.choice(["calm", "calm", "503", "429", "500", "reset", "slow", "mixed"])
                if what in ("503", "429", "500"):
                    f["error_rate"] = {"rate": rng.uniform(0.02, 0.08), "status": int(what),
                                       "api": "all"}
                    if what == "429":
                        f["error_rate"]["retry_after"] = rng.randint(1, 3)
                elif what == "reset":
                    f["connection_reset"] = {"rate": rng.uniform(0.02, 0.08)}
                elif what == "slow":
                    # uniform 0..4 s: a quarter past the 3 s request timeout
                    f["latency"] = {"ms": 0, "jitter_ms": 4 * REQUEST_TIMEOUT_MS // 3}
                elif what == "mixed":
                    f["error_rate"] = {"rate": 0.03, "status": rng.choice([500, 503, 429]),
                                       "api": "all"}
                    f["connection_reset"] = {"rate": 0.03}
                    f["latency"] = {"ms": 20, "jitter_ms": 200}
                code, body = http("POST", f"{self.env.lms_url}/_sandbox/faults", json.dumps(f))
                if code != 200:
                    self.say(f"faults for {tenant} refused: {code} {body[:200]}")
                self.fault_counts[what] = self.fault_counts.get(what, 0) + 1

    # -- chaos --
    def committed(self, kinds, tries=30):
        """{topic: {partition: committed offset}} of the groups of `kinds`,
        source and retry topics; a coordinator busy loading after a restart
        is asked again (up to `tries` times, a second apart)."""
        for i in range(tries):
            try:
                out = {}
                for kind in kinds:
                    for t in (TOPIC[kind], TOPIC[kind] + ".retry"):
                        out[t] = kafka_committed(self.rk.bootstrap, GROUP[kind], t,
                                                 list(range(PARTS)))
                return out
            except (OSError, RuntimeError, ConnectionError):
                if i == tries - 1:
                    raise
                time.sleep(1)

    def kill(self, kind, index, pause):
        m = [m for m in self.members if m.kind == kind and m.index == index][0]
        if m.proc.died is not None:
            self.say(f"{m.name} is not running (it died), started again")
            m.start()
            return
        committed = self.committed([kind])
        t = time.time()
        m.kill()
        self.disruptions.append({"what": f"SIGKILL {m.name}", "kinds": [kind], "t_eval": t,
                                 "committed": committed, "on_wire": ON_WIRE})
        self.say(f"SIGKILL {m.name} (pid {m.procs[-1].pid}); started again in {pause:.1f}s")
        time.sleep(pause)
        m.start()

    def broker_restart(self, how, down):
        committed = self.committed(KINDS)
        t = time.time()
        self.broker_down.append([t, None])
        if how == "SIGKILL":
            self.rk.kill(1)
        else:
            self.rk.stop()
        self.say(f"broker stopped ({how}), down for {down:.1f}s")
        time.sleep(down)
        self.rk.restart(1)
        self.broker_down[-1][1] = time.time()
        self.say(f"broker back {time.time() - t:.1f}s after the stop")
        # the LMS is read for this restart once each group committed past
        # its offsets of the stop on every source partition
        moved = set()

        def progress():
            for kind in KINDS:
                if kind in moved:
                    continue
                try:
                    now = kafka_committed(self.rk.bootstrap, GROUP[kind], TOPIC[kind],
                                          list(range(PARTS)))
                except (OSError, RuntimeError, ConnectionError):
                    return len(moved)
                if all(now[p] > committed[TOPIC[kind]][p] for p in range(PARTS)):
                    moved.add(kind)
            return len(moved)
        try:
            wait_progress(progress, len(KINDS), "the groups' commits after the broker restart",
                          stall=120, interval=0.5)
            self.say(f"both groups committing again {time.time() - t:.1f}s after the stop")
        except TimeoutError as e:
            self.say(f"{e}; the restart's window ends now")
        self.disruptions.append({"what": f"broker {how}", "kinds": list(KINDS),
                                 "t_eval": time.time(), "committed": committed,
                                 "on_wire": ON_WIRE * len(self.members)})

    def outage(self, tenant, seconds):
        code, body = http("POST", f"{self.env.lms_url}/_sandbox/faults", json.dumps(
            {"tenant": tenant, "outage": {"seconds": seconds, "status": 503, "api": "all"}}))
        self.say(f"outage of {tenant} for {seconds:.0f}s (503 with Retry-After): {code}")

    # -- the run --
    def run(self):
        samp = threading.Thread(target=self._sampler, daemon=True)
        samp.start()
        self.t0 = time.time()
        rate = {"completion": len(self.plan.completions) / self.plan.stream_s,
                "catalog": len(self.plan.catalog) / self.plan.stream_s}
        self.streams = {
            "completion": kr_lib.Stream(self.rk.bootstrap, TOPIC["completion"],
                                        self._completion_records(), rate["completion"],
                                        os.path.join(self.env.dir, "producer-completion.log")),
            "catalog": kr_lib.Stream(self.rk.bootstrap, TOPIC["catalog"],
                                     self._catalog_records(), rate["catalog"],
                                     os.path.join(self.env.dir, "producer-catalog.log"))}
        self.say(f"producing {len(self.plan.completions)} completion and {len(self.plan.catalog)} "
                 f"catalog events over {self.plan.stream_s:.0f}s "
                 f"({rate['completion'] + rate['catalog']:.1f}/s)")
        faults = threading.Thread(target=self._faults, daemon=True)
        faults.start()
        # the outage on time (a call to lms-sandbox); kills and broker
        # restarts one after the other (a member cannot start while the
        # broker is down)
        outage = threading.Timer(self.plan.outage_at, self.outage,
                                 (OUTAGE_TENANT, self.plan.outage_s))
        outage.daemon = True
        outage.start()
        for at, what, a in self.plan.actions:
            delay = self.t0 + at - time.time()
            if delay > 0:
                time.sleep(delay)
            if what == "kill":
                self.kill(*a)
            else:
                self.broker_restart(*a)
        outage.join()
        total = len(self.plan.completions) + len(self.plan.catalog)
        wait_progress(lambda: sum(len(s.fed) for s in self.streams.values()), total,
                      "the producer", stall=300, interval=1)
        self.say("every event fed to the producer")
        self.faults_stop.set()
        faults.join()
        http("DELETE", f"{self.env.lms_url}/_sandbox/faults")
        self.say("faults off; waiting for the groups to finish")
        bad = {k: s.close() for k, s in self.streams.items()}
        self.produce_failed = {k: v for k, v in bad.items() if v}
        self.drain()
        self.rest()
        self.stop_evt.set()
        samp.join()
        for m in self.members:          # the end sample, at rest
            if m.proc.died is None:
                m.proc.sample(self.ports)

    def rest(self):
        """At rest until every member running has lived through its warm
        window and TAIL_S more, for at most tail_max_s: a member's end
        figures are taken some seconds after its window."""
        now = time.time()
        due = []
        for m in self.members:
            p = m.proc
            if p.died is None:
                due.append(max(self.warm_start(p), now) + self.plan.warm_s + TAIL_S)
        until = min(max(due, default=now), now + self.plan.tail_max_s)
        if until > now:
            self.say(f"at rest for {until - now:.0f}s (members' warm windows)")
            time.sleep(until - now)

    def drain(self):
        """Until each group's commits reach the end of its source and retry
        topics and no member has a delivery in flight; fails only when
        nothing moves for 5 minutes (a parked record waits up to the
        outage's Retry-After)."""
        def ends():
            return {t: self.env.end_offsets(t) for kind in KINDS
                    for t in (TOPIC[kind], TOPIC[kind] + ".retry")}

        def remaining():
            try:
                e = ends()
                c = self.committed(KINDS)
            except (OSError, RuntimeError, ConnectionError, subprocess.SubprocessError):
                return None
            left = 0
            for t, parts in e.items():
                for p, n in parts.items():
                    got = c[t].get(p, -1)
                    left += 0 if (got == n or (n == 0 and got == -1)) else max(1, n - max(got, 0))
            if left == 0:
                left = sum(1 for m in self.members
                           if m.proc.died is None and m.proc.worker.metric("lmsbridge_inflight"))
            return left

        def progress():
            left = remaining()
            return -(1 << 30) if left is None else -left

        start = time.time()
        first = remaining()
        wait_progress(progress, 0, "every record finished", stall=300, interval=1)
        self.say(f"every record finished ({first} left when the stream ended, "
                 f"{time.time() - start:.1f}s to finish)")

    def stop_members(self):
        rcs = {}
        for m in self.members:
            p = m.proc
            if p.died is not None:
                continue
            try:
                rc, secs = p.worker.stop(timeout=60)
            except subprocess.TimeoutExpired:
                p.worker.kill()
                rc, secs = "still running 60 s after SIGTERM (killed)", 60.0
            rcs[m.name] = (rc, secs, p.worker.log_path)
        return rcs


# ---------------------------------------------------------------- report --

def topic_units(brokers, topic, kind):
    """{event: [(partition, offset), ...]} of a topic's valid records, an
    event being ("c", key) for a completion, ("k", item id, version) for
    a catalog event."""
    out = {}
    for r in kr_lib.topic_records(brokers, topic):
        if kind == "completion":
            unit = ("c", r["key"])
        else:
            try:
                unit = ("k", r["key"][len("course-"):], json.loads(r["payload"])["version"])
            except (ValueError, KeyError, TypeError):
                continue
        out.setdefault(unit, []).append((r["partition"], r["offset"]))
    return out


def lms_log(env, tenant):
    out, since = [], 0
    while True:
        code, body = http("GET", f"{env.lms_url}/_sandbox/requests?tenant={tenant}"
                          f"&since={since}&limit=20000")
        r = json.loads(body)
        out += r["requests"]
        if r.get("dropped"):
            raise RuntimeError(f"lms-sandbox dropped {r['dropped']} request log entries")
        if not r.get("more"):
            return out
        since = r["next_since"]


def report(soak, rcs):
    plan, env, brokers = soak.plan, soak.env, soak.rk.bootstrap
    # what the LMS holds
    state = {t: env.state(t)["degreed"] for t in TENANTS}
    comps = {}
    for t in TENANTS:
        for c in state[t]["completions"]:
            comps[c["attributes"]["user-id"].split("@")[0]] = c
    courses = {c["attributes"]["external-id"]: c for c in state["acme"]["courses"]}
    id_to_key = {c["id"]: k for k, c in courses.items()}
    valid_comp = [k for k, kind in plan.completions if not kind.startswith("bad")]
    invalid = {k for k, kind in plan.completions if kind.startswith("bad")} | \
        {cid for cid, v in plan.catalog if v == 0}
    produced = len(plan.completions) + len(plan.catalog)
    info(f"produced: {produced} events ({len(plan.completions)} completions, "
         f"{len(plan.catalog)} catalog events: {len(plan.newest)} items, up to version "
         f"{max(plan.newest.values())}; {len(invalid)} invalid)")
    check(not soak.produce_failed, "the broker acknowledged every event produced"
          + (f" (failed: {soak.produce_failed})" if soak.produce_failed else ""))

    def held_version(key):
        c = courses.get(f"course-{key}")
        m = re.search(r" v(\d+)\b", (c or {}).get("attributes", {}).get("title", ""))
        return int(m.group(1)) if m else 0

    lost_comp = [k for k in valid_comp if k not in comps]
    lost_cat = [cid for cid, v in plan.newest.items() if held_version(cid) != v]
    delivered_cat = len(plan.newest) - len(lost_cat)
    info(f"delivered (lms-sandbox's state): {len(valid_comp) - len(lost_comp)} of "
         f"{len(valid_comp)} completions, {delivered_cat} of {len(plan.newest)} catalog items at "
         f"their newest version")
    lost = len(lost_comp) + len(lost_cat)
    check(lost == 0, f"lost: {lost}" + (f" (completions {lost_comp[:5]}, catalog items "
                                         f"{lost_cat[:5]} with versions "
                                         f"{[(c, held_version(c)) for c in lost_cat[:5]]})"
                                         if lost else ""))

    # what happened to a lost item: the LMS's requests about it and the
    # members' log lines naming it
    requests = {t: lms_log(env, t) for t in TENANTS}
    for cid in lost_cat[:5]:
        c = courses.get(f"course-{cid}") or {}
        about = [r for r in requests["acme"] if f"course-{cid}" in json.dumps(r.get("body")) or
                 (c.get("id") and r["path"].split("?")[0].endswith("/" + c["id"])) or
                 f"course-{cid}" in r["path"]]
        for r in about:
            title = (((r.get("body") or {}).get("data") or {}).get("attributes") or {}).get(
                "title", "") if isinstance(r.get("body"), dict) else ""
            info(f"lost course-{cid}: LMS {r['timestamp']} +{r['duration_ms']}ms {r['method']} "
                 f"{r['path'].split('/api/v2/')[-1]} {r['status']} {r.get('fault') or ''} "
                 f"{title!r} {r['headers'].get('X-Request-Id', '')}")
        for m in soak.members:
            for p in m.procs:
                for line in open(p.worker.log_path, errors="replace"):
                    if f"course-{cid}-" in line:
                        info(f"lost course-{cid}: {m.name} pid {p.pid}: {line.strip()[:400]}")

    # every successful write to the LMS, by event: a completion by its key,
    # a catalog event by (item, version) (the version is in the title)
    writes = {}        # unit -> [end time of each success]
    ghosts = 0
    statuses = {}
    for t in TENANTS:
        for r in requests[t]:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
            if r["api"] != "degreed" or r["status"] not in (200, 201):
                continue
            body = r["body"] if isinstance(r.get("body"), dict) else {}
            attrs = (body.get("data") or {}).get("attributes") or {}
            path = r["path"].split("?")[0]
            if r["method"] == "POST" and path.endswith("/api/v2/completions"):
                unit = ("c", attrs.get("user-id", "").split("@")[0])
            elif r["method"] in ("POST", "PATCH") and "/api/v2/content/courses" in path and \
                    "/relationships/" not in path:
                ext = attrs.get("external-id") or id_to_key.get(path.rsplit("/", 1)[-1], "")
                m = re.search(r" v(\d+)\b", attrs.get("title", ""))
                if not ext.startswith("course-") or not m:
                    continue
                unit = ("k", ext[len("course-"):], int(m.group(1)))
            else:
                continue
            writes.setdefault(unit, []).append(wall(r["timestamp"]) + r["duration_ms"] / 1000)
            if r["duration_ms"] >= REQUEST_TIMEOUT_MS - 1000:
                ghosts += 1
    first_ok = {u: min(v) for u, v in writes.items()}

    # duplicates: completions as the LMS counted them (repeats), catalog
    # events by their successful writes (a 409 then look-up and PATCH is
    # one; a new version is not a duplicate of the previous one)
    dup_comp = sum(c["repeats"] for c in comps.values())
    dup_cat = sum(len(v) - 1 for u, v in writes.items() if u[0] == "k")

    # the bound: what each disruption left delivered but uncommitted
    where = {kind: topic_units(brokers, TOPIC[kind], kind) for kind in KINDS}
    retry = {kind: topic_units(brokers, TOPIC[kind] + ".retry", kind) for kind in KINDS}
    parked = {kind: sum(len(v) for v in retry[kind].values()) for kind in KINDS}
    exposed_total, on_wire_total, lines = 0, 0, []
    for d in soak.disruptions:
        n = 0
        for kind in d["kinds"]:
            src, rt = d["committed"][TOPIC[kind]], d["committed"][TOPIC[kind] + ".retry"]
            for unit, recs in where[kind].items():
                t_ok = first_ok.get(unit)
                if t_ok is None or t_ok > d["t_eval"]:
                    continue
                if any(off >= src.get(p, -1) for p, off in recs) or \
                        any(off >= rt.get(p, -1) for p, off in retry[kind].get(unit, [])):
                    n += 1
        exposed_total += n
        on_wire_total += d["on_wire"]
        lines.append(f"{d['what']}: {n} delivered and uncommitted + {d['on_wire']} on the wire")
    bound = exposed_total + on_wire_total + ghosts
    dups = dup_comp + dup_cat
    for l in lines:
        info(f"  duplicate bound, {l}")
    info(f"  duplicate bound, successes the LMS answered after >= "
         f"{(REQUEST_TIMEOUT_MS - 1000) / 1000:.0f}s (the worker may have given up on them): "
         f"{ghosts}")
    check(dups <= bound,
          f"duplicated: {dups} (completions {dup_comp}, catalog {dup_cat}) within the bound "
          f"{bound} = delivered-but-uncommitted {exposed_total} at {len(soak.disruptions)} "
          f"disruptions + on the wire {on_wire_total} (M = {ON_WIRE} per member) + "
          f"late successes {ghosts}")

    # dead letters
    dlq = []
    for kind in KINDS:
        dlq += [(kind, r) for r in env.consume_all(TOPIC[kind] + ".dlq")]
    reasons = {}
    for _, r in dlq:
        c = r["headers"].get("__connect.errors.exception.class.name")
        reasons[c] = reasons.get(c, 0) + 1
    keys = [r["key"] for _, r in dlq]
    wrong = [(r["key"], r["headers"].get("__connect.errors.exception.class.name"),
              (r["headers"].get("__connect.errors.exception.message") or "")[:120])
             for _, r in dlq if r["key"] not in invalid or
             r["headers"].get("__connect.errors.exception.class.name") != "invalid_event"]
    check(not wrong and set(keys) == invalid,
          f"dead-lettered: {len(set(keys))} events in {len(dlq)} records "
          f"({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))}) = the {len(invalid)} "
          f"invalid events injected"
          + (f"; others: {wrong[:5]}" if wrong else "")
          + (f"; missing: {sorted(invalid - set(keys))[:5]}" if invalid - set(keys) else ""))
    info(f"dead letters written more than once (a kill between the write and the commit): "
         f"{len(keys) - len(set(keys))}")

    # latency
    lat = [first_ok[("c", k)] - soak.occurred[k] for k in valid_comp
           if ("c", k) in first_ok and k in soak.occurred]
    lat_cat = [t - soak.occurred[u[1:]] for u, t in first_ok.items()
               if u[0] == "k" and u[1:] in soak.occurred]
    both = lat + lat_cat
    info(f"occurred-to-delivered: p50 {pct(both, 0.5):.2f}s, p99 {pct(both, 0.99):.2f}s, "
         f"max {max(both) if both else float('nan'):.1f}s over {len(both)} deliveries "
         f"(completions p99 {pct(lat, 0.99):.2f}s, catalog p99 {pct(lat_cat, 0.99):.2f}s; "
         f"the outage and the broker restarts included)")
    info(f"parked in the retry topics: {parked['completion']} completion and "
         f"{parked['catalog']} catalog records; LMS answers by status: "
         + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=lambda x: str(x[0]))))
    info("fault periods (per customer): " +
         ", ".join(f"{k} {v}" for k, v in sorted(soak.fault_counts.items())))

    # memory and descriptors
    judged = 0
    for m in soak.members:
        for i, p in enumerate(m.procs):
            current = i == len(m.procs) - 1 and p.died is None
            if not p.samples:
                info(f"{m.name} pid {p.pid}: no sample (it lived {p.life():.1f}s)")
                continue
            last = p.samples[-1]
            fate = "killed" if p.killed else (f"died ({p.died})" if p.died is not None else "end")
            head = f"{m.name} pid {p.pid} ({fate} after {last[0] - p.started:.0f}s)"
            w = p.warm(soak.plan.warm_s, soak.warm_start(p), soak.settled)
            if w is None:
                info(f"{head}: RSS {last[1] / 1024:.1f} MiB, {last[2]} fds; not judged (it did "
                     f"not live through a warm window: {soak.plan.warm_s:.0f}s old, past the "
                     f"first broker restart of its life, the broker up for {SETTLE_S:.0f}s, "
                     f"then {soak.plan.warm_s:.0f}s of samples)")
                continue
            rss_warm, kinds_warm = w
            growth = (last[1] - rss_warm) / rss_warm
            grew = {k: (kinds_warm.get(k, 0), v) for k, v in last[3].items()
                    if not k.startswith(LMS_POOL) and v > kinds_warm.get(k, 0)}
            pool = sum(v for k, v in last[3].items() if k.startswith(LMS_POOL))
            text = (f"{head}: RSS warm {rss_warm / 1024:.1f} MiB, "
                    f"{'end' if current else 'last'} {last[1] / 1024:.1f} MiB "
                    f"({growth * 100:+.1f} %, peak {max(x[1] for x in p.samples) / 1024:.1f} "
                    f"MiB); fds warm {sum(kinds_warm.values())}, "
                    f"{'end' if current else 'last'} {last[2]} ({pool} of them connections to "
                    f"the LMS kept by curl, at most {MAX_IN_FLIGHT})")
            if not current:
                info(text + " (not judged: killed before the end)")
                continue
            judged += 1
            if grew:
                info(f"{m.name} pid {p.pid}: descriptors warm {fd_text(kinds_warm)}; end "
                     f"{fd_text(last[3])}")
            if soak.args.asan:
                info(text + " (RSS not judged under AddressSanitizer: its quarantine grows)")
                check(not grew and pool <= MAX_IN_FLIGHT,
                      f"{m.name}: no descriptor growth" + (f" ({grew})" if grew else ""))
                continue
            check(growth <= RSS_GROWTH_MAX and not grew and pool <= MAX_IN_FLIGHT,
                  text + f": RSS growth <= {RSS_GROWTH_MAX * 100:.0f} %, no descriptor growth"
                  + (f" (grew: {grew})" if grew else ""))
    info(f"members judged on RSS and descriptors: {judged} of {len(soak.members)}")
    path = os.path.join(env.dir, "members.json")
    with open(path, "w") as f:
        json.dump({m.name: [{"pid": p.pid, "started": p.started, "killed": p.killed,
                             "samples": [x[:3] for x in p.samples], "end_fds": p.samples[-1][3]
                             if p.samples else {}} for p in m.procs] for m in soak.members},
                  f)
    info(f"each member's samples (time, RSS KiB, descriptors): {path}; the broker was down "
         f"{', '.join(f'{a - soak.t0:.0f}-{b - soak.t0:.0f}s' for a, b in soak.broker_down)}")
    died = [(m.name, p.pid, p.died, p.worker.log_path) for m in soak.members for p in m.procs
            if p.died is not None]
    check(not died, "no member exited by itself" + (f": {died}" if died else ""))
    for name, (rc, secs, log) in rcs.items():
        check(rc == 0, f"{name} exits 0 on SIGTERM ({rc}, {secs:.1f}s)"
              + ("" if rc == 0 else f": see {log}"
                 + (" (LeakSanitizer)" if soak.args.asan and leak_in(log) else "")))


def fd_text(kinds):
    return ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))


def leak_in(log):
    try:
        with open(log, errors="replace") as f:
            return "LeakSanitizer" in f.read()
    except OSError:
        return False


def main():
    plan = Plan(ARGS)
    info(f"soak: seed {plan.seed}; {ARGS.events} events over {plan.stream_s:.0f}s, "
         f"{ARGS.kills} SIGKILLs, {ARGS.broker_restarts} broker restarts, outage of "
         f"{OUTAGE_TENANT} {plan.outage_s:.0f}s at {plan.outage_at:.0f}s, faults changing every "
         f"{plan.fault_period:.0f}s; {MEMBERS} members per worker, {PARTS} partitions")
    if ARGS.plan:
        for at, what, a in plan.actions:
            info(f"at {at:6.1f}s: " + (f"SIGKILL {WORKER[a[0]]}-{a[1] + 1}, started again "
                                       f"{a[2]:.1f}s later" if what == "kill" else
                                       f"broker {a[0]}, down {a[1]:.1f}s"))
        return
    soak = Soak(ARGS, plan)
    failed = True
    try:
        soak.start()
        soak.run()
        rcs = soak.stop_members()
        report(soak, rcs)
        failed = False
    finally:
        soak.stop_evt.set()
        soak.faults_stop.set()
        for s in soak.streams.values():
            s.close(timeout=0)
        if soak.env:
            soak.env.close()
        if soak.rk:
            keep = failed or bool(harness.failures)
            soak.rk.close(keep_logs=keep)
            if keep:
                print(f"broker logs in {soak.rk.workdir}", flush=True)
    harness.finish()


if __name__ == "__main__":
    main()
