#!/usr/bin/env python3
"""Degreed content courses and assessments: reference degreed-api.md section 3."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import check, eq, run  # noqa: E402

TOKEN = {}


def tok(sb):
    if "t" not in TOKEN:
        TOKEN["t"] = sb.dg_token()
    return TOKEN["t"]


def doc(ext, type_="content/courses", **attrs):
    a = {"title": "Title " + ext, "external-id": ext, "url": "https://example.com/" + ext}
    a.update(attrs)
    return {"data": {"type": type_, "attributes": a}}


def check_error_shape(r, status):
    eq(r.status, status, "status (%s)" % r.body[:200])
    errors = r.json["errors"]
    eq(len(errors), 1, "one error")
    e = errors[0]
    for key in ("id", "code", "status", "title", "detail"):
        check(key in e, "error has %s: %r" % (key, e))
    eq(e["status"], status, "errors[0].status")
    check(re.fullmatch(r"[0-9a-f-]{36}", e["id"]), "uuid id")
    return e


def test_create_course(sb):
    body = doc("course-101", summary="A course", duration=4, **{
        "duration-type": "Hours", "image-url": "https://example.com/python.png",
        "provider-code": "datacamp", "format": "course", "language": "en-US",
        "obsolete": False, "x-custom": {"kept": [1, 2]}})
    r = sb.dg("POST", "acme", "/content/courses", tok(sb), body)
    eq(r.status, 201, "create")
    data = r.json["data"]
    eq(data["type"], "content/courses")
    check(re.fullmatch(r"[A-Za-z0-9]{7}", data["id"]), "hashid-like id %r" % data["id"])
    check(data["id"] != data["id"].lower() and data["id"] != data["id"].upper(),
          "mixed case id")
    for k, v in body["data"]["attributes"].items():
        eq(data["attributes"][k], v, "attribute %s" % k)
    check("created-at" in data["attributes"])
    check(r.header("Location").endswith("/t/acme/api/v2/content/courses/" + data["id"]))
    check(r.header("X-Rate-Limit-Remaining") is not None)
    st = sb.state("acme")["degreed"]["courses"]
    stored = [c for c in st if c["id"] == data["id"]][0]
    eq(stored["attributes"], body["data"]["attributes"], "stored exactly as sent")


def test_create_without_type_accepted(sb):
    body = doc("course-notype")
    del body["data"]["type"]
    eq(sb.dg("POST", "acme", "/content/courses", tok(sb), body).status, 201)
    eq(sb.dg("POST", "acme", "/content/courses", tok(sb),
             doc("course-badtype", type_="content/articles")).status, 400, "wrong type")


def test_required_attributes(sb):
    for missing in ("title", "external-id", "url"):
        body = doc("course-missing-" + missing)
        del body["data"]["attributes"][missing]
        e = check_error_shape(sb.dg("POST", "acme", "/content/courses", tok(sb), body), 400)
        check(missing in e["detail"], e)
    for attrs, what in (({"title": ""}, "empty title"),
                        ({"url": "example.com/x"}, "relative url"),
                        ({"duration": "4"}, "duration as string"),
                        ({"duration-type": "hours"}, "duration-type case"),
                        ({"obsolete": "true"}, "obsolete as string"),
                        ({"num-questions": 1.5}, "num-questions not integer")):
        e = check_error_shape(
            sb.dg("POST", "acme", "/content/courses", tok(sb), doc("course-bad", **attrs)), 400)
        check(e["code"] == "bad-request", what)
    e = check_error_shape(sb.dg("POST", "acme", "/content/courses", tok(sb),
                                {"attributes": {"title": "x"}}), 400)
    check("data" in e["detail"])
    r = sb.request("POST", "/t/acme/api/v2/content/courses", body="{not json",
                   headers={"Authorization": "Bearer " + tok(sb),
                            "Content-Type": "application/json"})
    check_error_shape(r, 400)


def test_json_only_406(sb):
    r = sb.request("POST", "/t/acme/api/v2/content/courses",
                   body="title=x", headers={"Authorization": "Bearer " + tok(sb),
                                            "Content-Type": "text/plain"})
    check_error_shape(r, 406)
    r = sb.dg("GET", "acme", "/content/courses", tok(sb), headers={"Accept": "text/html"})
    check_error_shape(r, 406)
    r = sb.dg("GET", "acme", "/content/courses", tok(sb),
              headers={"Accept": "application/vnd.api+json"})
    eq(r.status, 200)


def test_duplicate_external_id_409(sb):
    eq(sb.dg("POST", "acme", "/content/courses", tok(sb), doc("course-dup")).status, 201)
    body = doc("course-dup")
    body["data"]["attributes"]["url"] = "https://example.com/other"
    e = check_error_shape(sb.dg("POST", "acme", "/content/courses", tok(sb), body), 409)
    check(e["detail"].startswith("Resource conflict. You cannot use the same ExternalID or "
                                 "URL to identify multiple resources"), e)
    # duplicate URL conflicts too (reference: "ExternalID or URL")
    body = doc("course-dup-url")
    body["data"]["attributes"]["url"] = "https://example.com/course-dup"
    check_error_shape(sb.dg("POST", "acme", "/content/courses", tok(sb), body), 409)
    # per resource type: an assessment may reuse the external id
    r = sb.dg("POST", "acme", "/content/assessments", tok(sb),
              doc("course-dup", type_="content/assessments"))
    eq(r.status, 201, "assessments are a separate namespace")
    # per tenant: globex may reuse it
    g = sb.dg_token("globex", "globex-id", "globex-secret")
    eq(sb.dg("POST", "globex", "/content/courses", g, doc("course-dup")).status, 201)


def test_lookup_by_external_id_both_encodings(sb):
    created = sb.dg("POST", "acme", "/content/courses", tok(sb), doc("project-7")).json["data"]
    for q in ("filter[external_id]=project-7", "filter%5Bexternal_id%5D=project-7"):
        r = sb.dg("GET", "acme", "/content/courses?" + q, tok(sb))
        eq(r.status, 200, q)
        data = r.json["data"]
        eq(len(data), 1, q)
        eq(data[0]["id"], created["id"], q)
        eq(data[0]["attributes"]["external-id"], "project-7")
    r = sb.dg("GET", "acme", "/content/courses?filter[external_id]=nothing-here", tok(sb))
    eq(r.json["data"], [], "not found is an empty list")
    # '+' in a query means a space: EDX encodes it as %2B
    sb.dg("POST", "acme", "/content/courses", tok(sb), doc("c++-intro"))
    eq(sb.dg("GET", "acme", "/content/courses?filter[external_id]=c++-intro",
             tok(sb)).json["data"], [], "unencoded + is a space")
    eq(len(sb.dg("GET", "acme", "/content/courses?filter[external_id]=c%2B%2B-intro",
                 tok(sb)).json["data"]), 1, "%2B")


def test_get_one_case_sensitive(sb):
    created = sb.dg("POST", "acme", "/content/courses", tok(sb), doc("case-1")).json["data"]
    r = sb.dg("GET", "acme", "/content/courses/" + created["id"], tok(sb))
    eq(r.status, 200)
    eq(r.json["data"]["id"], created["id"])
    check_error_shape(sb.dg("GET", "acme", "/content/courses/" + created["id"].swapcase(),
                            tok(sb)), 404)
    check_error_shape(sb.dg("GET", "acme", "/content/assessments/" + created["id"],
                            tok(sb)), 404)


def test_patch_obsolete_and_merge(sb):
    created = sb.dg("POST", "acme", "/content/courses", tok(sb),
                    doc("archive-me", summary="keep me")).json["data"]
    cid = created["id"]
    patch = {"data": {"type": "content/courses", "id": cid, "attributes": {"obsolete": True}}}
    r = sb.dg("PATCH", "acme", "/content/courses/" + cid, tok(sb), patch)
    eq(r.status, 200, "PATCH")
    attrs = r.json["data"]["attributes"]
    eq(attrs["obsolete"], True)
    eq(attrs["summary"], "keep me", "merged, not replaced")
    stored = [c for c in sb.state("acme")["degreed"]["courses"] if c["id"] == cid][0]
    eq(stored["attributes"]["obsolete"], True, "state")
    eq(stored["patches"], 1)
    listed = sb.dg("GET", "acme", "/content/courses?limit=1000", tok(sb)).json["data"]
    check(cid not in [c["id"] for c in listed], "GET all hides obsolete content")
    found = sb.dg("GET", "acme", "/content/courses?filter[external_id]=archive-me",
                  tok(sb)).json["data"]
    eq([c["id"] for c in found], [cid], "lookup by external id finds obsolete content")
    # revive, as the EDX upsert does on 409
    patch["data"]["attributes"] = {"obsolete": False, "title": "Revived"}
    eq(sb.dg("PATCH", "acme", "/content/courses/" + cid, tok(sb),
             patch).json["data"]["attributes"]["title"], "Revived")
    # id mismatch, unknown id, conflicting external id
    bad = {"data": {"id": "zzzzzzz", "attributes": {"title": "x"}}}
    check_error_shape(sb.dg("PATCH", "acme", "/content/courses/" + cid, tok(sb), bad), 400)
    check_error_shape(sb.dg("PATCH", "acme", "/content/courses/NoSuch1", tok(sb),
                            {"data": {"attributes": {"title": "x"}}}), 404)
    sb.dg("POST", "acme", "/content/courses", tok(sb), doc("taken-ext"))
    check_error_shape(sb.dg("PATCH", "acme", "/content/courses/" + cid, tok(sb),
                            {"data": {"attributes": {"external-id": "taken-ext"}}}), 409)
    check_error_shape(sb.dg("PATCH", "acme", "/content/courses/" + cid, tok(sb),
                            {"data": {"attributes": {"title": None}}}), 400)


def test_delete(sb):
    cid = sb.dg("POST", "acme", "/content/courses", tok(sb), doc("delete-me")).json["data"]["id"]
    r = sb.dg("DELETE", "acme", "/content/courses/" + cid, tok(sb))
    eq(r.status, 204)
    eq(r.body, b"")
    check_error_shape(sb.dg("GET", "acme", "/content/courses/" + cid, tok(sb)), 404)
    check_error_shape(sb.dg("DELETE", "acme", "/content/courses/" + cid, tok(sb)), 404)
    eq(sb.dg("GET", "acme", "/content/courses?filter[external_id]=delete-me",
             tok(sb)).json["data"], [])
    deleted = sb.state("acme")["degreed"]["deleted_courses"]
    check(any(d["id"] == cid and d["external-id"] == "delete-me" for d in deleted))
    # the external id is free again
    eq(sb.dg("POST", "acme", "/content/courses", tok(sb), doc("delete-me")).status, 201)


def test_assessments(sb):
    body = doc("assessment-py", type_="content/assessments", **{"num-questions": 15})
    r = sb.dg("POST", "acme", "/content/assessments", tok(sb), body)
    eq(r.status, 201)
    aid = r.json["data"]["id"]
    eq(r.json["data"]["type"], "content/assessments")
    eq(r.json["data"]["attributes"]["num-questions"], 15)
    check_error_shape(sb.dg("POST", "acme", "/content/assessments", tok(sb), body), 409)
    for q in ("filter[external_id]=assessment-py", "filter%5Bexternal_id%5D=assessment-py"):
        eq([a["id"] for a in sb.dg("GET", "acme", "/content/assessments?" + q,
                                   tok(sb)).json["data"]], [aid], q)
    eq(sb.dg("PATCH", "acme", "/content/assessments/" + aid, tok(sb),
             {"data": {"type": "content/assessments", "id": aid,
                       "attributes": {"obsolete": True}}}).status, 200)
    eq(sb.dg("GET", "acme", "/content/assessments/" + aid, tok(sb)).json["data"]
       ["attributes"]["obsolete"], True)
    st = sb.state("acme")["degreed"]["assessments"]
    check(any(a["id"] == aid and a["attributes"]["obsolete"] is True for a in st))
    eq(sb.dg("DELETE", "acme", "/content/assessments/" + aid, tok(sb)).status, 204)
    check_error_shape(sb.dg("GET", "acme", "/content/assessments/" + aid, tok(sb)), 404)


def test_list_pagination(sb):
    g = sb.dg_token("globex", "globex-id", "globex-secret")
    for i in range(5):
        sb.dg("POST", "globex", "/content/assessments", g,
              doc("page-%d" % i, type_="content/assessments"))
    r = sb.dg("GET", "globex", "/content/assessments?limit=2", g)
    eq(len(r.json["data"]), 2)
    nxt = r.json["links"]["next"]
    check("next=" in nxt)
    seen = [a["id"] for a in r.json["data"]]
    while nxt:
        path = nxt.split("/api/v2", 1)[1]
        page = sb.dg("GET", "globex", path, g).json
        seen += [a["id"] for a in page["data"]]
        nxt = page["links"].get("next")
    eq(len(set(seen)), 5, "all pages")
    check_error_shape(sb.dg("GET", "globex", "/content/assessments?limit=5000", g), 400)


def test_skills_relationship(sb):
    cid = sb.dg("POST", "acme", "/content/courses", tok(sb), doc("skills-1")).json["data"]["id"]
    body = {"data": [{"type": "skills", "id": "Financial Technology"}]}
    r = sb.dg("PATCH", "acme", "/content/%s/relationships/skills" % cid, tok(sb), body)
    eq(r.status, 201, "EDX treats 201 as success")
    stored = [c for c in sb.state("acme")["degreed"]["courses"] if c["id"] == cid][0]
    eq(stored["skills"], body["data"])
    r = sb.dg("PATCH", "acme", "/content/%s/relationships/skills" % cid, tok(sb),
              ["Financial Technology"])
    check_error_shape(r, 400)  # the EDX bug: a bare list


def test_unknown_paths_and_methods(sb):
    check_error_shape(sb.dg("GET", "acme", "/content/articles", tok(sb)), 404)
    check_error_shape(sb.dg("GET", "acme", "/content/courses/", tok(sb)), 404)
    r = sb.dg("PUT", "acme", "/content/courses", tok(sb), doc("x"))
    check_error_shape(r, 405)
    check("POST" in r.header("Allow"))
    check_error_shape(sb.dg("POST", "acme", "/content/courses/abc", tok(sb), doc("x")), 405)
    eq(sb.get("/nowhere").status, 404)


if __name__ == "__main__":
    run([test_create_course, test_create_without_type_accepted, test_required_attributes,
         test_json_only_406, test_duplicate_external_id_409,
         test_lookup_by_external_id_both_encodings, test_get_one_case_sensitive,
         test_patch_obsolete_and_merge, test_delete, test_assessments, test_list_pagination,
         test_skills_relationship, test_unknown_paths_and_methods])
