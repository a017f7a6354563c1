#!/usr/bin/env python3
"""Versions and order per item: updates of one item reach Degreed in offset
order; an older version arriving after a newer one was delivered (out of
order, a replay, a parked record) is skipped and counted, so the LMS never
goes back to older data -- for Degreed and for SuccessFactors."""
from catalog_fixtures import (catalog_event, degreed, degreed_items, ocn_courses,
                              sf_integration, sf_tenant)
from harness import Env, check, degreed_tenant, finish, ns, wait_for

SECRET = "e2e-catalog-versions-secret-9"
TOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]
N = 40


def metric(w, integ, outcome):
    return w.metric("lmsbridge_deliveries_total", integration=integ, outcome=outcome)


# the catalog state, co-partitioned with the source
TOPICS.append(f"{TOPIC}.state:2")
env = Env(TOPICS, [degreed_tenant("acme", SECRET), sf_tenant("globex", SECRET, "GLOBEX")])
try:
    integs = ", ".join([
        degreed(env, "acme-degreed", "acme", "acme", "SECRET", "catalog = { public = true; };"),
        sf_integration(env, "globex-sf", "globex", "globex", "GLOBEX", "SECRET",
                       "catalog = { public = true; }; batch_linger_ms = 0;"
                       " min_post_interval_s = 0;"),
    ])
    w = env.worker("catalog-worker", integs, env={"SECRET": SECRET})

    # order: N updates of one course in a row, among other items' updates
    events = []
    for v in range(1, N + 1):
        events.append(catalog_event("course", "7", v))
        events.append(catalog_event("course", str(100 + v), 1))
    env.produce_many(TOPIC, events)
    wait_for(lambda: metric(w, "acme-degreed", "success") + metric(w, "acme-degreed", "skipped")
             >= 2 * N, 60, "the updates")
    sent = []
    for r in env.lms_requests("acme"):
        body = r.get("body") if isinstance(r.get("body"), dict) else {}
        attrs = (body.get("data") or {}).get("attributes") or {}
        if attrs.get("external-id") == "course-7" and r["status"] in (200, 201):
            sent.append(int(attrs["title"].split(" v")[1].split(" ")[0]))
    check(sent == sorted(sent) and sent[-1] == N,
          f"updates of one item reached Degreed in offset order ({len(sent)} sent, last v{sent[-1]})")
    check(degreed_items(env.state("acme"))["course-7"]["title"].startswith(f"course 7 v{N} "),
          f"Degreed holds v{N}")

    # out of order: v2 and v1 after v3 (same key, same partition)
    skipped0 = metric(w, "acme-degreed", "skipped")
    env.produce_many(TOPIC, [catalog_event("course", "9", 3)])
    wait_for(lambda: "course-9" in degreed_items(env.state("acme")), 30, "course 9 v3")
    env.produce_many(TOPIC, [catalog_event("course", "9", 2),
                             catalog_event("course", "9", 1)])
    wait_for(lambda: metric(w, "acme-degreed", "skipped") - skipped0 >= 2, 30, "the skips")
    check(metric(w, "acme-degreed", "skipped") - skipped0 == 2,
          "Degreed: two older versions skipped and counted")
    check(degreed_items(env.state("acme"))["course-9"]["title"].startswith("course 9 v3 "),
          "Degreed still holds v3")

    # SuccessFactors: v5 delivered, then v4 arrives in a later batch
    wait_for(lambda: "course-9" in ocn_courses(env.state("globex")), 30, "OCN course 9")
    env.produce_many(TOPIC, [catalog_event("course", "42", 5)])
    wait_for(lambda: "course-42" in ocn_courses(env.state("globex")), 30, "OCN course 42 v5")
    posts = env.state("globex")["sf"]["ocn_course_posts"]
    skipped_sf = metric(w, "globex-sf", "skipped")
    env.produce_many(TOPIC, [catalog_event("course", "42", 4)])
    wait_for(lambda: metric(w, "globex-sf", "skipped") > skipped_sf, 30, "the OCN skip")
    c42 = ocn_courses(env.state("globex"))["course-42"]["course"]
    check(c42["title"][0]["value"].startswith("course 42 v5") and
          env.state("globex")["sf"]["ocn_course_posts"] == posts,
          "SuccessFactors: the older version is skipped, no POST, the LMS keeps v5")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    w.stop_and_check()
finally:
    env.close()
finish()
