#!/usr/bin/env python3
"""The systemd units of deploy/systemd: `systemd-analyze verify` accepts
each template as an instance, with its credentials drop-in, and prints
nothing (warnings count as failures). The units name /usr/bin/<worker>,
which does not exist here: the copies verified point ExecStart at the
built binaries instead, and nothing else changes. A copy with a typo'd
setting shows that a warning is caught. `systemd-analyze security` rates
each unit's exposure at 2.0 or less. The settings the operations guide
relies on are present, and the stop timeout is above the worker's SIGTERM
deadline (read from common/lb_engine.c).

Skipped (exit 77) only when systemd-analyze is not installed."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from deploy_lib import DEPLOY, SKIP, check, code_defaults, finish, read, rel, worker_bin

ANALYZE = shutil.which("systemd-analyze")
if not ANALYZE:
    print("SKIP: systemd-analyze is not installed (Debian package systemd)")
    sys.exit(SKIP)

MAX_EXPOSURE = 2.0
defaults = code_defaults()
units = sorted(glob.glob(os.path.join(DEPLOY, "systemd", "*@.service")))
check(len(units) == 2, f"two template units: {[os.path.basename(u) for u in units]}")


def settings(text):
    """[(key, value)] of a unit file, in order (comments skipped)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, _, v = line.partition("=")
            out.append((k.strip(), v.strip()))
    return out


def seconds(v):
    m = re.fullmatch(r"(\d+)\s*(s|sec|min)?", v)
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1) if m else None


def verify(unit_dir, name):
    p = subprocess.run([ANALYZE, "verify", os.path.join(unit_dir, name)], capture_output=True,
                       text=True, timeout=60, cwd=unit_dir)
    return p.returncode, (p.stdout + p.stderr).strip()


for unit in units:
    name = os.path.basename(unit)
    worker = name.split("@")[0]
    text = read(unit)
    kv = settings(text)
    d = dict(kv)
    dropin_dir = unit + ".d"
    dropin = os.path.join(dropin_dir, "credentials.conf")
    dkv = settings(read(dropin)) if os.path.exists(dropin) else []

    # the copy verified: the template, ExecStart on the built binary, the drop-in
    tmp = tempfile.mkdtemp(prefix="lb-systemd-")
    try:
        check(f"/usr/bin/{worker} " in d.get("ExecStart", "") + " ",
              f"{name}: ExecStart runs /usr/bin/{worker}")
        copy = text.replace(f"/usr/bin/{worker} ", f"{worker_bin(worker)} ")
        with open(os.path.join(tmp, name), "w") as f:
            f.write(copy)
        if os.path.isdir(dropin_dir):
            shutil.copytree(dropin_dir, os.path.join(tmp, name + ".d"))
        instance = name.replace("@.", "@1.")
        rc, out = verify(tmp, instance)
        check(rc == 0 and out == "", f"systemd-analyze verify {instance}: exit {rc}"
              + (f", says: {out[:500]}" if out else ", no warning"))

        p = subprocess.run([ANALYZE, "security", "--offline=yes",
                            f"--threshold={int(MAX_EXPOSURE * 10)}", os.path.join(tmp, instance)],
                           capture_output=True, text=True, timeout=60, cwd=tmp)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout + p.stderr)
        level = float(m.group(1)) if m else None
        check(p.returncode == 0 and level is not None and level <= MAX_EXPOSURE,
              f"systemd-analyze security {instance}: exposure {level} (at most {MAX_EXPOSURE})")

        # a typo is caught: the same copy with one unknown setting
        with open(os.path.join(tmp, name), "w") as f:
            f.write(copy.replace("[Service]\n", "[Service]\nProtectSytem=strict\n"))
        rc, out = verify(tmp, instance)
        check("ProtectSytem" in out, f"{name}: a misspelt setting makes verify speak")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # what deploy/README.md relies on
    want = {"DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
            "KillSignal": "SIGTERM", "Restart": "on-failure",
            "WorkingDirectory": "/run/credentials/%n"}
    for k, v in want.items():
        check(d.get(k) == v, f"{name}: {k}={v}")
    check(any(k == "SystemCallFilter" and v == "@system-service" for k, v in kv),
          f"{name}: SystemCallFilter=@system-service")
    families = d.get("RestrictAddressFamilies", "").split()
    check(set(families) == {"AF_INET", "AF_INET6", "AF_UNIX"},
          f"{name}: RestrictAddressFamilies {families}")
    stop = seconds(d.get("TimeoutStopSec", ""))
    deadline = defaults["shutdown_ms"] / 1000
    check(stop is not None and stop >= deadline + 10,
          f"{name}: TimeoutStopSec={stop} s is above the SIGTERM deadline ({deadline:g} s, "
          "common/lb_engine.c) with room for the final flush, commit and leaving the group")
    check("-HUP" in d.get("ExecReload", "") and "$MAINPID" in d.get("ExecReload", ""),
          f"{name}: ExecReload sends SIGHUP")
    check(f"/etc/lmsbridge/{worker}-%i.conf" in d.get("ExecStart", ""),
          f"{name}: instance %i reads /etc/lmsbridge/{worker}-%i.conf")
    creds = [v for k, v in dkv if k == "LoadCredential"]
    check(creds and all(re.fullmatch(r"[A-Za-z0-9._-]+:/etc/lmsbridge/credentials/[A-Za-z0-9._-]+",
                                     c) for c in creds),
          f"{rel(dropin)}: {len(creds)} LoadCredential=NAME:/etc/lmsbridge/credentials/FILE")
    # every secret the group configuration reads is loaded, and nothing else
    group_conf = os.path.join(DEPLOY, "systemd", "lmsbridge", f"{worker}.conf")
    refs = set(re.findall(r'"@file:([^"/]+)"', read(group_conf)))
    loaded = {c.split(":", 1)[0] for c in creds}
    check(refs and refs == loaded,
          f"{rel(group_conf)} reads the credentials the drop-in loads: {sorted(refs)}"
          + ("" if refs == loaded else f" (loaded: {sorted(loaded)})"))
finish()
