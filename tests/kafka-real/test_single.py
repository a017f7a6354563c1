#!/usr/bin/env python3
"""A single-node Apache Kafka (argv[1]: "4", "3" or a version): fetched or
cached, formatted and started on free loopback ports; topics created;
kcat produces and consumes (keys, headers, a consumer group's commits read
back with the harness's OffsetFetch); completion-worker consumes events
from it and delivers them to lms-sandbox, dead-letters the invalid ones and
commits; the broker stops on SIGTERM and nothing is left running. Also:
a broker whose test was SIGKILLed dies with it, and a broker left behind
(pid file, owner gone) is killed by the next start."""
import json
import os
import subprocess
import sys
import time

import kr_lib
from kr_lib import check, finish, info, kafka_real, kcat

kr_lib.skip_if_disabled()

from harness import (Env, completion, degreed_integration, degreed_tenant,  # noqa: E402
                     die_with_test, kafka_committed, wait_for, wait_progress)

VERSION = kr_lib.version_arg()
NAME = f"single-{VERSION}"
SECRET = "kafka-real-single-secret-41"
kr_lib.fetch_or_fail(VERSION)

# -- a broker left by a run that died: its pid file names an owner that is
#    gone; the next start under the same directory kills it.
stale_dir = kr_lib.run_dir(f"{NAME}-stale")
os.makedirs(os.path.join(stale_dir, "node-1"), exist_ok=True)
stale = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                          os.path.join(stale_dir, "node-1")], preexec_fn=die_with_test)
gone = subprocess.Popen(["true"])
gone.wait()
with open(os.path.join(stale_dir, "node-1", "pid"), "w") as f:
    json.dump({"pid": stale.pid, "owner": gone.pid}, f)

rk = kafka_real.RealKafka(kr_lib.run_dir(NAME), "single", VERSION)
env = None
try:
    kr_lib.start_or_fail(rk)
    info(f"single node started in {rk.started_s:.1f}s at {rk.bootstrap}")
    # start() waits for the process it kills: no wait here
    stale_pidfile = os.path.join(stale_dir, "node-1", "pid")
    check(stale.poll() is not None and not os.path.exists(stale_pidfile),
          "start killed the broker a dead run left behind (pid file, owner gone) and "
          "removed its pid file")
    info(f"Kafka {VERSION} serves {kr_lib.api_version_line(rk)}")

    p = kcat(["-b", rk.bootstrap, "-L", "-J", "-m", "10"])
    md = json.loads(p.stdout or "{}")
    check(p.returncode == 0 and [b["id"] for b in md.get("brokers", [])] == [1],
          "kcat (librdkafka) reads the metadata: broker 1")

    rk.create_topics(["orders:3", ("profiles", 1, {"cleanup.policy": "compact"})])
    parts = rk.partitions("orders")
    check(sorted(parts) == [0, 1, 2] and all(p["leader"] == 1 for p in parts.values()),
          "topic orders: 3 partitions led by broker 1")
    p = rk.tool("kafka-topics", "--bootstrap-server", rk.bootstrap, "--describe",
                "--topic", "profiles")
    check(p.returncode == 0 and "cleanup.policy=compact" in p.stdout,
          "kafka-topics (the Java tool) describes profiles as compacted")

    # -- kcat produces (keys, headers) and consumes
    lines = "".join(f"k{i % 7}\tv{i}\n" for i in range(60))
    p = kcat(["-b", rk.bootstrap, "-t", "orders", "-P", "-K", "\t", "-H", "origin=kafka-real",
              "-X", "acks=all"], input=lines)
    check(p.returncode == 0, "kcat produces 60 records with acks=all")
    p = kcat(["-b", rk.bootstrap, "-t", "orders", "-C", "-e", "-J", "-q"])
    recs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    check(len(recs) == 60 and all(r["headers"] == ["origin", "kafka-real"] for r in recs),
          f"kcat reads back 60 records with their header ({len(recs)})")
    by_key = {}
    for r in sorted(recs, key=lambda r: (r["partition"], r["offset"])):
        by_key.setdefault(r["key"], []).append(int(r["payload"][1:]))
    check(all(v == sorted(v) for v in by_key.values()) and
          all(len({r["partition"] for r in recs if r["key"] == k}) == 1 for k in by_key),
          "each key in one partition, in the order produced")

    # a consumer group commits (kcat -G), the harness reads the commits back
    p = kcat(["-b", rk.bootstrap, "-G", "kr-group", "-e", "-q", "-o", "beginning", "orders"],
             timeout=120)
    got = [l for l in p.stdout.splitlines() if l.strip()]
    check(p.returncode == 0 and len(got) == 60, f"a kcat group consumes 60 records ({len(got)})")
    ends = {pid: sum(1 for r in recs if r["partition"] == pid) for pid in parts}
    # the wait is the check: it fails the test when the commits never match
    wait_for(lambda: kafka_committed(rk.bootstrap, "kr-group", "orders", sorted(parts)) == ends,
             30, f"the group's commits read back (FindCoordinator v0, OffsetFetch v1) as {ends}")

    # -- completion-worker between this broker and lms-sandbox
    users = [f"u{i}" for i in range(40)]
    env = Env(["completion-events:4", "completion-events.retry:4", "completion-events.dlq:1"],
              [degreed_tenant("acme", SECRET, users=[f"{u}@acme.example" for u in users])],
              kafka=rk)
    check(env.real is rk and env.brokers == rk.bootstrap, "Env(kafka=RealKafka) uses the broker")
    w = env.worker("completion-worker", degreed_integration(env, "acme-degreed", "acme",
                                                            "ACME_SECRET"),
                   env={"ACME_SECRET": SECRET}, group="kr-completion")
    good = [(u, completion(f"e{i}", "acme", u, content=str(i % 3))) for i, u in enumerate(users)]
    env.produce_many("completion-events", good + [("bad1", "not json"), ("bad2", "{}")])
    n = wait_progress(lambda: len(env.state("acme")["degreed"]["completions"]), 40,
                      "40 completions")
    check(n == 40, "completion-worker delivers 40 completions from the real broker")
    dlq = wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(
        env.consume_all("completion-events.dlq")), 60, "2 dead letters")
    check(sorted(r["key"] for r in dlq) == ["bad1", "bad2"] and
          all(r["headers"].get("__connect.errors.exception.class.name") == "invalid_event"
              for r in dlq), "the 2 invalid events are dead-lettered with their headers")
    ends = env.end_offsets("completion-events")
    wait_for(lambda: env.committed("kr-completion", "completion-events", sorted(ends)) == ends,
             40, f"the worker's commits up to the end of every partition {ends}")
    check(w.metric("lmsbridge_events_consumed_total", topic="completion-events") == 42,
          "metric: 42 events consumed")
    check(w.get("/readyz")[0] == 200, "/readyz 200")
    w.stop_and_check("completion-worker")
    logs = w.logs()
    errors = [l for l in logs if l.get("level") == "error"]
    check(not errors, "no error in the worker's log" + (f": {errors[:2]}" if errors else ""))
    for l in [l for l in logs if l.get("msg") == "librdkafka"][:5]:
        info(f"librdkafka said: {l.get('facility')}: {l.get('detail')}")
    env.close()
    env = None

    # -- the broker dies with a test that is SIGKILLed
    code = (f"import sys; sys.path.insert(0, {kr_lib.HERE!r}); import kafka_real, time\n"
            f"rk = kafka_real.RealKafka({kr_lib.run_dir(NAME + '-orphan')!r}, 'single',"
            f" {VERSION!r}).start()\n"
            "print(rk.pids()[0], flush=True)\ntime.sleep(600)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             preexec_fn=die_with_test)
    try:
        jvm = int(child.stdout.readline() or 0)
    finally:
        child.kill()
        child.wait()
    check(jvm > 0, "a child test started its own broker")
    start = time.time()
    wait_for(lambda: not kafka_real._alive(jvm), 30,
             "the orphan broker to die with the SIGKILLed test that started it")
    info(f"SIGKILL of that test took its broker down in {time.time() - start:.1f}s")

    kr_lib.stop_and_check(rk)
finally:
    if env:
        env.close()
    rk.close()
    stale.kill()
    stale.wait()
finish()
