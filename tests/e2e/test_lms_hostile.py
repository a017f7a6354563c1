#!/usr/bin/env python3
"""A hostile LMS (issue 17 item 4): one completion-worker delivers to a
healthy customer and to eleven customers whose LMS misbehaves, each with
the outcome an operator expects. lms-sandbox's hostile faults serve the
answers libmicrohttpd can give; tests/support/hostile_lms.py the others
(a trickle, malformed HTTP, a certificate for another host) and the host
the redirects point to.

- a 1 GiB body: read no further than the 16 MiB read cap, memory bounded,
  retried, then a dead letter whose reason names the cap;
- a response trickled at 1 byte/s: the request timeout fires, the slot is
  freed (the customer's other completions, behind it with max_in_flight 1,
  are delivered between its attempts), retried, then a dead letter saying
  it timed out;
- a status line that is not HTTP, and a chunked body with a chunk size that
  is not hexadecimal: retried, then a dead letter with the reason;
- 301, 302 and 307 to another host: not followed (that host never hears
  from us), a dead letter at once, permanent_http, with the status and
  where it pointed;
- an HTTPS certificate for another host: refused before any request is
  sent, retried, then a dead letter whose reason names the certificate;
- 200 with an HTML maintenance page from Degreed's completions endpoint,
  from SuccessFactors' OCNLearningEvents, from a token endpoint and (to a
  catalog-worker) from Degreed's content create: never counted as
  delivered (nor recorded in the catalog state), retried, then a dead
  letter saying so;
- the connection dropped halfway through the answer, after the LMS stored
  the completion: retried once and delivered, the LMS holds it once (at
  least once, no more).
Meanwhile the healthy customer gets every completion, the worker stays
ready, and it exits 0 on SIGTERM (under ASan: no leak)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from catalog_fixtures import catalog_event, degreed, sf_integration, sf_tenant
from harness import (Env, check, completion, degreed_integration, degreed_tenant, die_with_test,
                     finish, finished, info, ns, wait_for)

SECRET = "e2e-hostile-secret-55"
TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"
CTOPIC = ns("catalog-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{DLQ}:1",
          f"{CTOPIC}:1", f"{CTOPIC}.retry:1", f"{CTOPIC}.dlq:1", f"{CTOPIC}.state:1"]
ATTEMPTS = 3
TIMEOUT_MS = 3000
HOSTILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support",
                       "hostile_lms.py")


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def hostile_tenant(name, faults, sf=False):
    t = sf_tenant(name, SECRET, name.upper(), require_known_course=False) if sf else \
        degreed_tenant(name, SECRET)
    t["faults"] = faults
    return t


# the redirects' target is the hostile server's trap: its port is known
# once it runs, so it starts first and the tenants are made after
hostile = None
env = None
try:
    hdir = tempfile.mkdtemp(prefix="lb-e2e-hostile-")
    tmp_ready = os.path.join(hdir, "hostile.ready")
    hostile = subprocess.Popen([sys.executable, HOSTILE, "--dir", hdir, "--ready", tmp_ready],
                               stdout=open(os.path.join(hdir, "hostile.log"), "w"),
                               stderr=subprocess.STDOUT, preexec_fn=die_with_test)
    ports = wait_for(lambda: read_json(tmp_ready), 30, "the hostile LMS")
    base = f"http://127.0.0.1:{ports['port']}"
    trap = f"http://127.0.0.1:{ports['trap_port']}/elsewhere"

    env = Env(TOPICS, [
        degreed_tenant("good", SECRET),
        hostile_tenant("huge", {"huge_body": {"api": "degreed"}}),
        *[hostile_tenant(f"redir{c}", {"redirect": {"status": c, "location": trap,
                                                    "api": "degreed"}})
          for c in (301, 302, 307)],
        hostile_tenant("html", {"html_200": {"api": "degreed"}}),
        hostile_tenant("htmlcreate", {"html_200": {"api": "degreed"}}),
        hostile_tenant("htmltoken", {"html_200": {"api": "degreed_token"}}),
        hostile_tenant("ocnhtml", {"html_200": {"api": "sf"}}, sf=True),
        # the first answer of each of the two completions is cut
        hostile_tenant("drop", {"drop_mid_response": {"api": "degreed", "count": 2}}),
    ])

    def stats():
        with urllib.request.urlopen(base + "/_stats", timeout=30) as r:
            return json.loads(r.read())

    def requests_of(mode, listener="plain"):
        return [r for r in stats()["requests"] if r["mode"] == mode and
                r["listener"] == listener]

    def lms_log(tenant, api):
        return [r for r in env.lms_requests(tenant) if r["api"] == api]

    def on_hostile(org, api, token=None, extra=""):
        return (f'{{ id = "{org}"; type = "degreed"; organization = "{org}";'
                f' api_base_url = "{api}"; token_url = "{token or api + "/oauth/token"}";'
                f' client_id = "{org}-id"; client_secret = "@env:SECRET";'
                f' rate_limit_per_minute = 0; {extra} }}')

    integs = ", ".join([
        *[degreed_integration(env, t, t, "SECRET") for t in
          ("good", "huge", "redir301", "redir302", "redir307", "html", "htmltoken", "drop")],
        sf_integration(env, "ocnhtml", "ocnhtml", "ocnhtml", "OCNHTML", "SECRET"),
        on_hostile("trickle", base + "/trickle", extra="max_in_flight = 1;"),
        on_hostile("garbage", base + "/garbage"),
        on_hostile("tls", f"https://127.0.0.1:{ports['tls_port']}/ok",
                   token=base + "/ok/oauth/token"),
    ])
    # the hostile TLS listener's certificate is trusted, so what is refused
    # is its host name, not an unknown issuer
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET}, delivery=(
        f'backoff_initial_ms = 100; backoff_max_ms = 500; max_attempts = {ATTEMPTS};'
        f' request_timeout_ms = {TIMEOUT_MS}; ca_bundle = "{ports["cert"]}";'))
    rss_before = rss_kib(w.proc.pid, "VmRSS")
    cw = env.worker("catalog-worker", degreed(env, "htmlcreate", "htmlcreate", "htmlcreate",
                                              "SECRET", "catalog = { public = true; };"),
                    env={"SECRET": SECRET}, delivery=(
        f'backoff_initial_ms = 100; backoff_max_ms = 500; max_attempts = {ATTEMPTS};'))
    env.produce_many(CTOPIC, [catalog_event("course", "900", 1)])

    # the trickled completion first, alone: the customer's others come once
    # it holds the customer's one slot
    env.produce(TOPIC, [("slow1", completion("t-slow", "trickle", "slow1"), None)])
    wait_for(lambda: requests_of("trickle"), 60, "the trickled request on the wire")
    fast_from = time.time()
    sso = json.loads(completion("o1", "ocnhtml", "oli"))
    sso["user"]["sso_nameid"] = "OLI01"
    records = [(f"g{i}", completion(f"g{i}", "good", f"g{i}")) for i in range(10)]
    records += [(f"fast{i}", completion(f"t-fast{i}", "trickle", f"fast{i}")) for i in range(3)]
    records += [("h1", completion("h1", "huge", "h1")),
                ("spam1", completion("x-status", "garbage", "spam1")),
                ("chunk1", completion("x-chunk", "garbage", "chunk1")),
                *[(f"r{c}", completion(f"r{c}", f"redir{c}", f"r{c}")) for c in (301, 302, 307)],
                ("page1", completion("page1", "html", "page1")),
                ("tok1", completion("tok1", "htmltoken", "tok1")),
                ("drop1", completion("drop1", "drop", "drop1")),
                ("drop2", completion("drop2", "drop", "drop2")),
                ("tls1", completion("tls1", "tls", "tls1")),
                ("oli", json.dumps(sso, separators=(",", ":")))]
    env.produce_many(TOPIC, records)

    fast_done = wait_for(lambda: (lambda r: time.time() if len(
        [x for x in r if x["marker"] == "" and x["answer"] == "created"]) >= 3 else None)(
        requests_of("trickle")), 120, "the trickle customer's other completions")
    info(f"trickle customer: its 3 other completions answered {fast_done - fast_from:.1f} s "
         f"after they were produced, behind a request trickled at 1 byte/s "
         f"(request timeout {TIMEOUT_MS} ms)")
    check(finished(env, ns("completion-worker"), [TOPIC], [w], timeout=180),
          "every record finished (delivered or dead-lettered), offsets committed")
    rss_after = rss_kib(w.proc.pid, "VmRSS")
    hwm = rss_kib(w.proc.pid, "VmHWM")

    dead = {}
    for r in env.consume_all(DLQ):
        dead[r["key"]] = r["headers"]
    info("dead letters: " + "; ".join(
        f"{k}: {h.get('__connect.errors.exception.class.name')} after "
        f"{h.get('lmsbridge.attempts')}: {h.get('__connect.errors.exception.message')}"
        for k, h in sorted(dead.items())))

    def dead_letter(key, cls, attempts, *words, status=None):
        h = dead.get(key) or {}
        msg = h.get("__connect.errors.exception.message", "")
        return (h.get("__connect.errors.exception.class.name") == cls and
                h.get("lmsbridge.attempts") == str(attempts) and
                all(wd in msg for wd in words) and
                (status is None or h.get("lmsbridge.http.status") == str(status)))

    def why(key):
        return (dead.get(key) or {}).get("__connect.errors.exception.message")

    # the healthy customer
    check(len(env.state("good")["degreed"]["completions"]) == 10 and
          not any(k.startswith("g") for k in dead),
          "the healthy customer: all 10 completions delivered, none dead-lettered")

    # 1 GiB body
    huge = lms_log("huge", "degreed")
    check(dead_letter("h1", "retries_exhausted", ATTEMPTS, "larger than the 16 MiB read cap",
                      status=0),
          f"1 GiB body: retried, then dead-lettered naming the read cap ({why('h1')})")
    check(len(huge) == ATTEMPTS and all(r["fault"] == "huge_body" for r in huge),
          f"1 GiB body: {ATTEMPTS} requests, each answered with the 1 GiB body")
    info(f"worker RSS: {rss_before} KiB before, {rss_after} KiB after, peak {hwm} KiB "
         f"({ATTEMPTS} answers of 1 GiB, each read up to the 16 MiB cap)")
    check(hwm - rss_before < 512 * 1024,
          f"1 GiB body: the worker's peak RSS grew by {(hwm - rss_before) >> 10} MiB, far "
          f"below the body's size")

    # trickle
    slow = [r for r in requests_of("trickle") if r["marker"] == "slow"]
    check(dead_letter("slow1", "retries_exhausted", ATTEMPTS, "timed out", status=0),
          f"trickle: the request timeout fires, retried, then dead-lettered ({why('slow1')})")
    order = [r["marker"] or "fast" for r in requests_of("trickle")]
    check(len(slow) == ATTEMPTS and order.count("fast") == 3 and
          order.index("fast") < len(order) - 1 - order[::-1].index("slow") and
          not any(k.startswith("fast") for k in dead),
          f"trickle: the slot is freed: the customer's other completions (max_in_flight 1) "
          f"delivered between the trickled one's attempts ({order})")

    # malformed HTTP
    check(dead_letter("spam1", "retries_exhausted", ATTEMPTS, "HTTP/0.9", status=0),
          f"a status line that is not HTTP: retried, then dead-lettered ({why('spam1')})")
    check(dead_letter("chunk1", "retries_exhausted", ATTEMPTS, "chunked", status=0),
          f"a bad chunk size: retried, then dead-lettered ({why('chunk1')})")

    # redirects
    for code in (301, 302, 307):
        check(dead_letter(f"r{code}", "permanent_http", 1, "redirect (not followed)",
                          f"HTTP {code}) to {trap}", status=code) and
              len(lms_log(f"redir{code}", "degreed")) == 1,
              f"{code}: not followed, one request, dead-lettered at once as permanent_http "
              f"({why(f'r{code}')})")
    check(stats()["trap_hits"] == 0, "redirects: the host they point to never contacted")

    # TLS certificate for another host
    st = stats()
    check(dead_letter("tls1", "retries_exhausted", ATTEMPTS, "certificate", status=0),
          f"a certificate for another host: refused, retried, then dead-lettered naming "
          f"the certificate ({why('tls1')})")
    check(st["tls_connections"] >= 1 and requests_of("ok", "tls") == [],
          f"a certificate for another host: no request sent over it "
          f"({st['tls_connections']} TLS connections, none carried a request)")

    # 200 with an HTML page
    check(dead_letter("page1", "retries_exhausted", ATTEMPTS, "HTML page", status=200) and
          dead["page1"].get("lmsbridge.http.body", "").startswith("<!DOCTYPE html>"),
          f"Degreed 200 HTML page: not delivered, retried, dead-lettered with the page "
          f"({why('page1')})")
    check(dead_letter("oli", "retries_exhausted", ATTEMPTS, "HTML page", status=200) and
          len(lms_log("ocnhtml", "sf")) == ATTEMPTS,
          f"SuccessFactors 200 HTML page: not delivered, retried, dead-lettered ({why('oli')})")
    check(dead_letter("tok1", "retries_exhausted", ATTEMPTS,
                      "token response is not a JSON object (an HTML page)"),
          f"token endpoint 200 HTML page: no token, retried, then dead-lettered ({why('tok1')})")
    check(len(lms_log("htmltoken", "degreed_token")) >= ATTEMPTS and
          lms_log("htmltoken", "degreed") == [],
          "token endpoint HTML page: no API request sent without a token")
    check(all(w.metric("lmsbridge_deliveries_total", integration=i, outcome="success") == 0
              for i in ("html", "ocnhtml", "htmltoken")),
          "HTML pages: nothing counted as delivered")
    check(finished(env, ns("catalog-worker"), [CTOPIC], [cw], timeout=120),
          "catalog: the record finished")
    cdead = env.consume_all(f"{CTOPIC}.dlq")
    ch = cdead[0]["headers"] if len(cdead) == 1 else {}
    creates = [r for r in lms_log("htmlcreate", "degreed") if r["method"] == "POST"]
    check(ch.get("__connect.errors.exception.class.name") == "retries_exhausted" and
          "HTML page" in ch.get("__connect.errors.exception.message", "") and
          ch.get("lmsbridge.attempts") == str(ATTEMPTS) and len(creates) == ATTEMPTS and
          cw.metric("lmsbridge_deliveries_total", integration="htmlcreate",
                    outcome="success") == 0,
          f"Degreed create answered 200 with an HTML page: retried, then dead-lettered, "
          f"not delivered ({ch.get('__connect.errors.exception.message')}, "
          f"{len(creates)} POSTs)")
    check(env.consume_all(f"{CTOPIC}.state") == [],
          "catalog: nothing recorded as delivered in the catalog state")

    # dropped mid-response: the first answer of each completion is cut (the
    # fault's count is 2, in whatever order the requests come)
    def user_of(r):
        body = r.get("body") if isinstance(r.get("body"), dict) else {}
        return ((body.get("data") or {}).get("attributes") or {}).get("user-id", "")
    drops = {u: [(r["status"], r["fault"]) for r in lms_log("drop", "degreed")
                 if user_of(r) == u] for u in ("drop1@drop.example", "drop2@drop.example")}
    held = {c["attributes"]["user-id"]: c["repeats"]
            for c in env.state("drop")["degreed"]["completions"]}
    check("drop1" not in dead and "drop2" not in dead and
          sum(f == "drop_mid_response" for rs in drops.values() for _, f in rs) == 2 and
          all(rs and rs[0][1] == "drop_mid_response" and rs[-1][1] is None and
              rs[-1][0] in (200, 201) and held.get(u) == len(rs) - 1
              for u, rs in drops.items()) and len(held) == 2,
          f"dropped mid-response: retried and delivered, held once by the LMS, sent again "
          f"only after a cut answer ({drops}, repeats {held})")
    check(len(dead) == 11, f"11 dead letters, no more ({sorted(dead)})")

    code, _ = w.get("/readyz")
    check(code == 200, "the worker stays ready")
    check(SECRET not in open(w.log_path).read(), "no client secret in the worker's log")
    w.stop_and_check()
    cw.stop_and_check("catalog-worker")
finally:
    if env:
        env.close()
    if hostile:
        hostile.terminate()
        hostile.wait()
finish()
