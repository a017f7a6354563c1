#!/usr/bin/env python3
"""A whole catalog to one SuccessFactors customer: 10,000 items take at most
20 OcnCourses POSTs (batch_size 500, the default), every course arrives
once, and the committed offsets reach the end."""
import time

from catalog_fixtures import ocn_courses, ocn_posts, sf_integration, sf_tenant, catalog_event
from harness import Env, check, finish, ns, wait_for

SECRET = "e2e-catalog-bulk-secret-2"
TOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]
N = 10000
TYPES = ["course", "project", "practice", "assessment", "skill_track", "career_track"]

# the catalog state, co-partitioned with the source
TOPICS.append(f"{TOPIC}.state:4")
env = Env(TOPICS, [sf_tenant("globex", SECRET, "GLOBEX")])
try:
    integ = sf_integration(env, "globex-sf", "globex", "globex", "GLOBEX", "SECRET",
                           # a long linger: a pause in the feed (a busy CI machine,
                           # the sanitizers) must not close a batch short of 500
                           "catalog = { public = true; }; min_post_interval_s = 0; "
                           "batch_linger_ms = 30000;")
    w = env.worker("catalog-worker", integ, env={"SECRET": SECRET})
    env.produce_many(TOPIC, [catalog_event(TYPES[i % 6], str(i), 1)
                             for i in range(N)])
    start = time.time()
    wait_for(lambda: len(ocn_courses(env.state("globex"))) == N, 180, f"{N} courses")
    took = time.time() - start
    posts = ocn_posts(env, "globex")
    sizes = [len(p["body"]["ocnCourses"]) for p in posts]
    print(f"{N} items: {len(posts)} OcnCourses POSTs, {took:.1f} s (sizes {sizes})")
    check(len(posts) <= 20 and sum(sizes) == N and all(p["status"] == 200 for p in posts),
          f"{N} items in {len(posts)} POSTs (at most 20), each course once")
    end = env.end_offsets(TOPIC)
    wait_for(lambda: env.committed(ns("catalog-worker"), TOPIC, sorted(end)) == end, 20,
             "the commit")
    check(env.committed(ns("catalog-worker"), TOPIC, sorted(end)) == end,
          "committed offsets reached the end of every partition")
    w.stop_and_check()
finally:
    env.close()
finish()
