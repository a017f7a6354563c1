#!/usr/bin/env python3
"""Every metric the alert rules and the Grafana dashboard use is exported
by a running worker. A completion-worker runs between kafka-sandbox and
lms-sandbox (tests/e2e/harness.py) on events that make every labelled series
appear: deliveries that succeed, are retried (a 500 now and then), parked
(a customer down with 503), skipped by rule (tested out), dead-lettered (an
unknown learner, an invalid event); then /metrics is scraped and compared:
- every metric name used is a sample name of the scrape (so a histogram is
  used through its _bucket, _sum and _count series, never by its family
  name);
- every label a selector matches on, or an aggregation groups by, is one of
  the metric's labels or one Prometheus adds when it scrapes (job,
  instance, and the Kubernetes target labels);
- every literal value a selector names for outcome or reason is a value the
  worker exported."""
import json
import os
import sys

import yaml

from deploy_lib import (DEPLOY, SOURCE, check, finish, grafana_queries, parse_exposition,
                        promql_parse, read, rule_queries)

sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
from harness import (Env, completion, degreed_integration, degreed_tenant, info,  # noqa: E402
                     ns, wait_for)

SECRET = "deploy-metrics-secret-61"
TOPIC = ns("completion-events")
TOPICS = [f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{TOPIC}.dlq:1"]
# Labels Prometheus adds to every series it scrapes (the scrape job and
# target; with the Kubernetes service discovery of the ServiceMonitors).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container", "service", "endpoint"}
# Labels whose values the queries name literally.
VALUE_LABELS = {"outcome", "reason"}

rules = yaml.safe_load(read(os.path.join(DEPLOY, "observability/prometheus-rules.yaml")))
dashboard = json.loads(read(os.path.join(DEPLOY, "observability/grafana-dashboard.json")))
queries = rule_queries(rules) + grafana_queries(dashboard)
check(len(queries) >= 10, f"{len(queries)} queries in the alert rules and the dashboard")

known = [f"k{i}" for i in range(8)]
env = Env(TOPICS, [degreed_tenant("acme", SECRET, users=[f"{u}@acme.example" for u in known]),
                   degreed_tenant("down", SECRET)])
try:
    # acme answers 500 to every fourth request (retried); "down" answers
    # 503 to everything (Degreed's wait for a 503 is past the 30 s parking
    # threshold: parked at once)
    env.lms_post("/_sandbox/faults", {"tenant": "acme", "error_rate": {
        "rate": 0.25, "status": 500, "api": "degreed", "mode": "spread"}})
    env.lms_post("/_sandbox/faults", {"tenant": "down", "error_rate": {
        "rate": 1, "status": 503, "api": "degreed"}})
    integs = ", ".join([degreed_integration(env, "acme-degreed", "acme", "SECRET"),
                        degreed_integration(env, "down-degreed", "down", "SECRET")])
    w = env.worker("completion-worker", integs, env={"SECRET": SECRET})
    events = [(u, completion(f"ok-{u}", "acme", u)) for u in known]
    events += [("stranger", completion("unknown-learner", "acme", "stranger")),
               ("k0", completion("tested-out", "acme", "k0", content="9", skipped=True)),
               ("d1", completion("customer-down", "down", "d1")),
               ("bad", "not json")]
    env.produce_many(TOPIC, events)

    def exported():
        code, text = w.get("/metrics")
        samples = parse_exposition(text) if code == 200 else {}
        outcomes = {l.get("outcome") for l in samples.get("lmsbridge_deliveries_total", [])}
        reasons = {l.get("reason") for l in samples.get("lmsbridge_dlq_records_total", [])}
        ready = ({"success", "retried", "parked", "skipped", "dead_lettered"} <= outcomes and
                 {"invalid_event", "permanent_http"} <= reasons and
                 samples.get("lmsbridge_consumer_lag") and
                 samples.get("lmsbridge_delivery_seconds_bucket"))
        return samples if ready else None
    samples = wait_for(exported, 60, "every outcome, dead-letter reason and the consumer lag")
    info(f"the worker exports {len(samples)} sample names: "
          + ", ".join(sorted(n for n in samples if n.startswith("lmsbridge_"))))

    used_names = set()
    for where, expr in queries:
        names, selectors, groupings, _ = promql_parse(expr)
        used_names |= names
        missing = sorted(n for n in names if n not in samples)
        check(names and not missing,
              f"{where}: uses {sorted(names)}"
              + (f"; not exported: {missing}" if missing else ", all exported"))
        labels = set(TARGET_LABELS)
        for n in names:
            for l in samples.get(n, []):
                labels |= set(l)
        for s in selectors:
            own = set(TARGET_LABELS)
            for l in samples.get(s.metric, []):
                own |= set(l)
            for label, op, value in s.matchers:
                check(label in own, f"{where}: {s.metric} has the label {label!r}")
                if label not in VALUE_LABELS or op not in ("=", "=~"):
                    continue
                seen = {l.get(label) for l in samples.get(s.metric, [])}
                alternatives = value.split("|") if op == "=~" else [value]
                check(all(a in seen for a in alternatives),
                      f"{where}: {s.metric}{{{label}{op}\"{value}\"}} names values the worker "
                      f"exports ({sorted(v for v in seen if v)})")
        for group in groupings:
            unknown = [g for g in group if g not in labels]
            check(not unknown, f"{where}: groups by {group}"
                  + (f"; no such label: {unknown}" if unknown else ""))
    families = {n for n in samples if n.startswith("lmsbridge_")}
    unused = sorted(f for f in families if f not in used_names and
                    not (f.endswith("_sum") or f.endswith("_count")))
    check(not unused, "every exported lmsbridge metric is on the dashboard or in an alert"
          + (f" (unused: {unused})" if unused else ""))
    rc, _ = w.stop()
    check(rc == 0, "the worker exits 0 on SIGTERM")
finally:
    env.close()
finish()
