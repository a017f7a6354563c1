#!/usr/bin/env python3
"""Support lists and replays with no customer credential, and --grep finds
the LMS's answer. A completion-worker, with every secret it needs, dead-
letters two completions its LMSs refuse (HTTP 400, "Invalid user
identifier" in the body only). Then, in an environment that holds none of
the LMS secrets (the variable unset, the secret file gone: the worker
itself would refuse this environment), dlq-replay reads the worker's own
file: list and --grep on the LMS's answer work, the customers fix their
LMS, replay --yes sends both again and the LMSs receive them. The Kafka
property's secret (sasl.password, unused by the plaintext sandbox) is still
resolved: without its variable dlq-replay refuses to start. No secret
value appears in anything dlq-replay prints."""
import json
import os
import subprocess

from harness import (DLQ_REPLAY, WORKERS, Env, check, completion, degreed_integration,
                     degreed_tenant, dlq_replay, finish, ns, wait_for, worker_config_path)

ACME_SECRET = "e2e-nosecret-acme-5e1"
GLOBEX_SECRET = "e2e-nosecret-globex-7c2"
KAFKA_PASSWORD = "e2e-nosecret-kafka-9d3"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
SECRET_VARS = ("ACME_SECRET", "KAFKA_PASSWORD")


def acme(users):
    return degreed_tenant("acme", ACME_SECRET, users=[f"{u}@acme.example" for u in users])


def globex(users):
    return degreed_tenant("globex", GLOBEX_SECRET, users=[f"{u}@globex.example" for u in users])


def learners(tenant):
    return sorted(c["attributes"]["user-id"] for c in env.state(tenant)["degreed"]["completions"])


for name in SECRET_VARS:
    os.environ.pop(name, None)  # dlq-replay's environment is built from ours
env = Env([f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{DLQ}:1"], [acme(["ann"]), globex(["gil"])])
printed = []  # everything dlq-replay printed


def support(*args, kafka_password=True):
    """dlq-replay as support runs it: no LMS secret in the environment."""
    senv = {"KAFKA_PASSWORD": KAFKA_PASSWORD} if kafka_password else {}
    rc, lines, err = dlq_replay(*args, "--worker", "completion-worker", env=senv)
    printed.append(json.dumps(lines) + err)
    return rc, lines, err


try:
    secret_file = os.path.join(env.dir, "globex.secret")
    with open(secret_file, "w") as f:
        f.write(GLOBEX_SECRET + "\n")
    integs = ", ".join([degreed_integration(env, "acme-degreed", "acme", "ACME_SECRET"),
                        degreed_integration(env, "globex-degreed", "globex", "UNUSED")
                        .replace('"@env:UNUSED"', f'"@file:{secret_file}"')])
    w = env.worker("completion-worker", integs,
                   extra_kafka=', ["sasl.password", "@env:KAFKA_PASSWORD"]',
                   env={"ACME_SECRET": ACME_SECRET, "KAFKA_PASSWORD": KAFKA_PASSWORD})
    conf = worker_config_path(w)

    env.produce_many(TOPIC, [("ann", completion("e-ann", "acme", "ann")),
                             ("zoe", completion("e-zoe", "acme", "zoe")),
                             ("gil", completion("e-gil", "globex", "gil")),
                             ("gus", completion("e-gus", "globex", "gus"))])
    wait_for(lambda: len(env.consume_all(DLQ)) >= 2, 60, "2 dead letters")
    check(learners("acme") == ["ann@acme.example"] and learners("globex") == ["gil@globex.example"],
          "the worker delivered the two known learners, dead-lettered the two others")

    # support's machine: no LMS secret at all
    os.remove(secret_file)
    penv = dict(os.environ, KAFKA_PASSWORD=KAFKA_PASSWORD)
    p = subprocess.run([WORKERS["completion-worker"], "--config", conf, "--check-config"],
                       capture_output=True, text=True, timeout=60, env=penv)
    check(p.returncode == 1 and "ACME_SECRET" in p.stdout + p.stderr and
          "globex.secret" in p.stdout + p.stderr,
          f"this environment lacks the LMS secrets: the worker itself refuses it "
          f"(exit {p.returncode})")

    rc, lines, err = support("list", "--config", conf)
    by_key = {l.get("key"): l for l in lines}
    ok = rc == 0 and sorted(by_key) == ["gus", "zoe"]
    check(ok, f"list without LMS secrets: both dead letters (exit {rc}, {sorted(by_key)})"
              + ("" if ok else f": {err[-300:]}"))
    check(lines and all(l.get("http_status") == 400 and "Invalid user identifier" in l.get("http_body", "")
              and "invalid user" not in (l.get("message") or "").lower() for l in lines),
          "the LMS's 'Invalid user identifier' is in the body only, not in the message")
    rc, lines, _ = support("list", "--config", conf, "--count")
    check(rc == 0 and lines and lines[0]["by_integration"] == {"acme-degreed": 1,
                                                                "globex-degreed": 1},
          "list --count without LMS secrets")

    # --grep searches the LMS's answer and the other headers
    GREPS = [
        (["--grep", "invalid user"], ["gus", "zoe"]),
        (["--grep", "INVALID USER IDENTIFIER: ZOE@"], ["zoe"]),
        (["--grep", "invalid user", "--integration", "globex-degreed"], ["gus"]),
        (["--grep", "globex-degreed"], ["gus"]),          # lmsbridge.integration
        (["--grep", "permanent_HTTP"], ["gus", "zoe"]),   # the class name
        (["--grep", "rejected by the lms"], ["gus", "zoe"]),  # the message
        (["--grep", "no such text anywhere"], []),
    ]
    bad = []
    for args, want in GREPS:
        rc, lines, _ = support("list", "--config", conf, *args)
        got = sorted(l.get("key") for l in lines)
        if rc != 0 or got != want:
            bad.append((args, got, want, rc))
    check(not bad, f"--grep finds the LMS's answer and the text headers, case ignored {bad}")
    rc, lines, _ = support("replay", "--config", conf, "--dry-run", "--grep", "invalid user")
    check(rc == 0 and lines and lines[-1].get("matched") == 2 and lines[-1].get("to_replay") == 2,
          "replay --dry-run --grep \"invalid user\": both selected")
    h = subprocess.run([DLQ_REPLAY, "--help"], capture_output=True, text=True, timeout=30)
    grep_help = h.stdout[h.stdout.find("--grep"):h.stdout.find("\n\n", h.stdout.find("--grep"))]
    check(h.returncode == 0 and "lmsbridge.http.body" in grep_help and "message" in grep_help
          and "header" in grep_help, "--help says what --grep searches")

    # the customers fix their LMS; support replays, still without secrets
    check(env.lms_post("/_sandbox/tenants", acme(["ann", "zoe"]))[0] == 200 and
          env.lms_post("/_sandbox/tenants", globex(["gil", "gus"]))[0] == 200,
          "the LMSs now know zoe and gus")
    rc, lines, err = support("replay", "--config", conf, "--yes")
    done = lines[-1] if lines else {}
    ok = (rc == 0 and done.get("summary") == "replay" and done.get("replayed") == 2 and
          done.get("failed") == 0)
    check(ok, f"replay --yes without LMS secrets: 2 replayed (exit {rc})"
              + ("" if ok else f": {err[-300:]}"))
    wait_for(lambda: len(learners("acme")) == 2 and len(learners("globex")) == 2, 60,
             "the replayed completions")
    check(learners("acme") == ["ann@acme.example", "zoe@acme.example"] and
          learners("globex") == ["gil@globex.example", "gus@globex.example"],
          "the worker delivered both replayed completions")

    # Kafka's own secret is still resolved (and required)
    rc, lines, err = support("list", "--config", conf, kafka_password=False)
    check(rc == 1 and not lines and "sasl.password" in err and "KAFKA_PASSWORD" in err,
          f"without the Kafka property's variable: exit 1, kafka.properties named (exit {rc})")

    out = "".join(printed)
    check(not any(s in out for s in (ACME_SECRET, GLOBEX_SECRET, KAFKA_PASSWORD)),
          "no secret value in anything dlq-replay printed")
    w.stop_and_check()
finally:
    env.close()
finish()
