#!/usr/bin/env python3
"""catalog-worker to SuccessFactors OCN, checked against what lms-sandbox
received: courses travel in OcnCourses batches of at most batch_size; the
batches keep the minimum interval (the sandbox enforces the same interval
and would answer 429); versions of one course that wait together are
coalesced (the newest wins, each course once per batch); an archived item
becomes status INACTIVE; the offsets of coalesced messages advance only
once the batch that carried their newer version has succeeded."""
import time
from datetime import datetime

from catalog_fixtures import catalog_event, ocn_courses, ocn_posts, sf_integration, sf_tenant
from harness import Env, check, finish, ns, wait_for

SECRET = "e2e-catalog-ocn-secret-5"
TOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{TOPIC}.dlq:1"]
INTERVAL_S = 2

# the catalog state, co-partitioned with the source
TOPICS.append(f"{TOPIC}.state:1")
env = Env(TOPICS, [sf_tenant("globex", SECRET, "GLOBEX", min_post_interval_s=INTERVAL_S)])
try:
    integ = sf_integration(env, "globex-sf", "globex", "globex", "GLOBEX", "SECRET",
                           f"catalog = {{ public = true; }}; batch_size = 50; batch_linger_ms = 4000;"
                           f" min_post_interval_s = {INTERVAL_S};")
    w = env.worker("catalog-worker", integ, env={"SECRET": SECRET})

    # batching and the interval: 120 courses -> 50 + 50 + 20
    env.produce_many(TOPIC, [catalog_event("course", str(1000 + i), 1)
                             for i in range(120)])
    wait_for(lambda: len(ocn_courses(env.state("globex"))) == 120, 60, "120 courses")
    posts = ocn_posts(env, "globex")
    sizes = [len(p["body"]["ocnCourses"]) for p in posts]
    check(sizes == [50, 50, 20], f"120 courses in batches of at most 50: {sizes}")
    st = env.state("globex")["sf"]
    check(st["ocn_course_posts_throttled"] == 0 and all(p["status"] == 200 for p in posts),
          f"no POST came sooner than the {INTERVAL_S} s interval (none throttled)")
    at = [datetime.fromisoformat(p["timestamp"]).timestamp() for p in posts]
    gaps = [round(b - a, 2) for a, b in zip(at, at[1:])]
    check(all(g >= INTERVAL_S - 0.2 for g in gaps), f"POSTs {INTERVAL_S} s apart or more: {gaps}")

    # coalescing: versions of one course that wait together go once, the
    # newest; an older version arriving late does not replace a newer one
    n_posts = len(posts)
    skipped0 = w.metric("lmsbridge_deliveries_total", integration="globex-sf", outcome="skipped")
    env.produce_many(TOPIC, [catalog_event("course", "X", v) for v in (1, 2, 3, 4, 5)] +
                     [catalog_event("course", "Y", v) for v in (1, 3, 2)])
    wait_for(lambda: len(ocn_posts(env, "globex")) > n_posts, 30, "the next batch")
    batch = ocn_posts(env, "globex")[n_posts]["body"]["ocnCourses"]
    ids = sorted(c["courseID"] for c in batch)
    titles = {c["courseID"]: c["title"][0]["value"] for c in batch}
    check(ids == ["course-X", "course-Y"], f"each course once in the batch: {ids}")
    check(titles["course-X"].startswith("course X v5") and titles["course-Y"].startswith("course Y v3"),
          f"the newest version of each wins: {titles}")
    held = ocn_courses(env.state("globex"))
    check(held["course-X"]["course"]["title"][0]["value"].startswith("course X v5") and
          held["course-Y"]["course"]["title"][0]["value"].startswith("course Y v3"),
          "the LMS holds the newest versions")
    wait_for(lambda: w.metric("lmsbridge_deliveries_total", integration="globex-sf",
                              outcome="skipped") - skipped0 == 6, 10, "coalesced count")
    check(w.metric("lmsbridge_deliveries_total", integration="globex-sf",
                   outcome="skipped") - skipped0 == 6,
          "the 6 replaced versions are counted as skipped")

    # archive -> INACTIVE
    n_posts = len(ocn_posts(env, "globex"))
    env.produce_many(TOPIC, [catalog_event("course", "X", 6, etype="content.archived")])
    wait_for(lambda: ocn_courses(env.state("globex"))["course-X"]["status"] == "INACTIVE", 30,
             "the archive")
    check(ocn_courses(env.state("globex"))["course-X"]["status"] == "INACTIVE",
          "archived: status INACTIVE, the course stays in the LMS")

    # offsets: the OCN API is slow (6 s); while the batch carrying Z v2 is
    # on the wire, the committed offset stays at Z v1 (coalesced into it)
    env.lms_post("/_sandbox/faults", {"tenant": "globex", "latency": {"ms": 6000, "api": "sf"}})
    first = env.end_offsets(TOPIC)[0]
    # the archive's batch done and committed: the worker is idle at Z v1's offset
    wait_for(lambda: env.committed(ns("catalog-worker"), TOPIC, [0])[0] == first, 60,
             "the commit past the archive")
    env.produce_many(TOPIC, [catalog_event("course", "Z", 1),
                             catalog_event("course", "Z", 2)])
    end = env.end_offsets(TOPIC)[0]
    seen_before = []
    deadline = time.time() + 40
    while time.time() < deadline and "course-Z" not in ocn_courses(env.state("globex")):
        seen_before.append(env.committed(ns("catalog-worker"), TOPIC, [0])[0])
        time.sleep(0.3)  # samples the commit while the batch is on the wire (40 s bound)
    check("course-Z" in ocn_courses(env.state("globex")), "the slow batch arrived")
    check(end == first + 2 and len(seen_before) > 10 and max(seen_before) <= first,
          f"while the batch was in flight the commit stayed at Z v1 (offset {first}): "
          f"{sorted(set(seen_before))}")
    wait_for(lambda: env.committed(ns("catalog-worker"), TOPIC, [0])[0] == end, 15,
             "the commit after the batch")
    check(env.committed(ns("catalog-worker"), TOPIC, [0])[0] == end,
          "after the batch succeeded the commit passed both versions")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    w.stop_and_check()
finally:
    env.close()
finish()
