#!/usr/bin/env python3
"""Degreed completions and skill ratings: reference degreed-api.md sections 4-5."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import check, eq, run  # noqa: E402

TOKEN = {}


def tok(sb, tenant="acme"):
    if tenant not in TOKEN:
        TOKEN[tenant] = (sb.dg_token() if tenant == "acme" else
                         sb.dg_token(tenant, tenant + "-id", tenant + "-secret"))
    return TOKEN[tenant]


def completion(user="ann@acme.example", content="course-1", **extra):
    a = {"user-id": user, "user-identifier-type": "Email", "content-id": content,
         "content-id-type": "ExternalId", "content-type": "Course",
         "completed-at": "2024-05-01T10:11:12"}
    a.update(extra)
    return {"data": {"attributes": a}}


def test_completion_created_then_idempotent(sb):
    body = completion(percentile=80.0)
    r = sb.dg("POST", "acme", "/completions", tok(sb), body)
    eq(r.status, 201, "new completion")
    data = r.json["data"]
    eq(data["type"], "completions")
    eq(data["attributes"], body["data"]["attributes"], "attributes as sent")
    r2 = sb.dg("POST", "acme", "/completions", tok(sb), body)
    eq(r2.status, 200, "repeat")
    eq(r2.json["data"]["id"], data["id"], "same record")
    # user ids are e-mails: the same learner in another case is the same learner
    r3 = sb.dg("POST", "acme", "/completions", tok(sb),
               completion(user="ANN@acme.example", percentile=80.0))
    eq(r3.status, 200, "case-insensitive user")
    comps = [c for c in sb.state("acme")["degreed"]["completions"]
             if c["attributes"]["content-id"] == "course-1"]
    eq(len(comps), 1, "no duplicate record")
    eq(comps[0]["repeats"], 2)
    eq(comps[0]["attributes"]["percentile"], 80.0)


def test_edx_exact_body(sb):
    # EDX test_create_course_completion, user mapped to a known learner
    body = {"data": {"attributes": {
        "user-id": "bob@acme.example", "user-identifier-type": "Email",
        "content-id": "DemoX", "content-id-type": "externalId", "content-type": "course",
        "completed-at": "2017-01-02", "percentile": 80}}}
    eq(sb.dg("POST", "acme", "/completions", tok(sb), body).status, 201)


def test_unknown_user_400_exact(sb):
    r = sb.dg("POST", "acme", "/completions", tok(sb),
              completion(user="test-learner@example.com"))
    eq(r.status, 400)
    e = r.json["errors"][0]
    eq(e["code"], "bad-request")
    eq(e["status"], 400)
    eq(e["title"], "Bad Request")
    eq(e["detail"], "Invalid user identifier: test-learner@example.com")
    eq(e["source"], "test-learner@example.com")
    check(len(e["id"]) == 36)
    eq(sorted(r.json), ["errors"])
    # without a user list every user is accepted
    eq(sb.dg("POST", "globex", "/completions", tok(sb, "globex"),
             completion(user="anyone@globex.example")).status, 201)


def test_validation(sb):
    for missing in ("user-id", "user-identifier-type", "content-id", "content-id-type",
                    "content-type", "completed-at"):
        body = completion(content="v-" + missing)
        del body["data"]["attributes"][missing]
        r = sb.dg("POST", "acme", "/completions", tok(sb), body)
        eq(r.status, 400, missing)
        check(missing in r.json["errors"][0]["detail"], r.json)
    for extra, what in (({"user-identifier-type": "Mail"}, "identifier type"),
                        ({"content-id-type": "Key"}, "content id type"),
                        ({"content-type": "Sandwich"}, "content type"),
                        ({"completed-at": "01/02/2024"}, "date format"),
                        ({"completed-at": "2024-02-30"}, "impossible date"),
                        ({"percentile": 120}, "percentile range"),
                        ({"percentile": "80"}, "percentile type")):
        r = sb.dg("POST", "acme", "/completions", tok(sb), completion(content="v2", **extra))
        eq(r.status, 400, what)
    for ok in ("2024-05-01", "2024-05-01T10:11:12Z", "2024-05-01T10:11:12.123+02:00"):
        eq(sb.dg("POST", "acme", "/completions", tok(sb),
                 completion(content="date-" + ok, **{"completed-at": ok})).status, 201, ok)
    eq(sb.dg("POST", "acme", "/completions", tok(sb), {"attributes": {}}).status, 400)
    eq(sb.dg("GET", "acme", "/completions", tok(sb)).status, 405)


def test_known_content_required(sb):
    sb.put_tenants({"name": "strict", "degreed": {
        "require_known_content": True,
        "clients": [{"client_id": "strict-id", "client_secret": "strict-secret"}]}})
    t = tok(sb, "strict")
    r = sb.dg("POST", "strict", "/completions", t, completion(content="course-9"))
    eq(r.status, 400)
    eq(r.json["errors"][0]["detail"], "Invalid content identifier: course-9")
    created = sb.dg("POST", "strict", "/content/courses", t, {"data": {"attributes": {
        "title": "C9", "external-id": "course-9", "url": "https://e.com/c9"}}}).json["data"]
    eq(sb.dg("POST", "strict", "/completions", t, completion(content="course-9")).status, 201)
    eq(sb.dg("POST", "strict", "/completions", t,
             completion(content=created["id"], **{"content-id-type": "Id"})).status, 201)
    eq(sb.dg("POST", "strict", "/completions", t,
             completion(content="https://e.com/c9",
                        **{"content-id-type": "ContentUrl"})).status, 201)


def test_skill_ratings(sb):
    body = {"data": {"attributes": {"user-id": "ann@acme.example",
                                    "user-identifier-type": "Email",
                                    "skill-name": "Python", "rating": 5,
                                    "rating-type": "Evaluation"}}}
    r = sb.dg("POST", "acme", "/skill-ratings", tok(sb), body)
    eq(r.status, 201)
    eq(r.json["data"]["type"], "skill-ratings")
    eq(r.json["data"]["attributes"], body["data"]["attributes"])
    ratings = sb.state("acme")["degreed"]["skill_ratings"]
    check(any(x["attributes"]["skill-name"] == "Python" for x in ratings))
    for attr, value in (("rating", "5"), ("rating", None), ("skill-name", ""),
                        ("user-identifier-type", "Nope"), ("rating-type", 3)):
        bad = {"data": {"attributes": dict(body["data"]["attributes"])}}
        bad["data"]["attributes"][attr] = value
        eq(sb.dg("POST", "acme", "/skill-ratings", tok(sb), bad).status, 400, attr)
    bad = {"data": {"attributes": dict(body["data"]["attributes"])}}
    bad["data"]["attributes"]["user-id"] = "stranger@example.com"
    r = sb.dg("POST", "acme", "/skill-ratings", tok(sb), bad)
    eq(r.status, 400)
    eq(r.json["errors"][0]["detail"], "Invalid user identifier: stranger@example.com")


if __name__ == "__main__":
    run([test_completion_created_then_idempotent, test_edx_exact_body,
         test_unknown_user_400_exact, test_validation, test_known_content_required,
         test_skill_ratings])
