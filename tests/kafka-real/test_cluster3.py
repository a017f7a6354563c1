#!/usr/bin/env python3
"""Three Apache Kafka brokers and a KRaft controller of their own (argv[1]:
"4", "3" or a version): a topic of replication factor 3
and min.insync.replicas=2 takes acks=all writes from an idempotent kcat;
the leader of a partition SIGKILLed, writes go on (the time they waited is
printed); a topic that demands 3 in-sync replicas refuses acks=all writes
meanwhile (NOT_ENOUGH_REPLICAS: the setting is real); the node restarted
catches up into every ISR; all records are there exactly once."""
import json
import time

import kr_lib
from kr_lib import check, finish, info, kafka_real, kcat

kr_lib.skip_if_disabled()

VERSION = kr_lib.version_arg()
kr_lib.fetch_or_fail(VERSION)


def produce(rk, topic, first, count, extra=("-X", "enable.idempotence=true")):
    """Records v<first>..v<first+count-1> (keys k<i % 12>) with acks=all
    (from an idempotent producer unless `extra` says otherwise): (kcat's
    result, seconds)."""
    lines = "".join(f"k{i % 12}\tv{i}\n" for i in range(first, first + count))
    start = time.time()
    p = kcat(["-b", rk.bootstrap, "-t", topic, "-P", "-K", "\t", "-X", "acks=all", *extra],
             input=lines, timeout=300)
    return p, time.time() - start


rk = kafka_real.RealKafka(kr_lib.run_dir(f"cluster3-{VERSION}"), "cluster3", VERSION)
try:
    kr_lib.start_or_fail(rk)
    info(f"three brokers and a controller started in {rk.started_s:.1f}s")
    running = [n.id for n in rk.all_nodes if n.running()]
    check(len(rk.nodes) == 3 and len(rk.controllers) == 1 and len(running) == 4,
          f"three brokers and a controller running (nodes {running})")
    p = kcat(["-b", rk.bootstrap, "-L", "-J", "-m", "10"])
    brokers = sorted(b["id"] for b in json.loads(p.stdout or "{}").get("brokers", []))
    check(brokers == [1, 2, 3], f"kcat sees brokers {brokers}")

    rk.create_topics([("orders", 6, {"min.insync.replicas": "2"}),
                      ("strict", 1, {"min.insync.replicas": "3"})])
    parts = rk.partitions("orders")
    check(len(parts) == 6 and all(len(p["replicas"]) == 3 and len(p["isr"]) == 3
                                  for p in parts.values()),
          "orders: 6 partitions, 3 replicas each, all in sync")
    p = rk.tool("kafka-topics", "--bootstrap-server", rk.bootstrap, "--describe",
                "--topic", "orders")
    check(p.returncode == 0 and "ReplicationFactor: 3" in p.stdout and
          "min.insync.replicas=2" in p.stdout,
          "kafka-topics: replication factor 3, min.insync.replicas=2")

    p, secs = produce(rk, "orders", 0, 300)
    check(p.returncode == 0, f"300 acks=all writes with 3 nodes ({secs:.1f}s)")

    victim = rk.leader("orders", 0)
    controller = rk.controller()
    info(f"killing broker {victim}, leader of orders/0 (active controller: node {controller})")
    rk.kill(victim)
    check(not rk.node(victim).running() and sum(n.running() for n in rk.nodes) == 2,
          f"broker {victim} SIGKILLed, two left")

    p, secs = produce(rk, "orders", 300, 300)
    check(p.returncode == 0, f"300 acks=all writes go on with node {victim} dead "
          f"({secs:.1f}s, failover included)")
    rk.wait_for(lambda: all(p["leader"] not in (victim, -1) and victim not in p["isr"]
                            for p in rk.partitions("orders").values()), 60,
                f"node {victim} out of every ISR")
    parts = rk.partitions("orders")
    check(all(p["leader"] not in (victim, -1) and victim not in p["isr"] for p in parts.values()),
          f"orders: every partition led by a live node, node {victim} out of the ISRs "
          f"(leaders {sorted(p['leader'] for p in parts.values())})")

    # min.insync.replicas is enforced: 2 in sync < 3 demanded
    rk.wait_for(lambda: len(rk.partitions("strict")[0]["isr"]) == 2, 60, "strict's ISR at 2")
    p, secs = produce(rk, "strict", 0, 1, ["-X", "retries=0", "-X", "message.timeout.ms=20000"])
    refused = p.returncode != 0 and "Not enough in-sync replicas" in p.stderr
    check(refused, "a topic demanding 3 in-sync replicas refuses acks=all writes "
          "(NOT_ENOUGH_REPLICAS)" + ("" if refused else f": rc {p.returncode} {p.stderr[-300:]}"))

    start = time.time()
    rk.restart(victim)
    check(rk.node(victim).running(), f"node {victim} restarted ({time.time() - start:.1f}s)")
    start = time.time()
    rk.wait_isr("orders", 3)
    secs = time.time() - start
    parts = rk.partitions("orders")
    check(all(victim in p["isr"] and len(p["isr"]) == 3 for p in parts.values()),
          f"node {victim} back in every ISR of orders ({secs:.1f}s)")

    p, secs = produce(rk, "orders", 600, 300)
    check(p.returncode == 0, f"300 more acks=all writes ({secs:.1f}s)")
    p = kcat(["-b", rk.bootstrap, "-t", "orders", "-C", "-e", "-q", "-f", "%s\\n"], timeout=120)
    values = [l for l in p.stdout.splitlines() if l]
    missing = {f"v{i}" for i in range(900)} - set(values)
    check(len(values) == 900 and not missing,
          f"900 records, none lost, none twice ({len(values)} read, {len(missing)} missing)")
    kr_lib.stop_and_check(rk)
finally:
    rk.close()
finish()
