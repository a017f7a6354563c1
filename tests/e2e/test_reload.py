#!/usr/bin/env python3
"""SIGHUP reloads the integrations: a customer added to the file receives
its completions after the reload (the worker drains, commits and starts
again with the new file, exit code untouched); an invalid file is refused
in one error line naming the file, line and key, and the running
configuration keeps working without a restart."""
import signal

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for)

SECRET = "e2e-reload-secret-21"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]

env = Env(TOPICS, [degreed_tenant("acme", SECRET), degreed_tenant("globex", SECRET)])
try:
    acme = degreed_integration(env, "acme-degreed", "acme", "SECRET")
    w = env.worker("completion-worker", acme, env={"SECRET": SECRET})
    conf_path = w.log_path[:-len(".log")] + ".conf"
    original = open(conf_path).read()
    env.produce_many(TOPIC, [("a1", completion("a1", "acme", "a1"))])
    wait_for(lambda: len(env.state("acme")["degreed"]["completions"]) == 1, 30, "acme's first")

    # a new customer in the file, then SIGHUP
    globex = degreed_integration(env, "globex-degreed", "globex", "SECRET")
    with open(conf_path, "w") as f:
        f.write(original.replace(acme, acme + ", " + globex))
    w.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(l.get("msg") == "configuration reloaded" for l in w.logs()), 30,
             "the reload")
    # the kafka settings are the same: the worker keeps its partitions
    wait_for(lambda: w.get("/readyz")[0] == 200, 30, "ready again")
    env.produce_many(TOPIC, [("g1", completion("g1", "globex", "g1")),
                             ("a2", completion("a2", "acme", "a2"))])
    wait_for(lambda: len(env.state("globex")["degreed"]["completions"]) == 1 and
             len(env.state("acme")["degreed"]["completions"]) == 2, 60,
             "both customers after the reload")
    check(len(env.state("globex")["degreed"]["completions"]) == 1,
          "after SIGHUP the new customer receives its completions")
    check(len(env.state("acme")["degreed"]["completions"]) == 2 and
          sum(c["repeats"] for c in env.state("acme")["degreed"]["completions"]) == 0,
          "the existing customer goes on, nothing delivered twice")
    check(w.proc.poll() is None, "the same process runs on")

    # an invalid file: refused, nothing restarts, deliveries go on
    starts = sum(1 for l in w.logs() if l.get("msg") == "starting")
    with open(conf_path, "w") as f:
        f.write(original.replace(acme, acme + ", " + globex.replace('type = "degreed"',
                                                                   'type = "moodle"')))
    before = len(w.logs())
    w.proc.send_signal(signal.SIGHUP)
    refused = "invalid configuration, reload refused, keeping the running configuration"
    wait_for(lambda: any(l.get("msg") == refused for l in w.logs()[before:]), 30, "the refusal")
    env.produce_many(TOPIC, [("g2", completion("g2", "globex", "g2"))])
    wait_for(lambda: len(env.state("globex")["degreed"]["completions"]) == 2, 30,
             "globex after the refused reload")
    # counted after a delivery that followed the refusal: a second line
    # about it would be written by now
    errors = [l for l in w.logs()[before:] if l.get("level") == "error"]
    check(len(errors) == 1 and errors[0].get("msg") == refused and
          errors[0].get("error", "").startswith(conf_path + ":") and
          ": integrations[1].type: " in errors[0]["error"],
          "the refusal is one error line naming the file, the line and the key "
          f"({len(errors)} error line(s))")
    check(len(env.state("globex")["degreed"]["completions"]) == 2 and
          sum(1 for l in w.logs() if l.get("msg") == "starting") == starts,
          "the running configuration keeps working, without a restart")
    check(all(SECRET not in str(l) for l in w.logs()), "no secret in the logs")
    w.stop_and_check()
finally:
    env.close()
finish()
