#!/usr/bin/env python3
"""completion-worker to Degreed, every rule, checked against what
lms-sandbox recorded and the DLQ: routing by organization to integrations
with completions enabled; the completion's attributes (email, external id
and type, completed-at, assessment score as percentile); skill scores as
skill ratings; a completion already recorded is a success; an unknown user
is dead-lettered with Degreed's reason; tested-out completions, tracks and
learners without an email are not sent, counted and logged with why."""
import json

from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for)

SECRET = "e2e-completion-degreed-secret-4"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]
USERS = ["ann@acme.example", "bob@acme.example"]

env = Env(TOPICS, [degreed_tenant("acme", SECRET, users=USERS),
                   degreed_tenant("acme2", SECRET), degreed_tenant("other", SECRET)])
try:
    integs = ", ".join([
        degreed_integration(env, "acme-degreed", "acme", "SECRET"),
        # a second Degreed of the same customer that takes no completions
        degreed_integration(env, "acme-catalog-only", "acme2", "SECRET",
                            "rate_limit_per_minute = 0; completions = false;", org="acme"),
        degreed_integration(env, "other-degreed", "other", "SECRET"),
    ])
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    no_email = json.loads(completion("c8", "acme", "cat"))
    no_email["user"].pop("email")
    events = [
        ("ann", completion("c1", "acme", "ann", "1", "course",
                           completed_at="2026-11-20T11:58:00Z", duration_hours=2.5)),
        ("ann", completion("c2", "acme", "ann", "9", "assessment", score=82,
                           skills=[{"name": "Python", "score": 82, "level": 5},
                                   {"name": "SQL", "score": 40, "level": 2}])),
        ("bob", completion("c3", "acme", "bob", "1", "course")),
        ("bob", completion("c4", "acme", "bob", "1", "course")),  # the same again
        ("zoe", completion("c5", "acme", "zoe", "1", "course")),  # unknown to Acme's Degreed
        ("ann", completion("c6", "acme", "ann", "2", "course", skipped=True)),
        ("ann", completion("c7", "acme", "ann", "3", "skill_track")),
        ("cat", json.dumps(no_email)),
        ("ned", completion("c9", "nobody-inc", "ned", "1", "course")),
    ]
    env.produce(TOPIC, [(k, v, None) for k, v in events])
    wait_for(lambda: w.metric("lmsbridge_events_consumed_total", topic=TOPIC) == 9
             and w.metric("lmsbridge_inflight") == 0 and
             len(env.consume_all(f"{TOPIC}.dlq")) == 1, 30, "the completions")

    st = env.state("acme")["degreed"]
    by_user = {}
    for c in st["completions"]:
        by_user.setdefault(c["attributes"]["user-id"], []).append(c)
    ann = {c["attributes"]["content-id"]: c for c in by_user.get("ann@acme.example", [])}
    a1 = ann.get("course-1", {}).get("attributes", {})
    check(a1.get("user-identifier-type") == "Email" and a1.get("content-id-type") == "ExternalId"
          and a1.get("content-type") == "Course" and
          a1.get("completed-at", "").startswith("2026-11-20T11:58:00"),
          f"a course completion: email, external id, Course, completed-at ({a1})")
    a9 = ann.get("assessment-9", {}).get("attributes", {})
    check(a9.get("content-type") == "Assessment" and a9.get("percentile") == 82,
          f"an assessment completion carries the score as percentile ({a9})")
    ratings = sorted((r["attributes"]["user-id"], r["attributes"]["skill-name"])
                     for r in st["skill_ratings"])
    check(ratings == [("ann@acme.example", "Python"), ("ann@acme.example", "SQL")],
          f"skill scores of the assessment became skill ratings ({ratings})")
    bob = by_user.get("bob@acme.example", [])
    check(len(bob) == 1 and bob[0]["repeats"] == 1,
          "a completion already recorded: Degreed answered 200, one record, no dead letter")
    check(set(by_user) == {"ann@acme.example", "bob@acme.example"} and len(ann) == 2,
          "tested-out, track and email-less completions were not sent")
    check(env.state("acme2")["degreed"]["completions"] == [] and
          env.state("other")["degreed"]["completions"] == [],
          "routing: no completion to an integration with completions off or of another customer")

    dlq = env.consume_all(f"{TOPIC}.dlq")
    h = dlq[0]["headers"] if dlq else {}
    check(len(dlq) == 1 and dlq[0]["key"] == "zoe" and
          h.get("__connect.errors.exception.class.name") == "permanent_http" and
          h.get("lmsbridge.integration") == "acme-degreed" and h.get("lmsbridge.http.status") == "400"
          and "Invalid user identifier" in h.get("lmsbridge.http.body", ""),
          "unknown user: dead-lettered, permanent_http, with Degreed's reason")
    reasons = {(l.get("event_id"), l.get("reason")) for l in w.logs()
               if l.get("msg") == "not sent" and l.get("integration") == "acme-degreed"}
    by_event = {e: r for e, r in reasons}
    check("tested out" in (by_event.get("c6") or "") and "track" in (by_event.get("c7") or "")
          and "email" in (by_event.get("c8") or ""),
          f"each completion not sent is logged with why ({sorted(reasons)})")
    check(w.metric("lmsbridge_deliveries_total", integration="acme-degreed", outcome="skipped") == 3,
          "the three not sent are counted as skipped")
    check(w.metric("lmsbridge_deliveries_total", integration="acme-degreed", outcome="success") == 4,
          "four deliveries succeeded (two completions of ann, bob twice)")
    w.stop_and_check()
finally:
    env.close()
finish()
