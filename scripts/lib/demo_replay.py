#!/usr/bin/env python3
"""The demo's last act: support finds the dead letters, the customers fix
what their LMS refused, dlq-replay sends the failures again to the one
integration that failed, and the LMSs show what arrived.

  demo_replay.py --lms URL --lms-config FILE [--brokers B] [--dlq-replay BIN]
                 WORKER_CONFIG...

WORKER_CONFIG: the workers' configuration files (dlq-replay reads the same
files); --lms-config: the lms-sandbox configuration the demo started it
with (the fixes are applied by re-posting the tenants it defines, changed);
--brokers: when given, the republished records are shown as they are on
the original topics. The workers must still be running. dlq-replay is run
as support would run it, without the LMS credentials: the variables the
integrations' client_id and client_secret name are removed from its
environment (it reads only the Kafka part of the files).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import demo_format as fmt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What each customer does about the refusals of the demo's data: Acme adds
# Zoe to its Degreed, Globex reactivates Gus in SuccessFactors.
FIXES = [
    ("acme", "degreed", "add learner zoe@acme.example to Acme's Degreed",
     lambda t: t["degreed"].setdefault("users", []).append("zoe@acme.example")),
    ("globex", "sf", "reactivate learner GUS02 in Globex's SuccessFactors",
     lambda t: [u.update(active=True) for u in t["sf"].get("users", []) if u["userID"] == "GUS02"]),
]


def say(text):
    print(f"\n== {text}", flush=True)


# dlq-replay's environment: ours without the LMS credentials (set by main)
SUPPORT_ENV = dict(os.environ)


def lms_secret_vars(configs):
    """The environment variables the integrations' credentials name."""
    names = set()
    for conf in configs:
        with open(conf) as f:
            names |= set(re.findall(r'client_(?:id|secret)\s*=\s*"@env:([A-Za-z_][A-Za-z0-9_]*)"',
                                    f.read()))
    return sorted(names)


def dlq_replay(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300,
                       env=SUPPORT_ENV)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, lines, p.stderr


def lms_state(lms):
    with urllib.request.urlopen(f"{lms}/_sandbox/state", timeout=30) as r:
        return json.load(r)["tenants"]


def lms_post(lms, path, body):
    req = urllib.request.Request(f"{lms}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def received(state):
    """Completions, skill ratings and learning events per tenant, as
    comparable strings (the demo's catalog may still be arriving: its items
    are left out)."""
    out = set()
    for tenant, st in state.items():
        for c in (st.get("degreed") or {}).get("completions", []):
            out.add(f"{tenant}: Degreed completion {c['attributes']['user-id']} -> "
                    f"{c['attributes']['content-id']}")
        for c in (st.get("degreed") or {}).get("skill_ratings", []):
            out.add(f"{tenant}: Degreed skill rating {c['attributes']['user-id']} "
                    f"{c['attributes']['skill-name']} = {c['attributes']['rating']}")
        for c in (st.get("sf") or {}).get("learning_events", []):
            out.add(f"{tenant}: OCN learning event {c['event']['userID']} -> "
                    f"{c['event']['courseID']}")
    return out


def show_dead_letters(binary, conf):
    rc, lines, err = dlq_replay(binary, "list", "--config", conf, "--count")
    if rc != 0:
        print(f"  dlq-replay list failed ({rc}): {err.strip()[-300:]}")
        return 0
    t = lines[0]
    print(f"  {t['dlq_topic']}: {t['total']} dead letter(s)")
    for integ, reasons in t["by_integration_and_reason"].items():
        print(f"    {integ}: {fmt.counts(reasons)}")
    rc, lines, _ = dlq_replay(binary, "list", "--config", conf)
    for l in lines:
        to = f" for {l['integration']}" if l.get("integration") else ""
        print(f"    - {l.get('dlq_partition')}/{l.get('dlq_offset')} "
              f"{fmt.event(l.get('value'), l.get('key'))}{to}: {l.get('reason')}, "
              f"{fmt.failure(l.get('message'), l.get('http_status'))}")
        if l.get("http_body"):
            print(f"        LMS said: {fmt.shorten(fmt.lms_said(l['http_body']), 300)}")
    return t["total"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lms", required=True, help="lms-sandbox base URL")
    ap.add_argument("--lms-config", required=True, help="the lms-sandbox configuration file")
    ap.add_argument("--brokers", help="Kafka bootstrap servers, to show republished records")
    ap.add_argument("--dlq-replay", default=os.path.join(ROOT, "build/workers/dlq-replay/dlq-replay"))
    ap.add_argument("configs", nargs="+", help="worker configuration files")
    a = ap.parse_args()

    hidden = lms_secret_vars(a.configs)
    for name in hidden:
        SUPPORT_ENV.pop(name, None)
    say("1. find: what is in the dead-letter topics (dlq-replay list --count, list)")
    print(f"  (dlq-replay runs as support would, with no LMS credential: "
          f"{', '.join(hidden) or 'nothing'} unset; it needs only Kafka)")
    for conf in a.configs:
        show_dead_letters(a.dlq_replay, conf)

    say("2. understand: what a replay would do (dlq-replay replay --dry-run)")
    for conf in a.configs:
        rc, lines, err = dlq_replay(a.dlq_replay, "replay", "--config", conf, "--dry-run")
        if rc != 0 or not lines:
            print(f"  dry run failed ({rc}): {err.strip()[-300:]}")
            continue
        s = lines[-1]
        by = fmt.counts(s["to_replay_by"]["by_integration"], none="")
        print(f"  {s['dlq_topic']}: {s['to_replay']} to replay{f' ({by})' if by else ''}; "
              f"refused: {fmt.counts(s['refused'])}")
        for l in lines[:-1]:
            if l["action"] != "replay":
                print(f"    - {fmt.event(l.get('value'), l.get('key'))}: {l['action']} "
                      f"({l.get('reason')}: "
                      f"{fmt.shorten(fmt.failure(l.get('message'), l.get('http_status')), 200)})")

    say("3. fix: the customers correct what their LMS refused")
    with open(a.lms_config) as f:
        tenants = {t["name"]: t for t in json.load(f)["tenants"]}
    for name, api, what, fix in FIXES:
        t = tenants.get(name)
        if not t or api not in t:
            continue
        fix(t)
        code = lms_post(a.lms, "/_sandbox/tenants", t)
        print(f"  {what} (lms-sandbox answered {code})")

    before = received(lms_state(a.lms))
    say("4. replay: dlq-replay replay --yes (each record to the integration that failed)")
    for conf in a.configs:
        rc, lines, err = dlq_replay(a.dlq_replay, "replay", "--config", conf, "--yes")
        s = lines[-1] if lines else {}
        if s.get("summary") != "replay":
            print(f"  replay failed ({rc}): {err.strip()[-300:]}")
            continue
        committed = ", ".join(f"partition {p} at offset {o}"
                              for p, o in sorted(s["committed"].items(), key=lambda x: int(x[0])))
        print(f"  {s['dlq_topic']}: {s['replayed']} replayed in {s['seconds']} s, "
              f"refused: {fmt.counts(s['refused_by'])}, failed: {s['failed']} (exit {rc})")
        print(f"    progress group {s['group']} committed {committed or 'nothing'}")
        if a.brokers:
            with open(conf) as f:
                topic = "catalog-events" if "catalog-events" in f.read() else "completion-events"
            p = subprocess.run(["kcat", "-b", a.brokers, "-t", topic, "-C", "-e", "-J", "-q"],
                               capture_output=True, text=True, timeout=60)
            for line in p.stdout.splitlines():
                r = json.loads(line)
                h = dict(zip((r.get("headers") or [])[0::2], (r.get("headers") or [])[1::2]))
                if "lmsbridge.replayed_from" in h:
                    print(f"    -> {topic} {r['partition']}/{r['offset']} "
                          f"{fmt.event(r.get('payload'), r.get('key'))}: "
                          f"lmsbridge.target={h.get('lmsbridge.target', '(none)')} "
                          f"lmsbridge.replays={h['lmsbridge.replays']} "
                          f"(from {h['lmsbridge.replayed_from']})")

    say("5. verify: what the LMSs received from the replay")
    new = set()
    deadline = time.time() + 30
    while time.time() < deadline:
        new = received(lms_state(a.lms)) - before
        time.sleep(1)
        if new and new == received(lms_state(a.lms)) - before:
            break  # settled
    for line in sorted(new):
        print(f"  + {line}")
    if not new:
        print("  nothing new arrived")
    say("the dead letters are still there (nothing is deleted); a second replay finds nothing new")
    for conf in a.configs:
        rc, lines, _ = dlq_replay(a.dlq_replay, "replay", "--config", conf, "--dry-run")
        if lines:
            print(f"  {lines[-1]['dlq_topic']}: list shows "
                  f"{dlq_replay(a.dlq_replay, 'list', '--config', conf, '--count')[1][0]['total']}"
                  f", the next replay would read {lines[-1]['matched']} new")
    return 0 if new else 1


if __name__ == "__main__":
    sys.exit(main())
