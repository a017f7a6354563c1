#!/usr/bin/env python3
"""HTTPS server for test_lb_http_tls (stdlib, plus the openssl command).

Makes three self-signed certificates in --dir: cert.pem (127.0.0.1 and
localhost, served on the first port), wronghost.pem (only other.example,
served on the second port) and other.pem (served nowhere: a CA bundle that
trusts neither). Writes "PORT PORT2" to --ready once both listen.

Paths: /ok -> 200 "ok"; /redirect -> 302 to /ok; /stats -> JSON counts of
TLS connections accepted and /ok requests served, on that port. HTTP/1.1
with keep-alive. Exits 77 when openssl is missing (the test fails saying so).
"""
import argparse
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading


def make_cert(d, name, san):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=lmsbridge test " + name,
         "-addext", "subjectAltName=" + san,
         "-keyout", os.path.join(d, name + ".key"), "-out", os.path.join(d, name + ".pem")],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.ok_hits = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.counts.lock:
            self.server.counts.connections += 1

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        counts = self.server.counts
        if self.path == "/ok":
            with counts.lock:
                counts.ok_hits += 1
            self.reply(200, "ok")
        elif self.path == "/redirect":
            port = self.server.server_address[1]
            self.reply(302, "moved", [("Location", "https://127.0.0.1:%d/ok" % port)])
        elif self.path == "/stats":
            with counts.lock:
                body = json.dumps({"connections": counts.connections, "ok_hits": counts.ok_hits})
            self.reply(200, body)
        else:
            self.reply(404, "no such path")


def serve(d, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, name + ".pem"), os.path.join(d, name + ".key"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.counts = Counts()
    # the handshake runs in accept(); one a client refuses is an OSError
    # there, which socketserver drops
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    if not shutil.which("openssl"):
        sys.exit(77)
    make_cert(a.dir, "cert", "IP:127.0.0.1,DNS:localhost")
    make_cert(a.dir, "wronghost", "DNS:other.example")
    make_cert(a.dir, "other", "IP:127.0.0.1,DNS:localhost")
    good = serve(a.dir, "cert")
    wrong = serve(a.dir, "wronghost")
    tmp = a.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (good.server_address[1], wrong.server_address[1]))
    os.rename(tmp, a.ready)
    threading.Event().wait()  # until SIGTERM


if __name__ == "__main__":
    main()
