#!/usr/bin/env python3
"""A worker checks at start that every topic it consumes or writes exists,
without creating any (the sandbox, like a broker with auto-creation on,
creates a topic a metadata request names): with its dead-letter topic
missing it refuses to start, in one error naming the topic and its key,
exit 1, and the topic is still missing afterwards; with its topics, retry
and dead-letter topics all missing the one error names the three;
dlq-replay says the dead-letter topic does not exist. Once the topic is
created (the sandbox's control API, or the real broker's CreateTopics) the
worker starts and dead-letters. On the shared real broker the files name
this test's own source topic and group (harness.ns), the retry and
dead-letter topics following from it as they do from the defaults."""
import json
import os
import subprocess

from harness import (NS, WORKERS, Env, check, completion, degreed_integration, degreed_tenant,
                     die_with_test, dlq_replay, finish, group_line, ns, wait_for)

SECRET = "e2e-topics-secret-05"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
NOPE = ns("nope-events")
# the defaults on the sandbox; this test's own topic and group on the shared broker
OWN = f'topics = ["{TOPIC}"]; {group_line("completion-worker")}' if NS else ""


def topic_names():
    """Every topic the cluster has (kcat -L without -t names none, so it
    creates none)."""
    out = subprocess.run(["kcat", "-b", env.brokers, "-L", "-J"], capture_output=True,
                         timeout=30, check=True).stdout
    return {t["topic"] for t in json.loads(out)["topics"]}


def run_worker(name, kafka_extra=OWN):
    """Starts a worker on its own file and waits for it to exit: (exit code,
    its JSON log lines, the file)."""
    run_worker.n += 1
    conf = os.path.join(env.dir, f"topics-{run_worker.n}.conf")
    with open(conf, "w") as f:
        f.write(f"""
kafka: {{ brokers = "{env.brokers}"; {kafka_extra}
  properties = ( ["session.timeout.ms", "6000"], ["heartbeat.interval.ms", "500"] ); }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
observability: {{ listen = "127.0.0.1:0"; }};
integrations = ( {degreed_integration(env, "acme-degreed", "acme", "SECRET")} );
""")
    penv = dict(os.environ, SECRET=SECRET)
    p = subprocess.run([WORKERS[name], "--config", conf], capture_output=True, text=True,
                       env=penv, timeout=60, preexec_fn=die_with_test)
    lines = [json.loads(l) for l in p.stderr.splitlines() if l.startswith("{")]
    return p.returncode, lines, conf


run_worker.n = 0

env = Env([f"{TOPIC}:2", f"{TOPIC}.retry:2"], [degreed_tenant("acme", SECRET)])
try:
    check(DLQ not in topic_names(), "the dead-letter topic does not exist")

    rc, lines, conf = run_worker("completion-worker")
    errors = [l for l in lines if l.get("level") == "error"]
    check(rc == 1, f"the worker exits 1 ({rc})")
    check(len(errors) == 1 and f'topic "{DLQ}" (kafka.dlq_topic) does not exist' in
          errors[0].get("error", "") and conf in errors[0].get("error", ""),
          f"one error names the topic, its key and the file: {errors}")
    check(not any(l.get("msg") == "consuming" for l in lines), "it never consumed")
    check(DLQ not in topic_names(), "checking created no topic")

    rc, out, err = dlq_replay("list", "--config", conf, "--worker", "completion-worker")
    check(rc != 0 and f'dead-letter topic \\"{DLQ}\\" does not exist' in err and not out,
          f"dlq-replay list: the dead-letter topic does not exist (exit {rc}): {err[-300:]}")
    check(DLQ not in topic_names(), "dlq-replay created no topic")

    rc, lines, _ = run_worker("completion-worker", f'topics = ["{NOPE}"];')
    errors = [l for l in lines if l.get("level") == "error"]
    check(rc == 1 and len(errors) == 1 and
          f'topics "{NOPE}" (kafka.topics), "{NOPE}.retry" (kafka.retry_topic), '
          f'"{NOPE}.dlq" (kafka.dlq_topic) do not exist' in errors[0].get("error", ""),
          f"every missing topic in one error: {[e.get('error') for e in errors]}")

    # created as an operator would: the worker starts and uses it
    env.create_topics([f"{DLQ}:1"])
    check(DLQ in topic_names(), "the dead-letter topic created")
    env.produce_many(TOPIC, [("v1", completion("v1", "acme", "v1")), ("bad", "not json")])
    w = env.worker("completion-worker", degreed_integration(env, "acme-degreed", "acme",
                                                            "SECRET"), env={"SECRET": SECRET})
    wait_for(lambda: len(env.consume_all(DLQ)) == 1, 60, "the dead letter")
    wait_for(lambda: len(env.state("acme")["degreed"]["completions"]) == 1, 30,
             "the delivery")
    check([r["key"] for r in env.consume_all(DLQ)] == ["bad"] and
          len(env.state("acme")["degreed"]["completions"]) == 1,
          "with its topics created the worker starts, delivers and dead-letters")
    w.stop_and_check()
finally:
    env.close()
finish()
