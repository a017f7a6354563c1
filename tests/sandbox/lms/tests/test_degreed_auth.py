#!/usr/bin/env python3
"""Degreed OAuth2 client credentials: reference degreed-api.md section 1."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import check, eq, run  # noqa: E402


def test_good_token(sb):
    r = sb.dg_token_response("acme", "acme-id", "acme-secret-1",
                             "content:read,content:write,completions:write")
    eq(r.status, 200, "status")
    body = r.json
    eq(sorted(body), ["access_token", "expires_in", "refresh_token", "token_type"], "fields")
    eq(body["token_type"], "bearer", "token_type")
    eq(body["expires_in"], 5183999, "default Degreed lifetime")
    check(len(body["access_token"]) >= 32 and body["access_token"].isalnum())
    check(body["refresh_token"] != body["access_token"])
    eq(r.header("Cache-Control"), "no-store")
    other = sb.dg_token()
    check(other != body["access_token"], "tokens are random")
    # the token works on the API
    eq(sb.dg("GET", "acme", "/content/courses", body["access_token"]).status, 200)


def test_scope_with_spaces_after_commas(sb):
    # The default value in Degreed's reference uses ", " between scopes.
    r = sb.dg_token_response("acme", "acme-id", "acme-secret-1",
                             "content:read, content:write")
    eq(r.status, 200, "status")


def test_wrong_credentials_403(sb):
    for cid, secret in (("acme-id", "wrong"), ("nobody", "acme-secret-1"),
                        ("globex-id", "globex-secret")):  # other tenant's client
        r = sb.dg_token_response("acme", cid, secret, "content:read")
        eq(r.status, 403, "status for %s" % cid)
        eq(r.json["error"], "invalid_client")


def test_wrong_scope_403(sb):
    r = sb.dg_token_response("acme", "acme-reader", "acme-secret-2", "content:write")
    eq(r.status, 403, "scope the key does not possess")
    eq(r.json["error"], "invalid_scope")
    check("content:write" in r.json["error_description"])
    r = sb.dg_token_response("acme", "acme-id", "acme-secret-1", "content:read content:write")
    eq(r.status, 403, "space-delimited scopes are not Degreed's format")
    r = sb.dg_token_response("acme", "acme-id", "acme-secret-1", "skill_rating:write")
    eq(r.status, 403, "singular skill_rating is not a Degreed scope")


def test_bad_grant_400(sb):
    r = sb.post("/t/acme/oauth/token", form={"client_id": "acme-id",
                                             "client_secret": "acme-secret-1"})
    eq(r.status, 400, "missing grant_type")
    eq(r.json["error"], "invalid_request")
    r = sb.dg_token_response("acme", "acme-id", "acme-secret-1",
                             extra={"grant_type": "password"})
    eq(r.status, 400, "password grant")
    eq(r.json["error"], "unsupported_grant_type")
    r = sb.post("/t/acme/oauth/token", form={"grant_type": "client_credentials",
                                             "client_id": "acme-id"})
    eq(r.status, 400, "missing secret")
    r = sb.post("/t/acme/oauth/token",
                json_body={"grant_type": "client_credentials", "client_id": "acme-id",
                           "client_secret": "acme-secret-1"})
    eq(r.status, 400, "JSON instead of a form")
    r = sb.post("/t/acme/oauth/token",
                body="grant_type=client_credentials&grant_type=client_credentials"
                     "&client_id=acme-id&client_secret=acme-secret-1",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(r.status, 400, "repeated parameter")
    eq(sb.get("/t/acme/oauth/token").status, 405, "GET")


def test_scopes_enforced(sb):
    reader = sb.dg_token("acme", "acme-reader", "acme-secret-2")
    writer = sb.dg_token("acme", "acme-writer", "acme-secret-3")
    course = {"data": {"type": "content/courses", "attributes": {
        "title": "Scoped", "external-id": "scoped-1", "url": "https://e.com/scoped-1"}}}
    r = sb.dg("POST", "acme", "/content/courses", reader, course)
    eq(r.status, 403, "content:read cannot write")
    eq(r.json["errors"][0]["status"], 403)
    eq(sb.dg("GET", "acme", "/content/courses", reader).status, 200, "reader GET")
    eq(sb.dg("POST", "acme", "/content/courses", writer, course).status, 201, "writer POST")
    eq(sb.dg("GET", "acme", "/content/courses", writer).status, 403,
       "content:write alone cannot GET")
    r = sb.dg("POST", "acme", "/skill-ratings", writer, {"data": {"attributes": {}}})
    eq(r.status, 403, "skill ratings need skill_ratings:write")
    limited = sb.dg_token("acme", "acme-id", "acme-secret-1", "content:read")
    eq(sb.dg("POST", "acme", "/completions", limited, {"data": {"attributes": {}}}).status,
       403, "completions need completions:write")
    # no scope parameter: every scope of the client
    full = sb.dg_token("acme", "acme-id", "acme-secret-1")
    eq(sb.dg("GET", "acme", "/content/courses", full).status, 200)


def test_missing_unknown_foreign_token_401(sb):
    r = sb.get("/t/acme/api/v2/content/courses")
    eq(r.status, 401, "no Authorization")
    eq(r.json["errors"][0]["code"], "unauthorized")
    eq(sb.dg("GET", "acme", "/content/courses", "not-a-token").status, 401, "unknown")
    globex = sb.dg_token("globex", "globex-id", "globex-secret")
    eq(sb.dg("GET", "acme", "/content/courses", globex).status, 401, "other tenant's token")
    sf = sb.sf_token()
    eq(sb.dg("GET", "acme", "/content/courses", sf).status, 401, "SF token on Degreed")
    r = sb.get("/t/acme/api/v2/content/courses",
               headers={"Authorization": "Basic YWNtZS1pZDphY21lLXNlY3JldC0x"})
    eq(r.status, 401, "Basic auth on the API")


def test_expiry_with_one_second_lifetime(sb):
    sb.put_tenants({"name": "shortlived", "degreed": {
        "token_expires_in": 1,
        "clients": [{"client_id": "s-id", "client_secret": "s-secret"}]}})
    r = sb.dg_token_response("shortlived", "s-id", "s-secret")
    eq(r.json["expires_in"], 1, "configured lifetime")
    tok = r.json["access_token"]
    eq(sb.dg("GET", "shortlived", "/content/courses", tok).status, 200, "fresh token")
    time.sleep(1.2)
    r = sb.dg("GET", "shortlived", "/content/courses", tok)
    eq(r.status, 401, "expired token")
    check("expired" in r.json["errors"][0]["detail"], r.json)
    eq(sb.dg("GET", "shortlived", "/content/courses",
             sb.dg_token("shortlived", "s-id", "s-secret")).status, 200, "new token")


def test_expire_control_call(sb):
    tok = sb.dg_token("globex", "globex-id", "globex-secret")
    r = sb.post("/_sandbox/tokens/expire?tenant=globex")
    eq(r.status, 200)
    check(r.json["expired"] >= 1)
    eq(sb.dg("GET", "globex", "/content/courses", tok).status, 401, "expired by control")


def test_unknown_tenant_404(sb):
    r = sb.dg_token_response("nosuch", "a", "b")
    eq(r.status, 404)
    eq(sb.get("/t/nosuch/api/v2/content/courses").status, 404)


def test_token_count_in_state(sb):
    before = sb.state("globex")["degreed"]["tokens_issued"]
    sb.dg_token("globex", "globex-id", "globex-secret")
    eq(sb.state("globex")["degreed"]["tokens_issued"], before + 1)


if __name__ == "__main__":
    run([test_good_token, test_scope_with_spaces_after_commas, test_wrong_credentials_403,
         test_wrong_scope_403, test_bad_grant_400, test_scopes_enforced,
         test_missing_unknown_foreign_token_401, test_expiry_with_one_second_lifetime,
         test_expire_control_call, test_unknown_tenant_404, test_token_count_in_state])
