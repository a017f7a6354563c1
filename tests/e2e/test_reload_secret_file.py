#!/usr/bin/env python3
"""A customer secret given as "@file:PATH" is read again at a SIGHUP
(docs/operations.md, "What a reload picks up"), and only then: the
customer rotates its Degreed client secret (lms-sandbox's tenant now
accepts only the new one, its live tokens expired) and the operator puts
the new secret in the file. Until the SIGHUP the worker still asks for
tokens with the old secret, which the LMS refuses (403), and the waiting
completion is not lost; after it, the worker's token requests carry the
new secret (the LMS grants them) and the completion is delivered, once.
Before that, a SIGHUP that changes nothing keeps the live token: the next
completion goes without a token request.
Neither secret appears in the worker's output."""
import os
import signal
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, info,
                     ns, wait_for, worker_config_path)

OLD = "e2e-secretfile-old-31"
NEW = "e2e-secretfile-new-47"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{TOPIC}.dlq:1"]


def token_answers():
    """The statuses of acme's token requests, in order."""
    return [r["status"] for r in env.lms_requests("acme") if r["path"].endswith("/oauth/token")]


def delivered():
    return env.state("acme")["degreed"]["completions"]


def write_secret(path, value):
    """As an operator does: a new file renamed over the old one (one
    trailing newline, which the worker drops)."""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(value + "\n")
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


env = Env(TOPICS, [degreed_tenant("acme", OLD)])
try:
    secret_file = os.path.join(env.dir, "acme-degreed.client_secret")
    write_secret(secret_file, OLD)
    integ = degreed_integration(env, "acme-degreed", "acme", "UNUSED").replace(
        '"@env:UNUSED"', f'"@file:{secret_file}"')
    check(f'"@file:{secret_file}"' in integ,
          "the integration's client_secret is an @file: reference")
    w = env.worker("completion-worker", integ)
    check(f'@file:{secret_file}' in open(worker_config_path(w)).read(),
          "the worker's file names the secret file, not the secret")

    env.produce_many(TOPIC, [("c1", completion("c1", "acme", "c1"))])
    wait_for(lambda: len(delivered()) == 1, 60, "the first completion")
    check(token_answers() == [200], f"with the old secret the LMS grants a token "
          f"({token_answers()})")

    # a reload that changes nothing a token was issued for keeps the token:
    # no token request (a reload of 1,000 customers must not ask 1,000
    # token endpoints at once)
    w.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: [l for l in w.logs() if l.get("msg") == "configuration reloaded"], 120,
             "a reload with nothing changed")
    kept = [l.get("count") for l in w.logs() if l.get("msg") == "reload: tokens kept"]
    env.produce_many(TOPIC, [("c1b", completion("c1b", "acme", "c1b"))])
    wait_for(lambda: len(delivered()) == 2, 60, "a completion after that reload")
    check(kept == [1] and token_answers() == [200],
          f"the reload kept the token ({kept}): the completion after it went without a token "
          f"request ({token_answers()})")

    # the customer rotates: only the new secret is accepted, tokens expire;
    # the operator puts the new secret in the file
    code, body = env.lms_post("/_sandbox/tenants", degreed_tenant("acme", NEW))
    check(code == 200, f"lms-sandbox: acme now accepts only the new secret ({code})")
    code, body = env.lms_post("/_sandbox/tokens/expire?tenant=acme", {})
    check(code == 200, f"lms-sandbox: acme's live tokens expired ({code} {body})")
    write_secret(secret_file, NEW)

    # before the SIGHUP the worker keeps the secret it read at start
    before = len(token_answers())
    env.produce_many(TOPIC, [("c2", completion("c2", "acme", "c2"))])
    wait_for(lambda: 403 in token_answers()[before:], 120, "a token request refused")
    check(len(delivered()) == 2,
          "without a reload the worker asks with the old secret: refused (403), c2 waits")

    refused = len(token_answers())
    t0 = time.time()
    w.proc.send_signal(signal.SIGHUP)
    reloaded = wait_for(lambda: [l for l in w.logs() if l.get("msg") == "configuration reloaded"]
                        [1:], 120, "the reload")
    reload_s = time.time() - t0
    check(reloaded[0].get("kafka") == "same clients, partitions kept",
          f"a customer secret is no Kafka setting: the clients are kept "
          f"({reloaded[0].get('kafka')})")
    wait_for(lambda: len(delivered()) == 3, 300, "the waiting completion after the reload")
    info(f"SIGHUP to 'configuration reloaded' {reload_s:.1f} s (the waiting delivery drains "
         f"first), to the delivery {time.time() - t0:.1f} s")
    after = token_answers()[refused:]
    # a token request in flight at the SIGHUP may still have used the old
    # one; once one carried the new secret, none carries the old again
    first_ok = after.index(200) if 200 in after else len(after)
    check(200 in after and 403 not in after[first_ok:],
          f"after the reload the worker's token requests carry the new secret: the LMS "
          f"grants them ({after})")
    done = delivered()
    check(len(done) == 3 and sum(c["repeats"] for c in done) == 0,
          f"the completion that waited is delivered after the reload, once ({len(done)})")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    info(f"token answers: {token_answers()}")
    w.stop_and_check()
    log = open(w.log_path).read()
    check(OLD not in log and NEW not in log, "neither secret in the worker's output")
finally:
    env.close()
finish()
