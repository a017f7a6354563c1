#!/usr/bin/env python3
"""catalog-worker to Degreed, every path, checked against what lms-sandbox
received: create (courses and assessments), 409 -> look up -> PATCH for an
item the LMS already had, a later update PATCHed straight away with the id
the worker learned, archive as PATCH obsolete, and a 404 on the remembered
id (the customer deleted the item) -> look up -> create again."""
from catalog_fixtures import catalog_event, degreed, degreed_api, degreed_items
from harness import Env, check, degreed_tenant, finish, ns, wait_for

SECRET = "e2e-catalog-degreed-secret-7"
TOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]


def calls(env, tenant, ext_id, since=0):
    """(method, path-without-host, status) of the tenant's content calls
    about one external id (by body or query), after sequence `since`."""
    out = []
    ids = {c["id"] for c in env.state(tenant)["degreed"]["courses"] +
           env.state(tenant)["degreed"]["assessments"]
           if c["attributes"].get("external-id") == ext_id}
    for r in env.lms_requests(tenant):
        if r["seq"] <= since or "/content/" not in r["path"]:
            continue
        body = r.get("body") if isinstance(r.get("body"), dict) else {}
        attrs = (body.get("data") or {}).get("attributes") or {}
        if (attrs.get("external-id") == ext_id or f"={ext_id}" in r["path"] or
                any(r["path"].endswith("/" + i) for i in ids)):
            out.append((r["method"], r["path"].split("/api/v2/")[1].split("?")[0], r["status"]))
    return out


def last_seq(env, tenant):
    reqs = env.lms_requests(tenant)
    return reqs[-1]["seq"] if reqs else 0


# the catalog state, co-partitioned with the source
TOPICS.append(f"{TOPIC}.state:2")
env = Env(TOPICS, [degreed_tenant("acme", SECRET)])
try:
    # the customer's Degreed already has course 200 (imported by hand once)
    code, _ = degreed_api(env, "acme", SECRET, "POST", "/api/v2/content/courses",
                          {"data": {"type": "content/courses", "attributes": {
                              "title": "old title", "external-id": "course-200",
                              "url": "https://www.datacamp.com/courses/200"}}})
    check(code == 201, "set-up: course-200 exists in the LMS before the worker runs")
    integ = degreed(env, "acme-degreed", "acme", "acme", "SECRET",
                    "catalog = { public = true; custom_tracks = true; };")
    w = env.worker("catalog-worker", integ, env={"SECRET": SECRET})

    env.produce_many(TOPIC, [catalog_event("course", "100", 1),
                             catalog_event("assessment", "300", 1),
                             catalog_event("course", "200", 1)])
    wait_for(lambda: w.metric("lmsbridge_deliveries_total", integration="acme-degreed",
                              outcome="success") >= 3, 30, "three deliveries")
    st = env.state("acme")
    courses, assessments = degreed_items(st), degreed_items(st, "assessments")
    check(courses.get("course-100", {}).get("title", "").startswith("course 100 v1 ") and
          calls(env, "acme", "course-100") == [("POST", "content/courses", 201)],
          "create: a new course is one POST to content/courses")
    check(assessments.get("assessment-300", {}).get("title", "").startswith("assessment 300 v1 ") and
          "assessment-300" not in courses and
          calls(env, "acme", "assessment-300") == [("POST", "content/assessments", 201)],
          "create: an assessment goes to content/assessments")
    c200 = calls(env, "acme", "course-200")
    check([m for m, _, _ in c200] == ["POST", "POST", "GET", "PATCH"] and c200[1][2] == 409 and
          courses["course-200"]["title"].startswith("course 200 v1 "),
          f"409 on create -> look up by external id -> PATCH ({c200[1:]})")

    # updates: the ids learned above are used straight away
    mark = last_seq(env, "acme")
    env.produce_many(TOPIC, [catalog_event("course", "100", 2),
                             catalog_event("course", "200", 2)])
    wait_for(lambda: w.metric("lmsbridge_deliveries_total", integration="acme-degreed",
                              outcome="success") >= 5, 30, "two updates")
    courses = degreed_items(env.state("acme"))
    check([m for m, _, _ in calls(env, "acme", "course-100", mark)] == ["PATCH"] and
          courses["course-100"]["title"].startswith("course 100 v2 "),
          "update with a learned id (from the create): one PATCH, no POST, no look-up")
    check([m for m, _, _ in calls(env, "acme", "course-200", mark)] == ["PATCH"] and
          courses["course-200"]["title"].startswith("course 200 v2 "),
          "update with a learned id (from the look-up): one PATCH")

    # archive: PATCH obsolete = true on the known id, and nothing else: the
    # LMS keeps the title, summary, image and duration it holds (the archive
    # event carries a v3 title that must not land)
    mark = last_seq(env, "acme")
    before = degreed_items(env.state("acme"))["course-100"]
    env.produce_many(TOPIC, [catalog_event("course", "100", 3,
                                           etype="content.archived")])
    wait_for(lambda: w.metric("lmsbridge_deliveries_total", integration="acme-degreed",
                              outcome="success") >= 6, 30, "the archive")
    after = degreed_items(env.state("acme"))["course-100"]
    patches = [r for r in env.lms_requests("acme")
               if r["seq"] > mark and r["method"] == "PATCH"]
    check([m for m, _, _ in calls(env, "acme", "course-100", mark)] == ["PATCH"] and
          len(patches) == 1 and
          patches[0]["body"]["data"]["attributes"] == {"obsolete": True},
          "archive: one PATCH whose attributes are obsolete=true alone")
    kept = ("title", "summary", "url", "image-url", "duration", "duration-type", "format")
    check(after.get("obsolete") is True and before.get("obsolete") is False and
          {k: after.get(k) for k in kept} == {k: before.get(k) for k in kept} and
          after["title"].startswith("course 100 v2 "),
          "archive: obsolete, the item stays in the LMS with what it held")

    # the customer deletes course-200 in Degreed; the next update finds its
    # remembered id gone: 404 -> look up (nothing) -> create again
    old_id = [c["id"] for c in env.state("acme")["degreed"]["courses"]
              if c["attributes"]["external-id"] == "course-200"][0]
    code, _ = degreed_api(env, "acme", SECRET, "DELETE", f"/api/v2/content/courses/{old_id}")
    check(code == 204, "set-up: the customer deleted course-200")
    mark = last_seq(env, "acme")
    env.produce_many(TOPIC, [catalog_event("course", "200", 3)])
    wait_for(lambda: w.metric("lmsbridge_deliveries_total", integration="acme-degreed",
                              outcome="success") >= 7, 30, "the update after the delete")
    seq = [(m, s) for m, _, s in calls(env, "acme", "course-200", mark)]
    patched = [r for r in env.lms_requests("acme")
               if r["seq"] > mark and r["method"] == "PATCH" and r["path"].endswith(old_id)]
    courses = degreed_items(env.state("acme"))
    check(len(patched) == 1 and seq == [("PATCH", 404), ("GET", 200), ("POST", 201)] and
          courses.get("course-200", {}).get("title", "").startswith("course 200 v3 "),
          f"404 on the remembered id -> look up -> created again ({seq})")
    check(w.metric("lmsbridge_deliveries_total", integration="acme-degreed",
                   outcome="dead_lettered") == 0 and env.consume_all(f"{TOPIC}.dlq") == [],
          "nothing dead-lettered")
    w.stop_and_check()
finally:
    env.close()
finish()
