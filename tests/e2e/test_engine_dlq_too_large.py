#!/usr/bin/env python3
"""Records too large for the dead-letter or retry topic are dead-lettered all
the same, never retried forever. The producer's limit is Kafka's default
largest batch (message.max.bytes 1048588, as a broker's), not librdkafka's
1000000, and a dead letter that would exceed it is written with its value
cut to fit (at a UTF-8 boundary), saying so in lmsbridge.value.truncated and
lmsbridge.value.original_bytes. On one partition, between valid events:

- an invalid event of 1000000 bytes (librdkafka's default limit, which
  made such a record impossible to write): dead-lettered whole;
- an invalid event of 1048200 bytes (the planner takes up to 1 MiB): its
  dead letter, with the headers, is over the limit: cut to fit;
- an invalid event of 1.5 MB, while the broker refuses its first write as
  too large (a topic whose max.message.bytes is below the producer's): cut,
  refused, cut again to half, written. On kafka-sandbox the refusal is
  injected; on real Kafka the dead-letter topic's max.message.bytes is
  lowered to 600000 for that phase (kafka-configs, as an operator would);
- a valid event of 1048500 bytes whose delivery must wait (its customer is
  down for an hour): too large to park in the retry topic with its headers,
  so it is dead-lettered instead (class retries_exhausted: no retry is left
  to it; the message says why), cut to fit.

Each is said in one log line and counted (lmsbridge_dlq_records_truncated_total);
the events after each are delivered; the committed offset passes them all;
a restart consumes nothing again (only a record produced after it)."""
import json
import os
import subprocess

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for)

SECRET = "e2e-toolarge-secret-18"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
RETRY = f"{TOPIC}.retry"
# the source topic takes the 1.5 MB event from kcat (a real broker's topic
# refuses a record over its max.message.bytes, 1048588 by default)
TOPICS = [(TOPIC, 1, {"max.message.bytes": 4000000}), f"{RETRY}:1", f"{DLQ}:1"]
GROUP = ns("completion-worker")
PRODUCER_MAX = 1048588          # the producer's message.max.bytes (Kafka's default)
RECORD_MAX = PRODUCER_MAX - 61  # a record alone in its batch
DLQ_LOWERED = 600000            # phase 2 on real Kafka: above half a record, below one


def padded(prefix, size):
    """A JSON text of exactly `size` bytes: prefix, a padding string of
    two-byte characters (so a cut can fall inside one), then '"}'."""
    head = prefix + ',"padding":"'
    room = size - len(head.encode()) - 2
    text = head + "\u00e9" * (room // 2) + "a" * (room % 2) + '"}'
    assert len(text.encode()) == size
    return text


def produce_big(env, key, value, headers=None):
    """One record to partition 0 through kcat, from a file (too large for a
    command line or kcat's default 1000000-byte limit)."""
    path = os.path.join(env.dir, f"{key}.value")
    with open(path, "w") as f:
        f.write(value)
    args = ["kcat", "-b", env.brokers, "-t", TOPIC, "-p", "0", "-P", "-k", key,
            "-X", "message.max.bytes=4000000"]
    for hk, hv in (headers or {}).items():
        args += ["-H", f"{hk}={hv}"]
    subprocess.run(args + [path], check=True, timeout=60)


def record_size(r):
    """A record as librdkafka counts it: framing, key, value, headers."""
    def varint(n):
        u, size = n << 1, 1
        while u >= 0x80:
            u >>= 7
            size += 1
        return size
    total = 36 + len((r["key"] or "").encode()) + len((r["payload"] or "").encode())
    for k, v in r["headers"].items():
        kb, vb = k.encode(), v.encode()
        total += len(kb) + len(vb) + varint(len(kb)) + varint(len(vb))
    return total


def dead_letter(key):
    for r in env.consume_all(DLQ):
        if r["key"] == key:
            return r
    return None


def delivered():
    return len(env.state("acme")["degreed"]["completions"])


def truncation_lines(w):
    """The line that says a large record was dead-lettered (cut, or not
    parkable)."""
    return [l for l in w.logs()
            if l.get("msg", "").startswith(("dead letter too large", "delivery had to wait"))]


def check_cut(r, original, what):
    h = r["headers"]
    value = r["payload"]
    check(h.get("lmsbridge.value.truncated") == "true" and
          h.get("lmsbridge.value.original_bytes") == str(len(original.encode())),
          f"{what}: lmsbridge.value.truncated=true and the original size "
          f"({h.get('lmsbridge.value.original_bytes')} bytes)")
    check(0 < len(value.encode()) < len(original.encode()) and original.startswith(value),
          f"{what}: the value is the original's beginning, cut at a character boundary "
          f"({len(value.encode())} of {len(original.encode())} bytes)")
    return value


env = Env(TOPICS, [degreed_tenant("acme", SECRET), degreed_tenant("slow", SECRET)])
try:
    integs = ", ".join([degreed_integration(env, "acme-degreed", "acme", "SECRET"),
                        degreed_integration(env, "slow-degreed", "slow", "SECRET")])
    big0 = padded('{"schema":"completion.v1","event_id":"big0"', 1000000)
    big1 = padded('{"schema":"completion.v1","event_id":"big1"', 1048200)
    big2 = padded('{"schema":"completion.v1","event_id":"big2"', 1500000)
    big3 = padded(completion("big3", "slow", "big3")[:-1], 1048500)
    check(json.loads(big3)["event_id"] == "big3", "the 1048500-byte event is valid JSON")

    # -- phase 1: librdkafka's old limit is no limit any more; a dead letter
    # over the producer's limit is cut to fit --
    env.produce_many(TOPIC, [("v0", completion("v0", "acme", "v0"))], partition=0)
    produce_big(env, "big0", big0)
    produce_big(env, "big1", big1, {"trace": "t-big1"})
    env.produce_many(TOPIC, [("v3", completion("v3", "acme", "v3"))], partition=0)
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    r1 = wait_for(lambda: dead_letter("big1"), 60, "big1's dead letter")
    wait_for(lambda: delivered() == 2, 30, "the events around big0 and big1")
    check(delivered() == 2, "the events before and after the 1 MB records are delivered")
    r0 = dead_letter("big0")
    check(r0 is not None and r0["payload"] == big0 and
          "lmsbridge.value.truncated" not in r0["headers"],
          "big0 (1000000 bytes): dead-lettered whole, no truncation")
    check(r1["headers"]["__connect.errors.exception.class.name"] == "invalid_event" and
          r1["headers"]["__connect.errors.offset"] == "2" and
          r1["headers"].get("trace") == "t-big1",
          "big1: dead-lettered as invalid_event with its coordinates and its own headers")
    check_cut(r1, big1, "big1")
    check(RECORD_MAX - 64 <= record_size(r1) <= RECORD_MAX,
          f"big1: cut to just fit the producer's limit ({record_size(r1)} <= {RECORD_MAX})")
    wait_for(lambda: env.committed(GROUP, TOPIC, [0]) == {0: 4}, 30, "the offset past big1")
    check(env.committed(GROUP, TOPIC, [0]) == {0: 4}, "the committed offset passes big0, big1")
    lines = truncation_lines(w)
    check(len(lines) == 1 and lines[0]["level"] == "warn" and
          lines[0].get("source_offset") == 2 and
          lines[0].get("value_bytes") == len(big1.encode()),
          f"one log line says big1's dead letter was cut ({len(lines)} lines)")
    check(not any(l.get("msg", "").startswith("cannot") for l in w.logs()),
          "no write was refused or retried")
    check(w.metric("lmsbridge_dlq_records_truncated_total", reason="invalid_event") == 1,
          "metric: one dead letter cut")
    w.stop_and_check()

    # -- phase 2: the broker refuses it as too large: cut again, to half.
    # The worker is stopped while big2 is produced, so that the refusal
    # pushed now meets the worker's write, not the test's own --
    produce_big(env, "big2", big2)
    env.produce_many(TOPIC, [("v5", completion("v5", "acme", "v5"))], partition=0)
    if env.control:
        code, body = env.kafka_control("POST", "/errors?api=Produce&error=MSG_SIZE_TOO_LARGE")
        check(code == 200, f"the next Produce request is refused as too large ({code})")
    else:
        env.alter_topic_config(DLQ, {"max.message.bytes": DLQ_LOWERED})
        print(f"INFO {DLQ}: max.message.bytes {DLQ_LOWERED}, below the producer's limit",
              flush=True)
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    r2 = wait_for(lambda: dead_letter("big2"), 60, "big2's dead letter")
    wait_for(lambda: delivered() == 3, 30, "the event after big2")
    check_cut(r2, big2, "big2")
    check(record_size(r2) <= RECORD_MAX // 2 + 1024,
          f"big2: refused once by the broker, written at half the size ({record_size(r2)})")
    refused = [l for l in w.logs() if l.get("msg", "").startswith("cannot write to the dead")]
    check(len(refused) == 1 and "too large" in refused[0].get("error", "").lower(),
          f"the refusal is said once ({[l.get('error') for l in refused]})")
    if not env.control:   # the sandbox's refusal was for one request only
        env.alter_topic_config(DLQ, {"max.message.bytes": PRODUCER_MAX})

    # -- phase 3: too large to park: dead-lettered instead --
    env.lms_post("/_sandbox/faults", {"tenant": "slow",
                                      "outage": {"seconds": 3600, "api": "degreed"}})
    produce_big(env, "big3", big3)
    env.produce_many(TOPIC, [("v7", completion("v7", "acme", "v7"))], partition=0)
    r3 = wait_for(lambda: dead_letter("big3"), 90, "big3's dead letter")
    wait_for(lambda: delivered() == 4, 30, "the event after big3")
    h3 = r3["headers"]
    check(h3["__connect.errors.exception.class.name"] == "retries_exhausted" and
          h3["lmsbridge.integration"] == "slow-degreed" and
          RETRY in h3["__connect.errors.exception.message"] and
          "had to wait" in h3["__connect.errors.exception.message"],
          f"big3: too large to park, dead-lettered as retries_exhausted "
          f"({h3['__connect.errors.exception.message'][:160]!r})")
    check_cut(r3, big3, "big3")
    check(env.consume_all(RETRY) == [], "nothing was parked in the retry topic")

    wait_for(lambda: env.committed(GROUP, TOPIC, [0]) == {0: 8}, 30, "the offset at the end")
    check(env.committed(GROUP, TOPIC, [0]) == {0: 8},
          "the committed offset passes every large record (8)")
    check(delivered() == 4 and
          sum(c["repeats"] for c in env.state("acme")["degreed"]["completions"]) == 0,
          "the 4 valid small events are delivered once each")
    check(w.metric("lmsbridge_dlq_records_truncated_total", reason="invalid_event") == 1 and
          w.metric("lmsbridge_dlq_records_truncated_total", reason="retries_exhausted") == 1,
          "metric: lmsbridge_dlq_records_truncated_total by reason (big2, big3)")
    check(w.metric("lmsbridge_dlq_records_total", reason="retries_exhausted") == 1 and
          w.metric("lmsbridge_deliveries_total", integration="slow-degreed",
                   outcome="dead_lettered") == 1 and
          w.metric("lmsbridge_deliveries_total", integration="slow-degreed",
                   outcome="parked") == 0,
          "metric: the unparkable delivery is counted dead-lettered (retries_exhausted), "
          "not parked")
    lines = truncation_lines(w)
    check(len(lines) == 2, f"one log line per large record ({len(lines)})")
    check(len(env.consume_all(DLQ)) == 4, "four dead letters, one each")
    w.stop_and_check()

    w2 = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    # a marker after everything: once w2 has delivered it, it has read the
    # partition from the committed offset to the end
    env.produce_many(TOPIC, [("v8", completion("v8", "acme", "v8"))], partition=0)
    wait_for(lambda: delivered() == 5, 120, "the marker delivered after the restart")
    consumed = w2.metric("lmsbridge_events_consumed_total", topic=TOPIC)
    check(consumed == 1 and len(env.consume_all(DLQ)) == 4,
          f"restart: nothing consumed or dead-lettered again, only the marker ({consumed:.0f})")
    w2.stop_and_check("second worker")
finally:
    env.close()
finish()
