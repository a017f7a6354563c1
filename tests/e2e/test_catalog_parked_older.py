#!/usr/bin/env python3
"""A parked older version that comes back while a newer version of its item
is on the wire is skipped once the newer one succeeds: the LMS keeps the
newer one. Version 1 of a course meets a Degreed 503 (parked, 30 s at
least); version 2 is produced 7 s before version 1 is due and answered after
14 s (within the 20 s request timeout), so version 1, back from the retry
topic, waits behind it on the item's key (7 s is the margin a busy
machine has to consume version 2 and put it on the wire)."""
import time

from catalog_fixtures import catalog_event, degreed, degreed_items
from harness import Env, check, degreed_tenant, finish, ns, wait_for

SECRET = "e2e-catalog-parked-older-secret-3"
TOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{TOPIC}.dlq:1", f"{TOPIC}.state:1"]

env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    integ = degreed(env, "acme-degreed", "acme", "acme", "SECRET", "catalog = { public = true; };")
    w = env.worker("catalog-worker", integ, env={"SECRET": SECRET})
    env.lms_post("/_sandbox/faults", {"tenant": "acme", "outage": {"seconds": 10, "api": "degreed"}})
    env.produce_many(TOPIC, [catalog_event("course", "7", 1)])
    wait_for(lambda: any(l.get("msg") == "delivery must wait, parked in the retry topic"
                         for l in w.logs()), 30, "version 1 parked")
    parked = [l for l in w.logs() if l.get("msg") == "delivery must wait, parked in the retry topic"]
    due = parked[0]["not_before_ms"] / 1000
    env.lms_post("/_sandbox/faults", {"tenant": "acme", "outage": None,
                                      "latency": {"ms": 14000, "api": "degreed"}})
    time.sleep(max(0, due - 7 - time.time()))
    env.produce_many(TOPIC, [catalog_event("course", "7", 2)])
    wait_for(lambda: w.metric("lmsbridge_deliveries_total", integration="acme-degreed",
                              outcome="success") + w.metric("lmsbridge_deliveries_total",
                                                           integration="acme-degreed",
                                                           outcome="skipped") >= 2,
             90, "both versions finished")
    title = degreed_items(env.state("acme")).get("course-7", {}).get("title", "")
    check(title.startswith("course 7 v2"), f"the LMS keeps version 2 ({title!r})")
    check(any(l.get("msg") == "not sent" and l.get("version") == 1 for l in w.logs()),
          "version 1, back from the retry topic behind version 2, is not sent")
    w.stop_and_check()
finally:
    env.close()
finish()
