#!/usr/bin/env python3
"""Smoke test of the two LRSs the xAPI connector is tested against: Learning
Locker's statement service (real_lrs.py) and the LMS sandbox's LRS.

The statements of statements.json, written by hand as docs/mapping.md maps a
completion (actor by mbox and by account; an assessment with a score, a
course), each under its UUID v5 statement id, go to both: PUT with the
version header and Basic auth is 204, GET ?statementId= returns it, the same
PUT again is 204 or 409 and stores no second statement, a different statement
under the same id is 409 and changes nothing. Every statement passes
Learning Locker's xapi-validation, and a broken one does not.

LB_LRS_REAL=0 skips the test (77); a failed npm install fails it.
Environment (ctest): LB_BIN_DIR, LMS_SANDBOX_BIN.
"""
import base64
import copy
import datetime
import json
import os
import shutil
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "sandbox", "lms", "tests"))

import real_lrs  # noqa: E402
import sbx  # noqa: E402

SKIP = 77
INTEGRATION = "hooli-lrs"
EVENTS = ["evt-ann-assessment-142", "evt-4711-course-4421"]
passes, failures = 0, []


def check(cond, what):
    global passes
    if cond:
        passes += 1
        print("PASS", what, flush=True)
    else:
        failures.append(what)
        print("FAIL", what, flush=True)
    return cond


def info(text):
    print("INFO", text, flush=True)


def statement_id(event_id):
    """docs/mapping.md: UUID v5 in the URL namespace of lmsbridge:<integration>:<event>."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lmsbridge:{INTEGRATION}:{event_id}"))


def instant(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def same_as_sent(got, sent):
    """The stored statement holds what was sent (the timestamp as an
    instant: an LRS may write it in another form)."""
    for key, value in sent.items():
        if key == "timestamp":
            if instant(got.get(key, "")) != instant(value):
                return False
        elif got.get(key) != value:
            return False
    return True


def changed(s):
    """The same statement with another result: a different statement."""
    d = copy.deepcopy(s)
    d["result"]["duration"] = "PT9H"
    return d


def exercise(name, put, get, count):
    """The checks both LRSs must pass. put(id, body, **kw) and get(query)
    return (status, headers, body bytes); count(id) says how many stored
    statements have that id."""
    with open(os.path.join(HERE, "statements.json")) as f:
        statements = json.load(f)
    for event, s in zip(EVENTS, statements):
        sid = statement_id(event)
        who = f"{name} {s['object']['id'].rsplit('/', 2)[-2]}"
        status, headers, body = put(sid, s)
        check(status == 204, f"{who}: PUT stored it: 204 (got {status} {body[:200]!r})")
        check(headers.get("x-experience-api-version", "").startswith("1.0"),
              f"{who}: the answer carries X-Experience-API-Version "
              f"({headers.get('x-experience-api-version')})")
        status, headers, body = get(f"?statementId={sid}")
        got = json.loads(body) if status == 200 else {}
        check(status == 200 and got.get("id") == sid and same_as_sent(got, s),
              f"{who}: GET ?statementId= returns the statement as sent (got {status})")
        check("stored" in got and "authority" in got,
              f"{who}: the LRS added stored and authority")
        status, _, body = put(sid, s)
        check(status in (204, 409), f"{who}: the same PUT again: {status} (204 or 409)")
        info(f"{who}: a repeated PUT answers {status}")
        status, _, body = put(sid, changed(s))
        check(status == 409, f"{who}: another statement under the same id: 409 (got {status})")
        status, _, body = get(f"?statementId={sid}")
        check(status == 200 and same_as_sent(json.loads(body), s),
              f"{who}: the stored statement is unchanged")
        check(count(sid) == 1, f"{who}: one statement with that id (got {count(sid)})")
    sid = statement_id("evt-no-version")
    status, _, _ = put(sid, statements[0], version=None)
    check(status == 400, f"{name}: no X-Experience-API-Version header: 400 (got {status})")
    status, _, _ = put(sid, statements[0], secret="not-the-secret")
    check(status == 401, f"{name}: a wrong secret: 401 (got {status})")
    check(count(sid) == 0, f"{name}: neither stored anything")


def real_lrs_part(run_dir):
    start = time.time()
    try:
        real_lrs.install()
    except real_lrs.LRSError as e:
        check(False, f"install the pinned npm packages: {e}")
        return
    info(f"npm packages {real_lrs.pinned()} in {real_lrs.install_dir()} "
         f"({time.time() - start:.1f}s)")
    lrs = real_lrs.RealLRS(os.path.join(run_dir, "learning-locker"))
    try:
        lrs.start()
    except real_lrs.LRSError as e:
        check(False, f"start Learning Locker's xapi-statements: {e}")
        return
    info(f"xapi-statements ready at {lrs.endpoint} in {lrs.ready_seconds:.1f}s")
    try:
        def put(sid, body, version=real_lrs.XAPI_VERSION, secret=None):
            headers = {}
            if secret:
                cred = base64.b64encode(f"{lrs.key}:{secret}".encode()).decode()
                headers["Authorization"] = "Basic " + cred
            return lrs.request("PUT", f"/statements?statementId={sid}", body=body,
                               version=version, headers=headers)

        def get(query):
            return lrs.request("GET", "/statements" + query)

        def count(sid):
            status, _, body = get("?limit=0")
            listed = json.loads(body)["statements"] if status == 200 else []
            return sum(1 for s in listed if s["id"] == sid)

        exercise("learning-locker", put, get, count)
    finally:
        rc = lrs.stop()
        check(rc is not None and lrs.proc is None, f"learning-locker: stopped (exit {rc})")
    logs = ""
    for root, _, files in os.walk(lrs.dir):  # its console log and access logs
        for f in files:
            with open(os.path.join(root, f), errors="replace") as fh:
                logs += fh.read()
    check(lrs.secret not in logs, "learning-locker: the client secret is in none of its logs")


def sandbox_part():
    password = "hooli-lrs-sandbox-password"
    config = {"tenants": [{"name": "hooli", "xapi": {"credentials": [
        {"username": INTEGRATION, "password": password}]}}]}
    sb = sbx.Sandbox(config=config)
    try:
        sb.start()
    except Exception as e:  # noqa: BLE001 - any start failure is the finding
        check(False, f"start lms-sandbox ({sbx.BIN}): {e}")
        sb.cleanup()
        return

    def auth(secret):
        cred = base64.b64encode(f"{INTEGRATION}:{secret}".encode()).decode()
        return {"Authorization": "Basic " + cred}

    def put(sid, body, version=real_lrs.XAPI_VERSION, secret=None):
        headers = auth(secret or password)
        if version:
            headers["X-Experience-API-Version"] = version
        r = sb.request("PUT", f"/t/hooli/xapi/statements?statementId={sid}",
                       json_body=body, headers=headers)
        return r.status, r.headers, r.body

    def get(query):
        headers = dict(auth(password), **{"X-Experience-API-Version": real_lrs.XAPI_VERSION})
        r = sb.get("/t/hooli/xapi/statements" + query, headers=headers)
        return r.status, r.headers, r.body

    def count(sid):
        return sum(1 for s in sb.state("hooli")["xapi"]["statements"] if s["id"] == sid)

    try:
        exercise("sandbox", put, get, count)
        seen = [(s["repeats"], s["conflicts"]) for s in sb.state("hooli")["xapi"]["statements"]]
        check(seen == [(1, 1)] * len(EVENTS),
              f"sandbox: the state shows one repeat and one conflict per statement ({seen})")
    finally:
        rc = sb.stop()
        check(rc == 0, f"sandbox: exit 0 on SIGTERM (got {rc})")
        if rc != 0:
            print(sb.stderr_text())
        sb.cleanup()


def validation_part():
    path = os.path.join(HERE, "statements.json")
    try:
        ok, lines = real_lrs.validate(path)
    except real_lrs.LRSError as e:
        check(False, f"xapi-validation: {e}")
        return
    check(ok, "xapi-validation: the statements are valid: " + " | ".join(lines))
    with open(path) as f:
        broken = json.load(f)[0]
    broken["actor"]["mbox"] = "ann@hooli.example"  # no mailto:
    broken["result"]["score"]["scaled"] = 87
    ok, lines = real_lrs.validate(broken)
    check(not ok and any("actor.mbox" in l for l in lines) and
          any("score.scaled" in l for l in lines),
          "xapi-validation: a broken statement is refused, naming actor.mbox and "
          "result.score.scaled: " + " | ".join(lines))


def main():
    if os.environ.get("LB_LRS_REAL", "1") == "0":
        print("SKIP: LB_LRS_REAL=0 switches the real-LRS tests off", flush=True)
        return SKIP
    start = time.time()
    bin_dir = os.path.abspath(os.environ.get("LB_BIN_DIR", "build"))
    run_dir = os.path.join(bin_dir, "tests", "lrs", "run", "smoke")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    real_lrs_part(run_dir)
    if not failures:
        validation_part()
    sandbox_part()
    info(f"lrs smoke test took {time.time() - start:.1f}s")
    print(f"{passes} passed, {len(failures)} failed")
    if failures:
        print(f"logs kept in {run_dir}")
        return 1
    shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
