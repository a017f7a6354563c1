#!/usr/bin/env python3
"""completion-worker to Learning Record Stores (the xapi connector), checked
against what the LMS sandbox's LRS stored: one customer's LRS by HTTP Basic
(actor by mbox) that fails every other request with a 500 at first, another
customer's by OAuth2 (actor by account) whose tokens expire on the server.
Every completion becomes exactly one statement under its UUID v5 id (the
500s retried, the 401 answered with a fresh token), with the version header;
tested-out completions, tracks and learners without the identifier are not
sent, counted and logged with the reason; a dead letter of a statement the
LRS already holds, replayed with dlq-replay, stores no second statement. No
secret (password, client secret, Basic credentials) in the logs."""
import base64
import json
import uuid

from harness import (ACTIVITY_IRI_BASE, Env, check, completion, dead_letter_headers,
                     degreed_tenant, dlq_replay, finish, produce_to, wait_for,
                     ns, worker_config_path, xapi_integration, xapi_tenant)

SECRET = "e2e-completion-xapi-secret-83"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{DLQ}:1"]


def statement_id(integration, event_id):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lmsbridge:{integration}:{event_id}"))


def statements(tenant):
    return {s["id"]: s for s in env.state(tenant)["xapi"]["statements"]}


def xapi_requests(tenant, method="PUT"):
    return [r for r in env.lms_requests(tenant)
            if r["method"] == method and "/xapi/statements" in r["path"]]


def header(r, name):
    return {k.lower(): v for k, v in (r.get("headers") or {}).items()}.get(name.lower())


env = Env(TOPICS, [xapi_tenant(degreed_tenant("hooli", SECRET), SECRET),
                   xapi_tenant(degreed_tenant("initech", SECRET), SECRET)])
try:
    env.lms_post("/_sandbox/faults", {"tenant": "hooli", "error_rate": {
        "rate": 0.5, "status": 500, "api": "xapi", "mode": "spread"}})
    integs = ", ".join([
        xapi_integration(env, "hooli-lrs", "hooli", "SECRET"),
        xapi_integration(env, "initech-lrs", "initech", "SECRET", oauth2=True,
                         extra='actor = "account"; account_home_page = '
                               '"https://sso.initech.example"; account_name = "sso_nameid";'),
    ])
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})

    def sso(event_id, user, **kw):
        e = json.loads(completion(event_id, "initech", user, **kw))
        e["user"]["sso_nameid"] = f"{user}@sso.initech.example"
        return json.dumps(e)

    no_email = json.loads(completion("h8", "hooli", "cat"))
    no_email["user"].pop("email")
    events = [(f"u{i}", completion(f"h{i}", "hooli", f"u{i}", str(i))) for i in range(1, 7)]
    events += [
        ("ann", completion("h7", "hooli", "ann", "9", "assessment", score=82, duration_hours=0.5,
                           completed_at="2026-03-04T05:06:07Z")),
        ("cat", json.dumps(no_email)),
        ("ann", completion("h9", "hooli", "ann", "2", skipped=True)),
        ("ann", completion("h10", "hooli", "ann", "3", "skill_track")),
        ("ivy", sso("i1", "ivy")), ("ike", sso("i2", "ike")), ("ida", sso("i3", "ida")),
        ("ned", completion("i4", "initech", "ned")),  # no sso_nameid
    ]
    env.produce(TOPIC, [(k, v, None) for k, v in events])
    wait_for(lambda: w.metric("lmsbridge_events_consumed_total", topic=TOPIC) == len(events)
             and len(statements("hooli")) >= 7 and len(statements("initech")) >= 3
             and w.metric("lmsbridge_deliveries_total", integration="hooli-lrs",
                          outcome="success") == 7, 120, "the completions")

    hooli = statements("hooli")
    check(env.consume_all(DLQ) == [], "no dead letter: every failure was retried")
    want = {statement_id("hooli-lrs", f"h{i}") for i in range(1, 8)}
    check(set(hooli) == want,
          f"hooli: one statement per sent completion, under its UUID v5 id ({len(hooli)})")
    puts = xapi_requests("hooli")
    failed = [r for r in puts if r["status"] == 500]
    check(len(failed) > 0 and len(puts) == len(want) + len(failed) and
          all(r["status"] in (204, 500) for r in puts),
          f"hooli: {len(failed)} PUTs answered 500 were retried until 204")
    check(all(header(r, "X-Experience-API-Version") == "1.0.3" for r in puts) and
          all(header(r, "Authorization") == "Basic hooli-lrs-key:<redacted>" for r in puts),
          "hooli: every PUT carries the version header and the Basic credentials")
    s7 = hooli.get(statement_id("hooli-lrs", "h7"), {}).get("statement", {})
    check(s7.get("actor") == {"objectType": "Agent", "mbox": "mailto:ann@hooli.example"} and
          s7.get("verb", {}).get("id") == "http://adlnet.gov/expapi/verbs/completed" and
          s7.get("object", {}).get("id") == f"{ACTIVITY_IRI_BASE}/assessment/9" and
          s7.get("object", {}).get("definition", {}).get("type") ==
          "http://adlnet.gov/expapi/activities/assessment" and
          s7.get("result") == {"completion": True, "duration": "PT30M",
                               "score": {"scaled": 0.82, "raw": 82, "min": 0, "max": 100}} and
          s7.get("timestamp", "").startswith("2026-03-04T05:06:07") and
          s7.get("context", {}).get("platform") == "datacamp",
          f"an assessment completion as a statement ({s7})")

    initech = statements("initech")
    check(set(initech) == {statement_id("initech-lrs", e) for e in ("i1", "i2", "i3")},
          f"initech: one statement per sent completion ({len(initech)})")
    s1 = initech.get(statement_id("initech-lrs", "i1"), {}).get("statement", {})
    check(s1.get("actor") == {"objectType": "Agent", "account": {
        "homePage": "https://sso.initech.example", "name": "ivy@sso.initech.example"}},
          f"initech: the actor is an account named by the SSO NameID ({s1.get('actor')})")

    skipped = {l.get("event_id"): l.get("reason") for l in w.logs()
               if l.get("msg") == "not sent"}
    check("tested out" in (skipped.get("h9") or "") and "track" in (skipped.get("h10") or "")
          and "email" in (skipped.get("h8") or "") and "sso_nameid" in (skipped.get("i4") or ""),
          f"not sent, with the reason: tested out, a track, no email, no SSO NameID ({skipped})")
    check(w.metric("lmsbridge_deliveries_total", integration="hooli-lrs", outcome="skipped")
          == 3 and w.metric("lmsbridge_deliveries_total", integration="initech-lrs",
                            outcome="skipped") == 1,
          "the skips are counted per integration")

    # OAuth2: the LRS's tokens expire; the next PUT gets 401, a new token,
    # the same PUT again
    tokens_before = env.state("initech")["xapi"]["tokens_issued"]
    env.lms_post("/_sandbox/tokens/expire?tenant=initech", {})
    env.produce(TOPIC, [("ivy", sso("i5", "ivy"), None), ("ike", sso("i6", "ike"), None)])
    wait_for(lambda: len(statements("initech")) == 5, 60, "initech's completions after expiry")
    refused = [r for r in xapi_requests("initech") if r["status"] == 401]
    check(len(refused) >= 1 and env.state("initech")["xapi"]["tokens_issued"] > tokens_before,
          f"initech: a 401 on an expired token, a new token, the PUT again ({len(refused)} 401s)")

    # a dead letter of a completion the LRS already holds (its answer was
    # lost, say), replayed: the same statement id, no second statement
    env.lms_post("/_sandbox/faults", {"tenant": "hooli", "error_rate": None})
    h1 = next(r for r in env.consume_all(TOPIC) if r["key"] == "u1")
    produce_to(env, DLQ, 0, [("u1", h1["payload"], dead_letter_headers(
        TOPIC, h1["partition"], h1["offset"], "retries_exhausted",
        "no response (network error or timeout)", "hooli-lrs"))])
    conf = worker_config_path(w)
    rc, lines, err = dlq_replay("replay", "--config", conf, "--worker", "completion-worker",
                                "--yes", env={"SECRET": SECRET})
    check(rc == 0, f"dlq-replay replays the dead letter ({err.strip()[-300:]})")
    sid = statement_id("hooli-lrs", "h1")
    wait_for(lambda: statements("hooli").get(sid, {}).get("repeats") == 1, 60,
             "the replayed statement")
    check(len(statements("hooli")) == 7 and len(env.consume_all(DLQ)) == 1,
          "the replay sent the same statement id again: no second statement, no new dead letter")

    text = open(w.log_path).read()
    basic = base64.b64encode(f"hooli-lrs-key:{SECRET}".encode()).decode()
    check(SECRET not in text and basic not in text and SECRET not in err,
          "no password, client secret or Basic credentials in the logs")
    w.stop_and_check()
finally:
    env.close()
finish()
