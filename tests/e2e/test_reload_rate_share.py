#!/usr/bin/env python3
"""A SIGHUP reload builds a new delivery client: it must send the member's
share of a rate limit, not the whole of it. Two members of one group each
hold one of the two source partitions (a share of 1/2); a customer's
integration allows 60 requests a minute (lms-sandbox itself does not limit
it). Both members are reloaded with their file (the kafka settings kept:
same clients, same partitions); then 150 of the customer's completions.
Together the members may send 30 a minute each plus a burst of 3 each: at
most 36 requests in any 30 s window (a member that had lost its share to
the reload would send 60 a minute, and the two together about 72)."""
import signal
from datetime import datetime

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for, wait_progress)

SECRET = "e2e-reload-share-secret-16"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]
LIMIT, N, WINDOW_S, SPAN_S = 60, 150, 30, 50


def api_times():
    return sorted(datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).timestamp()
                  for r in env.lms_requests("acme") if "/oauth/" not in r["path"])


def most_in_window(times, window):
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "SECRET",
                                extra=f"rate_limit_per_minute = {LIMIT};")
    members = [env.worker("completion-worker", integ, env={"SECRET": SECRET}) for _ in range(2)]
    wait_for(lambda: all(w.metric("lmsbridge_rate_limit_share") == 0.5 for w in members), 120,
             "each member holding one of the two source partitions")

    for w in members:
        w.proc.send_signal(signal.SIGHUP)
    for w in members:
        reloaded = wait_for(lambda: [l for l in w.logs()
                                     if l.get("msg") == "configuration reloaded"], 120,
                            "the reload")
        check(reloaded[0].get("kafka") == "same clients, partitions kept",
              f"the reload keeps the Kafka clients and partitions ({reloaded[0].get('kafka')})")
    wait_for(lambda: all(w.get("/readyz")[0] == 200 for w in members), 120, "ready again")
    shares = [w.metric("lmsbridge_rate_limit_share") for w in members]
    check(shares == [0.5, 0.5], f"after the reload each member's share is still 1/2 ({shares})")

    env.produce_many(TOPIC, [(f"u{i}", completion(f"u{i}", "acme", f"u{i}")) for i in range(N)])
    wait_progress(lambda: (lambda t: int(t[-1] - t[0]) if t else 0)(api_times()), SPAN_S,
                  f"{SPAN_S} s of the customer's requests", stall=90, interval=2)
    times = api_times()
    most = most_in_window(times, WINDOW_S)
    bound = LIMIT * WINDOW_S // 60 + 2 * (LIMIT // 2 // 10)
    print(f"INFO after the reload, two members with 1/2 each: most requests in any {WINDOW_S} s "
          f"window {most} ({len(times)} in {times[-1] - times[0]:.0f} s; bound {bound})",
          flush=True)
    check(most <= bound,
          f"the reloaded members keep to their shares: at most {bound} requests in any "
          f"{WINDOW_S} s window ({most})")
    for i, w in enumerate(members):
        w.stop_and_check(f"member {i + 1}")
finally:
    env.close()
finish()
