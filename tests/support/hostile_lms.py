#!/usr/bin/env python3
"""A hostile LMS for the e2e tests (tests/e2e/test_lms_hostile.py): what
lms-sandbox, a well-behaved libmicrohttpd server, cannot do (its own hostile
faults, README.md there, cover redirects, 200 HTML pages, huge bodies and
answers cut halfway). Raw sockets, stdlib plus the openssl command.

The first path segment picks the behaviour (a "mode"), so one integration
per mode points its api_base_url at http://HOST:PORT/<mode>. Token
requests (.../oauth/token) are answered with a good token in every mode.
API requests (any other path) by mode; a marker in the request body (a
learner id) picks variants:

  ok         201 with a Degreed-like JSON completion
  trickle    a body naming "slow": the whole response one byte per second
             (status line included); any other body: as `ok`
  garbage    a body naming "chunk": 201 with Transfer-Encoding: chunked and
             a chunk size that is not hexadecimal; any other body: a status
             line that is not HTTP ("SPAM 200 yes")

The second listener speaks TLS with a certificate for other.example only
(wronghost.pem, in --dir) and serves the same modes. The third, the trap,
answers 200 to anything and counts it: the target of lms-sandbox's
redirects. GET /_stats on the first listener: {"requests": [{"listener",
"mode", "path", "marker", "bytes_sent", "answer"}], "trap_hits",
"tls_connections", "tls_failed"} (TLS handshakes that failed on the
server's side; with TLS 1.3 the client refuses the certificate after the
server's side is done). Writes {"port", "tls_port", "trap_port", "cert"} as
JSON to --ready once all listen.
"""
import argparse
import json
import os
import shutil
import socket
import socketserver
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tls_server import make_cert  # noqa: E402

MARKERS = ("slow", "chunk")

lock = threading.Lock()
log = []            # one dict per API request answered (or not)
counts = {"trap_hits": 0, "tls_connections": 0, "tls_failed": 0}


def note(entry):
    with lock:
        log.append(entry)


def read_request(f):
    """(method, path, headers, body) of the next request on file f, or
    None at the end of the connection."""
    line = f.readline(65536)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        return None
    headers = {}
    while True:
        h = f.readline(65536)
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = f.read(int(headers.get("content-length", "0") or 0))
    return parts[0], parts[1], headers, body


def response(status, reason, body, ctype="application/json", extra=()):
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}"] + list(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def token():
    return response(200, "OK", json.dumps({"access_token": "hostile-token-0123456789",
                                           "token_type": "bearer",
                                           "expires_in": 3600}).encode(),
                    extra=["Cache-Control: no-store"])


def created():
    return response(201, "Created", b'{"data":{"id":"Hx1","type":"completions",'
                                    b'"attributes":{}}}')


class Handler(socketserver.StreamRequestHandler):
    listener = "plain"

    def handle(self):
        try:
            while self.one():
                pass
        except (OSError, ssl.SSLError):
            pass

    def send(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def one(self):
        """Answers one request; False when the connection is to close."""
        req = read_request(self.rfile)
        if req is None:
            return False
        method, path, headers, body = req
        if self.listener == "trap":
            with lock:
                counts["trap_hits"] += 1
            self.send(response(200, "OK", b"{}"))
            return True
        if path == "/_stats":
            with lock:
                data = json.dumps({"requests": log, **counts}).encode()
            self.send(response(200, "OK", data))
            return True
        mode = path.strip("/").split("/")[0]
        if path.endswith("/oauth/token") or path.endswith("/rest/v1/token"):
            self.send(token())
            return True
        text = body.decode("utf-8", "replace")
        marker = next((m for m in MARKERS if m in text), "")
        entry = {"listener": self.listener, "mode": mode, "path": path, "marker": marker,
                 "bytes_sent": 0, "answer": ""}
        note(entry)
        if mode == "trickle" and marker == "slow":
            entry["answer"] = "trickle"
            for b in created():
                self.send(bytes([b]))
                entry["bytes_sent"] += 1
                time.sleep(1)
            return False
        if mode == "garbage":
            if marker == "chunk":
                entry["answer"] = "bad chunk"
                out = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\nZZ;not-hex\r\n{}\r\n0\r\n\r\n")
            else:
                entry["answer"] = "garbage status line"
                out = b"SPAM 200 yes\r\nwhat: ever\r\n\r\n{}"
            self.send(out)
            entry["bytes_sent"] = len(out)
            return False
        out = created()
        entry["answer"] = "created"
        self.send(out)
        entry["bytes_sent"] = len(out)
        return True


class TLSHandler(Handler):
    listener = "tls"

    def setup(self):
        with lock:
            counts["tls_connections"] += 1
        try:
            self.request = self.server.ctx.wrap_socket(self.request, server_side=True)
        except (OSError, ssl.SSLError):
            with lock:
                counts["tls_failed"] += 1
            self.request = None
            return
        super().setup()

    def handle(self):
        if self.request is not None:
            super().handle()

    def finish(self):
        if self.request is not None:
            super().finish()


class TrapHandler(Handler):
    listener = "trap"


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def listen(handler, trap_port=0, ctx=None):
    srv = Server(("127.0.0.1", 0), handler)
    srv.trap_port, srv.ctx = trap_port, ctx
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    if not shutil.which("openssl"):
        sys.exit(77)
    make_cert(a.dir, "wronghost", "DNS:other.example")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.dir, "wronghost.pem"),
                        os.path.join(a.dir, "wronghost.key"))
    trap = listen(TrapHandler)
    tp = trap.server_address[1]
    plain = listen(Handler, tp)
    tls = listen(TLSHandler, tp, ctx)
    tmp = a.ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": plain.server_address[1], "tls_port": tls.server_address[1],
                   "trap_port": tp, "cert": os.path.join(a.dir, "wronghost.pem")}, f)
    os.rename(tmp, a.ready)
    threading.Event().wait()  # until SIGTERM


if __name__ == "__main__":
    socket.setdefaulttimeout(120)
    main()
