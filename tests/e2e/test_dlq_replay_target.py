#!/usr/bin/env python3
"""Replay reaches the failed integration only. One customer (acme) has two
Degreed integrations; one of them does not know two learners yet, so their
completions are dead-lettered for it (permanent_http) while the other
integration receives every completion; two invalid events are
dead-lettered too. The customer adds the learners; replay --yes
republishes the two failures with lmsbridge.target: the fixed integration
receives them, the other receives nothing twice, the invalid events are
refused (no integration to target), nothing is deleted from the DLQ, and
the same command run again replays nothing. --untargeted then sends the
invalid events through the worker again: dead-lettered anew, with
lmsbridge.replays = 1."""
import json

from harness import (Env, check, completion, degreed_integration, degreed_tenant, dlq_replay,
                     finish, ns, wait_for, worker_config_path)

SECRET = "e2e-dlq-target-secret-61"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{DLQ}:1"]
USERS = [f"u{i}" for i in range(10)]
MISSING = ["u8", "u9"]  # not in the picky LMS's user list at first


def completions(tenant):
    return env.state(tenant)["degreed"]["completions"]


def picky(users):
    return degreed_tenant("picky", SECRET, users=[f"{u}@acme.example" for u in users])


def posts(tenant):
    return [r for r in env.lms_requests(tenant)
            if r["method"] == "POST" and r["path"].endswith("/api/v2/completions")]


env = Env(TOPICS, [degreed_tenant("happy", SECRET),
                   picky([u for u in USERS if u not in MISSING])])
try:
    integs = ", ".join([degreed_integration(env, "happy-degreed", "happy", "SECRET"),
                        degreed_integration(env, "picky-degreed", "picky", "SECRET")])
    integs = integs.replace('organization = "happy"', 'organization = "acme"')
    integs = integs.replace('organization = "picky"', 'organization = "acme"')
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    conf = worker_config_path(w)
    args = ["--config", conf, "--worker", "completion-worker"]

    records = [(u, completion(f"e-{u}", "acme", u)) for u in USERS]
    records += [("bad1", "not json"), ("bad2", '{"schema":"completion.v1"}')]
    env.produce_many(TOPIC, records)
    wait_for(lambda: len(env.consume_all(DLQ)) >= 4, 30, "4 dead letters")
    wait_for(lambda: len(completions("happy")) == 10, 30, "happy's completions")
    check(len(completions("happy")) == 10 and len(completions("picky")) == 8,
          "before: happy-degreed has all 10 completions, picky-degreed 8")
    original = {r["key"]: r for r in env.consume_all(TOPIC)}

    rc, lines, _ = dlq_replay("list", *args, "--count", env={"SECRET": SECRET})
    check(rc == 0 and lines[0]["by_integration_and_reason"] ==
          {"picky-degreed": {"permanent_http": 2}, "(none)": {"invalid_event": 2}},
          f"list --count: 2 refusals by picky-degreed, 2 invalid events ({lines})")
    rc, lines, _ = dlq_replay("list", *args, "--integration", "picky-degreed",
                              env={"SECRET": SECRET})
    check(sorted(l["key"] for l in lines) == MISSING and
          all(l["http_status"] == 400 and "Invalid user identifier" in l["http_body"]
              for l in lines), "list: the LMS's answer for each failed learner")

    # the customer adds the learners; replay
    code, _ = env.lms_post("/_sandbox/tenants", picky(USERS))
    check(code == 200, "picky LMS now knows every learner")
    happy_posts = len(posts("happy"))
    rc, lines, err = dlq_replay("replay", *args, "--yes", env={"SECRET": SECRET})
    plan, done = lines[0], lines[-1]
    check(rc == 0 and plan["to_replay"] == 2 and plan["refused"]["no_integration"] == 2,
          f"replay: plan of 2 to replay, 2 refused (no integration) (exit {rc})")
    check(done.get("summary") == "replay" and done["replayed"] == 2 and done["failed"] == 0 and
          done["committed"] == {"0": 4}, f"replay: 2 republished, progress committed ({done})")
    wait_for(lambda: len(completions("picky")) == 10, 30, "the replayed completions")
    check(len(completions("picky")) == 10 and
          {c["attributes"]["user-id"] for c in completions("picky")} >=
          {f"{u}@acme.example" for u in MISSING},
          "picky-degreed received the two replayed completions")
    replayed = [r for r in env.consume_all(TOPIC) if "lmsbridge.target" in r["headers"]]
    check(sorted(r["key"] for r in replayed) == MISSING and
          all(r["headers"]["lmsbridge.target"] == "picky-degreed" and
              r["headers"]["lmsbridge.replays"] == "1" and
              r["headers"]["lmsbridge.replayed_from"].startswith(f"{DLQ}/0/") and
              r["payload"] == original[r["key"]]["payload"] and
              r["partition"] == original[r["key"]]["partition"] and
              not any(h.startswith("__connect.") for h in r["headers"])
              for r in replayed),
          "republished: same key, value and partition, lmsbridge.target, replays 1")
    wait_for(lambda: w.metric("lmsbridge_events_consumed_total", topic=TOPIC) >= 14, 20,
             "the replays consumed")
    check(len(posts("happy")) == happy_posts and len(completions("happy")) == 10 and
          sum(c["repeats"] for c in completions("happy")) == 0,
          "happy-degreed received nothing twice (no request at all)")
    check(w.metric("lmsbridge_deliveries_total", integration="happy-degreed",
                   outcome="success") == 10, "metric: 10 deliveries to happy-degreed, not 12")
    check(len(env.consume_all(DLQ)) == 4, "nothing deleted from the DLQ, nothing added")

    rc, lines, _ = dlq_replay("replay", *args, "--yes", env={"SECRET": SECRET})
    check(rc == 0 and lines[0]["matched"] == 0 and lines[-1]["replayed"] == 0,
          "the same command again: nothing left to replay")
    rc, lines, _ = dlq_replay("list", *args, env={"SECRET": SECRET})
    check(len(lines) == 4, "list still shows every dead letter")

    # invalid events, on request, through the worker again
    rc, lines, _ = dlq_replay("replay", *args, "--yes", "--reason", "invalid_event",
                              "--untargeted", env={"SECRET": SECRET})
    check(rc == 0 and lines[-1]["replayed"] == 2, "--untargeted: the 2 invalid events replayed")
    dlq = wait_for(lambda: (lambda r: r if len(r) >= 6 else None)(env.consume_all(DLQ)), 30,
                   "the invalid events dead-lettered again")
    again = dlq[4:]
    check(sorted(r["key"] for r in again) == ["bad1", "bad2"] and
          all(r["headers"]["lmsbridge.replays"] == "1" and
              r["headers"]["__connect.errors.exception.class.name"] == "invalid_event"
              for r in again), "they fail the same way: new dead letters with replays 1")
    check(len(completions("happy")) == 10 and len(completions("picky")) == 10,
          "no LMS received anything from them")
    check(SECRET not in json.dumps(dlq) and all(SECRET not in str(l) for l in w.logs()),
          "no secret in dead letters or logs")
    w.stop_and_check()
finally:
    env.close()
finish()
