#!/usr/bin/env python3
"""Co-partitioning (docs/operations.md, docs/delivery.md): a worker's source
topic and its retry topic have one partition count, and records are placed
by partition number, not by key hash.

- A worker whose source topic has 4 partitions and whose retry topic has 2
  refuses to start, in one error that names both counts and their keys and
  says how to fix it, exit 1, never consuming.
- With co-partitioned topics (4 and 4) a delivery that must wait (the
  customer's Degreed answers 429 with Retry-After 31 s, past the 30 s
  parking threshold) is parked in the retry partition numbered like its
  source partition, for keys that librdkafka's partitioner (CRC-32 of the
  key) would put elsewhere; consumed back from the retry topic and parked
  again, it stays in that partition; once the customer answers, every
  completion is delivered."""
import json
import os
import subprocess
import zlib

from harness import (WORKERS, Env, check, completion, degreed_integration, degreed_tenant,
                     die_with_test, finish, ns, produce_to, wait_for)

SECRET = "e2e-copartitioned-secret-16"
TOPIC = ns("completion-events")
RETRY = f"{TOPIC}.retry"
BAD = ns("uneven-events")
N, PER = 4, 3
TOPICS = [f"{TOPIC}:{N}", f"{RETRY}:{N}", f"{TOPIC}.dlq:1",
          f"{BAD}:4", f"{BAD}.retry:2", f"{BAD}.dlq:1"]


def run_worker(kafka_extra):
    """Starts completion-worker on a file of its own and waits for it to
    exit: (exit code, its JSON log lines, the file)."""
    conf = os.path.join(env.dir, "uneven.conf")
    with open(conf, "w") as f:
        f.write(f"""
kafka: {{ brokers = "{env.brokers}"; {kafka_extra}
  properties = ( ["session.timeout.ms", "6000"], ["heartbeat.interval.ms", "500"] ); }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
observability: {{ listen = "127.0.0.1:0"; }};
integrations = ( {degreed_integration(env, "acme-degreed", "acme", "SECRET")} );
""")
    p = subprocess.run([WORKERS["completion-worker"], "--config", conf], capture_output=True,
                       text=True, env=dict(os.environ, SECRET=SECRET), timeout=120,
                       preexec_fn=die_with_test)
    return p.returncode, [json.loads(l) for l in p.stderr.splitlines() if l.startswith("{")], conf


def hashed_elsewhere(partition, count):
    """`count` keys that librdkafka's default partitioner (consistent_random:
    CRC-32 of the key modulo the partition count) would not put in
    `partition`."""
    keys, i = [], 0
    while len(keys) < count:
        k = f"p{partition}-k{i}"
        if zlib.crc32(k.encode()) % N != partition:
            keys.append(k)
        i += 1
    return keys


def parked():
    """The retry topic's records: (partition, original partition, attempts, key)."""
    return [(r["partition"], int(r["headers"]["lmsbridge.original.partition"]),
             int(r["headers"]["lmsbridge.attempts"]), r["key"])
            for r in env.consume_all(RETRY)]


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    # ---- not co-partitioned: refused at start
    rc, lines, conf = run_worker(f'topics = ["{BAD}"]; group_id = "{ns("uneven-worker")}";')
    errors = [l for l in lines if l.get("level") == "error"]
    want = (f"topics are not co-partitioned: {BAD} has 4 partitions, {BAD}.retry has 2 "
            f"(kafka.topics, kafka.retry_topic); give them the same count "
            f"(kafka-topics --alter --partitions)")
    check(rc == 1, f"a worker whose topics are not co-partitioned exits 1 ({rc})")
    check(len(errors) == 1 and errors[0].get("error") == want and
          errors[0].get("config") == conf,
          f"one error says which counts differ and how to fix it: {errors}")
    check(not any(l.get("msg") == "consuming" for l in lines), "it never consumed")

    # ---- co-partitioned: a parked record goes to the partition numbered like its source
    env.lms_post("/_sandbox/faults", {"tenant": "acme", "error_rate": {
        "rate": 1, "status": 429, "retry_after": 31, "api": "degreed"}})
    w = env.worker("completion-worker", degreed_integration(env, "acme-degreed", "acme",
                                                            "SECRET"),
                   env={"SECRET": SECRET})
    keys = {p: hashed_elsewhere(p, PER) for p in range(N)}
    for p, ks in keys.items():
        produce_to(env, TOPIC, p, [(k, completion(k, "acme", k), None) for k in ks])
    every = {k for ks in keys.values() for k in ks}
    first = wait_for(lambda: (lambda r: r if {x[3] for x in r} == every else None)(parked()),
                     90, "every completion parked")
    check(all(part == orig for part, orig, _, _ in first),
          f"each parked record is in the retry partition numbered like its source: "
          f"{sorted({(orig, part) for part, orig, _, _ in first})} (source, retry)")
    check(all(orig == p for p, ks in keys.items() for part, orig, _, k in first if k in ks),
          "... the partition each was produced to")
    check(all(zlib.crc32(k.encode()) % N != part for part, _, _, k in first),
          "... where librdkafka would not have hashed its key")
    print(f"INFO first parking: {len(first)} records over retry partitions "
          f"{sorted({x[0] for x in first})}", flush=True)

    # consumed back from the retry topic after Retry-After, answered 429 again:
    # parked again, in its own partition
    again = wait_for(lambda: (lambda r: r if {x[3] for x in r if x[2] >= 2} == every
                              else None)(parked()), 180, "every completion parked again")
    check(all(part == orig for part, orig, attempts, _ in again if attempts >= 2),
          "parked again from the retry topic, each record stays in its partition number")

    env.lms_post("/_sandbox/faults", {"tenant": "acme", "error_rate": None})
    wait_for(lambda: {c["attributes"]["user-id"].split("@")[0]
                      for c in env.state("acme")["degreed"]["completions"]} == every, 180,
             "every completion delivered")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    w.stop_and_check()
finally:
    env.close()
finish()
