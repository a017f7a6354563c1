#!/usr/bin/env python3
"""catalog-worker routing, checked against what each LMS holds: public
content goes to the provider-level Degreed integration (organization "*")
and to every customer integration whose catalog filter takes public content
of that type; a custom track goes only to its organization's integrations
(and to no one when that organization has none); assessments are Degreed
assessments, every other type a Degreed course."""
from catalog_fixtures import (catalog_event, degreed, degreed_items, ocn_courses,
                              sf_integration, sf_tenant)
from harness import Env, check, degreed_tenant, finish, ns, wait_for

SECRET = "e2e-catalog-routing-secret-3"
TOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:3", f"{TOPIC}.retry:3", f"{TOPIC}.dlq:1"]
PUBLIC = [("course", "c1"), ("project", "p1"), ("practice", "pr1"), ("assessment", "a1"),
          ("skill_track", "st1"), ("career_track", "ct1")]
TRACKS = [("acme", "t-acme"), ("globex", "t-globex"), ("umbrella", "t-umbrella")]

# the catalog state, co-partitioned with the source
TOPICS.append(f"{TOPIC}.state:3")
env = Env(TOPICS, [degreed_tenant("provider", SECRET), degreed_tenant("acme", SECRET),
                   degreed_tenant("initech", SECRET),
                   sf_tenant("globex", SECRET, "GLOBEX")])
try:
    integs = ", ".join([
        degreed(env, "provider-degreed", "provider", "*", "SECRET"),
        degreed(env, "acme-degreed", "acme", "acme", "SECRET"),  # default: own custom tracks
        degreed(env, "initech-degreed", "initech", "initech", "SECRET",
                'catalog = { public = true; custom_tracks = false; types = ["project"]; };'),
        sf_integration(env, "globex-sf", "globex", "globex", "GLOBEX", "SECRET",
                       'catalog = { public = true; custom_tracks = true;'
                       ' types = ["course", "assessment"]; };'
                       ' batch_linger_ms = 500; min_post_interval_s = 0;'),
    ])
    w = env.worker("catalog-worker", integs, env={"SECRET": SECRET})
    events = [catalog_event(t, i, 1) for t, i in PUBLIC]
    events += [catalog_event("custom_track", i, 1, org=org) for org, i in TRACKS]
    env.produce_many(TOPIC, events)

    def held():
        out = {}
        for tenant in ("provider", "acme", "initech"):
            st = env.state(tenant)
            out[tenant] = sorted(degreed_items(st)) + sorted(degreed_items(st, "assessments"))
        out["globex"] = sorted(ocn_courses(env.state("globex")))
        return out

    want = {
        "provider": sorted(f"{t}-{i}" for t, i in PUBLIC if t != "assessment") + ["assessment-a1"],
        "acme": ["custom_track-t-acme"],
        "initech": ["project-p1"],
        "globex": sorted(["assessment-a1", "course-c1", "custom_track-t-globex"]),
    }
    wait_for(lambda: w.metric("lmsbridge_events_consumed_total", topic=TOPIC) == 9 and
             w.metric("lmsbridge_inflight") == 0 and held() == want, 30, "routing")
    got = held()
    check(got["provider"] == want["provider"],
          f"provider-level Degreed: every public item, no custom track ({got['provider']})")
    check(degreed_items(env.state("provider"), "assessments").keys() == {"assessment-a1"},
          "an assessment is a Degreed assessment, the rest Degreed courses")
    check(got["acme"] == want["acme"], f"customer Degreed (defaults): only its own custom track "
          f"({got['acme']})")
    check(got["initech"] == want["initech"],
          f"catalog filter: public projects only ({got['initech']})")
    check(got["globex"] == want["globex"],
          f"SuccessFactors: public courses and assessments plus its own custom track "
          f"({got['globex']})")
    check(all("custom_track-t-umbrella" not in v for v in got.values()),
          "a custom track of an organization without an integration goes nowhere")
    check(env.consume_all(f"{TOPIC}.dlq") == [], "nothing dead-lettered")
    w.stop_and_check()
finally:
    env.close()
finish()
