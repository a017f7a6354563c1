#!/usr/bin/env python3
"""Each Kafka client gets only the kafka.properties that apply to it: both
daemons and dlq-replay start with consumer-only properties (the session
timeout and heartbeat the tests and the demo set, a fetch size, an offset
reset), producer-only ones (compression, acks, a message timeout) and shared
ones (the shipped examples' client.id), and librdkafka logs no CONFWARN
("... is a consumer property and will be ignored by this producer") nor
AUTOCREATE warning; the workers consume, dead-letter (their producer works)
and deliver. The same checks see the CONFWARN a property does cause (the
deprecated offset.store.method), in a worker's log and dlq-replay's.
The "consuming" line gives the consumer's prefetch as librdkafka took it:
its defaults, or what kafka.properties sets."""
from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish,
                     dlq_replay, ns, wait_for, worker_config_path)
from catalog_fixtures import catalog_event, degreed

SECRET = "e2e-kprops-secret-06"
SOURCE = {"completion-worker": ns("completion-events"), "catalog-worker": ns("catalog-events")}
TOPICS = [f"{t}{suffix}:1" for t in SOURCE.values() for suffix in ("", ".retry", ".dlq")]
TOPICS.append(f'{SOURCE["catalog-worker"]}.state:1')   # the catalog state
# the harness adds session.timeout.ms, heartbeat.interval.ms and
# topic.metadata.refresh.interval.ms (consumer, consumer, both)
EXTRA = {
    "completion-worker": ', ["client.id", "lmsbridge-completion"]',
    "catalog-worker": ', ["client.id", "lmsbridge-catalog"]',
}
MIXED = (', ["max.partition.fetch.bytes", "2097152"], ["auto.offset.reset", "earliest"],'
         ' ["compression.type", "lz4"], ["acks", "all"], ["message.timeout.ms", "30000"]')


def prefetch(logs):
    """queued.min.messages and queued.max.messages.kbytes as the worker's
    "consuming" line gives them."""
    line = next((l for l in logs if l.get("msg") == "consuming"), {})
    return line.get("queued_min_messages"), line.get("queued_max_messages_kbytes")


def confwarns(lines):
    """librdkafka's warnings about the configuration: CONFWARN, and
    AUTOCREATE (allow.auto.create.topics set on a consumer for brokers whose
    Metadata requests cannot carry it, as the mock cluster's)."""
    return [l for l in lines if l.get("facility") in ("CONFWARN", "AUTOCREATE") or
            "CONFWARN" in str(l) or "AUTOCREATE" in str(l)]


env = Env(TOPICS, [degreed_tenant("acme", SECRET), degreed_tenant("prov", SECRET)])
try:
    env.produce_many(SOURCE["completion-worker"], [("c1", completion("c1", "acme", "c1")),
                                                   ("bad", "not json")])
    env.produce_many(SOURCE["catalog-worker"], [catalog_event("course", "k1", 1),
                                                ("kbad", "not json")])
    workers = {
        "completion-worker": env.worker(
            "completion-worker", degreed_integration(env, "acme-degreed", "acme", "SECRET"),
            env={"SECRET": SECRET}, extra_kafka=EXTRA["completion-worker"] + MIXED),
        "catalog-worker": env.worker(
            "catalog-worker", degreed(env, "prov-degreed", "prov", "*", "SECRET"),
            env={"SECRET": SECRET}, extra_kafka=EXTRA["catalog-worker"] + MIXED),
    }
    for name, w in workers.items():
        topic = SOURCE[name]
        dlq = wait_for(lambda: (lambda r: r if len(r) == 1 else None)(
            env.consume_all(f"{topic}.dlq")), 60, f"{name}: the invalid event dead-lettered")
        integ = "acme-degreed" if "completion" in name else "prov-degreed"
        wait_for(lambda: w.metric("lmsbridge_deliveries_total", integration=integ,
                                  outcome="success") >= 1,
                 60, f"{name}: the valid event delivered")
        check(dlq[0]["key"] in ("bad", "kbad") and
              dlq[0]["headers"].get("__connect.errors.exception.class.name") == "invalid_event",
              f"{name}: consumes, delivers and dead-letters the invalid event (both clients work)")
        logs = w.logs()
        # the clients are made before "consuming": their CONFWARNs come first
        check(any(l.get("msg") == "consuming" for l in logs) and not confwarns(logs),
              f"{name}: its log went past the start and holds no CONFWARN or AUTOCREATE "
              f"({[l.get('detail') for l in confwarns(logs)]})")

        rc, lines, err = dlq_replay("list", "--config", worker_config_path(w),
                                    "--worker", name, env={"SECRET": SECRET})
        check(rc == 0 and len(lines) >= 1 and
              "CONFWARN" not in err and "AUTOCREATE" not in err,
              f"dlq-replay list with {name}'s file: no CONFWARN or AUTOCREATE (exit {rc}, "
              f"{err.count('CONFWARN') + err.count('AUTOCREATE')} warnings)")
        check(prefetch(logs) == ("100000", "65536"),
              f"{name}: its log gives librdkafka's default prefetch, 100,000 messages and "
              f"65,536 KiB ({prefetch(logs)})")
        w.stop_and_check(name)

    # the checks above can fail: a deprecated property warns
    w = env.worker("completion-worker", degreed_integration(env, "acme-degreed", "acme", "SECRET"),
                   env={"SECRET": SECRET},
                   extra_kafka=EXTRA["completion-worker"] + MIXED + ', ["offset.store.method", "broker"]'
                   ', ["queued.min.messages", "5000"], ["queued.max.messages.kbytes", "16000"]')
    check(wait_for(lambda: prefetch(w.logs())[0], 60, "the worker consuming") and
          prefetch(w.logs()) == ("5000", "16000"),
          f"its log gives the prefetch kafka.properties sets ({prefetch(w.logs())})")
    warned = [l.get("detail", "") for l in confwarns(w.logs())]
    check(any("offset.store.method is deprecated" in d for d in warned),
          f"with offset.store.method the worker's log holds its CONFWARN ({len(warned)} warnings)")
    rc, lines, err = dlq_replay("list", "--config", worker_config_path(w),
                                "--worker", "completion-worker", env={"SECRET": SECRET})
    check(rc == 0 and "CONFWARN" in err and "offset.store.method" in err,
          f"with offset.store.method dlq-replay's output holds its CONFWARN (exit {rc})")
    w.stop_and_check("completion-worker with offset.store.method")
finally:
    env.close()
finish()
