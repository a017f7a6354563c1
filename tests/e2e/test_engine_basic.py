#!/usr/bin/env python3
"""The engine end to end with completion-worker: events delivered, invalid
events and permanent LMS refusals dead-lettered with the original record
byte for byte and the docs/delivery.md headers, metrics and health,
SIGTERM exiting 0, and offsets committed (a restart redelivers nothing:
a member started afterwards consumes only a record produced to each
partition after it started)."""
from harness import (Env, check, completion, degreed_integration, degreed_tenant, finish, ns,
                     wait_for)

SECRET = "e2e-basic-secret-77"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:4", f"{TOPIC}.retry:4", f"{TOPIC}.dlq:1"]

known = [f"u{i}" for i in range(190)]
env = Env(TOPICS, [degreed_tenant("acme", SECRET,
                                  users=[f"{u}@acme.example" for u in known])])
try:
    integ = degreed_integration(env, "acme-degreed", "acme", "ACME_SECRET")
    w = env.worker("completion-worker", integ, env={"ACME_SECRET": SECRET})

    good = [(f"u{i}", completion(f"e{i}", "acme", f"u{i}", content=str(i % 5)))
            for i in range(200)]  # u190..u199 are unknown to the LMS
    invalid = [("bad1", "not json"), ("bad2", "{}"),
               ("bad3", completion("x3", "acme", "u1").replace("course", "webinar"))]
    env.produce_many(TOPIC, good + invalid)
    env.produce(TOPIC, [("bad4", '{"schema":"completion.v1"}',
                         {"trace-id": "t-4", "origin": "e2e"})])

    wait_for(lambda: len(env.state("acme")["degreed"]["completions"]) >= 190, 60,
             "190 completions")
    dlq = wait_for(lambda: (lambda r: r if len(r) >= 14 else None)(
        env.consume_all(f"{TOPIC}.dlq")), 60, "14 dead letters")
    check(len(env.state("acme")["degreed"]["completions"]) == 190, "190 completions recorded")

    by_class = {}
    for r in dlq:
        by_class.setdefault(r["headers"].get("__connect.errors.exception.class.name"), []).append(r)
    check(len(by_class.get("permanent_http", [])) == 10, "10 unknown learners dead-lettered")
    check(len(by_class.get("invalid_event", [])) == 4, "4 invalid events dead-lettered")

    produced = dict(good + invalid + [("bad4", '{"schema":"completion.v1"}')])
    check(all(r["payload"] == produced[r["key"]] for r in dlq),
          "dead letters keep the original key and value byte for byte")
    bad4 = [r for r in dlq if r["key"] == "bad4"][0]
    check(bad4["headers"].get("trace-id") == "t-4" and bad4["headers"].get("origin") == "e2e",
          "dead letters keep the original headers")
    perm = by_class["permanent_http"][0]["headers"]
    names = ["__connect.errors.topic", "__connect.errors.partition", "__connect.errors.offset",
             "__connect.errors.exception.class.name", "__connect.errors.exception.message",
             "lmsbridge.integration", "lmsbridge.http.status", "lmsbridge.http.body",
             "lmsbridge.attempts", "lmsbridge.first_failure", "lmsbridge.last_failure",
             "lmsbridge.worker", "lmsbridge.replays"]
    check(all(n in perm for n in names), "dead letters carry every header of docs/delivery.md")
    check(perm["__connect.errors.topic"] == TOPIC and
          perm["__connect.errors.partition"].isdigit() and
          perm["__connect.errors.offset"].isdigit() and
          perm["lmsbridge.integration"] == "acme-degreed" and
          perm["lmsbridge.http.status"] == "400" and
          "Invalid user identifier" in perm["lmsbridge.http.body"] and
          perm["lmsbridge.worker"] == "completion-worker" and
          perm["lmsbridge.replays"] == "0" and perm["lmsbridge.first_failure"].endswith("Z"),
          "permanent refusal headers: coordinates, integration, status, LMS body")
    inv = [r for r in dlq if r["key"] == "bad1"][0]["headers"]
    check(inv["__connect.errors.exception.message"].startswith("$: not valid JSON") and
          inv["lmsbridge.integration"] == "",
          "invalid event headers: the reason names the field")
    check(all(SECRET not in str(r) for r in dlq), "no secret in dead letters")

    # support finds the LMS's side of a dead letter by the request id logged
    dead = [l for l in w.logs() if l["msg"].startswith("delivery failed for good")]
    answered = [(r["headers"].get("X-Request-Id"), r["status"]) for r in env.lms_requests("acme")]
    seen = dict(answered)
    check(len(dead) == 10 and all(seen.get(l.get("request_id")) == 400 for l in dead),
          "each dead letter's log line names the request id the LMS saw refused")
    ids = [i for i, _ in answered]
    check(len(set(ids)) == len(ids) and all(i and i.startswith("lb-") for i in ids),
          "request ids are unique")

    # metrics and health
    check(w.metric("lmsbridge_deliveries_total", integration="acme-degreed",
                   outcome="success") == 190, "metric: 190 successful deliveries")
    check(w.metric("lmsbridge_dlq_records_total", reason="invalid_event") == 4 and
          w.metric("lmsbridge_dlq_records_total", reason="permanent_http") == 10,
          "metric: dead letters by reason")
    check(w.metric("lmsbridge_events_consumed_total", topic=TOPIC) == 204,
          "metric: 204 events consumed")
    check(w.metric("lmsbridge_http_requests_total", integration="acme-degreed", code="201") > 0,
          "metric: HTTP responses by code")
    check(w.metric("lmsbridge_oauth_token_fetches_total", integration="acme-degreed",
                   outcome="success") == 1, "metric: one token fetch")
    check(w.get("/healthz")[0] == 200 and w.get("/readyz")[0] == 200, "/healthz and /readyz 200")
    _, text = w.get("/metrics")
    check("lmsbridge_delivery_seconds_bucket" in text and "lmsbridge_inflight" in text,
          "metric: delivery histogram and in-flight gauge exported")

    rc, secs = w.stop()
    check(rc == 0 and secs < 25, f"SIGTERM: exit 0 in {secs:.1f}s")
    check(all(SECRET not in str(l) for l in w.logs()), "no secret in the worker's logs")

    # offsets were committed: a new member of the group redelivers nothing
    w2 = env.worker("completion-worker", integ, env={"ACME_SECRET": SECRET})
    # a marker at the end of each partition: once w2 has delivered all four it
    # has read every partition from its committed offset to the end, so
    # whatever it would consume again has been consumed by then
    for p in range(4):
        env.produce_many(TOPIC, [(f"u{p}", completion(f"mark{p}", "acme", f"u{p}",
                                                      content="mark"))], partition=p)
    wait_for(lambda: len(env.state("acme")["degreed"]["completions"]) == 194, 120,
             "the four markers delivered")
    st = env.state("acme")["degreed"]["completions"]
    check(sum(c.get("repeats", 0) for c in st) == 0 and len(st) == 194,
          "restart: nothing delivered twice (190 and the 4 markers)")
    check(len(env.consume_all(f"{TOPIC}.dlq")) == 14, "restart: no new dead letters")
    consumed = w2.metric("lmsbridge_events_consumed_total", topic=TOPIC)
    check(consumed == 4, f"restart: nothing consumed again, only the 4 markers ({consumed:.0f})")
    w2.stop_and_check("second worker")
finally:
    env.close()
finish()
