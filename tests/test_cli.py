#!/usr/bin/env python3
"""The daemons' command line (DESIGN.md section 6), end to end on the built
binaries: --version/--help/usage errors, --check-config without secrets,
invalid configurations naming file:line and key with exit 1, and --map over
the example events matching the mapping rules of section 4.

usage: test_cli.py --bin-dir DIR --source-dir DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SECRETS = {
    "PROVIDER_DEGREED_ID": "provider-client",
    "PROVIDER_DEGREED_SECRET": "cli-test-provider-secret-9f2",
    "ACME_DEGREED_ID": "acme-client",
    "ACME_DEGREED_SECRET": "cli-test-acme-secret-41c",
    "GLOBEX_SF_ID": "GLOBEX",
    "GLOBEX_SF_SECRET": "cli-test-globex-secret-7d0",
    "KAFKA_PASSWORD": "cli-test-kafka-password-5e1",
}
SECRET_VALUES = [v for k, v in SECRETS.items() if k.endswith(("SECRET", "PASSWORD"))]

# One mistake of each class the configuration refuses, made in the catalog
# example: (what it replaces, with what, the key and the start of the reason
# the report names). The report names the line of the replacement.
BAD_CONFIGS = [
    ('id = "acme-degreed"', 'id = "provider-degreed"', "integrations[1].id",
     'duplicate integration id "provider-degreed" (first defined on line'),
    ('type = "successfactors"', 'type = "moodle"', "integrations[2].type",
     'unknown integration type "moodle"'),
    ('datacenter = "eu"', 'datacenter = "mars"', "integrations[1].datacenter",
     'unknown datacenter "mars" (us, eu or ca)'),
    ('base_url = "https://globex.example-lms.com"', 'base_url = "https://"',
     "integrations[2].base_url", '"https://" has no host'),
    ('base_url = "https://globex.example-lms.com"',
     'base_url = "http://globex.example-lms.com"', "integrations[2].base_url",
     '"http://globex.example-lms.com" must use https'),
    ('client_secret = "@env:ACME_DEGREED_SECRET"',
     'client_secret = "@env:LB_CLI_TEST_UNSET"', "integrations[1].client_secret",
     'environment variable "LB_CLI_TEST_UNSET" is not set'),
    ('client_secret = "@env:ACME_DEGREED_SECRET"',
     'client_secret = "@file:/nonexistent/lmsbridge-secret"',
     "integrations[1].client_secret",
     'cannot open secret file "/nonexistent/lmsbridge-secret"'),
    ('types = ["course", "project", "assessment"]', 'types = ["course", "webinar"]',
     "integrations[2].catalog.types", 'unknown content type "webinar"'),
]

failures = []
passes = 0


def check(cond, what):
    global passes
    if cond:
        passes += 1
        print("PASS", what)
    else:
        failures.append(what)
        print("FAIL", what)


def run(binary, *args, env_extra=None, stdin=None, timeout=60):
    """(exit code, stdout, stderr); exit code None when it ran past timeout."""
    env = dict(os.environ)
    env.update(SECRETS)
    env.pop("LB_CLI_TEST_UNSET", None)
    if env_extra is not None:
        env.update(env_extra)
    try:
        p = subprocess.run([binary, *args], capture_output=True, text=True,
                           env=env, input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", e.stderr or ""
    return p.returncode, p.stdout, p.stderr


def no_secret(text):
    return not any(s in text for s in SECRET_VALUES)


def map_lines(binary, conf, path):
    rc, out, err = run(binary, "--config", conf, "--map", path)
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    return rc, lines, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    cat = os.path.join(a.bin_dir, "workers/catalog-worker/catalog-worker")
    comp = os.path.join(a.bin_dir, "workers/completion-worker/completion-worker")
    cat_conf = os.path.join(a.source_dir, "deploy/examples/catalog-worker.conf")
    comp_conf = os.path.join(a.source_dir, "deploy/examples/completion-worker.conf")
    valid = os.path.join(a.source_dir, "schemas/examples/valid")
    invalid = os.path.join(a.source_dir, "schemas/examples/invalid")

    # --version, --help, usage errors
    rc, out, _ = run(cat, "--version")
    check(rc == 0 and out.startswith("catalog-worker "), "--version")
    rc, out, _ = run(comp, "--help")
    check(rc == 0 and "--check-config" in out and "--map" in out, "--help")
    rc, _, err = run(cat, "--bogus")
    check(rc == 2 and "usage:" in err, "unknown option exits 2 with usage")
    rc, _, err = run(cat, "--check-config")
    check(rc == 2 and "--config FILE is required" in err, "missing --config exits 2")

    # --check-config: summary without secret values
    for binary, conf in ((cat, cat_conf), (comp, comp_conf)):
        rc, out, err = run(binary, "--config", conf, "--check-config")
        name = os.path.basename(binary)
        check(rc == 0, f"{name} --check-config on the example exits 0")
        check("client_secret: <secret from @env:" in out,
              f"{name} --check-config names where secrets come from")
        check(no_secret(out + err), f"{name} --check-config prints no secret")

    # a librdkafka secret property from the environment: named, not printed
    with open(cat_conf) as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "kafka-secret.conf")
        with open(conf, "w") as f:
            f.write(text.replace('["client.id", "lmsbridge-catalog"]',
                                 '["client.id", "lmsbridge-catalog"], '
                                 '["sasl.password", "@env:KAFKA_PASSWORD"]'))
        rc, out, err = run(cat, "--config", conf, "--check-config")
        check(rc == 0 and "property sasl.password = <secret from @env:KAFKA_PASSWORD>"
              in out and no_secret(out + err),
              "--check-config names a kafka secret property's source, not its value")

    # invalid configurations: the daemon (and --check-config) exits 1 with
    # file:line: key in a JSON log line, and no secret
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.conf")
        for old, new, key, what in BAD_CONFIGS:
            with open(bad, "w") as f:
                f.write(text.replace(old, new))
            line_no = text[:text.index(old)].count("\n") + 1
            want = f"{bad}:{line_no}: {key}: {what}"
            for mode in ((), ("--check-config",)):
                rc, out, err = run(cat, "--config", bad, *mode, timeout=20)
                logs = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
                check(rc == 1 and logs and all(l.get("level") == "error" for l in logs)
                      and any(l.get("error", "").startswith(want) for l in logs)
                      and no_secret(out + err),
                      f"{' '.join(mode) or 'daemon'} with {new}: exit 1, JSON error "
                      f"naming :{line_no}: {key}, no secret")

        rc, out, err = run(cat, "--config", cat_conf, "--check-config",
                           env_extra={"ACME_DEGREED_SECRET": ""})
        check(rc == 1 and "integrations[1].client_secret" in err
              and "is empty" in err, "empty secret refused")

        rc, _, err = run(cat, "--config", os.path.join(tmp, "none.conf"),
                         "--check-config")
        check(rc == 1 and "cannot read the file" in err, "missing file exits 1")

    # --map: every valid example gives requests or reasons, every invalid
    # one a dead letter with its reason
    for name in sorted(os.listdir(valid)):
        binary, conf = (cat, cat_conf) if name.startswith("catalog") else (comp, comp_conf)
        rc, lines, err = map_lines(binary, conf, os.path.join(valid, name))
        ok = rc == 0 and lines and all("dead_letter" not in l for l in lines)
        check(ok, f"--map valid/{name}: {len(lines)} line(s), no dead letter")
    for name in sorted(os.listdir(invalid)):
        binary, conf = (cat, cat_conf) if name.startswith("catalog") else (comp, comp_conf)
        path = os.path.join(invalid, name)
        rc, lines, err = map_lines(binary, conf, path)
        if os.path.getsize(path) == 0:
            check(rc == 0 and not lines, f"--map invalid/{name}: empty input, no output")
            continue
        ok = (rc == 0 and len(lines) >= 1 and
              all(l.get("dead_letter") == "invalid_event" and l.get("reason") for l in lines))
        check(ok, f"--map invalid/{name}: dead letter with a reason")

    # --map: the project example, field by field (DESIGN.md section 4)
    rc, lines, _ = map_lines(cat, cat_conf, os.path.join(valid, "catalog-project-upserted.json"))
    by = {(l["integration"], l["step"]): l for l in lines}
    create = by[("provider-degreed", "create")]
    attrs = create["body"]["data"]["attributes"]
    check(create["method"] == "POST" and
          create["url"] == "https://api.degreed.com/api/v2/content/courses",
          "project: Degreed POST content/courses on the US datacenter")
    check(attrs["title"] == "Wrangling and Visualizing Musical Data - Project" and
          attrs["external-id"] == "project-78" and attrs["format"] == "Project" and
          attrs["duration"] == 2.5 and attrs["duration-type"] == "Hours" and
          attrs["obsolete"] is False and
          attrs["image-url"] == "https://assets.datacamp.com/thumbnails/r.png",
          "project: Degreed attributes")
    check(by[("provider-degreed", "lookup")]["url"].endswith(
        "/api/v2/content/courses?filter[external_id]=project-78"), "project: lookup URL")
    ocn = by[("globex-sf", "ocn_course")]
    course = ocn["body"]["ocnCourses"][0]
    check(course["courseID"] == "project-78" and course["providerID"] == "DATACAMP" and
          course["status"] == "ACTIVE" and course["content"][0]["launchType"] == 3 and
          course["content"][0]["mobileEnabled"] is True,
          "project: OCN course object")
    check(("acme-degreed", "create") not in by,
          "project: not sent to a customer Degreed without public content")

    # --map from stdin, JSON lines, one bad line among good ones
    with open(os.path.join(valid, "completion-course-duration.json")) as f:
        good = json.dumps(json.load(f))
    rc, out, _ = run(comp, "--config", comp_conf, "--map", "-",
                     stdin=good + "\n{broken\n" + good + "\n")
    lines = [json.loads(l) for l in out.splitlines()]
    check(rc == 0 and [l["line"] for l in lines if "dead_letter" in l] == [2] and
          {l["line"] for l in lines} == {1, 2, 3},
          "--map -: JSON lines, a bad line is dead-lettered alone")
    deg = [l for l in lines if l["line"] == 1 and l.get("integration") == "acme-degreed"]
    check(deg and deg[0]["url"] == "https://api.eu.degreed.com/api/v2/completions" and
          deg[0]["body"]["data"]["attributes"]["user-identifier-type"] == "Email",
          "completion: Degreed completion on the EU datacenter by email")

    rc, lines, _ = map_lines(comp, comp_conf,
                             os.path.join(valid, "completion-project-sso-nameid.json"))
    check(rc == 0 and len(lines) == 1 and lines[0].get("integration") == "globex-sf" and
          lines[0].get("url") == "https://globex.example-lms.com/learning/odatav4/public/"
          "admin/learningevent-service/v1/OCNLearningEvents" and
          lines[0].get("body") == {"userID": "MGARCIA01", "providerID": "DATACAMP",
                                   "courseID": "project-78", "courseCompleted": True,
                                   "completedTimestamp": 1760605865000, "totalHours": 2.5},
          "completion: OCN learning event by sso_nameid, epoch ms")

    rc, lines, _ = map_lines(comp, comp_conf, os.path.join(valid, "completion-skipped.json"))
    check(rc == 0 and lines and all("tested out" in l.get("skip", "") for l in lines),
          "completion: tested-out completion skipped with its reason")

    print(f"{passes} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
