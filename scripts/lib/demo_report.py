#!/usr/bin/env python3
"""Prints what each LMS of the demo holds, what was dead-lettered, and what
the workers chose not to send (from their JSON logs).
  demo_report.py LMS_URL BROKERS [WORKER_LOG...]
"""
import json
import subprocess
import sys
import urllib.request
from collections import Counter

import demo_format as fmt

lms, brokers = sys.argv[1], sys.argv[2]
state = json.load(urllib.request.urlopen(f"{lms}/_sandbox/state"))["tenants"]


def show(title, items, fmt, limit=6):
    print(f"  {title}: {len(items)}")
    for it in items[:limit]:
        print("    - " + fmt(it))
    if len(items) > limit:
        print(f"    ... and {len(items) - limit} more")


for tenant, st in sorted(state.items()):
    print(f"\n== LMS tenant '{tenant}'")
    d, sf = st.get("degreed") or {}, st.get("sf") or {}
    if d.get("tokens_issued"):
        items = d.get("courses", []) + d.get("assessments", [])
        if items:
            kinds = Counter(c["attributes"].get("format") or "Assessment" for c in items)
            print("  Degreed content by format: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
                  + f"; obsolete (archived) {sum(1 for c in items if c['attributes'].get('obsolete'))}")
        show("Degreed content items", items,
             lambda c: f'{c["attributes"].get("external-id")}: {c["attributes"].get("title")}'
                       f'{"  [obsolete]" if c["attributes"].get("obsolete") else ""}')
        show("Degreed completions", d.get("completions", []),
             lambda c: f'{c["attributes"]["user-id"]} completed {c["attributes"]["content-id"]}'
                       + (f' (percentile {c["attributes"]["percentile"]})'
                          if "percentile" in c["attributes"] else ""))
        show("Degreed skill ratings", d.get("skill_ratings", []),
             lambda c: f'{c["attributes"]["user-id"]}: {c["attributes"]["skill-name"]} '
                       f'level {c["attributes"]["rating"]}')
    if sf.get("tokens_issued"):
        statuses = Counter(c["status"] for c in sf.get("ocn_courses", []))
        print("  OCN courses by status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        show("OCN courses", sf.get("ocn_courses", []),
             lambda c: f'{c["courseID"]}: {c["course"]["title"][0]["value"]} ({c["status"]})')
        print(f'  OCN course POSTs: {sf.get("ocn_course_posts", 0)}')
        show("OCN learning events", sf.get("learning_events", []),
             lambda c: f'{c["event"]["userID"]} completed {c["event"]["courseID"]}')

for topic in ("catalog-events.dlq", "completion-events.dlq"):
    p = subprocess.run(["kcat", "-b", brokers, "-t", topic, "-C", "-e", "-J", "-q"],
                       capture_output=True, text=True, timeout=60)
    recs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    print(f"\n== dead-letter topic {topic}: {len(recs)} record(s)")
    for r in recs:
        h = r.get("headers") or []
        h = dict(zip(h[0::2], h[1::2]))
        status = int(h.get("lmsbridge.http.status") or 0)
        to = f' for {h["lmsbridge.integration"]}' if h.get("lmsbridge.integration") else ""
        print(f'  - {fmt.event(r.get("payload"), r.get("key"))}{to}: '
              f'{h.get("__connect.errors.exception.class.name")}, '
              f'{fmt.failure(h.get("__connect.errors.exception.message"), status)}')
        if h.get("lmsbridge.http.body"):
            print(f'      LMS said: {fmt.shorten(fmt.lms_said(h["lmsbridge.http.body"]), 300)}')

for path in sys.argv[3:]:
    skipped = []
    for line in open(path):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("msg") == "not sent":
            skipped.append(r)
    print(f"\n== not sent, by rule ({path.rsplit('/', 1)[-1]}): {len(skipped)}")
    for r in skipped:
        print(f'  - {r.get("event_id")} [{r.get("integration")}]: {r.get("reason")}')
