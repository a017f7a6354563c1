#!/usr/bin/env python3
"""The xAPI Learning Record Store of each tenant (/t/<tenant>/xapi): the
statements resource as xAPI 1.0.3 Part Three 2.1 says (PUT 204, the same
statement again 204, a different one under a stored id 409, POST of one or a
batch with ids assigned, GET by statementId), the version header, Basic and
OAuth2 bearer auth, per-tenant faults, the state and request log."""

import base64
import copy
import http.client
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import DEFAULT_CONFIG, Sandbox, check, eq, run  # noqa: E402

RESETS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

ACME_LRS = ("acme-lrs", "acme-lrs-password-1")
GLOBEX_LRS = ("globex-lrs", "globex-lrs-password-2")
CLIENT = ("acme-lrs-client", "acme-lrs-client-secret-3")
READER = ("acme-lrs-reader", "acme-lrs-reader-secret-4")
MINE = ("acme-lrs-mine", "acme-lrs-mine-secret-5")
SECRETS = [ACME_LRS[1], GLOBEX_LRS[1], CLIENT[1], READER[1], MINE[1]]


def config():
    cfg = copy.deepcopy(DEFAULT_CONFIG)
    acme, globex = cfg["tenants"]
    acme["xapi"] = {
        "credentials": [{"username": ACME_LRS[0], "password": ACME_LRS[1]}],
        "clients": [
            {"client_id": CLIENT[0], "client_secret": CLIENT[1]},
            {"client_id": READER[0], "client_secret": READER[1],
             "scopes": ["statements/read"]},
            {"client_id": MINE[0], "client_secret": MINE[1],
             "scopes": ["statements/write", "statements/read/mine"]},
        ],
    }
    globex["xapi"] = {"credentials": [{"username": GLOBEX_LRS[0],
                                       "password": GLOBEX_LRS[1]}]}
    return cfg


def basic(cred):
    return "Basic " + base64.b64encode(("%s:%s" % cred).encode()).decode()


def sid(name):
    """A statement id as the design makes them: UUID v5 in the URL namespace."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "lmsbridge:acme-lrs:" + name))


def statement(n, email="ann@acme.example", **over):
    """A completion as docs/mapping.md maps it (actor by mbox)."""
    s = {"actor": {"objectType": "Agent", "mbox": "mailto:" + email},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/completed",
                  "display": {"en-US": "completed"}},
         "object": {"objectType": "Activity",
                    "id": "https://www.datacamp.com/xapi/course/%d" % n,
                    "definition": {"type": "http://adlnet.gov/expapi/activities/course"}},
         "result": {"completion": True, "duration": "PT2H",
                    "score": {"scaled": 0.85, "raw": 85, "min": 0, "max": 100}},
         "timestamp": "2026-03-01T10:00:00Z",
         "context": {"platform": "datacamp"}}
    s.update(over)
    return s


def hdrs(auth=ACME_LRS, version="1.0.3", extra=None):
    h = {}
    if auth is not None:
        h["Authorization"] = auth if isinstance(auth, str) else basic(auth)
    if version is not None:
        h["X-Experience-API-Version"] = version
    h.update(extra or {})
    return h


def xput(sb, statement_id, body, tenant="acme", query=None, **kw):
    q = "?statementId=" + statement_id if query is None else query
    return sb.request("PUT", "/t/%s/xapi/statements%s" % (tenant, q),
                      json_body=body, headers=hdrs(**kw))


def xpost(sb, body, tenant="acme", **kw):
    return sb.request("POST", "/t/%s/xapi/statements" % tenant, json_body=body,
                      headers=hdrs(**kw))


def xget(sb, query, tenant="acme", **kw):
    return sb.get("/t/%s/xapi/statements%s" % (tenant, query), headers=hdrs(**kw))


def stored(sb, tenant="acme"):
    return {s["id"]: s for s in sb.state(tenant)["xapi"]["statements"]}


def xapi_token(sb, cred, scope=None, use_basic=False, tenant="acme"):
    form = {"grant_type": "client_credentials"}
    headers = {}
    if use_basic:
        headers["Authorization"] = basic(cred)
    else:
        form.update(client_id=cred[0], client_secret=cred[1])
    if scope is not None:
        form["scope"] = scope
    return sb.post("/t/%s/oauth/token" % tenant, form=form, headers=headers)


def bearer(sb, cred, scope=None):
    r = xapi_token(sb, cred, scope)
    eq(r.status, 200, "token for %s: %r" % (cred[0], r))
    return "Bearer " + r.json["access_token"]


def check_error(r, status, needle, version="1.0.3"):
    eq(r.status, status, "status of %r" % r)
    eq(r.header("X-Experience-API-Version"), version, "version header on %d" % status)
    check(needle in r.json["message"], "%r not in %r" % (needle, r.json))
    eq(r.json["error"], status)


def test_put_stores_then_same_statement_is_204(sb):
    i = sid("put-1")
    s = statement(1)
    r = xput(sb, i, s)
    eq(r.status, 204, "stored: %r" % r)
    eq(r.body, b"", "204 has no body")
    eq(r.header("X-Experience-API-Version"), "1.0.3")
    g = xget(sb, "?statementId=" + i)
    eq(g.status, 200)
    eq(g.header("X-Experience-API-Version"), "1.0.3")
    check(g.header("X-Experience-API-Consistent-Through"), g.headers)
    got = g.json
    for key in s:
        eq(got[key], s[key], "stored as sent: " + key)
    eq(got["id"], i)
    eq(got["version"], "1.0.0", "version set by the LRS")
    eq(got["authority"]["account"]["name"], ACME_LRS[0], "authority from the credential")
    check(got["stored"].endswith("Z"), got["stored"])
    first = g.body
    eq(xput(sb, i, s).status, 204, "the same statement again")
    # differences the specification lets an LRS make are not differences:
    # member order, the verb's display, the activity's definition, the id in
    # the body (any case), the timestamp's serialisation, LRS-set properties
    again = {"context": s["context"], "result": s["result"], "object": {
        "id": s["object"]["id"], "objectType": "Activity"},
        "verb": {"id": s["verb"]["id"], "display": {"fr-FR": "a terminé"}},
        "actor": s["actor"], "timestamp": "2026-03-01T11:00:00.000+01:00",
        "id": i.upper(), "stored": "2020-01-01T00:00:00Z", "version": "1.0.0"}
    eq(xput(sb, i, again).status, 204, "an equal statement")
    eq(xget(sb, "?statementId=" + i.upper()).body, first, "ids case-insensitive, unchanged")
    st = stored(sb)[i]
    eq((st["repeats"], st["conflicts"], st["method"]), (2, 0, "PUT"))
    eq(st["statement"], json.loads(first))


def test_put_different_statement_is_409(sb):
    i = sid("put-2")
    s = statement(2)
    eq(xput(sb, i, s).status, 204)
    before = xget(sb, "?statementId=" + i).body
    variants = [
        statement(2, result=dict(s["result"], duration="PT3H")),
        statement(2, result=dict(s["result"], score={"scaled": 0.9, "raw": 90,
                                                     "min": 0, "max": 100})),
        statement(2, timestamp="2026-03-01T10:00:01Z"),
        statement(2, email="bob@acme.example"),
        statement(3),
        dict(s, context={"platform": "other"}),
    ]
    for v in variants:
        check_error(xput(sb, i, v), 409, "already stored")
    eq(xget(sb, "?statementId=" + i).body, before, "the stored statement is unchanged")
    st = stored(sb)[i]
    eq((st["repeats"], st["conflicts"]), (0, len(variants)))
    check(sb.state("acme")["xapi"]["conflict_responses"] >= len(variants))


def test_put_request_errors(sb):
    count = len(stored(sb))
    i = sid("put-errors")
    r = sb.request("PUT", "/t/acme/xapi/statements", json_body=statement(4), headers=hdrs())
    check_error(r, 400, "statementId")
    check_error(xput(sb, "not-a-uuid", statement(4)), 400, "UUID")
    check_error(xput(sb, i, statement(4, id=sid("other"))), 400, "differs")
    check_error(xput(sb, i, statement(4), query="?statementId=%s&method=PUT" % i), 400,
                "'method'")
    r = sb.request("PUT", "/t/acme/xapi/statements?statementId=" + i, body="{not json",
                   headers=hdrs(extra={"Content-Type": "application/json"}))
    check_error(r, 400, "not valid JSON")
    r = sb.request("PUT", "/t/acme/xapi/statements?statementId=" + i,
                   body=json.dumps(statement(4)),
                   headers=hdrs(extra={"Content-Type": "text/plain"}))
    check_error(r, 400, "application/json")
    check_error(xput(sb, i, [statement(4)]), 400, "must be a JSON object")
    for missing in ("actor", "verb", "object"):
        s = statement(4)
        del s[missing]
        check_error(xput(sb, i, s), 400, missing + ": is required")
    bad = [
        (statement(4, actor={"objectType": "Agent", "mbox": "ann@acme.example"}), "mailto"),
        (statement(4, actor={"objectType": "Agent", "mbox": "mailto:a@b.example",
                             "account": {"homePage": "https://x.example", "name": "a"}}),
         "more than one"),
        (statement(4, actor={"objectType": "Agent"}), "needs one of"),
        (statement(4, verb={"display": {"en-US": "completed"}}), "verb"),
        (statement(4, object={"objectType": "Activity"}), "object.id"),
        (statement(4, result={"completion": "true"}), "result.completion"),
        (statement(4, result={"score": {"scaled": 1.5}}), "scaled"),
        (statement(4, result={"duration": "2 hours"}), "duration"),
        (statement(4, timestamp="yesterday"), "timestamp"),
    ]
    for body, needle in bad:
        check_error(xput(sb, i, body), 400, needle)
    eq(len(stored(sb)), count, "nothing stored")
    check_error(xget(sb, "?statementId=" + i), 404, "no statement")


def test_version_header(sb):
    i = sid("version-1")
    r = xput(sb, i, statement(5), version=None)
    check_error(r, 400, "X-Experience-API-Version header is required")
    for bad in ("0.95", "1.1.0", "1.0.x", "2", ""):
        check_error(xput(sb, i, statement(5), version=bad), 400, "not supported")
    check_error(xget(sb, "?statementId=" + i), 404, "no statement")
    r = xput(sb, i, statement(5), version="1.0")
    eq((r.status, r.header("X-Experience-API-Version")), (204, "1.0.3"), "1.0 is 1.0.0")
    r = xput(sb, sid("version-2"), statement(6), version="2.0.0")
    eq((r.status, r.header("X-Experience-API-Version")), (204, "2.0.0"), "2.0 client")
    g = xget(sb, "?statementId=" + sid("version-2"), version="2.0.0")
    eq((g.header("X-Experience-API-Version"), g.json["version"]), ("2.0.0", "2.0.0"))
    eq(xput(sb, i, statement(5), version="1.0.1").status, 204, "any 1.0.x")
    # the about resource needs neither credentials nor the header
    r = sb.get("/t/acme/xapi/about")
    eq(r.status, 200)
    check("1.0.3" in r.json["version"], r.json)
    eq(r.header("X-Experience-API-Version"), "1.0.3")
    check_error(sb.get("/t/acme/xapi/activities", headers=hdrs()), 404, "no such resource")


def test_post_one_and_batches(sb):
    r = xpost(sb, statement(10))
    eq(r.status, 200, r)
    eq(r.header("X-Experience-API-Version"), "1.0.3")
    (new_id,) = r.json
    check(str(uuid.UUID(new_id)) == new_id, "an assigned UUID: %r" % new_id)
    g = xget(sb, "?statementId=" + new_id)
    eq((g.status, g.json["id"], g.json["object"]), (200, new_id, statement(10)["object"]))
    given = sid("post-given")
    batch = [statement(11, id=given.upper()), statement(12), statement(13)]
    r = xpost(sb, batch)
    eq(r.status, 200, r)
    eq(len(r.json), 3)
    eq(r.json[0], given, "the given id first, in order")
    check(len(set(r.json)) == 3, r.json)
    for sid_, body in zip(r.json, batch):
        eq(xget(sb, "?statementId=" + sid_).json["object"], body["object"])
    eq(stored(sb)[r.json[1]]["method"], "POST")
    # an identical repeat is accepted with the same id and counted
    r = xpost(sb, [statement(11, id=given), statement(14)])
    eq(r.status, 200, r)
    eq(r.json[0], given)
    eq(stored(sb)[given]["repeats"], 1)
    count = len(stored(sb))
    dup = sid("post-dup")
    check_error(xpost(sb, [statement(15, id=dup), statement(16, id=dup)]), 400,
                "same id")
    check_error(xpost(sb, [statement(17), statement(11, id=given, timestamp=
                                                    "2026-03-02T10:00:00Z")]),
                409, "nothing of this request was stored")
    s = statement(18)
    del s["verb"]
    check_error(xpost(sb, [statement(19), s]), 400, "[1]: verb")
    check_error(xpost(sb, []), 400, "empty")
    check_error(xpost(sb, "a string"), 400, "must be a JSON object")
    eq(len(stored(sb)), count, "a refused batch stores nothing")
    eq(stored(sb)[given]["conflicts"], 1)


def test_get_and_methods(sb):
    i = sid("get-1")
    eq(xput(sb, i, statement(20)).status, 204)
    check_error(xget(sb, "?statementId=" + sid("never")), 404, "no statement")
    check_error(xget(sb, "?statementId=junk"), 404, "no statement")
    check_error(xget(sb, "?statementId=%s&limit=1" % i), 400, "'limit'")
    check_error(xget(sb, "?voidedStatementId=" + i), 404, "voided")
    check_error(xget(sb, "?agent=%7B%7D"), 400, "'agent'")
    r = xget(sb, "")
    eq(r.status, 200)
    eq(r.json["more"], "")
    eq(r.json["statements"][0]["id"], i, "newest first")
    eq(len(r.json["statements"]), min(100, len(stored(sb))))
    eq(len(xget(sb, "?limit=2").json["statements"]), 2)
    check_error(xget(sb, "?limit=-1"), 400, "limit")
    r = sb.request("DELETE", "/t/acme/xapi/statements", headers=hdrs())
    check_error(r, 405, "GET, PUT and POST")
    eq(r.header("Allow"), "GET, PUT, POST")


def test_basic_auth(sb):
    count = len(stored(sb))
    i = sid("auth-1")
    r = xput(sb, i, statement(30), auth=None)
    check_error(r, 401, "credentials are required")
    eq(r.header("WWW-Authenticate"), 'Basic realm="xapi"')
    for cred in ((ACME_LRS[0], "wrong"), ("nobody", ACME_LRS[1]), GLOBEX_LRS):
        check_error(xput(sb, i, statement(30), auth=cred), 401, "wrong password")
    check_error(xput(sb, i, statement(30), auth="Basic !!!"), 401, "wrong password")
    check_error(xput(sb, i, statement(30), auth="Bearer " + sb.dg_token()), 401,
                "token is invalid")
    check_error(xput(sb, i, statement(30), auth="Bearer nonsense"), 401, "token is invalid")
    eq(len(stored(sb)), count, "nothing stored")
    # the other tenant's LRS is its own
    eq(xput(sb, i, statement(30), tenant="globex", auth=GLOBEX_LRS).status, 204)
    check_error(xget(sb, "?statementId=" + i), 404, "no statement")
    eq(xget(sb, "?statementId=" + i, tenant="globex", auth=GLOBEX_LRS).status, 200)


def test_oauth_tokens(sb):
    r = xapi_token(sb, CLIENT)
    eq(r.status, 200, r)
    eq((r.json["token_type"], r.json["expires_in"], r.json["scope"]), ("bearer", 3600, "all"))
    eq(r.header("Cache-Control"), "no-store")
    log = sb.requests_log("?tenant=acme")["requests"][-1]
    eq(log["api"], "xapi_token")
    eq(log["body"]["client_secret"], "<redacted>")
    tok = "Bearer " + r.json["access_token"]
    i = sid("oauth-1")
    eq(xput(sb, i, statement(40), auth=tok).status, 204)
    eq(stored(sb)[i]["authority"], CLIENT[0])
    eq(xget(sb, "?statementId=" + i, auth=tok).status, 200)
    r = xapi_token(sb, CLIENT, use_basic=True, scope="statements/write statements/read")
    eq((r.status, r.json["scope"]), (200, "statements/write statements/read"), r)
    eq(sb.requests_log("?tenant=acme")["requests"][-1]["headers"]["Authorization"],
       "Basic %s:<redacted>" % CLIENT[0])
    r = sb.post("/t/acme/oauth/token", headers={"Authorization": basic(CLIENT)},
                form={"grant_type": "client_credentials", "client_secret": CLIENT[1]})
    eq((r.status, r.json["error"]), (400, "invalid_request"), "two ways of client auth")
    r = xapi_token(sb, (CLIENT[0], "wrong"))
    eq((r.status, r.json["error"]), (401, "invalid_client"))
    r = xapi_token(sb, CLIENT, scope="statements/fly")
    eq((r.status, r.json["error"]), (400, "invalid_scope"))
    r = xapi_token(sb, READER, scope="statements/write")
    eq((r.status, r.json["error"]), (400, "invalid_scope"), "not the reader's scope")
    # a read-only token reads but does not write
    reader = bearer(sb, READER)
    check_error(xput(sb, sid("oauth-2"), statement(41), auth=reader), 403, "write")
    check_error(xpost(sb, statement(41), auth=reader), 403, "write")
    eq(xget(sb, "?statementId=" + i, auth=reader).status, 200)
    # statements/read/mine: only what this client stored
    mine = bearer(sb, MINE)
    j = sid("oauth-mine")
    eq(xput(sb, j, statement(42), auth=mine).status, 204)
    eq(xget(sb, "?statementId=" + j, auth=mine).status, 200)
    check_error(xget(sb, "?statementId=" + i, auth=mine), 404, "no statement")
    eq([s["id"] for s in xget(sb, "", auth=mine).json["statements"]], [j])
    # tokens belong to their tenant and kind, and expire
    check_error(xput(sb, i, statement(40), tenant="globex", auth=tok), 401, "invalid")
    eq(sb.dg("GET", "acme", "/content/courses", tok.split()[1]).status, 401,
       "an xAPI token is no Degreed token")
    eq(sb.dg_token_response("acme", "acme-id", "acme-secret-1").status, 200,
       "Degreed clients still get Degreed tokens")
    eq(sb.post("/_sandbox/tokens/expire?tenant=acme").status, 200)
    check_error(xget(sb, "?statementId=" + i, auth=tok), 401, "expired")
    st = sb.state("acme")
    check(st["xapi"]["tokens_issued"] >= 4, st["xapi"])
    eq(st["tokens_issued"], st["degreed"]["tokens_issued"] + st["sf"]["tokens_issued"] +
       st["xapi"]["tokens_issued"])


def test_faults(sb):
    i = sid("fault-1")
    dg = sb.dg_token()
    sb.faults("acme", error_rate={"rate": 1.0, "status": 503, "api": "xapi",
                                  "retry_after": 7})
    r = xput(sb, i, statement(50))
    check_error(r, 503, "injected fault")
    eq(r.header("Retry-After"), "7")
    eq(sb.dg("GET", "acme", "/content/courses", dg).status, 200, "Degreed not selected")
    eq(xapi_token(sb, CLIENT).status, 200, "token endpoint not selected")
    sb.faults("acme", error_rate=None, outage={"seconds": 60, "api": "xapi"})
    r = xput(sb, i, statement(50))
    check_error(r, 503, "injected fault")
    check(1 <= int(r.header("Retry-After")) <= 60, r.headers)
    sb.faults("acme", outage=None, connection_reset={"rate": 1.0, "api": "xapi"})
    try:
        r = xput(sb, i, statement(50))
        raise AssertionError("expected a closed connection, got %r" % r)
    except RESETS:
        pass
    sb.faults("acme", connection_reset=None, latency={"ms": 300, "api": "xapi"})
    eq(xput(sb, i, statement(50)).status, 204, "stored after the faults")
    eq(sb.dg("GET", "acme", "/content/courses", dg).status, 200)
    log = sb.requests_log("?tenant=acme")["requests"]
    eq([(e["api"], e["delay_ms"]) for e in log[-2:]], [("xapi", 300), ("degreed", 0)])
    eq([e["fault"] for e in log if e["api"] == "xapi"][-4:],
       ["error_rate", "outage", "connection_reset", None])
    sb.faults("acme", latency=None, token_failures={"count": 1, "status": 503,
                                                     "api": "xapi"})
    eq(sb.dg_token_response("acme", "acme-id", "acme-secret-1").status, 200,
       "api xapi: the Degreed client's token is not selected")
    eq([xapi_token(sb, CLIENT).status for _ in range(2)], [503, 200])
    f = sb.get("/_sandbox/faults?tenant=acme").json["tenants"]["acme"]
    eq(f["token_failures"]["api"], "xapi_token")
    eq(stored(sb)[i]["repeats"], 0, "the failed requests stored nothing")
    sb.request("DELETE", "/_sandbox/faults?tenant=acme")


def test_log_state_config_and_reset(sb):
    i = sid("log-1")
    eq(xput(sb, i, statement(60)).status, 204)
    e = sb.requests_log("?tenant=acme")["requests"][-1]
    eq((e["api"], e["method"], e["status"]), ("xapi", "PUT", 204))
    eq(e["headers"]["Authorization"], "Basic %s:<redacted>" % ACME_LRS[0])
    eq(e["headers"]["X-Experience-API-Version"], "1.0.3")
    eq(e["body"], statement(60))
    text = sb.get("/_sandbox/requests").body.decode()
    live = [t for t in SECRETS if t in text]
    eq(live, [], "no secret in the request log")
    cfg = [t for t in sb.get("/_sandbox/tenants").json["tenants"] if t["name"] == "acme"][0]
    eq(cfg["xapi"]["credentials"], [{"username": ACME_LRS[0], "password": "<redacted>"}])
    eq(cfg["xapi"]["clients"][1]["scopes"], ["statements/read"])
    check(not any(t in json.dumps(cfg) for t in SECRETS), "no secret in /_sandbox/tenants")
    for bad, needle in (
            ({"name": "x", "xapi": {"credential": []}}, "credential"),
            ({"name": "x", "xapi": {"credentials": [{"username": "u"}]}}, "password"),
            ({"name": "x", "xapi": {"credentials": [{"username": "u:v", "password": "p"}]}},
             "username"),
            ({"name": "x", "xapi": {"clients": [{"client_id": "c", "client_secret": "s",
                                                 "scopes": ["statements/fly"]}]}},
             "statements/fly"),
            ({"name": "x", "degreed": {"clients": [{"client_id": "c", "client_secret": "s"}]},
              "xapi": {"clients": [{"client_id": "c", "client_secret": "t"}]}},
             "client_id"),
            ({"name": "x", "xapi": {"token_expires_in": 0}}, "token_expires_in")):
        r = sb.post("/_sandbox/tenants", json_body=bad)
        eq(r.status, 400, needle)
        check(needle in r.json["error"], (needle, r.json))
    eq(sb.post("/_sandbox/reset?tenant=acme").status, 200)
    x = sb.state("acme")["xapi"]
    eq((x["statements"], x["put_requests"]), ([], 0))
    check_error(xget(sb, "?statementId=" + i), 404, "no statement")
    eq(xput(sb, i, statement(60)).status, 204, "the configuration survives a reset")


def test_record_limit(sb):
    small = Sandbox(config=config(), args=["--max-records", "2"])
    try:
        small.start()
        eq(xput(small, sid("l-1"), statement(70)).status, 204)
        eq(xpost(small, statement(71)).status, 200)
        check_error(xput(small, sid("l-3"), statement(72)), 507, "limit")
        check_error(xpost(small, [statement(73)]), 507, "limit")
        eq(xput(small, sid("l-1"), statement(70)).status, 204, "a repeat still answers")
        eq(small.stop(), 0)
    finally:
        small.cleanup()


if __name__ == "__main__":
    run([test_put_stores_then_same_statement_is_204,
         test_put_different_statement_is_409,
         test_put_request_errors,
         test_version_header,
         test_post_one_and_batches,
         test_get_and_methods,
         test_basic_auth,
         test_oauth_tokens,
         test_faults,
         test_log_state_config_and_reset,
         test_record_limit],
        lambda: Sandbox(config=config()))
