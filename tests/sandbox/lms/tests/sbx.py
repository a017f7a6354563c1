"""Helpers for the lms-sandbox black-box tests (stdlib only).

Each test script starts its own lms-sandbox on port 0 with a ready file in a
temporary directory, runs its test_* functions in order and stops it with
SIGTERM, checking that it exits 0 (under ASan that also means: no leaks).
"""

import base64
import ctypes
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

BIN = os.environ.get("LMS_SANDBOX_BIN", "lms-sandbox")
SRC_DIR = os.environ.get(
    "LMS_SANDBOX_DIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ACME_SCOPES = ["content:read", "content:write", "completions:read",
               "completions:write", "skill_ratings:read", "skill_ratings:write"]

# The default tenants most tests use.
DEFAULT_CONFIG = {
    "tenants": [
        {
            "name": "acme",
            "degreed": {
                "clients": [
                    {"client_id": "acme-id", "client_secret": "acme-secret-1",
                     "scopes": ACME_SCOPES},
                    {"client_id": "acme-reader", "client_secret": "acme-secret-2",
                     "scopes": "content:read"},
                    {"client_id": "acme-writer", "client_secret": "acme-secret-3",
                     "scopes": ["content:write", "completions:write"]},
                ],
                "users": ["ann@acme.example", "Bob@Acme.example"],
                # high so functional tests never hit it; test_degreed_ratelimit
                # covers the default of 70
                "rate_limit_per_minute": 1000000,
            },
            "sf": {
                "company_id": "ACME",
                "client_id": "acme-sf", "client_secret": "acme-sf-secret",
                "admin_users": ["ocn_admin"],
                "users": [{"userID": "u1"}, {"userID": "u2"},
                          {"userID": "gone", "active": False}],
            },
        },
        {
            "name": "globex",
            "degreed": {
                "clients": [{"client_id": "globex-id", "client_secret": "globex-secret"}],
                "rate_limit_per_minute": 1000000,
            },
            "sf": {
                "company_id": "GLOBEX",
                "clients": [{"client_id": "globex-sf", "client_secret": "globex-sf-secret"}],
                "admin_users": ["admin"],
            },
        },
    ]
}


_libc = ctypes.CDLL(None, use_errno=True)  # loaded before any fork


def die_with_parent():
    """Popen preexec_fn: SIGKILL when the test process dies, however it dies,
    so a killed test leaves no sandbox running."""
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode()) if self.body else None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


class Sandbox:
    def __init__(self, config=None, args=(), use_config=True):
        self.config = DEFAULT_CONFIG if config is None and use_config else config
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix="lms-sbx-")
        self.proc = None
        self.url = None

    def start(self):
        ready = os.path.join(self.dir, "ready")
        cmd = [BIN, "--listen", "127.0.0.1:0", "--ready-file", ready] + self.args
        if self.config is not None:
            cfg = os.path.join(self.dir, "config.json")
            with open(cfg, "w") as f:
                json.dump(self.config, f)
            cmd += ["--config", cfg]
        self.stderr = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     preexec_fn=die_with_parent)
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(ready):
                with open(ready) as f:
                    url = f.read().strip()
                if url:
                    self.url = url
                    parsed = urllib.parse.urlparse(url)
                    self.host, self.port = parsed.hostname, parsed.port
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError("lms-sandbox exited early: " + self.stderr_text())
            time.sleep(0.02)
        raise RuntimeError("lms-sandbox did not become ready")

    def stderr_text(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self):
        """SIGTERM; returns the exit code (must be 0)."""
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = -9
        self.proc = None
        return rc

    def cleanup(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def threads(self):
        """{tid: (name, cpu_ns)} of the sandbox's threads, from Linux /proc
        (libmicrohttpd names its pool threads MHD-worker, or MHD-single
        without a pool)."""
        out = {}
        base = "/proc/%d/task" % self.proc.pid
        for tid in os.listdir(base):
            try:
                with open("%s/%s/comm" % (base, tid)) as f:
                    name = f.read().strip()
                try:
                    with open("%s/%s/schedstat" % (base, tid)) as f:
                        cpu_ns = int(f.read().split()[0])
                except FileNotFoundError:  # no CONFIG_SCHED_INFO: clock ticks
                    with open("%s/%s/stat" % (base, tid)) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    cpu_ns = (int(fields[11]) + int(fields[12])) * 10 ** 9 // \
                        os.sysconf("SC_CLK_TCK")
            except FileNotFoundError:  # the thread ended meanwhile
                continue
            out[tid] = (name, cpu_ns)
        return out

    def pool_threads(self, expect, timeout=5):
        """{tid: cpu_ns} of the HTTP worker threads, once there are expect
        of them (each thread names itself once it runs), or AssertionError."""
        deadline = time.time() + timeout
        while True:
            pool = {tid: cpu for tid, (name, cpu) in self.threads().items()
                    if name == "MHD-worker"}
            if len(pool) == expect:
                return pool
            if time.time() > deadline:
                raise AssertionError("%d HTTP worker threads, expected %d: %r"
                                     % (len(pool), expect, self.threads()))
            time.sleep(0.02)

    # ---- HTTP ----------------------------------------------------------
    def request(self, method, path, body=None, headers=None, json_body=None,
                form=None, timeout=30):
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    # ---- Degreed -------------------------------------------------------
    def dg_token_response(self, tenant, client_id, secret, scope=None, extra=None):
        form = {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret}
        if scope is not None:
            form["scope"] = scope
        form.update(extra or {})
        return self.post("/t/%s/oauth/token" % tenant, form=form)

    def dg_token(self, tenant="acme", client_id="acme-id", secret="acme-secret-1",
                 scope=None):
        r = self.dg_token_response(tenant, client_id, secret, scope)
        assert r.status == 200, r
        return r.json["access_token"]

    def dg(self, method, tenant, path, token, json_body=None, headers=None, **kw):
        hdrs = {"Authorization": "Bearer " + token}
        hdrs.update(headers or {})
        return self.request(method, "/t/%s/api/v2%s" % (tenant, path),
                            json_body=json_body, headers=hdrs, **kw)

    # ---- SuccessFactors ------------------------------------------------
    def sf_token_response(self, tenant, client_id, secret, user="ocn_admin",
                          company="ACME", user_type="admin", body=None, basic=True):
        if body is None:
            body = {"grant_type": "client_credentials",
                    "scope": {"userId": user, "companyId": company,
                              "userType": user_type,
                              "resourceType": "learning_public_api"}}
        headers = {}
        if basic:
            cred = base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()
            headers["Authorization"] = "Basic " + cred
        return self.post("/t/%s/learning/oauth-api/rest/v1/token" % tenant,
                         json_body=body, headers=headers)

    def sf_token(self, tenant="acme", client_id="acme-sf", secret="acme-sf-secret",
                 user="ocn_admin", company="ACME", user_type="admin"):
        r = self.sf_token_response(tenant, client_id, secret, user, company, user_type)
        assert r.status == 200, r
        return r.json["access_token"]

    def ocn_courses(self, tenant, token, courses, raw=None):
        body = raw if raw is not None else {"ocnCourses": courses}
        return self.post("/t/%s/learning/odatav4/public/admin/ocn/v1/OcnCourses" % tenant,
                         json_body=body, headers={"Authorization": "Bearer " + token})

    def ocn_event(self, tenant, token, event):
        return self.post(
            "/t/%s/learning/odatav4/public/admin/learningevent-service/v1/OCNLearningEvents"
            % tenant, json_body=event, headers={"Authorization": "Bearer " + token})

    # ---- control -------------------------------------------------------
    def state(self, tenant):
        r = self.get("/_sandbox/state?tenant=" + tenant)
        assert r.status == 200, r
        return r.json["tenants"][tenant]

    def requests_log(self, query=""):
        r = self.get("/_sandbox/requests" + query)
        assert r.status == 200, r
        return r.json

    def faults(self, tenant, **faults):
        body = dict(faults)
        body["tenant"] = tenant
        r = self.post("/_sandbox/faults", json_body=body)
        assert r.status == 200, r
        return r.json

    def put_tenants(self, config):
        r = self.post("/_sandbox/tenants", json_body=config)
        assert r.status in (200, 201), r
        return r.json


def course(course_id, provider="DATACAMP", status="ACTIVE", **extra):
    c = {"courseID": course_id, "providerID": provider, "status": status,
         "title": [{"locale": "English", "value": "Title of " + course_id}]}
    c.update(extra)
    return c


def full_course(course_id, provider="DATACAMP"):
    return {
        "courseID": course_id, "providerID": provider, "status": "ACTIVE",
        "title": [{"locale": "English", "value": "Intro to " + course_id + " - Course"}],
        "description": [{"locale": "English", "value": "A description"}],
        "thumbnailURI": "https://example.com/thumb.png",
        "content": [{"providerID": provider, "launchURL": "https://example.com/" + course_id,
                     "contentTitle": "Intro", "contentID": course_id, "launchType": 3,
                     "mobileEnabled": True}],
        "schedule": [{"active": True, "startDate": 1360040400000, "endDate": 2147483647000}],
        "price": [{"currency": "USD", "value": 0.0}],
        "revisionNumber": 1,
        "duration": "4 hours",
    }


def now_ms():
    return int(time.time() * 1000)


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what or "value", expected, actual))


def run(tests, sandbox_factory=None):
    """Runs test functions (each gets the shared sandbox) and prints the
    ctest-readable summary line. Exits 1 on any failure."""
    sb = (sandbox_factory or Sandbox)()
    passed = failed = 0
    try:
        sb.start()
        for t in tests:
            t0 = time.time()
            try:
                t(sb)
                passed += 1
                print("ok   %s (%.2fs)" % (t.__name__, time.time() - t0))
            except Exception:
                failed += 1
                print("FAIL %s" % t.__name__)
                traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
        rc = sb.stop()
        if rc != 0:
            failed += 1
            print("FAIL lms-sandbox exit code %s\n%s" % (rc, sb.stderr_text()))
        else:
            passed += 1
            print("ok   lms-sandbox exited 0 on SIGTERM")
    finally:
        sb.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
