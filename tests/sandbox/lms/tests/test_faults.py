#!/usr/bin/env python3
"""Fault injection per tenant: latency (without blocking other tenants),
error rate, outage, connection resets, token endpoint failures, custom rate
limit, OCN POST interval, the hostile answers (redirect, 200 HTML page,
huge body, an answer cut halfway); each of them from the start-up
configuration; the --threads option."""

import http.client
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import DEFAULT_CONFIG, Sandbox, check, course, eq, run  # noqa: E402

RESETS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def fault_tenant(name, faults, sf=False):
    """A tenant whose Degreed client (and SF admin "a", when sf) is
    name/name, with the given start-up faults."""
    t = {"name": name, "degreed": {"clients": [{"client_id": name, "client_secret": name}]},
         "faults": faults}
    if sf:
        t["sf"] = {"company_id": name.upper(), "client_id": name, "client_secret": name,
                   "admin_users": ["a"]}
    return t


# One tenant per fault type, each set in the start-up configuration; see
# test_faults_from_config for the effect each has on its first requests.
BOOT_FAULTS = {
    "flaky": ({"error_rate": {"rate": 1.0, "status": 502, "api": "degreed",
                              "retry_after": 7}}, False),
    "boot-latency": ({"latency": {"ms": 500, "api": "degreed"}}, False),
    "boot-outage": ({"outage": {"seconds": 3600}}, True),
    "boot-reset": ({"connection_reset": {"rate": 1.0, "api": "degreed"}}, False),
    "boot-tokfail": ({"token_failures": {"count": 2, "status": 503, "api": "sf"}}, True),
    "boot-ratelimit": ({"rate_limit": {"limit": 2, "window_s": 30}}, False),
    "boot-ocn": ({"ocn_min_post_interval_s": 60}, True),
    "boot-html": ({"html_200": {"api": "degreed_token", "count": 1}}, False),
}

CONFIG = {"tenants": DEFAULT_CONFIG["tenants"] + [
    {"name": "slow", "degreed": {"clients": [{"client_id": "s", "client_secret": "s"}]}},
] + [fault_tenant(name, faults, sf) for name, (faults, sf) in BOOT_FAULTS.items()]}


def iso(epoch_s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def tenant_faults(sb, tenant):
    return sb.get("/_sandbox/faults?tenant=" + tenant).json["tenants"][tenant]


def sf_boot_token(sb, tenant):
    return sb.sf_token_response(tenant, tenant, tenant, user="a", company=tenant.upper())


def test_latency_does_not_block_other_tenants(sb):
    sb.faults("slow", latency={"ms": 2000})
    result = {}

    def slow_call():
        t0 = time.time()
        result["status"] = sb.dg_token_response("slow", "s", "s").status
        result["took"] = time.time() - t0

    threads = [threading.Thread(target=slow_call) for _ in range(8)]
    for t in threads:  # more slow requests than the server has threads
        t.start()
    time.sleep(0.2)
    t0 = time.time()
    tok = sb.dg_token("globex", "globex-id", "globex-secret")
    eq(sb.dg("GET", "globex", "/content/courses", tok).status, 200)
    eq(sb.get("/_sandbox/health").status, 200)
    fast = time.time() - t0
    check(fast < 0.5, "other tenant answered in %.3f s while 'slow' waits" % fast)
    for t in threads:
        t.join()
    eq(result["status"], 200)
    check(result["took"] >= 1.95, "latency applied (%.3f s)" % result["took"])
    check(result["took"] < 3.5, "latency not serialised (%.3f s)" % result["took"])
    log = sb.requests_log("?tenant=slow")["requests"]
    check(all(e["delay_ms"] == 2000 for e in log), "delay recorded")
    sb.faults("slow", latency={"ms": 100, "jitter_ms": 100, "api": "sf"})
    t0 = time.time()
    sb.dg_token_response("slow", "s", "s")
    check(time.time() - t0 < 0.09, "api selector: Degreed token not delayed")
    sb.faults("slow", latency={"ms": 100, "jitter_ms": 100, "api": "token"})
    t0 = time.time()
    sb.dg_token_response("slow", "s", "s")
    took = time.time() - t0
    check(0.095 <= took < 0.6, "latency with jitter %.3f" % took)
    sb.faults("slow", latency=None)


def test_error_rate(sb):
    tok = sb.dg_token("acme")
    sb.faults("acme", error_rate={"rate": 1.0, "status": 500, "api": "degreed"})
    r = sb.dg("GET", "acme", "/content/courses", tok)
    eq(r.status, 500)
    eq(r.json["errors"][0]["status"], 500, "JSON:API body")
    eq(r.header("Retry-After"), None, "no Retry-After without retry_after")
    eq(sb.dg_token_response("acme", "acme-id", "acme-secret-1").status, 200,
       "token endpoint not selected")
    sft = sb.sf_token()
    eq(sb.ocn_courses("acme", sft, [course("er-1")]).status, 200, "sf not selected")
    sb.faults("acme", error_rate={"rate": 0.5, "status": 503, "mode": "spread"})
    codes = [sb.dg("GET", "acme", "/content/courses", tok).status for _ in range(20)]
    eq(codes.count(503), 10, "spread: exactly half")
    sb.faults("acme", error_rate={"rate": 0.5, "status": 503})
    codes = [sb.dg("GET", "acme", "/content/courses", tok).status for _ in range(200)]
    check(60 <= codes.count(503) <= 140, "random: about half (%d)" % codes.count(503))
    sb.faults("acme", error_rate={"rate": 1.0, "status": 503, "api": "degreed",
                                  "retry_after": 30})
    r = sb.dg("GET", "acme", "/content/courses", tok)
    eq((r.status, r.header("Retry-After")), (503, "30"), "retry_after")
    eq(r.json["errors"][0]["status"], 503)
    sb.faults("acme", error_rate={"rate": 1.0, "status": 429, "api": "sf"})
    r = sb.ocn_courses("acme", sft, [course("er-2")])
    eq(r.status, 429)
    eq(r.header("Retry-After"), "1", "429 carries Retry-After")
    sb.faults("acme", error_rate={"rate": 1.0, "status": 429, "api": "sf", "retry_after": 0})
    r = sb.ocn_courses("acme", sft, [course("er-3")])
    eq((r.status, r.header("Retry-After")), (429, None), "retry_after 0: a bare 429")
    check("error" in r.json and "message" in r.json["error"], "OData body")
    sb.faults("acme", error_rate={"rate": 1.0, "status": 500, "api": "token"})
    r = sb.sf_token_response("acme", "acme-sf", "acme-sf-secret")
    eq(r.status, 500)
    eq(r.json["error"], "server_error")
    sb.faults("acme", error_rate=None)
    eq(sb.dg("GET", "acme", "/content/courses", tok).status, 200)
    stats = sb.get("/_sandbox/faults?tenant=acme").json["tenants"]["acme"]["stats"]
    check(stats["errors"] >= 1 + 10 + 60 + 3)


def test_outage(sb):
    tok = sb.dg_token("globex", "globex-id", "globex-secret")
    sb.faults("globex", outage={"seconds": 1})
    r = sb.dg("GET", "globex", "/content/courses", tok)
    eq(r.status, 503)
    eq(r.header("Retry-After"), "1")
    eq(sb.dg_token_response("globex", "globex-id", "globex-secret").status, 503, "token too")
    eq(sb.sf_token_response("globex", "globex-sf", "globex-sf-secret", user="admin",
                            company="GLOBEX").status, 503, "and SF")
    eq(sb.dg("GET", "acme", "/content/courses", sb.dg_token()).status, 200, "other tenant")
    f = sb.get("/_sandbox/faults?tenant=globex").json["tenants"]["globex"]
    eq(f["outage"]["active"], True)
    time.sleep(1.05)
    eq(sb.dg("GET", "globex", "/content/courses", tok).status, 200, "outage over")
    # from/to windows, past and future
    sb.faults("globex", outage={"from": "2001-01-01T00:00:00Z", "to": "2001-01-02T00:00:00Z"})
    eq(sb.dg("GET", "globex", "/content/courses", tok).status, 200, "past window")
    now = time.time()
    sb.faults("globex", outage={"from": now - 5, "to": now + 60, "status": 502, "api": "sf"})
    eq(sb.dg("GET", "globex", "/content/courses", tok).status, 200, "degreed not selected")
    g = sb.sf_token_response("globex", "globex-sf", "globex-sf-secret", user="admin",
                             company="GLOBEX")
    eq(g.status, 200, "sf token not selected by api=sf")
    eq(sb.ocn_courses("globex", g.json["access_token"], [course("o-1")]).status, 502)
    r = sb.request("DELETE", "/_sandbox/faults?tenant=globex")
    eq(r.status, 200)
    eq(sb.ocn_courses("globex", g.json["access_token"], [course("o-1")]).status, 200)
    # ISO 8601 from/to around now, status omitted: 503 until "to"
    for window in ({"from": iso(now - 60), "to": iso(now + 60)},
                   {"to": iso(now + 60)}):  # "from" defaults to now
        sb.faults("globex", outage=window)
        r = sb.dg("GET", "globex", "/content/courses", tok)
        eq(r.status, 503, "ISO window %r" % window)
        eq(r.json["errors"][0]["status"], 503)
        check(30 <= int(r.header("Retry-After")) <= 60, (window, r.headers))
        f = tenant_faults(sb, "globex")["outage"]
        eq((f["active"], f["status"], f["to"][:19]), (True, 503, window["to"][:19]))
    sb.faults("globex", outage=None)
    eq(sb.dg("GET", "globex", "/content/courses", tok).status, 200, "outage removed")


def test_connection_reset(sb):
    tok = sb.dg_token("acme")
    sb.faults("acme", connection_reset={"rate": 1.0, "api": "degreed"})
    try:
        r = sb.dg("GET", "acme", "/content/courses", tok)
        raise AssertionError("expected a closed connection, got %r" % r)
    except RESETS:
        pass
    eq(sb.dg_token_response("acme", "acme-id", "acme-secret-1").status, 200, "token ok")
    last = sb.requests_log("?tenant=acme")["requests"][-2]
    eq(last["fault"], "connection_reset")
    eq(last["status"], None)
    sb.faults("acme", connection_reset={"rate": 0.5, "mode": "spread", "api": "degreed"})
    outcomes = []
    for _ in range(10):
        try:
            outcomes.append(sb.dg("GET", "acme", "/content/courses", tok).status)
        except RESETS:
            outcomes.append("reset")
    eq(outcomes.count("reset"), 5)
    eq(outcomes.count(200), 5)
    sb.faults("acme", connection_reset=None)


def test_token_failures(sb):
    sb.faults("acme", token_failures={"count": 2, "status": 503, "api": "degreed"})
    codes = [sb.dg_token_response("acme", "acme-id", "acme-secret-1").status for _ in range(3)]
    eq(codes, [503, 503, 200])
    sb.faults("acme", token_failures={"count": 1, "status": 401})
    eq(sb.sf_token_response("acme", "acme-sf", "acme-sf-secret").status, 401, "api all")
    eq(sb.sf_token_response("acme", "acme-sf", "acme-sf-secret").status, 200)
    sb.faults("acme", token_failures={"count": 1, "status": 502, "api": "sf"})
    eq(sb.dg_token_response("acme", "acme-id", "acme-secret-1").status, 200,
       "api sf: Degreed token endpoint not selected")
    r = sb.sf_token_response("acme", "acme-sf", "acme-sf-secret")
    eq(r.status, 502, "api sf")
    eq(r.json["error"], "server_error")
    eq(sb.sf_token_response("acme", "acme-sf", "acme-sf-secret").status, 200)
    f = sb.get("/_sandbox/faults?tenant=acme").json["tenants"]["acme"]
    eq(f["token_failures"]["remaining"], 0)
    eq(f["stats"]["token_failures"], 4)


def test_custom_rate_limit_and_ocn_interval(sb):
    sb.put_tenants({"name": "rl", "degreed": {"clients": [{"client_id": "r",
                                                           "client_secret": "r"}]},
                    "sf": {"company_id": "RL", "client_id": "c", "client_secret": "s",
                           "admin_users": ["a"]}})
    t = sb.dg_token("rl", "r", "r")
    sb.faults("rl", rate_limit={"per_minute": 2}, ocn_min_post_interval_s=30)
    codes = [sb.dg("GET", "rl", "/content/courses", t).status for _ in range(3)]
    eq(codes, [200, 200, 429])
    eq(sb.dg("GET", "rl", "/content/courses", t).header("X-Rate-Limit-Limit"), "1m")
    s = sb.sf_token("rl", "c", "s", user="a", company="RL")
    eq(sb.ocn_courses("rl", s, [course("i-1")]).status, 200)
    r = sb.ocn_courses("rl", s, [course("i-2")])
    eq(r.status, 429)
    check(25 <= int(r.header("Retry-After")) <= 30)
    f = sb.get("/_sandbox/faults?tenant=rl").json["tenants"]["rl"]
    eq(f["rate_limit"], {"limit": 2, "window_s": 60})
    eq(f["ocn_min_post_interval_s"], 30)
    sb.request("DELETE", "/_sandbox/faults?tenant=rl")
    eq(sb.ocn_courses("rl", s, [course("i-2")]).status, 200, "cleared")


def raw_post(sb, path, token, body, read_max=None):
    """POST over a plain socket: (status line, headers, body bytes read,
    whether the server closed before Content-Length was reached)."""
    data = json.dumps(body).encode()
    with socket.create_connection((sb.host, sb.port), timeout=30) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nAccept: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, token, len(data))).encode() + data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        want = int(headers.get("content-length", "0"))
        got = len(rest)
        while got < want and (read_max is None or got < read_max):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
            if len(rest) < 4096:
                rest += chunk[:4096]
        return lines[0], headers, rest, got, got < want


def test_hostile_answers(sb):
    tok = sb.dg_token("acme")
    done = {"data": {"attributes": {
        "user-id": "ann@acme.example", "user-identifier-type": "Email",
        "content-id": "hostile-1", "content-id-type": "ExternalId", "content-type": "Course",
        "completed-at": "2024-05-01T10:11:12"}}}
    # redirect: the status and Location asked for, nothing handled
    sb.faults("acme", redirect={"status": 307, "location": "http://127.0.0.1:1/elsewhere",
                                "api": "degreed"})
    r = sb.dg("POST", "acme", "/completions", tok, done)
    eq((r.status, r.header("Location")), (307, "http://127.0.0.1:1/elsewhere"))
    eq(sb.state("acme")["degreed"]["completions"], [], "a redirect stores nothing")
    check(tenant_faults(sb, "acme")["redirect"]["status"] == 307, tenant_faults(sb, "acme"))
    # a 200 HTML page, here for the tokens only (the API answers as usual)
    sb.faults("acme", redirect=None, html_200={"api": "token"})
    r = sb.dg_token_response("acme", "acme-id", "acme-secret-1")
    eq((r.status, r.header("Content-Type")), (200, "text/html"))
    check(b"<html>" in r.body, r.body[:80])
    eq(sb.dg("GET", "acme", "/content/courses", tok).status, 200, "the API is not selected")
    sb.faults("acme", html_200=None)
    # a huge body: the declared length, a JSON-looking start, as much as is read
    sb.faults("acme", huge_body={"api": "degreed", "count": 1})
    line, headers, rest, got, cut = raw_post(sb, "/t/acme/api/v2/completions", tok, done,
                                             read_max=32 << 20)
    eq((line, headers.get("content-length")), ("HTTP/1.1 200 OK", str(1 << 30)),
       "1 GiB by default")
    check(rest.startswith(b'{"data":   ') and got >= 32 << 20 and cut, (rest[:20], got))
    eq(tenant_faults(sb, "acme")["huge_body"]["remaining"], 0, "count 1 spent")
    eq(sb.dg("POST", "acme", "/completions", tok, done).status, 201, "then handled again")
    # an answer cut halfway: the request is handled (stored), half of its
    # answer sent, the connection closed
    sb.faults("acme", huge_body=None, drop_mid_response={"api": "degreed", "count": 1})
    line, headers, rest, got, cut = raw_post(sb, "/t/acme/api/v2/completions", tok,
                                             dict(done, data={"attributes": dict(
                                                 done["data"]["attributes"],
                                                 **{"content-id": "hostile-2"})}))
    want = int(headers["content-length"])
    check(line == "HTTP/1.1 201 Created" and cut and got == want // 2, (line, got, want))
    ids = [c["attributes"]["content-id"] for c in sb.state("acme")["degreed"]["completions"]]
    check("hostile-2" in ids, "the cut answer's completion was stored: %s" % ids)
    log = sb.requests_log("?tenant=acme")["requests"]
    eq([(e["status"], e["fault"]) for e in log[-6:]],
       [(307, "redirect"), (200, "html_200"), (200, None), (200, "huge_body"), (201, None),
        (201, "drop_mid_response")], "logged with the fault's name")
    stats = tenant_faults(sb, "acme")["stats"]
    eq((stats["redirects"], stats["html_pages"], stats["huge_bodies"], stats["drops"]),
       (1, 1, 1, 1))
    for body, needle in (({"redirect": {"status": 200, "location": "x"}}, "redirect.status"),
                         ({"redirect": {"status": 302}}, "redirect.location"),
                         ({"redirect": {"location": "a\r\nX: y"}}, "redirect.location"),
                         ({"huge_body": {"bytes": 0}}, "huge_body.bytes"),
                         ({"html_200": {"status": 500}}, "unknown key 'status'"),
                         ({"drop_mid_response": {"count": -1}}, "count")):
        r = sb.post("/_sandbox/faults", json_body=dict(body, tenant="acme"))
        check(r.status == 400 and needle in r.json["error"], (needle, r.status, r.json))
    sb.request("DELETE", "/_sandbox/faults?tenant=acme")


def test_thread_pool_size(sb):
    # started with --threads 2 (test_load checks the default of 4)
    sb.pool_threads(2)


def boot_error_rate(sb, name):
    t = sb.dg_token(name, name, name)
    r = sb.dg("GET", name, "/content/courses", t)
    eq(r.status, 502)
    eq(r.json["errors"][0]["status"], 502, "JSON:API body")
    eq(r.header("Retry-After"), "7", "retry_after")
    eq(tenant_faults(sb, name)["error_rate"]["retry_after"], 7)


def boot_latency(sb, name):
    t = sb.dg_token(name, name, name)
    t0 = time.time()
    r = sb.dg("GET", name, "/content/courses", t)
    took = time.time() - t0
    eq(r.status, 200)
    check(took >= 0.4, "Degreed API call not delayed (%.3f s)" % took)
    log = sb.requests_log("?tenant=" + name)["requests"]
    eq([(e["api"], e["delay_ms"]) for e in log], [("degreed_token", 0), ("degreed", 500)],
       "only the Degreed API is delayed")


def boot_outage(sb, name):
    for r in (sb.dg_token_response(name, name, name), sf_boot_token(sb, name)):
        eq(r.status, 503, "default outage status")
        check(3000 < int(r.header("Retry-After")) <= 3600, r.headers)
    f = tenant_faults(sb, name)["outage"]
    eq((f["active"], f["status"], f["api"]), (True, 503, "all"))


def boot_connection_reset(sb, name):
    t = sb.dg_token(name, name, name)  # the token endpoint is not selected
    try:
        r = sb.dg("GET", name, "/content/courses", t)
        raise AssertionError("expected a closed connection, got %r" % r)
    except RESETS:
        pass
    last = sb.requests_log("?tenant=" + name)["requests"][-1]
    eq((last["fault"], last["status"]), ("connection_reset", None))


def boot_token_failures(sb, name):
    eq(sb.dg_token_response(name, name, name).status, 200, "Degreed token not selected")
    eq([sf_boot_token(sb, name).status for _ in range(3)], [503, 503, 200])
    eq(tenant_faults(sb, name)["token_failures"]["remaining"], 0)


def boot_rate_limit(sb, name):
    t = sb.dg_token(name, name, name)
    rs = [sb.dg("GET", name, "/content/courses", t) for _ in range(3)]
    eq([r.status for r in rs], [200, 200, 429])
    eq(rs[0].header("X-Rate-Limit-Limit"), "30s")
    eq(rs[1].header("X-Rate-Limit-Remaining"), "0")
    check(1 <= int(rs[2].header("Retry-After")) <= 30, rs[2].headers)


def boot_ocn_interval(sb, name):
    s = sf_boot_token(sb, name).json["access_token"]
    eq(sb.ocn_courses(name, s, [course("boot-1")]).status, 200)
    r = sb.ocn_courses(name, s, [course("boot-2")])
    eq(r.status, 429)
    check(50 <= int(r.header("Retry-After")) <= 60, r.headers)
    eq(sb.state(name)["sf"]["ocn_course_posts_throttled"], 1)


def boot_html(sb, name):
    r = sb.dg_token_response(name, name, name)
    eq((r.status, r.header("Content-Type")), (200, "text/html"), "the first token request")
    check(r.body.startswith(b"<!DOCTYPE html>"), r.body[:80])
    eq(sb.dg_token_response(name, name, name).status, 200, "count 1: then a token")
    check("access_token" in sb.dg_token_response(name, name, name).json, "a token")


BOOT_CHECKS = {"flaky": boot_error_rate, "boot-latency": boot_latency,
               "boot-outage": boot_outage, "boot-reset": boot_connection_reset,
               "boot-tokfail": boot_token_failures, "boot-ratelimit": boot_rate_limit,
               "boot-ocn": boot_ocn_interval, "boot-html": boot_html}


def test_faults_from_config(sb):
    """Runs first: each fault of the configuration acts on the very first
    requests of its tenant."""
    eq(sorted(BOOT_CHECKS), sorted(BOOT_FAULTS), "one check per start-up fault")
    for name, check_fault in BOOT_CHECKS.items():
        try:
            check_fault(sb, name)
        except AssertionError as e:
            raise AssertionError("tenant %s: %s" % (name, e)) from e


def test_fault_call_validation(sb):
    for body, needle in (({"latency": {"ms": 10}}, "tenant"),
                         ({"tenant": "nosuch", "latency": {"ms": 10}}, "unknown tenant"),
                         ({"tenant": "acme", "latency": {"ms": -5}}, "latency.ms"),
                         ({"tenant": "acme", "error_rate": {"rate": 2}}, "rate"),
                         ({"tenant": "acme", "error_rate": {"rate": 0.1, "api": "x"}}, "api"),
                         ({"tenant": "acme", "meteor": {}}, "meteor"),
                         ({"tenant": "acme", "outage": {}}, "outage")):
        r = sb.post("/_sandbox/faults", json_body=body)
        check(r.status in (400, 404), (needle, r))
        check(needle in r.json["error"], (needle, r.json))
    eq(sb.request("PUT", "/_sandbox/faults").status, 405)
    eq(sb.request("DELETE", "/_sandbox/faults").status, 200, "clear all")
    eq(sb.get("/_sandbox/faults").json["tenants"]["flaky"].get("error_rate"), None)


if __name__ == "__main__":
    run([test_faults_from_config, test_latency_does_not_block_other_tenants,
         test_error_rate, test_outage, test_connection_reset, test_token_failures,
         test_custom_rate_limit_and_ocn_interval, test_hostile_answers, test_thread_pool_size,
         test_fault_call_validation],
        sandbox_factory=lambda: Sandbox(config=CONFIG, args=["--threads", "2"]))
