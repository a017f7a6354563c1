#!/usr/bin/env python3
"""An LMS that echoes a secret in its refusal: the dead letter's message and
lmsbridge.http.body headers carry [REDACTED] in its place, as the logs do;
the record's own value (the event, byte for byte) is left as it was."""
from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for)

SECRET = "e2e-redact-secret-41"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{TOPIC}.dlq:1"]

env = Env(TOPICS, [degreed_tenant("acme", SECRET, users=["known@acme.example"])])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "ACME_SECRET")
    w = env.worker("completion-worker", integ, env={"ACME_SECRET": SECRET})
    # a learner whose id is the client secret (a producer's mistake): the LMS
    # does not know them and quotes the identifier back in its 400
    leak = completion("e-leak", "acme", SECRET)
    env.produce_many(TOPIC, [("k1", completion("e-ok", "acme", "known")),
                             ("k2", leak)])
    dlq = wait_for(lambda: env.consume_all(f"{TOPIC}.dlq"), 60, "the dead letter")
    h = dlq[0]["headers"]
    body, message = h.get("lmsbridge.http.body", ""), h.get("__connect.errors.exception.message", "")
    check(h.get("lmsbridge.http.status") == "400" and "Invalid user identifier" in body,
          f"the LMS's refusal is in the dead letter ({body[:80]!r})")
    check(SECRET not in body and "[REDACTED]@acme.example" in body,
          "lmsbridge.http.body: the echoed secret is redacted")
    check(all(SECRET not in v for k, v in h.items() if k.startswith(("lmsbridge.", "__connect."))),
          f"no header the engine wrote holds the secret ({message[:80]!r})")
    check(dlq[0]["payload"] == leak, "the dead letter keeps the event byte for byte")
    w.stop_and_check()
    logs = open(w.log_path).read()
    check(SECRET not in logs, "the worker's log never holds the secret")
finally:
    env.close()
finish()
