#!/usr/bin/env python3
"""A worker never silently dead-letters a topic of the other daemon's valid
events.

At start (no Kafka needed): `completion-worker --config catalog-worker.conf`
and the reverse are refused, by --check-config and by the daemon, naming
each key that is the other daemon's (group id, topics, retry and dead-letter
topics) and how to fix it, exit 1; each daemon takes its own example file,
and a file with topics and a group of its own; a SIGHUP to the other's file
is refused and the running configuration stays.

At run time, each way round: a completion-worker whose topic carries a
valid catalog.v1 event, and a catalog-worker whose topic carries a valid
completion.v1 event (its own invalid events before it are dead-lettered as
usual), stops with one error naming the topic and the other daemon, exit 1,
commits nothing past it and dead-letters nothing of it; started again it
stops at the same record."""
import os
import re
import signal
import subprocess
import tempfile

from harness import (WORKERS, Env, check, completion, degreed_integration, degreed_tenant,
                     die_with_test, finish, ns, renew_ns, wait_for, worker_config_path)
from catalog_fixtures import catalog_event, degreed_items

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLES = os.path.join(SRC, "deploy", "examples")
SECRET = "e2e-misrouted-secret-04"


def example_env():
    """The stand-in credentials of deploy/examples/example.env."""
    env = dict(os.environ)
    for line in open(os.path.join(EXAMPLES, "example.env")):
        if line.startswith("export "):
            k, _, v = line[len("export "):].strip().partition("=")
            env[k] = v
    return env


def run(name, *args, timeout=30):
    p = subprocess.run([WORKERS[name], *args], capture_output=True, text=True,
                       env=example_env(), timeout=timeout, preexec_fn=die_with_test)
    return p.returncode, p.stdout, p.stderr


# ---- at start ----
OTHER = {"completion-worker": "catalog-worker", "catalog-worker": "completion-worker"}
for name, other in OTHER.items():
    theirs = os.path.join(EXAMPLES, f"{other}.conf")
    otopic = other.split("-")[0] + "-events"
    rc, out, err = run(name, "--check-config", "--config", theirs)
    check(rc == 1 and not out, f"{name} --check-config {other}.conf: exit 1 ({rc})")
    state = [("kafka.state_topic", f"{otopic}.state", "topic")] if other == "catalog-worker" \
        else []
    for key, value, what in [("kafka.group_id", other, "consumer group"),
                             ("kafka.topics", otopic, "topic"),
                             ("kafka.retry_topic", f"{otopic}.retry", "topic"),
                             ("kafka.dlq_topic", f"{otopic}.dlq", "topic")] + state:
        line = f'{theirs}: {key}: "{value}" is {other}\'s {what}, not {name}\'s'
        check(line in err, f"{name} with {other}.conf: says {line!r}")
    check(f"this looks like {other}'s file: start {other} with it, or give {name} its own"
          in err, f"{name} with {other}.conf: says how to fix it")

    rc, out, err = run(name, "--config", theirs)
    check(rc == 1 and "invalid configuration, not starting" in err and
          "kafka.group_id" in err and '"msg":"consuming"' not in err,
          f"{name} started with {other}.conf: refuses to start, exit 1 ({rc})")

    mine = os.path.join(EXAMPLES, f"{name}.conf")
    rc, out, err = run(name, "--check-config", "--config", mine)
    check(rc == 0, f"{name} --check-config {name}.conf: exit 0 ({rc}) {err[-200:]}")

with tempfile.TemporaryDirectory(prefix="lb-misrouted-") as tmp:
    base = open(os.path.join(EXAMPLES, "completion-worker.conf")).read()
    own = os.path.join(tmp, "own.conf")
    with open(own, "w") as f:
        f.write(base.replace('group_id = "completion-worker"', 'group_id = "lms-completions"')
                .replace('topics = ["completion-events"]', 'topics = ["lms-completions"]')
                .replace('"completion-events.dlq"', '"lms-completions.dlq"')
                .replace('"completion-events.retry"', '"lms-completions.retry"'))
    rc, out, err = run("completion-worker", "--check-config", "--config", own)
    check(rc == 0, f"a file with topics and a group of its own passes ({rc}) {err[-200:]}")
    group_only = os.path.join(tmp, "group.conf")
    with open(group_only, "w") as f:
        f.write(base.replace('group_id = "completion-worker"', 'group_id = "catalog-worker"'))
    rc, out, err = run("completion-worker", "--check-config", "--config", group_only)
    check(rc == 1 and 'kafka.group_id: "catalog-worker" is catalog-worker\'s consumer group' in err
          and "kafka.topics" not in err,
          f"the other daemon's group id alone is refused, naming only it ({rc})")
    stateful = os.path.join(tmp, "state.conf")
    with open(stateful, "w") as f:
        f.write(base.replace('retry_topic = "completion-events.retry";',
                             'retry_topic = "completion-events.retry";\n'
                             '  state_topic = "completion-events.state";'))
    rc, out, err = run("completion-worker", "--check-config", "--config", stateful)
    check(rc == 1 and "kafka.state_topic: completion-worker keeps no catalog state: only "
          "catalog-worker has a state topic; remove the key" in err,
          f"a state topic for completion-worker is refused ({rc}) {err[-300:]}")

# ---- at run time ----
# the topic carries the other daemon's events (the file is the worker's own):
# (worker, other daemon, its own event for an id, the other's valid event,
#  integration settings, how many of its events the LMS holds, what they are)
RUNS = [
    ("completion-worker", "catalog-worker", lambda i: (i, completion(i, "acme", i)),
     catalog_event("course", "c1", 1), "rate_limit_per_minute = 0;",
     lambda env: len(env.state("acme")["degreed"]["completions"]), "completion"),
    ("catalog-worker", "completion-worker", lambda i: catalog_event("course", i, 1),
     ("c1", completion("c1", "acme", "c1")),
     "rate_limit_per_minute = 0; catalog = { public = true; };",
     lambda env: len(degreed_items(env.state("acme"))), "catalog item"),
]
for name, other, own_event, (okey, ovalue), extra, delivered, what in RUNS:
    renew_ns()
    TOPIC = ns(name.split("-")[0] + "-events")
    DLQ = f"{TOPIC}.dlq"
    state = [f"{TOPIC}.state:1"] if name == "catalog-worker" else []   # the catalog state
    env = Env([f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{DLQ}:1"] + state,
              [degreed_tenant("acme", SECRET)])
    try:
        env.produce_many(TOPIC, [own_event("c0"), ("bad", "not json"), (okey, ovalue),
                                 own_event("c3")])
        integ = degreed_integration(env, "acme-degreed", "acme", "SECRET", extra)
        for attempt in (1, 2):
            w = env.worker(name, integ, env={"SECRET": SECRET})
            rc = w.proc.wait(timeout=60)
            errors = [l for l in w.logs() if l.get("level") == "error"]
            check(rc == 1, f"{name} run {attempt}: the worker stops by itself, exit 1 ({rc})")
            check(len(errors) == 1 and errors[0].get("msg") == "misrouted topic, stopping" and
                  errors[0].get("offset") == 2 and
                  f'topic "{TOPIC}" carries {other}\'s events' in errors[0].get("error", "")
                  and worker_config_path(w) in errors[0].get("error", ""),
                  f"{name} run {attempt}: one error names the topic, the other daemon and the "
                  f"file: {[e.get('error') for e in errors]}")
            dlq = env.consume_all(DLQ)
            check([r["key"] for r in dlq] == ["bad"],
                  f"{name} run {attempt}: only its own invalid event is dead-lettered, not "
                  f"{other}'s event ({[r['key'] for r in dlq]})")
            check(env.committed(ns(name), TOPIC, [0]) == {0: 2},
                  f"{name} run {attempt}: the committed offset stops at {other}'s event (2)")
            n = delivered(env)
            check(n == 1, f"{name} run {attempt}: the {what} before it is delivered, none after "
                          f"({n})")
    finally:
        env.close()

renew_ns()
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"

# ---- SIGHUP to the other daemon's group id: refused, the worker runs on ----
env = Env([f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{DLQ}:1"], [degreed_tenant("acme", SECRET)])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    w = env.worker("completion-worker", integ, env={"SECRET": SECRET})
    conf = worker_config_path(w)
    text = open(conf).read()
    if "group_id = " in text:   # the shared broker: the file names this test's own group
        text = re.sub(r'group_id = "[^"]*";', 'group_id = "catalog-worker";', text)
    else:
        text = text.replace(f'brokers = "{env.brokers}";',
                            f'brokers = "{env.brokers}"; group_id = "catalog-worker";')
    with open(conf, "w") as f:
        f.write(text)
    w.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any("reload refused" in l.get("msg", "") for l in w.logs()), 30,
             "the refused reload")
    check(any("kafka.group_id" in l.get("error", "") and "catalog-worker" in l.get("error", "")
              for l in w.logs() if "reload refused" in l.get("msg", "")),
          "SIGHUP to the other daemon's group id: refused, naming kafka.group_id")
    env.produce_many(TOPIC, [("c9", completion("c9", "acme", "c9"))])
    wait_for(lambda: len(env.state("acme")["degreed"]["completions"]) == 1, 30,
             "a delivery after the refused reload")
    check(w.proc.poll() is None and
          not any(l.get("msg") == "configuration reloaded" for l in w.logs()),
          "the running configuration stays")
    w.stop_and_check()
finally:
    env.close()
finish()
