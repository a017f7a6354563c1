#!/usr/bin/env python3
"""A real Learning Record Store on loopback: Learning Locker's xAPI
statements service, for the tests and people.

The service is npm's xapi-statements (Learning Locker's statement API) and
the validator xapi-validation, at the versions package.json and
package-lock.json beside this file pin: `npm ci` installs exactly the
lockfile's packages (each checked against its sha512 integrity) into a cache
outside the tree, keyed by the lockfile's hash. Install scripts are not run.
The service keeps statements in memory; tests/lrs/lrs_server.js starts it
with a client key and secret (HTTP Basic) and no MongoDB or Redis.

As a library (tests/lrs, tests/e2e):
    lrs = RealLRS(workdir).start()   # installs on first use
    lrs.endpoint                     # http://127.0.0.1:PORT/xAPI
    lrs.key, lrs.secret              # the client's Basic credentials
    lrs.stop()                       # or `with RealLRS(d) as lrs:`
    validate(path_or_statements)     # (ok, lines) from xapi-validation
The service dies with the process that started it (PR_SET_PDEATHSIG).

As a command:
    install                 install the pinned packages into the cache
    run [--dir D]           run in the foreground until Ctrl-C; prints the
                            endpoint and where the key and secret are
    validate FILE...        validate statements (exit 0 valid, 1 invalid)
    versions                the pinned versions and the cache directory

Environment:
    LB_LRS_CACHE   cache root (default ${XDG_CACHE_HOME:-~/.cache}/lmsbridge/lrs)
    LB_LRS_REAL=0  the tests that need this LRS skip (77)
"""
import base64
import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lb_test_proc import die_with_parent as _die_with_parent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_JSON = os.path.join(HERE, "package.json")
LOCKFILE = os.path.join(HERE, "package-lock.json")
SERVER_JS = os.path.join(HERE, "lrs_server.js")
VALIDATE_JS = os.path.join(HERE, "xapi_validate.js")
XAPI_VERSION = "1.0.3"  # what the service answers; it accepts 1.0.x


class LRSError(Exception):
    pass


def say(msg):
    print(f"real-lrs: {msg}", file=sys.stderr, flush=True)


def pinned():
    """{package: version} as package.json pins them."""
    with open(PACKAGE_JSON) as f:
        return json.load(f)["dependencies"]


# -------------------------------------------------------------- install --

def cache_root():
    root = os.environ.get("LB_LRS_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "lmsbridge", "lrs")
    return os.path.abspath(root)


def install_dir():
    """The cache directory of this lockfile (a changed pin is a new one)."""
    h = hashlib.sha256()
    for path in (PACKAGE_JSON, LOCKFILE):
        with open(path, "rb") as f:
            h.update(f.read())
    return os.path.join(cache_root(), h.hexdigest()[:16])


def _need(tool, pkg):
    if not shutil.which(tool):
        raise LRSError(f"`{tool}` not found (Debian package {pkg})")


def _npm_error(out):
    """npm's first error lines: the cause, without its log-file advice."""
    lines = [l.strip() for l in out.splitlines() if l.strip().startswith("npm ERR")
             or l.strip().startswith("npm error")]
    lines = [l for l in lines if "A complete log" not in l and l not in ("npm ERR!", "npm error")]
    return " | ".join(lines[:6]) or out.strip()[-800:] or "no output"


def install(quiet=False):
    """The node_modules directory of the pinned packages, installed with
    `npm ci` into the cache on first use. Raises LRSError with npm's reason
    when it cannot."""
    _need("node", "nodejs")
    _need("npm", "npm")
    idir = install_dir()
    modules = os.path.join(idir, "node_modules")
    done = os.path.join(idir, ".complete")
    if os.path.exists(done):
        return modules
    os.makedirs(idir, exist_ok=True)
    with open(os.path.join(idir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test may be installing it
        if os.path.exists(done):
            return modules
        shutil.rmtree(modules, ignore_errors=True)
        shutil.copy(PACKAGE_JSON, idir)
        shutil.copy(LOCKFILE, idir)
        if not quiet:
            say(f"installing {', '.join(f'{p}@{v}' for p, v in pinned().items())} "
                f"with npm ci into {idir}")
        start = time.time()
        p = subprocess.run(["npm", "ci", "--prefix", idir, "--ignore-scripts", "--no-audit",
                            "--no-fund", "--no-update-notifier", "--loglevel=error"],
                           cwd=idir, capture_output=True, text=True, timeout=1800,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise LRSError(f"npm ci exited {p.returncode}: {_npm_error(p.stdout + p.stderr)}")
        for pkg, version in pinned().items():
            with open(os.path.join(modules, pkg, "package.json")) as f:
                got = json.load(f)["version"]
            if got != version:
                raise LRSError(f"npm ci installed {pkg} {got}, not the pinned {version}")
        with open(done, "w") as f:
            json.dump({"packages": pinned(), "seconds": round(time.time() - start, 1),
                       "installed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f)
        if not quiet:
            say(f"installed in {time.time() - start:.0f}s")
    return modules


# ------------------------------------------------------------- validate --

def validate(statements, modules=None):
    """Runs xapi-validation on a file path or on statements (a dict or a
    list): (ok, output lines)."""
    modules = modules or install(quiet=True)
    with tempfile.TemporaryDirectory(prefix="xapi-validate-") as tmp:
        if isinstance(statements, str):
            path = statements
        else:
            path = os.path.join(tmp, "statements.json")
            with open(path, "w") as f:
                json.dump(statements, f)
        p = subprocess.run(["node", VALIDATE_JS, path], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, NODE_PATH=modules),
                           preexec_fn=_die_with_parent)
    if p.returncode not in (0, 1):
        raise LRSError(f"xapi_validate.js exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p.returncode == 0, p.stdout.splitlines()


# -------------------------------------------------------------- process --

# _die_with_parent: Popen preexec_fn, SIGKILL when the process that started
# us dies (tests/support/lb_test_proc.py)


class RealLRS:
    """One service in workdir (created; its log, access logs and storage go
    there). key and secret: the client's credentials (a random secret when
    none is given)."""

    def __init__(self, workdir, key="lmsbridge-lrs-key", secret=None):
        self.dir = os.path.abspath(workdir)
        self.key = key
        self.secret = secret or secrets.token_urlsafe(24)
        self.proc = None
        self.port = None
        self.endpoint = None
        self.log_path = os.path.join(self.dir, "lrs.log")
        self.ready_seconds = None

    def start(self, timeout=120):
        """Installs if needed, starts the service and waits until its about
        resource answers (up to `timeout` s). Raises LRSError with the log's
        end when it does not come up."""
        modules = install()
        os.makedirs(self.dir, exist_ok=True)
        ready = os.path.join(self.dir, "ready")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ready)
        env = dict(os.environ, LRS_MODULES=modules, LRS_DIR=self.dir, LRS_KEY=self.key,
                   LRS_SECRET=self.secret, NODE_NO_WARNINGS="1")
        start = time.time()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["node", SERVER_JS], cwd=self.dir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        deadline = start + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise LRSError(f"the service exited {rc} before it was ready: "
                               + self.log_tail())
            if self.port is None and os.path.exists(ready):
                with open(ready) as f:
                    self.port = int(f.read().strip())
                self.endpoint = f"http://127.0.0.1:{self.port}/xAPI"
            if self.port is not None:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    status, _, _ = self.request("GET", "/about", auth=False)
                    if status == 200:
                        self.ready_seconds = time.time() - start
                        return self
            time.sleep(0.1)
        self.stop()
        raise LRSError(f"the service was not ready after {timeout}s: " + self.log_tail())

    def request(self, method, path, body=None, auth=True, version=XAPI_VERSION,
                headers=None, timeout=30):
        """One HTTP request to endpoint + path: (status, headers with
        lower-case names, body bytes)."""
        h = dict(headers or {})
        if auth:
            cred = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
            h.setdefault("Authorization", "Basic " + cred)
        if version:
            h.setdefault("X-Experience-API-Version", version)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, "/xAPI" + path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=15):
        text = self.log_text().replace(self.secret, "<secret>")
        return " | ".join(l.strip() for l in text.splitlines()[-lines:]) or "(no output)"

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout` s; returns the exit code
        (None when it was not running)."""
        if not self.proc:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -------------------------------------------------------------- command --

def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "install":
            print(install())
        elif cmd == "versions":
            for pkg, version in pinned().items():
                print(f"{pkg}\t{version}")
            idir = install_dir()
            state = "installed" if os.path.exists(os.path.join(idir, ".complete")) else \
                "not installed"
            print(f"cache\t{idir}\t{state}")
        elif cmd == "validate":
            if not args:
                raise LRSError("validate needs FILE...")
            ok = True
            for path in args:
                good, lines = validate(path)
                ok &= good
                print("\n".join(lines))
            return 0 if ok else 1
        elif cmd == "run":
            workdir = args[1] if len(args) == 2 and args[0] == "--dir" else \
                tempfile.mkdtemp(prefix="real-lrs-")
            lrs = RealLRS(workdir).start()
            cred = os.path.join(lrs.dir, "credentials")
            fd = os.open(cred, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"key={lrs.key}\nsecret={lrs.secret}\n")
            print(f"endpoint {lrs.endpoint} (HTTP Basic; key and secret in {cred}); "
                  f"log {lrs.log_path}; Ctrl-C stops it", flush=True)
            try:
                while lrs.proc and lrs.proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
            lrs.stop()
        else:
            raise LRSError(f"unknown command {cmd!r} (install, run, validate, versions)")
    except LRSError as e:
        say(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
