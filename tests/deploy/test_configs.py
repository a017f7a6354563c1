#!/usr/bin/env python3
"""Every worker configuration under deploy/ (examples, Kubernetes base and
overlays, systemd group and instance files) is accepted by the worker it is
for (--check-config on the built binary, stand-in secrets for its
@env:/@file: references), and the summary shows no secret (client ids may
show: they are identifiers). The systemd instances of one host listen on
ports of their own; the Kubernetes configurations listen on every address
(probes and scrapes come from outside the pod) on the port the code uses
by default."""
import os

from deploy_lib import (STAND_IN, ConfigCheck, check, code_defaults, deploy_files, finish, rel,
                        worker_of)

defaults = code_defaults()
# the workers' files (the systemd drop-ins are *.conf files too)
confs = [p for p in deploy_files("*.conf")
         if worker_of(p) and ("/systemd/" not in p or "/systemd/lmsbridge/" in p)]
check(len(confs) >= 10, f"{len(confs)} worker configurations under deploy/")

listen_by_host = {}  # systemd: instance configurations share a host
for path in confs:
    worker = worker_of(path)
    c = ConfigCheck(path)
    try:
        rc, out, err = c.run(worker)
        check(rc == 0, f"{rel(path)}: {worker} --check-config exit {rc}"
              + (f": {err.strip()[:300]}" if rc else ""))
        check(STAND_IN not in out + err, f"{rel(path)}: no secret in the summary")
        summary = c.summary(worker) if rc == 0 else {}
    finally:
        c.close()
    listen = summary.get("observability", {}).get("listen", "")
    if "/kubernetes/" in path:
        check(listen == f"0.0.0.0:{defaults['port']}",
              f"{rel(path)}: listens on 0.0.0.0:{defaults['port']} ({listen})")
    if "/systemd/" in path and os.path.basename(path)[:-5].rsplit("-", 1)[-1].isdigit():
        check(listen.startswith("127.0.0.1:"), f"{rel(path)}: listens on loopback ({listen})")
        listen_by_host.setdefault(listen, []).append(rel(path))

dups = {k: v for k, v in listen_by_host.items() if len(v) > 1}
check(len(listen_by_host) >= 2 and not dups,
      f"systemd instances listen on ports of their own: {sorted(listen_by_host)}"
      + (f" (shared: {dups})" if dups else ""))
finish()
