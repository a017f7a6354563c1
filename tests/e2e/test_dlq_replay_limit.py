#!/usr/bin/env python3
"""The replay limit stops a loop: a learner the LMS will never know fails
for good on every delivery. Each replay sends the newest dead letter back
with lmsbridge.replays + 1; the worker dead-letters it again carrying that
count; after --max-replays 3 replays the fourth run refuses it (counted as
replay_limit) and the loop ends: 4 dead letters, 4 attempts at the LMS."""
from harness import (Env, check, completion, degreed_integration, degreed_tenant, dlq_replay,
                     finish, ns, settle, wait_for, worker_config_path)

SECRET = "e2e-dlq-limit-secret-12"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
TOPICS = [f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{DLQ}:1"]


def attempts():
    return [r for r in env.lms_requests("acme")
            if r["method"] == "POST" and r["path"].endswith("/api/v2/completions")]


env = Env(TOPICS, [degreed_tenant("acme", SECRET, users=["someone@acme.example"])])
try:
    w = env.worker("completion-worker", degreed_integration(env, "acme-degreed", "acme", "SECRET"),
                   env={"SECRET": SECRET})
    args = ["--config", worker_config_path(w), "--worker", "completion-worker",
            "--max-replays", "3", "--yes"]
    env.produce_many(TOPIC, [("zed", completion("e-zed", "acme", "zed"))])
    wait_for(lambda: len(env.consume_all(DLQ)) == 1, 30, "the first dead letter")

    runs = []
    for n in range(1, 4):
        rc, lines, _ = dlq_replay("replay", *args, env={"SECRET": SECRET})
        runs.append((rc, lines[-1].get("replayed"), lines[0].get("refused", {}).get("replay_limit")))
        wait_for(lambda: len(env.consume_all(DLQ)) == n + 1, 30, f"dead letter {n + 1}")
    check(runs == [(0, 1, 0)] * 3, f"three runs replay the newest dead letter once each {runs}")
    dlq = env.consume_all(DLQ)
    check([r["headers"]["lmsbridge.replays"] for r in dlq] == ["0", "1", "2", "3"] and
          all(r["key"] == "zed" and r["headers"]["lmsbridge.integration"] == "acme-degreed"
              for r in dlq), "each failure carries the replay count it came with: 0, 1, 2, 3")

    rc, lines, _ = dlq_replay("replay", *args, env={"SECRET": SECRET})
    check(rc == 0 and lines[0]["matched"] == 1 and lines[0]["to_replay"] == 0 and
          lines[0]["refused"]["replay_limit"] == 1 and lines[-1]["replayed"] == 0 and
          lines[-1]["refused"] == 1, "the fourth run refuses it: replay_limit counted")
    # the refusing run wrote nothing back, and the worker has consumed all the
    # topic holds (the event and its 3 replays): no fifth dead letter can come
    end = env.end_offsets(TOPIC)
    check(end == {0: 4}, f"the topic holds the event and its 3 replays, nothing more ({end})")
    consumed = settle(lambda: w.metric("lmsbridge_events_consumed_total", topic=TOPIC),
                      lambda n: n >= 4, 60)
    check(consumed == 4 and len(env.consume_all(DLQ)) == 4,
          f"the loop has stopped: 4 consumed ({consumed:.0f}), 4 dead letters")
    check(len(attempts()) == 4 and all(r["status"] == 400 for r in attempts()),
          "the LMS was tried 4 times in all")
    rc, lines, _ = dlq_replay("replay", *args, "--max-replays", "5", "--key", "zed",
                              "--dry-run", env={"SECRET": SECRET})
    check(rc == 0 and [l["action"] for l in lines if "action" in l] ==
          ["replay", "replay", "replay", "replay"],
          "an explicit selection with a higher limit could replay it again (dry run)")
    w.stop_and_check()
finally:
    env.close()
finish()
