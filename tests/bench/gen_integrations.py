#!/usr/bin/env python3
"""Writes a worker configuration with N integrations (default 1,000), one
third of each type (degreed, successfactors, xapi, in turn), and the
lms-sandbox tenants that answer them: one tenant per integration, named as
the integration (the sandbox keeps its tenants in a hash map, so a thousand
cost it a few MiB and nothing per request).

Each integration has a secret of its own, given as the docs say: Degreed's
client_secret by "@env:NAME", SuccessFactors' by "@file:PATH" (one file per
customer under DIR/secrets, mode 0600), xAPI's Basic password by "@env:NAME".
The environment the worker needs is written to DIR/secrets.env (NAME=value
lines) as well as returned by the functions below.

  gen_integrations.py DIR [--n N] [--lms-url URL] [--brokers HOST:PORT]
                      [--worker completion-worker|catalog-worker]

writes DIR/<worker>.conf, DIR/lms-tenants.json ({"tenants": [...]}, for
lms-sandbox --config) and DIR/secrets.env. Without --lms-url the endpoints
point at http://127.0.0.1:8099 (lms-sandbox --listen 127.0.0.1:8099).

As a module (tests/bench/bench_scale.py): tenants(n), write_secrets(dir, n),
config_text(...), completion(...), custom_track(...), org(i), integ_id(i),
type_of(i).
"""
import argparse
import hashlib
import json
import os
import sys

TYPES = ("degreed", "successfactors", "xapi")
ACTIVITY_IRI_BASE = "https://learn.example.com/xapi/activities"


def integ_id(i):
    """The id of integration i, also its sandbox tenant's name."""
    return f"c{i:04d}-{TYPES[i % 3][:2]}"


def org(i):
    """The organization (customer) of integration i."""
    return f"org-{i:04d}"


def type_of(i):
    return TYPES[i % 3]


def secret(i):
    """Integration i's secret: its own, so the workers redact N of them (as
    they would with N customers), not one shared value."""
    return "s3cr3t-" + hashlib.sha256(f"lmsbridge-bench-{i}".encode()).hexdigest()[:24]


def env_name(i):
    return f"LB_BENCH_SECRET_{i:04d}"


def tenants(n):
    """The lms-sandbox tenants answering integrations 0..n-1."""
    out = []
    for i in range(n):
        name, s = integ_id(i), secret(i)
        t = {"name": name}
        if type_of(i) == "degreed":
            t["degreed"] = {"clients": [{"client_id": f"{name}-id", "client_secret": s}],
                            "rate_limit_per_minute": 1000000}
        elif type_of(i) == "successfactors":
            # completions of courses never posted to OcnCourses are accepted:
            # the load sends completions of any course
            t["sf"] = {"company_id": name.upper(), "client_id": f"{name}-sf", "client_secret": s,
                       "admin_users": ["ocn_admin"], "min_post_interval_s": 0,
                       "require_known_course": False}
        else:
            t["xapi"] = {"credentials": [{"username": f"{name}-lrs-key", "password": s}]}
        out.append(t)
    return out


def write_secrets(dir, n):
    """Writes the SuccessFactors secret files under dir/secrets and
    dir/secrets.env; returns the environment variables the worker needs."""
    sdir = os.path.join(dir, "secrets")
    os.makedirs(sdir, mode=0o700, exist_ok=True)
    env = {}
    for i in range(n):
        if type_of(i) == "successfactors":
            path = os.path.join(sdir, integ_id(i))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret(i) + "\n")
        else:
            env[env_name(i)] = secret(i)
    fd = os.open(os.path.join(dir, "secrets.env"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in env.items())
    return env


def integration(i, lms_url, secrets_dir):
    """One integration group. Bench settings: no client-side rate limit (the
    load is measured, not Degreed's 70 a minute), SuccessFactors posts with
    no minimum interval and a 200 ms linger."""
    name = integ_id(i)
    base = f"{lms_url}/t/{name}"
    head = f'id = "{name}"; organization = "{org(i)}"; rate_limit_per_minute = 0;'
    if type_of(i) == "degreed":
        return (f'{{ {head} type = "degreed"; api_base_url = "{base}";'
                f' token_url = "{base}/oauth/token"; client_id = "{name}-id";'
                f' client_secret = "@env:{env_name(i)}"; }}')
    if type_of(i) == "successfactors":
        return (f'{{ {head} type = "successfactors"; base_url = "{base}";'
                f' company_id = "{name.upper()}"; admin_user = "ocn_admin";'
                f' client_id = "{name}-sf";'
                f' client_secret = "@file:{os.path.join(secrets_dir, name)}";'
                f' user_identifier = "sso_nameid"; min_post_interval_s = 0;'
                f' batch_linger_ms = 200; }}')
    return (f'{{ {head} type = "xapi"; endpoint = "{base}/xapi"; auth = "basic";'
            f' username = "{name}-lrs-key"; password = "@env:{env_name(i)}"; }}')


def config_text(worker, n, lms_url, brokers, secrets_dir, topic=None, group=None):
    """A whole configuration file for `worker` with integrations 0..n-1."""
    topic = topic or ("completion-events" if worker == "completion-worker" else "catalog-events")
    group = group or worker
    integs = ",\n  ".join(integration(i, lms_url, secrets_dir) for i in range(n))
    return f"""# {n} integrations: tests/bench/gen_integrations.py
kafka: {{ brokers = "{brokers}"; group_id = "{group}"; topics = ["{topic}"];
  properties = ( ["session.timeout.ms", "6000"], ["heartbeat.interval.ms", "500"] ); }};
provider: {{ code = "datacamp"; ocn_provider_id = "DATACAMP";
  logo_url = "https://cdn.example.com/logo.png"; activity_iri_base = "{ACTIVITY_IRI_BASE}"; }};
delivery: {{ max_in_flight = 256; }};
observability: {{ listen = "127.0.0.1:0"; log_level = "info"; }};
integrations = (
  {integs}
);
"""


def completion(event_id, i, user, content="1", occurred_at="2026-01-01T00:00:00Z", **extra):
    """(key, value) of a completion for integration i's organization, with
    every learner identifier (each type sends its own); `extra`: more
    fields (skipped=True: tested out, not sent)."""
    e = {"schema": "completion.v1", "event_id": event_id, "occurred_at": occurred_at,
         "organization_id": org(i),
         "user": {"id": user, "email": f"{user}@{org(i)}.example", "sso_nameid": f"sso-{user}"},
         "content": {"id": content, "type": "course"},
         "completed_at": "2026-01-01T00:00:00Z", **extra}
    return user, json.dumps(e, separators=(",", ":"))


def custom_track(event_id, i, cid, version=1):
    """(key, value) of a custom track of integration i's organization (only
    that customer's integrations receive it)."""
    content = {"id": cid, "type": "custom_track", "title": f"Track {cid}",
               "description": f"Custom track {cid}.", "organization_id": org(i),
               "url": f"https://www.datacamp.com/tracks/{cid}", "language": "en-US",
               "technology": "python", "duration_hours": 4}
    e = {"schema": "catalog.v1", "event_id": event_id, "event_type": "content.upserted",
         "occurred_at": "2026-11-20T10:00:00Z", "version": version, "content": content}
    return f"custom_track-{cid}", json.dumps(e, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--lms-url", default="http://127.0.0.1:8099")
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    ap.add_argument("--worker", default="completion-worker",
                    choices=["completion-worker", "catalog-worker"])
    a = ap.parse_args()
    if not 1 <= a.n <= 10000:
        sys.exit("--n: 1 to 10,000 (the configuration's limit)")
    os.makedirs(a.dir, exist_ok=True)
    write_secrets(a.dir, a.n)
    with open(os.path.join(a.dir, f"{a.worker}.conf"), "w") as f:
        f.write(config_text(a.worker, a.n, a.lms_url, a.brokers,
                            os.path.abspath(os.path.join(a.dir, "secrets"))))
    with open(os.path.join(a.dir, "lms-tenants.json"), "w") as f:
        json.dump({"tenants": tenants(a.n)}, f, indent=1)
    print(f"{a.dir}: {a.worker}.conf ({a.n} integrations), lms-tenants.json, secrets.env, "
          "secrets/")


if __name__ == "__main__":
    main()
