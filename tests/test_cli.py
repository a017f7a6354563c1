#!/usr/bin/env python3
"""The daemons' command line (docs/command-line.md), end to end on the built
binaries: --version/--help/usage errors, --check-config without secrets,
invalid configurations naming file:line and key with exit 1 (plain lines
for --check-config and --map, JSON log lines for the daemon), and --map over
the example events matching the mapping rules (docs/mapping.md): one line per
integration, one dead letter naming the event's id for each invalid example
(pretty-printed or not), a message for an input with no event.

usage: test_cli.py --bin-dir DIR --source-dir DIR
"""
import argparse
import json
import os
import re
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
    "ACME_LRS_PASSWORD": "cli-test-lrs-password-3b8",
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


# What a configuration error looks like for a person: file:line: key: what
PLAIN_ERROR = re.compile(r"^\S+:\d+: \S+: .+")

# The integrations of the examples, in the files' order.
CATALOG_IDS = ["provider-degreed", "acme-degreed", "globex-sf"]
COMPLETION_IDS = ["acme-degreed", "globex-sf"]

# The real cause of invalid examples whose first line alone says nothing.
CAUSES = {
    "deep-nesting": "$: not valid JSON: nested deeper than 64 levels at byte ",
    "invalid-utf8": "$: not valid UTF-8 at byte ",
}


def event_id_of(path):
    """The top-level string event_id of a file that is a JSON object (NaN
    and Infinity are not JSON), else None."""
    def no_constant(name):
        raise ValueError(name)
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"), parse_constant=no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    v = doc.get("event_id") if isinstance(doc, dict) else None
    return v if isinstance(v, str) else None


def integration_block(summary, integration_id):
    """The lines of one integration in the --check-config summary."""
    block = summary.split(f"- id: {integration_id}\n", 1)[1]
    return block.split("\n- id: ", 1)[0].splitlines()


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
        sf = integration_block(out, "globex-sf")
        check("  base_url: https://globex.example-lms.com" in sf and
              not any(l.startswith("  api_base_url:") for l in sf),
              f"{name} --check-config shows a SuccessFactors base_url as base_url")
        deg = integration_block(out, "acme-degreed")
        check("  api_base_url: https://api.eu.degreed.com" in deg,
              f"{name} --check-config shows a Degreed api_base_url as api_base_url")

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

    # invalid configurations: exit 1 naming file:line: key, no secret; the
    # daemon in JSON log lines (for its supervisor), --check-config and --map
    # (run by a person) in plain lines, nothing else on stderr
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.conf")
        for old, new, key, what in BAD_CONFIGS:
            with open(bad, "w") as f:
                f.write(text.replace(old, new))
            line_no = text[:text.index(old)].count("\n") + 1
            want = f"{bad}:{line_no}: {key}: {what}"
            rc, out, err = run(cat, "--config", bad, timeout=20)
            logs = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
            check(rc == 1 and logs and all(l.get("level") == "error" for l in logs)
                  and any(l.get("error", "").startswith(want) for l in logs)
                  and no_secret(out + err),
                  f"daemon with {new}: exit 1, JSON error naming :{line_no}: {key}, "
                  "no secret")
            for mode in (("--check-config",), ("--map", "-")):
                rc, out, err = run(cat, "--config", bad, *mode, stdin="", timeout=20)
                lines = err.splitlines()
                check(rc == 1 and lines and all(PLAIN_ERROR.match(l) for l in lines)
                      and any(l.startswith(want) for l in lines) and not out
                      and no_secret(out + err),
                      f"{mode[0]} with {new}: exit 1, a plain line naming "
                      f":{line_no}: {key}, no secret")

        rc, out, err = run(cat, "--config", cat_conf, "--check-config",
                           env_extra={"ACME_DEGREED_SECRET": ""})
        check(rc == 1 and "integrations[1].client_secret" in err
              and "is empty" in err, "empty secret refused")

        rc, _, err = run(cat, "--config", os.path.join(tmp, "none.conf"),
                         "--check-config")
        check(rc == 1 and "cannot read the file" in err, "missing file exits 1")

    # --map: every valid example gives, for each configured integration in
    # the file's order, its requests or one skip line with the reason
    for name in sorted(os.listdir(valid)):
        binary, conf, ids = ((cat, cat_conf, CATALOG_IDS) if name.startswith("catalog")
                             else (comp, comp_conf, COMPLETION_IDS))
        rc, lines, err = map_lines(binary, conf, os.path.join(valid, name))
        order = []
        for l in lines:
            if not order or order[-1] != l.get("integration"):
                order.append(l.get("integration"))
        skips = [l for l in lines if "skip" in l]
        ok = (rc == 0 and order == ids and all("dead_letter" not in l for l in lines) and
              all(l["skip"] and sum(m.get("integration") == l["integration"] for m in lines)
                  == 1 for l in skips) and
              all(l["event_id"] == event_id_of(os.path.join(valid, name)) for l in lines))
        check(ok, f"--map valid/{name}: {len(lines)} line(s), every integration in order "
              f"({len(skips)} skipped with a reason), no dead letter")

    # --map: every invalid example, pretty-printed over many lines or not,
    # gives exactly one dead letter, with its real cause and the event's id
    # whenever the file is a JSON object with a string event_id
    c_only = os.path.join(a.source_dir, "schemas/examples/c-only-invalid")
    examples = [os.path.join(invalid, n) for n in sorted(os.listdir(invalid))]
    examples += [os.path.join(c_only, n) for n in sorted(os.listdir(c_only))]
    pretty = 0
    for path in examples:
        name = os.path.relpath(path, os.path.join(a.source_dir, "schemas/examples"))
        binary, conf = ((cat, cat_conf) if os.path.basename(path).startswith("catalog")
                        else (comp, comp_conf))
        with open(path, "rb") as f:
            raw = f.read()
        if not raw.strip():
            rc, out, err = run(binary, "--config", conf, "--map", path)
            how = "only blank lines" if raw else "empty"
            check(rc == 1 and not out and
                  err == f'{os.path.basename(binary)}: no event in "{path}" ({how}), '
                  'nothing mapped\n', f"--map {name}: says the file holds no event, exit 1")
            continue
        rc, lines, err = map_lines(binary, conf, path)
        many = len([l for l in raw.splitlines() if l.strip()]) > 1
        pretty += many
        ok = (rc == 0 and len(lines) == 1 and lines[0].get("line") == 1 and
              lines[0].get("dead_letter") == "invalid_event" and lines[0].get("reason"))
        cause = [c for k, c in CAUSES.items() if k in name]
        if ok and cause:
            ok = lines[0]["reason"].startswith(cause[0])
        want_id = None if not ok or lines[0]["reason"].startswith("$: not valid") \
            else event_id_of(path)
        ok = ok and lines[0].get("event_id") == want_id
        check(ok, f"--map {name}{' (pretty-printed)' if many else ''}: one dead letter"
              + (f" ({cause[0].split(': ', 1)[1]}...)" if cause else "")
              + f", event_id {want_id!r}"
              + ("" if ok else f"; got {len(lines)} line(s): {lines[:2]}"))
    check(pretty >= 100, f"{pretty} of the invalid examples are pretty-printed")

    # --map: an input of blank lines holds no event; blank lines between
    # JSON lines are no events; a document after blank lines is mapped under
    # the line where it starts
    rc, out, err = run(cat, "--config", cat_conf, "--map", "-", stdin="\n  \n\t\r\n")
    check(rc == 1 and not out and
          err == "catalog-worker: no event in the standard input (only blank lines), "
          "nothing mapped\n", "--map -: only blank lines hold no event, exit 1")
    with open(os.path.join(invalid, "catalog-deep-nesting-title.json")) as f:
        deep = f.read()
    rc, out, _ = run(cat, "--config", cat_conf, "--map", "-", stdin="\n\n" + deep)
    lines = [json.loads(l) for l in out.splitlines()]
    check(rc == 0 and len(lines) == 1 and lines[0]["line"] == 3 and
          "nested deeper than 64 levels" in lines[0]["reason"],
          "--map -: a pretty-printed document after two blank lines: one error, line 3")

    # --map: the project example, field by field (docs/mapping.md)
    rc, lines, _ = map_lines(cat, cat_conf, os.path.join(valid, "catalog-project-upserted.json"))
    by = {(l["integration"], l.get("step")): l for l in lines}
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
                     stdin=good + "\n{broken\n\n  \n" + good + "\r\n")
    lines = [json.loads(l) for l in out.splitlines()]
    check(rc == 0 and [l["line"] for l in lines if "dead_letter" in l] == [2] and
          {l["line"] for l in lines} == {1, 2, 5},
          "--map -: JSON lines, a bad line is dead-lettered alone, blank lines skipped")
    deg = [l for l in lines if l["line"] == 1 and l.get("integration") == "acme-degreed"]
    check(deg and deg[0]["url"] == "https://api.eu.degreed.com/api/v2/completions" and
          deg[0]["body"]["data"]["attributes"]["user-identifier-type"] == "Email",
          "completion: Degreed completion on the EU datacenter by email")

    rc, lines, _ = map_lines(comp, comp_conf,
                             os.path.join(valid, "completion-project-sso-nameid.json"))
    sent = [l for l in lines if "skip" not in l]
    check(rc == 0 and len(sent) == 1 and sent[0].get("integration") == "globex-sf" and
          sent[0].get("url") == "https://globex.example-lms.com/learning/odatav4/public/"
          "admin/learningevent-service/v1/OCNLearningEvents" and
          sent[0].get("body") == {"userID": "MGARCIA01", "providerID": "DATACAMP",
                                   "courseID": "project-78", "courseCompleted": True,
                                   "completedTimestamp": 1760605865000, "totalHours": 2.5},
          "completion: OCN learning event by sso_nameid, epoch ms")

    rc, lines, _ = map_lines(comp, comp_conf, os.path.join(valid, "completion-skipped.json"))
    skips = {l.get("integration"): l.get("skip") for l in lines}
    check(rc == 0 and len(lines) == 2 and "tested out" in skips.get("acme-degreed", "") and
          skips.get("globex-sf") == "completion of another organization",
          "completion: tested-out completion skipped with its reason, another "
          "organization's integration with its own")

    # --map: one skip line for each integration its configuration excludes
    rc, lines, _ = map_lines(cat, cat_conf, os.path.join(valid, "catalog-course-upserted.json"))
    skips = {l["integration"]: l["skip"] for l in lines if "skip" in l}
    check(skips == {"acme-degreed": "public content is off for this integration "
                                    "(catalog.public)"},
          "catalog: a course is skipped for the customer Degreed without public content")
    rc, lines, _ = map_lines(cat, cat_conf, os.path.join(valid, "catalog-practice-upserted.json"))
    skips = {l["integration"]: l["skip"] for l in lines if "skip" in l}
    check(skips.get("globex-sf") == "content type not selected for this integration "
                                    "(catalog.types)",
          "catalog: a practice is skipped for the OCN integration that does not select it")
    rc, lines, _ = map_lines(cat, cat_conf,
                             os.path.join(valid, "catalog-custom-track-upserted.json"))
    skips = {l["integration"]: l["skip"] for l in lines if "skip" in l}
    check(set(skips) == {"provider-degreed", "globex-sf"} and
          skips["globex-sf"] == "custom track of another organization",
          "catalog: a custom track is skipped for the other organizations' integrations")
    with open(comp_conf) as f:
        comp_text = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        off = os.path.join(tmp, "completions-off.conf")
        with open(off, "w") as f:
            f.write(comp_text.replace("completions = true; skill_ratings = true;",
                                      "completions = false; skill_ratings = true;"))
        rc, lines, _ = map_lines(comp, off,
                                 os.path.join(valid, "completion-course-duration.json"))
        check(rc == 0 and [(l.get("integration"), l.get("skip")) for l in lines] ==
              [("acme-degreed", "completions are off for this integration"),
               ("globex-sf", "completion of another organization")],
              "completion: skipped for an integration with completions off")

    # an xapi integration (an LRS) beside the others: --check-config shows
    # its settings without the password, --map its statement PUT or why not
    with tempfile.TemporaryDirectory() as tmp:
        lrs = os.path.join(tmp, "with-lrs.conf")
        with open(lrs, "w") as f:
            f.write(comp_text.replace(
                'assessment_num_questions = 15;',
                'assessment_num_questions = 15;\n'
                '  activity_iri_base = "https://www.datacamp.com/xapi/activities";').replace(
                'completions = true; user_identifier = "sso_nameid"; }',
                'completions = true; user_identifier = "sso_nameid"; },\n'
                '  { id = "acme-lrs"; type = "xapi"; organization = "org-acme-analytics";\n'
                '    endpoint = "https://lrs.acme-analytics.example/xapi";\n'
                '    auth = "basic"; username = "acme-key";\n'
                '    password = "@env:ACME_LRS_PASSWORD"; }'))
        rc, out, err = run(comp, "--config", lrs, "--check-config")
        block = integration_block(out, "acme-lrs") if "- id: acme-lrs\n" in out else []
        check(rc == 0 and "  type: xapi" in block and
              "  endpoint: https://lrs.acme-analytics.example/xapi" in block and
              "  auth: basic" in block and
              "  password: <secret from @env:ACME_LRS_PASSWORD>" in block and
              "  xapi_version: 1.0.3" in block and "  actor: mbox" in block and
              no_secret(out + err),
              "--check-config shows an xapi integration, its password by its source only")
        rc, lines, err = map_lines(comp, lrs,
                                   os.path.join(valid, "completion-course-duration.json"))
        x = [l for l in lines if l.get("integration") == "acme-lrs"]
        st = x[0].get("body", {}) if x else {}
        check(rc == 0 and len(x) == 1 and x[0].get("method") == "PUT" and
              x[0]["url"].startswith("https://lrs.acme-analytics.example/xapi/statements"
                                     "?statementId=") and
              x[0].get("headers") == ["X-Experience-API-Version: 1.0.3"] and
              st.get("actor") == {"objectType": "Agent",
                                  "mbox": "mailto:maria.gonzalez@acme-analytics.example"} and
              st.get("object", {}).get("id") ==
              "https://www.datacamp.com/xapi/activities/course/735" and
              st.get("result") == {"completion": True, "duration": "PT3H45M"} and
              no_secret(json.dumps(lines) + err),
              f"--map: a completion becomes one xAPI statement PUT ({x})")
        rc, lines, _ = map_lines(comp, lrs, os.path.join(valid, "completion-skipped.json"))
        skips = {l.get("integration"): l.get("skip") for l in lines}
        check(rc == 0 and "tested out" in (skips.get("acme-lrs") or ""),
              "--map: a tested-out completion is not sent to the LRS, with the reason")

    print(f"{passes} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
