#!/usr/bin/env python3
"""Two catalog-workers in one group while courses wait in an OCN batch: the
second member joins while the first holds courses in a batch that lingers
longer than the hand-back grace; the courses of the partitions it gives up
go back unsent (offsets not committed) and the new owner delivers them.
Nothing lost, each course in the LMS, offsets committed to the end."""
import time

from catalog_fixtures import catalog_event, ocn_courses, sf_integration, sf_tenant
from harness import Env, check, finish, ns, wait_for, wait_progress

SECRET = "e2e-catalog-group-secret-6"
TOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]
N = 400

# the catalog state, co-partitioned with the source
TOPICS.append(f"{TOPIC}.state:4")
env = Env(TOPICS, [sf_tenant("globex", SECRET, "GLOBEX")])
try:
    integ = sf_integration(env, "globex-sf", "globex", "globex", "GLOBEX", "SECRET",
                           "catalog = { public = true; }; batch_linger_ms = 9000;"
                           " min_post_interval_s = 0;")
    w1 = env.worker("catalog-worker", integ, env={"SECRET": SECRET})
    wait_for(lambda: any(l.get("msg") == "partitions assigned" for l in w1.logs()), 30,
             "w1 joined the group")
    env.produce_many(TOPIC, [catalog_event("course", str(i), 1) for i in range(N)])
    wait_for(lambda: w1.metric("lmsbridge_events_consumed_total", topic=TOPIC) == N,
             30, "w1 consumed everything")
    wait_for(lambda: w1.metric("lmsbridge_inflight") == N, 10, "the gauge")
    check(w1.metric("lmsbridge_inflight") == N and ocn_courses(env.state("globex")) == {},
          "all courses wait in w1's batch (linger 9 s)")
    w2 = env.worker("catalog-worker", integ, env={"SECRET": SECRET})
    wait_for(lambda: w2.assigned(TOPIC) and
             len(w1.assigned(TOPIC)) + len(w2.assigned(TOPIC)) == 4,
             40, "the partitions split")
    handed = [l for l in w1.logs() if l.get("msg") == "partitions revoked, handing back"]
    check(len(handed) >= 1, "w1 handed partitions back while its batch waited")
    wait_progress(lambda: len(ocn_courses(env.state("globex"))), N, "every course")
    check(len(ocn_courses(env.state("globex"))) == N, f"all {N} courses in the LMS")
    ok1 = w1.metric("lmsbridge_deliveries_total", integration="globex-sf", outcome="success")
    ok2 = w2.metric("lmsbridge_deliveries_total", integration="globex-sf", outcome="success")
    check(ok2 > 0 and ok1 + ok2 == N,
          f"w1 sent only the courses of the partitions it kept ({int(ok1)}), w2 the rest "
          f"({int(ok2)}): none sent twice")
    end = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(ns("catalog-worker"), TOPIC, sorted(end)) == end, 30,
             "the commit")
    check(env.committed(ns("catalog-worker"), TOPIC, sorted(end)) == end,
          "the group committed to the end of every partition")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    rc1, _ = w1.stop()
    rc2, _ = w2.stop()
    check(rc1 == 0 and rc2 == 0, "both workers exit 0")
finally:
    env.close()
finish()
