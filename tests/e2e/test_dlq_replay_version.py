#!/usr/bin/env python3
"""A replayed catalog record older than what the LMS already holds is
skipped. The provider's Degreed refuses every request (400) while two
courses are published (v1 of each): both are dead-lettered for it, while a
customer's Degreed receives them. The refusal is fixed and course 1 gets
v2, delivered everywhere. Replaying the DLQ then delivers course 2 v1 (it
never arrived) but skips course 1 v1: the catalog-worker delivered v2 and
counts the replay as outcome="skipped"; the provider's Degreed keeps v2 and
the customer's receives nothing again."""
from catalog_fixtures import catalog_event, degreed, degreed_items
from harness import (Env, check, degreed_tenant, dlq_replay, finish, ns, wait_for,
                     worker_config_path)

SECRET = "e2e-dlq-version-secret-47"
TOPIC = ns("catalog-events")
DLQ = f"{TOPIC}.dlq"
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{DLQ}:1"]


def metric(w, integ, outcome):
    return w.metric("lmsbridge_deliveries_total", integration=integ, outcome=outcome)


def writes(tenant):
    """The content creates and updates a Degreed tenant received, in order."""
    return [r for r in env.lms_requests(tenant)
            if r["method"] in ("POST", "PATCH") and "/content/" in r["path"]]


# the catalog state, co-partitioned with the source
TOPICS.append(f"{TOPIC}.state:2")
env = Env(TOPICS, [degreed_tenant("prov", SECRET), degreed_tenant("acme", SECRET)])
try:
    env.lms_post("/_sandbox/faults", {"tenant": "prov",
                                      "error_rate": {"rate": 1, "status": 400, "api": "degreed"}})
    integs = ", ".join([degreed(env, "prov-degreed", "prov", "*", "SECRET"),
                        degreed(env, "acme-degreed", "acme", "acme", "SECRET",
                                "catalog = { public = true; };")])
    w = env.worker("catalog-worker", integs, env={"SECRET": SECRET})
    args = ["--config", worker_config_path(w), "--worker", "catalog-worker"]

    env.produce_many(TOPIC, [catalog_event("course", "1", 1), catalog_event("course", "2", 1)])
    wait_for(lambda: len(env.consume_all(DLQ)) == 2, 30, "2 dead letters")
    wait_for(lambda: len(degreed_items(env.state("acme"))) == 2, 30, "acme's courses")
    rc, lines, _ = dlq_replay("list", *args, env={"SECRET": SECRET})
    check(rc == 0 and sorted(l["key"] for l in lines) == ["course-1", "course-2"] and
          all(l["integration"] == "prov-degreed" and l["reason"] == "permanent_http" and
              l["http_status"] == 400 and l["value"]["version"] == 1 for l in lines),
          "both v1 dead-lettered for prov-degreed (400), acme-degreed has them")

    env.lms_post("/_sandbox/faults", {"tenant": "prov", "error_rate": None})
    env.produce_many(TOPIC, [catalog_event("course", "1", 2)])
    wait_for(lambda: degreed_items(env.state("prov")).get("course-1", {}).get("title", "")
             .startswith("course 1 v2"), 30, "course 1 v2 at prov")
    wait_for(lambda: degreed_items(env.state("acme"))["course-1"]["title"]
             .startswith("course 1 v2"), 30, "course 1 v2 at acme")
    prov_writes, acme_writes = len(writes("prov")), len(writes("acme"))
    skipped0 = metric(w, "prov-degreed", "skipped")

    rc, lines, _ = dlq_replay("replay", *args, "--yes", env={"SECRET": SECRET})
    check(rc == 0 and lines[-1]["replayed"] == 2, "replay: both dead letters republished")
    wait_for(lambda: "course-2" in degreed_items(env.state("prov")), 30, "course 2 at prov")
    wait_for(lambda: metric(w, "prov-degreed", "skipped") > skipped0, 30, "the skip")
    check(degreed_items(env.state("prov"))["course-2"]["title"].startswith("course 2 v1"),
          "course 2 v1, never delivered to prov, arrives with the replay")
    check(metric(w, "prov-degreed", "skipped") - skipped0 == 1,
          "course 1 v1 is skipped: metric outcome=skipped")
    check(degreed_items(env.state("prov"))["course-1"]["title"].startswith("course 1 v2"),
          "prov's Degreed still holds course 1 v2")
    after = writes("prov")[prov_writes:]
    check(len(after) == 1 and "course-2" in str(after[0].get("body")),
          "after the replay prov received course 2 only, nothing for course 1")
    check(len(writes("acme")) == acme_writes, "acme-degreed received nothing again")
    skips = [l for l in w.logs() if l.get("msg") == "not sent" and
             l.get("reason") == "older than the version already delivered"]
    check(len(skips) == 1 and skips[0].get("integration") == "prov-degreed" and
          skips[0].get("version") == 1 and skips[0].get("delivered_version") == 2,
          "the worker logs why: older than the version already delivered (v1 < v2)")
    w.stop_and_check()
finally:
    env.close()
finish()
