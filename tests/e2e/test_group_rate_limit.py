#!/usr/bin/env python3
"""Rate limits are the group's, not each process's (issue 16 item 5,
docs/delivery.md "Rate limits"): three completion-workers in one group
consume co-partitioned topics (6 partitions each, two per member); a
customer whose Degreed allows 60 requests a minute (lms-sandbox counts them
per API client, in fixed windows) and whose integration says so
(rate_limit_per_minute = 60), and another customer without a limit. 600 of
the limited customer's completions spread over every partition, then 300 of
the other's. Each member's lmsbridge_rate_limit_share is 1/3 (the source
partitions it holds over all of them), so the group together keeps to the
limit: measured from lms-sandbox's request log over about three minutes,
the most requests in any 60 s window stays at or under 66 (the limit plus
a tenth of it, the members' bursts) and the 429s at or under 3; the other
customer's 300 are all delivered meanwhile, while the limited customer's
are still draining (they wait, parked when the wait is long; none is
dead-lettered). The same figure with one member alone is printed for
comparison (INFO, not asserted beyond the same bounds)."""
import time

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     most_in_window, renew_ns, wait_for, wait_progress)

SECRET = "e2e-group-rate-secret-16"
LIMIT, PARTITIONS = 60, 6
LIMITED, OTHER = 600, 300
WINDOW_S = 60
MEASURE_S = 180        # three minutes of windows with three members
MEASURE_ONE_S = 125    # two with one member (the comparison)


def measured_for(env, tenant, seconds):
    """Waits until the tenant's requests span `seconds` (the measurement
    runs on the LMS's clock, as long as requests keep coming)."""
    def span():
        times, _ = env.lms_api_times(tenant)
        return int(times[-1] - times[0]) if times else 0
    wait_progress(span, seconds, f"{seconds} s of {tenant}'s requests", stall=90, interval=2)


def run(members, limited, other, seconds):
    """One group of `members` workers on fresh topics and a fresh LMS:
    (most requests in a 60 s window, 429s, the limited customer's
    deliveries, the other's, dead letters, the shares)."""
    renew_ns()
    topic = ns("completion-events")
    env = Env([f"{topic}:{PARTITIONS}", f"{topic}.retry:{PARTITIONS}", f"{topic}.dlq:1"],
              [degreed_tenant("limited", SECRET, rate_limit_per_minute=LIMIT),
               degreed_tenant("other", SECRET)])
    try:
        integs = ", ".join([
            degreed_integration(env, "limited-degreed", "limited", "SECRET",
                                extra=f"rate_limit_per_minute = {LIMIT};"),
            degreed_integration(env, "other-degreed", "other", "SECRET")])
        workers = [env.worker("completion-worker", integs, env={"SECRET": SECRET})
                   for _ in range(members)]

        def shares():
            s = [w.metric("lmsbridge_rate_limit_share") for w in workers]
            return s if all(abs(x - 1 / members) < 1e-6 for x in s) else None
        got = wait_for(shares, 120, f"each of {members} members holding 1/{members}")
        t0 = time.time()
        env.produce_many(topic, [(f"l{i}", completion(f"l{i}", "limited", f"l{i}"))
                                 for i in range(limited)])
        env.produce_many(topic, [(f"o{i}", completion(f"o{i}", "other", f"o{i}"))
                                 for i in range(other)])
        wait_progress(lambda: len(env.state("other")["degreed"]["completions"]), other,
                      "the other customer's completions")
        other_s = time.time() - t0
        limited_then = len(env.state("limited")["degreed"]["completions"])
        measured_for(env, "limited", seconds)
        times, refused = env.lms_api_times("limited")
        state = env.state("limited")["degreed"]
        dead = sum(w.metric("lmsbridge_dlq_records_total", reason=r) for w in workers
                   for r in ("retries_exhausted", "permanent_http"))
        for i, w in enumerate(workers):
            w.stop_and_check(f"member {i + 1} of {members}")
        return {"most": most_in_window(times, WINDOW_S), "refused": refused,
                "sandbox_refused": state["rate_limited_requests"],
                "limited_done": len(state["completions"]), "limited_then": limited_then,
                "other_done": len(env.state("other")["degreed"]["completions"]),
                "other_s": other_s, "dead": dead, "shares": got,
                "span": int(times[-1] - times[0]) if times else 0}
    finally:
        env.close()


three = run(3, LIMITED, OTHER, MEASURE_S)
print(f"INFO three members (share {three['shares']}): most requests in any {WINDOW_S} s window "
      f"{three['most']} (limit {LIMIT}/min), 429s {three['refused']} (sandbox count "
      f"{three['sandbox_refused']}) over {three['span']} s; the limited customer's "
      f"{three['limited_done']} of {LIMITED} delivered; the other customer's {OTHER} within "
      f"{three['other_s']:.1f} s of the first produce", flush=True)
check(three["most"] <= LIMIT * 1.1,
      f"three members: at most {int(LIMIT * 1.1)} requests in any {WINDOW_S} s window "
      f"({three['most']})")
check(three["refused"] <= 3 and three["sandbox_refused"] <= 3,
      f"three members: at most 3 answered 429 ({three['refused']}, sandbox "
      f"{three['sandbox_refused']})")
check(three["other_done"] == OTHER and three["limited_then"] < LIMITED,
      f"the other customer's {OTHER} all delivered while the limited customer's were still "
      f"draining ({three['limited_then']} of {LIMITED} then)")
check(three["limited_done"] > 0 and three["dead"] == 0,
      f"the limited customer's completions wait, none dead-lettered "
      f"({three['limited_done']} delivered)")

one = run(1, LIMITED // 2, OTHER // 3, MEASURE_ONE_S)
print(f"INFO one member (share {one['shares']}): most requests in any {WINDOW_S} s window "
      f"{one['most']}, 429s {one['refused']} (sandbox count {one['sandbox_refused']}) over "
      f"{one['span']} s; the limited customer's {one['limited_done']} of {LIMITED // 2} "
      f"delivered", flush=True)
check(one["most"] <= LIMIT * 1.1 and one["refused"] <= 3,
      f"one member keeps to the same bounds ({one['most']}, {one['refused']} 429s)")
finish()
