#!/usr/bin/env python3
"""completion-worker to SuccessFactors (OCNLearningEvents), every rule,
checked against what lms-sandbox recorded and the DLQ: one event per
request; userID by the integration's user_identifier (sso_nameid by
default, email, lms_username); courseCompleted JSON true; completedTimestamp
in epoch ms and never in the future; hours when known; a course the
customer never imported and an inactive user are dead-lettered with SAP's
message; a learner without the identifier is not sent, with the reason."""
import json
import time

from catalog_fixtures import sf_integration, sf_post_courses, sf_tenant
from harness import Env, check, completion, finish, ns, wait_for

SECRET = "e2e-completion-sf-secret-8"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]


def sf_completion(event_id, org, uid, content, ctype, who=None, **extra):
    """A completion whose learner carries the identifiers in `who`."""
    e = json.loads(completion(event_id, org, uid, content, ctype, **extra))
    e["user"].update(who or {})
    return json.dumps(e, separators=(",", ":"))


env = Env(TOPICS, [
    sf_tenant("g1", SECRET, "G1", users=[{"userID": "GINA01", "active": True},
                                         {"userID": "GUS02", "active": False}]),
    sf_tenant("g2", SECRET, "G2", require_known_course=False),
    sf_tenant("g3", SECRET, "G3", require_known_course=False),
])
try:
    check(sf_post_courses(env, "g1", SECRET, "G1", ["course-1"]) == 200,
          "set-up: course-1 imported into g1")
    integs = ", ".join([
        sf_integration(env, "g1-sf", "g1", "g1org", "G1", "SECRET"),
        sf_integration(env, "g2-sf", "g2", "g2org", "G2", "SECRET", 'user_identifier = "email";'),
        sf_integration(env, "g3-sf", "g3", "g3org", "G3", "SECRET",
                       'user_identifier = "lms_username";'),
    ])
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * 86400))
    events = [
        ("gina", sf_completion("s1", "g1org", "gina", "1", "course", duration_hours=2.5,
                            completed_at=future,
                            who={"sso_nameid": "GINA01"})),
        ("gina", sf_completion("s2", "g1org", "gina", "77", "course",
                            who={"sso_nameid": "GINA01"})),
        ("gus", sf_completion("s3", "g1org", "gus", "1", "course",
                           who={"sso_nameid": "GUS02"})),
        ("nina", sf_completion("s4", "g1org", "nina", "1", "course")),  # no sso_nameid
        ("ed", sf_completion("s5", "g2org", "ed", "5", "project")),
        ("lu", sf_completion("s6", "g3org", "lu", "6", "course",
                          who={"lms_username": "LU.LMS"})),
    ]
    env.produce(TOPIC, [(k, v, None) for k, v in events])
    wait_for(lambda: w.metric("lmsbridge_events_consumed_total", topic=TOPIC) == 6
             and w.metric("lmsbridge_inflight") == 0 and
             len(env.consume_all(f"{TOPIC}.dlq")) == 2, 30, "the completions")

    g1 = env.state("g1")["sf"]["learning_events"]
    check(len(g1) == 1, f"g1: one learning event recorded ({len(g1)})")
    ev = g1[0]["event"] if g1 else {}
    received_ms = (time.mktime(time.strptime(g1[0]["received_at"][:19], "%Y-%m-%dT%H:%M:%S"))
                   - time.timezone) * 1000 if g1 else 0
    check(ev.get("userID") == "GINA01" and ev.get("courseID") == "course-1" and
          ev.get("providerID") == "DATACAMP", f"userID is the SSO name id by default ({ev})")
    check(ev.get("courseCompleted") is True and isinstance(ev.get("completedTimestamp"), int),
          "courseCompleted is JSON true, completedTimestamp an integer")
    check(ev.get("completedTimestamp", 0) <= received_ms + 5000,
          "a completion dated in the future is sent as now (SAP refuses the future)")
    check(ev.get("totalHours") == 2.5, f"hours sent when known ({ev.get('totalHours')})")
    posts = [r for r in env.lms_requests("g1") if r["path"].endswith("/OCNLearningEvents")]
    check(all(isinstance(r["body"], dict) for r in posts),
          "one learning event per request (an object, never an array)")
    g2 = [e["event"] for e in env.state("g2")["sf"]["learning_events"]]
    g3 = [e["event"] for e in env.state("g3")["sf"]["learning_events"]]
    check([e["userID"] for e in g2] == ["ed@g2org.example"] and g2[0]["courseID"] == "project-5",
          f"user_identifier = email ({g2})")
    check([e["userID"] for e in g3] == ["LU.LMS"], f"user_identifier = lms_username ({g3})")

    dlq = {r["headers"].get("lmsbridge.integration") + ":" + json.loads(r["payload"])["event_id"]:
           r["headers"] for r in env.consume_all(f"{TOPIC}.dlq")}
    never = dlq.get("g1-sf:s2", {})
    check(never.get("__connect.errors.exception.class.name") == "permanent_http" and
          "never posted to OcnCourses" in never.get("lmsbridge.http.body", ""),
          "a course the customer never imported: dead-lettered with SAP's message")
    inactive = dlq.get("g1-sf:s3", {})
    check(inactive.get("__connect.errors.exception.class.name") == "permanent_http" and
          "inactive" in inactive.get("lmsbridge.http.body", ""),
          "an inactive user: dead-lettered with SAP's message")
    why = [l.get("reason") for l in w.logs()
           if l.get("msg") == "not sent" and l.get("event_id") == "s4"]
    check(len(why) == 1 and "sso_nameid" in why[0],
          f"a learner without the SSO name id: not sent, logged with why ({why})")
    w.stop_and_check()
finally:
    env.close()
finish()
