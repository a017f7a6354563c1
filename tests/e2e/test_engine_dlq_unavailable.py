#!/usr/bin/env python3
"""The dead-letter topic cannot be written (NOT_ENOUGH_REPLICAS) while
invalid events arrive between valid ones. On kafka-sandbox every Produce
request fails; on real Kafka (three brokers and a controller of this
test's own) the dead-letter topic demands 3 in-sync replicas
(min.insync.replicas) and one of its brokers is SIGKILLed, so the broker
refuses the worker's acks=all writes until it is started again. The valid
ones are delivered, but the group's committed offset stays at the first
invalid event for as long as its dead letter is not confirmed, and the
worker keeps trying (its producer gives a record up after 2 s here, so the
engine's own retry is exercised). Once the dead-letter topic can be
written again the dead letters appear, once each, the offset advances to
the end, and a restart redelivers nothing."""
import time

from harness import (REAL, Env, check, completion, degreed_integration, degreed_tenant, finish,
                     finished, info, ns, wait_for)

SECRET = "e2e-dlqdown-secret-40"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
# on three brokers: every topic has three replicas, the DLQ needs all three
TOPICS = [f"{TOPIC}:1", f"{TOPIC}.retry:1", (DLQ, 1, {"min.insync.replicas": 3})]
GROUP = ns("completion-worker")
INVALID = {5, 10}   # offsets of the invalid events
N = 15


def completions():
    return env.state("acme")["degreed"]["completions"]


env = Env(TOPICS, [degreed_tenant("acme", SECRET)], kafka="cluster3" if REAL else None)
try:
    records = []
    for i in range(N):
        if i in INVALID:
            records.append((f"x{i}", '{"schema":"completion.v1","event_id":"x%d"}' % i))
        else:
            records.append((f"v{i}", completion(f"v{i}", "acme", f"v{i}")))
    env.produce_many(TOPIC, records)
    check(env.end_offsets(TOPIC) == {0: N}, f"{N} events, invalid ones at offsets {INVALID}")

    if env.control:
        code, body = env.kafka_control(
            "POST", "/errors?api=Produce&error=NOT_ENOUGH_REPLICAS&count=1000")
        check(code == 200, f"Produce errors injected ({code} {body[:80]})")
    else:
        # a broker that does not lead the DLQ: the controller fences it and
        # takes it out of the DLQ's in-sync replicas
        leader = env.real.leader(DLQ, 0)
        victim = max(n.id for n in env.real.nodes if n.id != leader)
        t = time.time()
        env.real.kill(victim)
        wait_for(lambda: len(env.real.partitions(DLQ)[0]["isr"]) < 3, 120,
                 f"{DLQ}: broker {victim} out of its in-sync replicas")
        info(f"broker {victim} SIGKILLed: {DLQ} has {env.real.partitions(DLQ)[0]['isr']} in "
             f"sync after {time.time() - t:.1f}s, below its min.insync.replicas 3")
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    w = env.worker("completion-worker", integ, env={"SECRET": SECRET},
                   extra_kafka=', ["message.timeout.ms", "2000"]')

    n_valid = N - len(INVALID)
    wait_for(lambda: len(completions()) == n_valid, 30, "the valid events delivered")
    check(len(completions()) == n_valid, f"the {n_valid} valid events are delivered")
    def failures():
        return len([l for l in w.logs()
                    if l.get("msg", "").startswith("cannot write to the dead-letter")])
    wait_for(lambda: failures() >= 1, 60, "a failed dead-letter write")
    # the committed offset, read while the engine fails two more rounds of
    # writes of each dead letter (each round at least message.timeout.ms, 2 s:
    # several commit intervals of 1 s)
    samples, more = [], failures() + 2 * len(INVALID)

    def sample():
        samples.append(env.committed(GROUP, TOPIC, [0])[0])
        return failures() >= more
    wait_for(sample, 120, "two more rounds of failed dead-letter writes", interval=0.5)
    first = min(INVALID)
    check(len(samples) >= 5 and set(samples) == {first},
          f"while the DLQ cannot be written the committed offset stays at the first invalid "
          f"event ({first}): {sorted(set(samples))} in {len(samples)} reads")
    check(env.consume_all(DLQ) == [], "no dead letter yet")
    check(failures() >= more, f"the engine keeps retrying the write ({failures()} failures "
          "logged)")
    check(w.get("/healthz")[0] == 200, "the worker stays alive")

    if env.control:
        code, body = env.kafka_control("DELETE", "/errors?api=Produce")
        check(code == 200, "Produce errors cleared")
    else:
        t = time.time()
        env.real.restart(victim)
        env.real.wait_isr(DLQ, 3)
        info(f"broker restarted, {DLQ} has 3 replicas in sync after {time.time() - t:.1f}s")
    dlq = wait_for(lambda: (lambda r: r if len(r) >= len(INVALID) else None)(
        env.consume_all(DLQ)), 30, "the dead letters")
    wait_for(lambda: env.committed(GROUP, TOPIC, [0]) == {0: N}, 15, "the offset advancing")
    check(env.committed(GROUP, TOPIC, [0]) == {0: N},
          "once the dead letters are written the offset advances to the end")
    finished(env, GROUP, [TOPIC], [w])   # nothing in flight: the DLQ is final
    dlq = env.consume_all(DLQ)
    check(sorted(r["key"] for r in dlq) == sorted(f"x{i}" for i in INVALID),
          f"each invalid event dead-lettered once ({[r['key'] for r in dlq]})")
    check(sorted(int(r["headers"]["__connect.errors.offset"]) for r in dlq) == sorted(INVALID) and
          all(r["headers"]["__connect.errors.exception.class.name"] == "invalid_event"
              for r in dlq), "dead letters name their source offsets and class")
    check(w.metric("lmsbridge_dlq_records_total", reason="invalid_event") == len(INVALID),
          "metric: dead letters counted once each")
    w.stop_and_check()

    w2 = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    # a marker after everything: once w2 has delivered it, it has read the
    # partition from the committed offset to the end
    env.produce_many(TOPIC, [(f"v{N}", completion(f"v{N}", "acme", f"v{N}"))])
    wait_for(lambda: len(completions()) == n_valid + 1, 120, "the marker delivered")
    consumed = w2.metric("lmsbridge_events_consumed_total", topic=TOPIC)
    check(consumed == 1, f"restart: nothing consumed again, only the marker ({consumed:.0f})")
    check(sum(c["repeats"] for c in completions()) == 0,
          "restart: nothing delivered twice")
    check(len(env.consume_all(DLQ)) == len(INVALID), "restart: no new dead letters")
    w2.stop_and_check("second worker")
finally:
    env.close()
finish()
