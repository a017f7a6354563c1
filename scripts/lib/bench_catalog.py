#!/usr/bin/env python3
"""Benchmark: a whole catalog to one SuccessFactors customer through
catalog-worker (default batch_size 500, linger 2 s, no minimum interval):
how many OcnCourses POSTs and how long from the first to the last.

  bench_catalog.py BUILD_DIR [ITEMS]
"""
import sys
import time

from bench_harness import harness  # noqa: E402  (first: it sets the path)
from catalog_fixtures import catalog_event, ocn_courses, ocn_posts, sf_integration, sf_tenant  # noqa: E402

N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
SECRET = "bench-catalog-secret-1"
TYPES = ["course", "project", "practice", "assessment", "skill_track", "career_track"]

env = harness.Env(["catalog-events:4", "catalog-events.retry:4", "catalog-events.dlq:1",
                   "catalog-events.state:4"],
                  [sf_tenant("globex", SECRET, "GLOBEX")])
try:
    integ = sf_integration(env, "globex-sf", "globex", "globex", "GLOBEX", "SECRET",
                           "catalog = { public = true; }; min_post_interval_s = 0;")
    w = env.worker("catalog-worker", integ, env={"SECRET": SECRET})
    env.produce_many("catalog-events", [catalog_event(TYPES[i % 6], str(i), 1) for i in range(N)])
    start = time.time()
    harness.wait_for(lambda: len(ocn_courses(env.state("globex"))) == N, 600, f"{N} courses",
                     interval=0.1)
    took = time.time() - start
    posts = ocn_posts(env, "globex")
    print(f"catalog of {N} items to one SuccessFactors customer: {len(posts)} OcnCourses POSTs "
          f"(at most {-(-N // 500)} needed at batch_size 500), {took:.1f} s produce-to-LMS, "
          f"{N / took:.0f} items/s")
    w.stop()
finally:
    env.close()
