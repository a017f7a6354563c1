#!/usr/bin/env python3
"""SuccessFactors Learning OAuth token server: reference
successfactors-ocn-api.md section 1."""

import base64
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import check, course, eq, run  # noqa: E402

TOKEN_PATH = "/t/acme/learning/oauth-api/rest/v1/token"


def test_good_basic_token(sb):
    r = sb.sf_token_response("acme", "acme-sf", "acme-sf-secret")
    eq(r.status, 200)
    eq(sorted(r.json), ["access_token", "expires_in", "token_type"])
    eq(r.json["expires_in"], 1800)
    eq(r.json["token_type"], "Bearer")
    eq(sb.ocn_courses("acme", r.json["access_token"], [course("auth-1")]).status, 200)
    # T1 of the reference, byte for byte (with this tenant's values)
    raw = ('{"grant_type": "client_credentials", "scope": {"userId": "ocn_admin", '
           '"companyId": "ACME", "userType": "admin", "resourceType": '
           '"learning_public_api"}}')
    cred = base64.b64encode(b"acme-sf:acme-sf-secret").decode()
    r = sb.post(TOKEN_PATH, body=raw, headers={"Authorization": "Basic " + cred,
                                               "content-type": "application/json"})
    eq(r.status, 200, "T1 shape")


def test_body_credentials_accepted(sb):
    body = {"client_id": "acme-sf", "client_secret": "acme-sf-secret",
            "grant_type": "client_credentials",
            "scope": {"userId": "ocn_admin", "companyId": "ACME", "userType": "admin",
                      "resourceType": "learning_public_api"}}
    eq(sb.sf_token_response("acme", None, None, body=body, basic=False).status, 200)


def test_bad_credentials_401(sb):
    eq(sb.sf_token_response("acme", "acme-sf", "wrong").status, 401, "wrong secret")
    eq(sb.sf_token_response("acme", "nobody", "acme-sf-secret").status, 401, "unknown id")
    eq(sb.sf_token_response("acme", "globex-sf", "globex-sf-secret").status, 401,
       "other tenant's client")
    r = sb.sf_token_response("acme", None, None, basic=False)
    eq(r.status, 401, "no credentials")
    r = sb.post(TOKEN_PATH, json_body={}, headers={"Authorization": "Basic !!!"})
    eq(r.status, 401, "undecodable Basic")


def test_scope_rules(sb):
    def with_scope(scope, grant="client_credentials"):
        return sb.sf_token_response("acme", "acme-sf", "acme-sf-secret",
                                    body={"grant_type": grant, "scope": scope})
    good = {"userId": "ocn_admin", "companyId": "ACME", "userType": "admin",
            "resourceType": "learning_public_api"}
    eq(with_scope(good).status, 200)
    eq(with_scope("userId=ocn_admin companyId=ACME").status, 400, "scope as a string")
    for key in good:
        s = dict(good)
        del s[key]
        eq(with_scope(s).status, 400, "missing " + key)
    eq(with_scope(dict(good, resourceType="learning")).status, 400, "resourceType")
    eq(with_scope(dict(good, userType="superuser")).status, 400, "userType")
    eq(with_scope(good, grant="password").status, 400, "grant_type")
    eq(with_scope(dict(good, companyId="GLOBEX")).status, 401, "foreign company")
    eq(with_scope(dict(good, userId="u1")).status, 401, "not an admin")
    r = sb.post(TOKEN_PATH, body="grant_type=client_credentials",
                headers={"Authorization": "Basic " +
                         base64.b64encode(b"acme-sf:acme-sf-secret").decode(),
                         "Content-Type": "application/x-www-form-urlencoded"})
    eq(r.status, 415, "not JSON")


def test_user_tokens(sb):
    user = sb.sf_token(user="u1", user_type="user")
    r = sb.ocn_courses("acme", user, [course("user-token")])
    eq(r.status, 403, "admin endpoint with a learner token")
    check("error" in r.json and "message" in r.json["error"])
    r = sb.sf_token_response("acme", "acme-sf", "acme-sf-secret", user="gone",
                             user_type="user")
    eq(r.status, 400)
    check("user account is inactive" in r.json["error_description"], r.json)
    eq(sb.sf_token_response("acme", "acme-sf", "acme-sf-secret", user="nobody",
                            user_type="user").status, 401)


def test_expired_token_body(sb):
    sb.put_tenants({"name": "sfshort", "sf": {
        "company_id": "SHORT", "client_id": "c", "client_secret": "s",
        "admin_users": ["adm"], "token_expires_in": 1}})
    r = sb.sf_token_response("sfshort", "c", "s", user="adm", company="SHORT")
    eq(r.json["expires_in"], 1)
    t = r.json["access_token"]
    eq(sb.ocn_courses("sfshort", t, [course("exp-1")]).status, 200)
    time.sleep(1.2)
    r = sb.ocn_courses("sfshort", t, [course("exp-1")])
    eq(r.status, 401)
    eq(r.json, {"error_description": "The token has expired."}, "DT's expired body")


def test_unknown_and_foreign_tokens(sb):
    eq(sb.ocn_courses("acme", "bogus", [course("x")]).status, 401, "unknown")
    dg = sb.dg_token()
    eq(sb.ocn_courses("acme", dg, [course("x")]).status, 401, "Degreed token on SF")
    g = sb.sf_token("globex", "globex-sf", "globex-sf-secret", user="admin",
                    company="GLOBEX")
    eq(sb.ocn_courses("acme", g, [course("x")]).status, 401, "other tenant's token")
    r = sb.post("/t/acme/learning/odatav4/public/admin/ocn/v1/OcnCourses",
                json_body={"ocnCourses": [course("x")]})
    eq(r.status, 401, "no token")
    eq(sb.state("acme")["sf"]["tokens_issued"] >= 1, True)


if __name__ == "__main__":
    run([test_good_basic_token, test_body_credentials_accepted, test_bad_credentials_401,
         test_scope_rules, test_user_tokens, test_expired_token_body,
         test_unknown_and_foreign_tokens])
