#!/usr/bin/env python3
"""Inspection and control API: /_sandbox/requests (with redaction), state,
reset, tenants, the example configuration and start-up errors."""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import BIN, SRC_DIR, Sandbox, check, course, eq, now_ms, run  # noqa: E402

SECRETS = set()


def remember(*values):
    for v in values:
        if v:
            SECRETS.add(v)


def test_requests_log_redaction(sb):
    sb.post("/_sandbox/reset")
    # Degreed token (good, wrong secret, bad content type, secret in the query)
    r = sb.dg_token_response("acme", "acme-id", "acme-secret-1", "content:read,content:write")
    dg_tok, refresh = r.json["access_token"], r.json["refresh_token"]
    remember("acme-secret-1", dg_tok, refresh)
    sb.dg_token_response("acme", "acme-id", "wrong-secret-xyz")
    remember("wrong-secret-xyz")
    sb.post("/t/acme/oauth/token", json_body={"client_secret": "json-secret-abc"})
    remember("json-secret-abc")
    sb.post("/t/acme/oauth/token?client_secret=query-secret-def&grant_type=x",
            form={"grant_type": "client_credentials"})
    remember("query-secret-def")
    # Degreed API calls with the token, an unknown token and an API key header
    sb.dg("POST", "acme", "/content/courses", dg_tok, {"data": {"attributes": {
        "title": "Logged", "external-id": "logged-1", "url": "https://e.com/l1"}}},
        headers={"Application-Interface-Key": "app-key-ghi",
                 "X-Request-Id": "req-42"})
    remember("app-key-ghi")
    sb.dg("GET", "acme", "/content/courses?filter[external_id]=logged-1", dg_tok)
    sb.dg("GET", "acme", "/content/courses", "unknown-token-jkl")
    remember("unknown-token-jkl")
    # SuccessFactors: Basic auth, body credentials, malformed JSON
    r = sb.sf_token_response("acme", "acme-sf", "acme-sf-secret")
    sf_tok = r.json["access_token"]
    remember("acme-sf-secret", sf_tok,
             base64.b64encode(b"acme-sf:acme-sf-secret").decode())
    body = {"client_id": "acme-sf", "client_secret": "acme-sf-secret",
            "grant_type": "client_credentials",
            "scope": {"userId": "ocn_admin", "companyId": "ACME", "userType": "admin",
                      "resourceType": "learning_public_api"}}
    sb.sf_token_response("acme", None, None, body=body, basic=False)
    sb.post("/t/acme/learning/oauth-api/rest/v1/token",
            body='{"client_secret": "broken-secret-mno"',
            headers={"Content-Type": "application/json",
                     "Authorization": "Basic " +
                     base64.b64encode(b"acme-sf:acme-sf-secret").decode()})
    remember("broken-secret-mno")
    sb.ocn_courses("acme", sf_tok, [course("logged-c")])
    # an injected token failure still logs a redacted body
    sb.faults("acme", token_failures={"count": 1, "status": 503})
    sb.dg_token_response("acme", "acme-id", "acme-secret-1")

    resp = sb.get("/_sandbox/requests?tenant=acme")
    text = resp.body.decode()
    for s in SECRETS:
        check(s not in text, "secret or token %r appears in the request log" % s)
    tenants = sb.get("/_sandbox/tenants").body.decode()
    for s in ("acme-secret-1", "acme-secret-2", "acme-sf-secret", "globex-secret"):
        check(s not in tenants, "secret %r in GET /_sandbox/tenants" % s)

    log = resp.json["requests"]
    eq(len(log), 12, "every tenant request, in order")
    seqs = [e["seq"] for e in log]
    eq(seqs, sorted(seqs))
    check(all(e["tenant"] == "acme" for e in log))
    tok_req = log[0]
    eq(tok_req["api"], "degreed_token")
    eq(tok_req["status"], 200)
    eq(tok_req["body"]["client_secret"], "<redacted>")
    eq(tok_req["body"]["client_id"], "acme-id")
    eq(tok_req["body"]["scope"], "content:read,content:write")
    check("client_secret=<redacted>" in log[3]["path"], log[3]["path"])
    create = log[4]
    eq(create["method"], "POST")
    eq(create["path"], "/t/acme/api/v2/content/courses")
    eq(create["status"], 201)
    eq(create["body"]["data"]["attributes"]["external-id"], "logged-1", "JSON body as JSON")
    eq(create["body_format"], "json")
    auth = create["headers"]["Authorization"]
    check(re.fullmatch(r"Bearer token#\d+", auth), auth)
    eq(log[5]["headers"]["Authorization"], auth, "same token, same number")
    eq(log[6]["headers"]["Authorization"], "Bearer <unknown token>")
    eq(create["headers"]["Application-Interface-Key"], "<redacted>")
    eq(create["headers"]["X-Request-Id"], "req-42")
    eq(log[5]["path"], "/t/acme/api/v2/content/courses?filter[external_id]=logged-1")
    sf = log[7]
    eq(sf["api"], "sf_token")
    eq(sf["headers"]["Authorization"], "Basic acme-sf:<redacted>")
    eq(sf["body"]["scope"]["companyId"], "ACME")
    eq(log[8]["body"]["client_secret"], "<redacted>")
    eq(log[9]["body"], "<redacted: neither a form nor JSON>")
    eq(log[2]["body"], {"client_secret": "<redacted>"})
    check(re.fullmatch(r"Bearer token#\d+", log[10]["headers"]["Authorization"]))
    check(log[10]["headers"]["Authorization"] != auth, "different token, different number")
    eq(log[10]["body"]["ocnCourses"][0]["courseID"], "logged-c")
    eq(log[11]["fault"], "token_failure")
    eq(log[11]["status"], 503)
    eq(log[11]["body"]["client_secret"], "<redacted>")
    for e in log:
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["timestamp"]))


def test_requests_paging_and_filters(sb):
    base = sb.requests_log()["next_since"]
    g = sb.dg_token("globex", "globex-id", "globex-secret")
    for _ in range(5):
        sb.dg("GET", "globex", "/content/courses", g)
    all_new = sb.requests_log("?since=%d" % base)
    eq(all_new["count"], 6)
    page = sb.requests_log("?since=%d&limit=4" % base)
    eq(page["count"], 4)
    eq(page["more"], True)
    rest = sb.requests_log("?since=%d" % page["next_since"])
    eq(rest["count"], 2)
    eq(rest["more"], False)
    eq(sb.requests_log("?tenant=globex&since=%d" % base)["count"], 6)
    eq(sb.requests_log("?tenant=acme&since=%d" % base)["count"], 0)
    eq(sb.get("/_sandbox/requests?since=-1").status, 400)
    check(sb.requests_log()["max_entries"] >= 1000000, "documented bound")
    # requests to unknown tenants are logged too; control calls are not
    sb.get("/t/nosuch/api/v2/content/courses")
    last = sb.requests_log("?since=%d" % rest["next_since"])["requests"]
    eq([(e["tenant"], e["status"]) for e in last], [("nosuch", 404)])


def test_log_stays_valid_json_for_binary_input(sb):
    base = sb.requests_log()["next_since"]
    sb.request("POST", "/t/acme/api/v2/completions", body=b"\xff\xfe\x00binary\xc3",
               headers={"Content-Type": "application/octet-stream",
                        "User-Agent": "caf\xe9"})
    sb.request("POST", "/t/acme/api/v2/completions?x=%ff", body="{\"a\": \"\u00e9\"}",
               headers={"Content-Type": "application/json"})
    log = sb.requests_log("?since=%d" % base)["requests"]  # parses as JSON
    eq(len(log), 2)
    eq(log[0]["body_format"], "text")
    check(log[0]["body"].endswith("binary\ufffd"), log[0]["body"])
    eq(log[1]["body"], {"a": "\u00e9"})


def test_state_shape(sb):
    st = sb.get("/_sandbox/state").json
    check({"acme", "globex"} <= set(st["tenants"]), st.keys())
    acme = st["tenants"]["acme"]
    for key in ("courses", "assessments", "completions", "skill_ratings", "tokens_issued",
                "deleted_courses", "deleted_assessments"):
        check(key in acme["degreed"], key)
    for key in ("ocn_courses", "ocn_course_posts", "learning_events", "tokens_issued"):
        check(key in acme["sf"], key)
    check(acme["tokens_issued"] == acme["degreed"]["tokens_issued"] +
          acme["sf"]["tokens_issued"])
    eq(sb.get("/_sandbox/state?tenant=nosuch").status, 404)


def test_reset_tenant_and_all(sb):
    a = sb.dg_token()
    g = sb.dg_token("globex", "globex-id", "globex-secret")
    sb.dg("POST", "acme", "/content/courses", a, {"data": {"attributes": {
        "title": "R", "external-id": "reset-1", "url": "https://e.com/r1"}}})
    sb.dg("POST", "globex", "/content/courses", g, {"data": {"attributes": {
        "title": "R", "external-id": "reset-1", "url": "https://e.com/r1"}}})
    r = sb.post("/_sandbox/reset?tenant=acme")
    eq(r.status, 200)
    acme = sb.state("acme")
    eq(acme["degreed"]["courses"], [])
    eq(acme["tokens_issued"], 0)
    eq(sb.dg("GET", "acme", "/content/courses", a).status, 401, "tokens dropped")
    after = sb.requests_log("?tenant=acme")["requests"]
    eq([e["status"] for e in after], [401], "tenant's older log entries dropped")
    check(len(sb.state("globex")["degreed"]["courses"]) >= 1, "other tenant kept")
    eq(sb.dg("GET", "globex", "/content/courses", g).status, 200, "other tenant's token kept")
    eq(sb.post("/_sandbox/reset?tenant=nosuch").status, 404)
    eq(sb.post("/_sandbox/reset").status, 200)
    eq(sb.state("globex")["degreed"]["courses"], [])
    eq(sb.requests_log()["count"], 0)
    eq(sb.get("/_sandbox/reset").status, 405)
    # configuration survives a reset
    eq(sb.dg_token_response("acme", "acme-id", "acme-secret-1").status, 200)


def test_tenants_api(sb):
    r = sb.post("/_sandbox/tenants", json_body={"tenants": [
        {"name": "newco", "degreed": {"clients": [{"client_id": "n", "client_secret": "s1"}]},
         "sf": {"company_id": "NEW", "client_id": "nsf", "client_secret": "nsfs",
                "admin_users": ["a"]}}]})
    eq(r.status, 201)
    eq(r.json, {"created": ["newco"], "updated": []})
    t = sb.dg_token("newco", "n", "s1")
    sb.dg("POST", "newco", "/content/courses", t, {"data": {"attributes": {
        "title": "N", "external-id": "n-1", "url": "https://e.com/n1"}}})
    # change the secret: the state stays, the old secret stops working
    r = sb.post("/_sandbox/tenants", json_body={
        "name": "newco", "degreed": {"clients": [{"client_id": "n", "client_secret": "s2"}],
                                     "users": ["only@newco.example"]}})
    eq(r.status, 200)
    eq(r.json, {"created": [], "updated": ["newco"]})
    eq(sb.dg_token_response("newco", "n", "s1").status, 403)
    eq(sb.dg_token_response("newco", "n", "s2").status, 200)
    eq(len(sb.state("newco")["degreed"]["courses"]), 1, "state kept")
    listed = [x for x in sb.get("/_sandbox/tenants").json["tenants"] if x["name"] == "newco"]
    eq(listed[0]["degreed"]["clients"][0]["client_secret"], "<redacted>")
    eq(listed[0]["degreed"]["users"], ["only@newco.example"])
    for bad, needle in (({"name": "bad name!"}, "name"),
                        ({"name": "x", "degreed": {"clientz": []}}, "clientz"),
                        ({"name": "x", "degreed": {"clients": [{"client_id": "a"}]}},
                         "client_secret"),
                        ({"name": "x", "faults": {"latency": {"ms": -1}}}, "latency"),
                        ({"tenants": [{"name": "x"}, {"name": "x"}]}, "twice")):
        r = sb.post("/_sandbox/tenants", json_body=bad)
        eq(r.status, 400, needle)
        check(needle in r.json["error"], (needle, r.json))
    check("x" not in sb.get("/_sandbox/state").json["tenants"], "nothing half-applied")
    eq(sb.request("DELETE", "/_sandbox/tenants?tenant=newco").status, 204)
    eq(sb.dg_token_response("newco", "n", "s2").status, 404)
    eq(sb.request("DELETE", "/_sandbox/tenants?tenant=newco").status, 404)


def test_example_config_and_bad_config(sb):
    example = os.path.join(SRC_DIR, "example-config.json")
    other = Sandbox(config=None, use_config=False, args=["--config", example])
    try:
        other.start()
        names = [t["name"] for t in other.get("/_sandbox/tenants").json["tenants"]]
        check(len(names) >= 2, names)
        eq(other.get("/_sandbox/health").json, {"status": "ok"})
        eq(other.stop(), 0)
    finally:
        other.cleanup()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"tenants": [{"name": "x", "degreed": {"rate_limit_per_minute": "70"}}]}, f)
    try:
        p = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--config", f.name],
                           capture_output=True, text=True, timeout=20)
        eq(p.returncode, 1)
        check("rate_limit_per_minute" in p.stderr, p.stderr)
    finally:
        os.unlink(f.name)
    p = subprocess.run([BIN, "--listen", "nonsense"], capture_output=True, text=True,
                       timeout=20)
    eq(p.returncode, 1)
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=20)
    eq(p.returncode, 0)
    check("--listen" in p.stdout)


def test_unknown_control_path(sb):
    eq(sb.get("/_sandbox/nothing").status, 404)
    eq(sb.request("PUT", "/_sandbox/state").status, 405)
    _ = now_ms()


if __name__ == "__main__":
    run([test_requests_log_redaction, test_requests_paging_and_filters,
         test_log_stays_valid_json_for_binary_input, test_state_shape,
         test_reset_tenant_and_all, test_tenants_api, test_example_config_and_bad_config,
         test_unknown_control_path])
