#!/usr/bin/env python3
"""dlq-replay list and the replay summary on a dead-letter topic written by
hand (the engine's headers, two DLQ partitions, a foreign record, a value
that is not JSON): every field of a list line, each filter and their
combinations select exactly the expected records, --count totals match,
replay --dry-run shows the verdicts, replay without a terminal and without
--yes refuses, usage errors exit 2, the worker is inferred from the file or
named with --worker, the integrations' secrets are not needed (their
variable is unset), and a secret dlq-replay holds (Kafka's sasl.password)
quoted in a dead letter never leaves. Its last part reads the defaults'
dead-letter topics (completion-events.dlq, catalog-events.dlq): on real
Kafka it has a broker of its own (harness.own_kafka)."""
import json
import os
import subprocess

import harness
from harness import (DLQ_REPLAY, Env, check, dead_letter_headers, dlq_replay, finish,
                     produce_to)

harness.own_kafka()

SECRET = "e2e-dlq-list-secret-58"
TOPIC = "completion-events"
DLQ = f"{TOPIC}.dlq"

# key, integration, reason, status, original partition and offset, last
# failure, message, replays, DLQ partition
ROWS = [
    ("u0", "acme-degreed", "permanent_http", 400, 0, 10, "2026-03-01T10:00:00.000Z",
     "HTTP 400: Invalid user identifier: u0@acme.example", 0, 0),
    ("u1", "acme-degreed", "permanent_http", 404, 1, 11, "2026-03-01T11:00:00.000Z",
     "HTTP 404: not found", 0, 1),
    ("u2", "globex-sf", "permanent_http", 400, 0, 12, "2026-03-02T10:00:00.000Z",
     "HTTP 400: user 'G2' does not exist", 0, 0),
    ("u3", "globex-sf", "auth", 401, 1, 13, "2026-03-02T12:00:00.000Z",
     "HTTP 401 after a new token", 1, 1),
    ("u4", "acme-degreed", "retries_exhausted", 503, 0, 14, "2026-03-03T00:00:00.000Z",
     "HTTP 503: retry budget exhausted", 0, 0),
    ("u5", "", "invalid_event", 0, 1, 15, "2026-03-03T01:00:00.000Z",
     "$.user.id: required", 0, 1),
    ("u6", "acme-degreed", "retries_exhausted", 0, 0, 16, "2026-03-04T00:00:00.000Z",
     "connection refused", 0, 0),
    ("u7", "globex-sf", "permanent_http", 400, 1, 17, "2026-03-04T05:00:00.000Z",
     "HTTP 400: user account is inactive", 2, 1),
    # a record quoting a secret of the configuration (it must not leave
    # through dlq-replay)
    ("u8", "gone-degreed", "auth", 403, 0, 18, "2026-03-05T00:00:00.000Z",
     f"HTTP 403: the request quoted {SECRET}", 0, 0),
]
BAD = ("bad", "not json")  # an invalid event whose value is not JSON


def value_of(key):
    return json.dumps({"schema": "completion.v1", "event_id": f"e-{key}", "n": key},
                      separators=(",", ":"))


def keys(lines):
    return sorted(l.get("key") for l in lines)


def expect(pred):
    out = [r[0] for r in ROWS if pred(r)]
    return sorted(out)


env = Env([f"{TOPIC}:2", f"{TOPIC}.retry:2", f"{DLQ}:2", "catalog-events.dlq:1"], [])
try:
    for r in ROWS:
        key, integ, reason, status, opart, ooff, last, msg, replays, dpart = r
        h = dead_letter_headers(TOPIC, opart, ooff, reason, msg, integ, status,
                                body='{"errors":[{"status":%d}]}' % status if status else "",
                                last_failure=last, replays=replays)
        h["trace-id"] = f"t-{key}"
        produce_to(env, DLQ, dpart, [(key, value_of(key), h)])
    produce_to(env, DLQ, 1, [(BAD[0], BAD[1], dead_letter_headers(
        TOPIC, 0, 19, "invalid_event", "$: not valid JSON", last_failure="2026-03-06T00:00:00.000Z"))])

    conf = os.path.join(env.dir, "completion-worker.conf")
    integrations = ", ".join(
        f'{{ id = "{i}"; type = "degreed"; organization = "{o}"; client_id = "x";'
        f' client_secret = "@env:SECRET"; }}'
        for i, o in (("acme-degreed", "acme"), ("globex-sf", "globex")))
    with open(conf, "w") as f:
        f.write(f"""
kafka: {{ brokers = "{env.brokers}"; topics = ["{TOPIC}"];
  properties = ( ["sasl.password", "@env:KAFKA_PASSWORD"] ); }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
integrations = ( {integrations} );
""")
    # the Kafka password only: the integrations' SECRET is not needed
    os.environ.pop("SECRET", None)
    senv = {"KAFKA_PASSWORD": SECRET}

    def run(*args, **kw):
        return dlq_replay(*args, env=senv, **kw)

    # -- list: every record, every field --
    rc, lines, err = run("list", "--config", conf)
    check(rc == 0 and len(lines) == len(ROWS) + 1, f"list: {len(lines)} records, exit {rc}")
    by_key = {l["key"]: l for l in lines}
    ok = True
    for key, integ, reason, status, opart, ooff, last, msg, replays, dpart in ROWS:
        l = by_key.get(key, {})
        ok &= (l.get("topic") == TOPIC and l.get("partition") == opart and
               l.get("offset") == ooff and l.get("reason") == reason and
               l.get("integration") == (integ or None) and
               l.get("http_status") == (status or None) and
               l.get("last_failure") == last and l.get("first_failure") == last and
               l.get("replays") == replays and l.get("attempts") == 1 and
               l.get("worker") == "completion-worker" and l.get("dlq_partition") == dpart and
               isinstance(l.get("dlq_offset"), int) and l.get("dlq_timestamp", "").endswith("Z") and
               l.get("value") == json.loads(value_of(key)) and
               l.get("headers") == {"trace-id": f"t-{key}"} and
               (l.get("http_body") == ('{"errors":[{"status":%d}]}' % status) if status
                else l.get("http_body") is None))
        if key != "u8":
            ok &= l.get("message") == msg
    check(ok, "list: coordinates, key, JSON value, reason, message, integration, status, body, "
              "attempts, failure times, replays, worker, DLQ partition/offset/timestamp, headers")
    check(by_key["bad"]["value"] == "not json" and by_key["bad"]["reason"] == "invalid_event",
          "list: a value that is not JSON is shown as a string")
    check(SECRET not in json.dumps(lines) + err and "[REDACTED]" in by_key["u8"]["message"],
          "list: a secret quoted in a dead letter is redacted")

    # -- each filter selects exactly the expected records --
    FILTERS = [
        (["--integration", "acme-degreed"], expect(lambda r: r[1] == "acme-degreed")),
        (["--integration", "globex-sf,acme-degreed"],
         expect(lambda r: r[1] in ("globex-sf", "acme-degreed"))),
        (["--integration", "globex-sf", "--integration", "gone-degreed"],
         expect(lambda r: r[1] in ("globex-sf", "gone-degreed"))),
        (["--integration", ""], sorted(expect(lambda r: r[1] == "") + ["bad"])),
        (["--reason", "permanent_http"], expect(lambda r: r[2] == "permanent_http")),
        (["--reason", "auth,invalid_event"],
         sorted(expect(lambda r: r[2] in ("auth", "invalid_event")) + ["bad"])),
        (["--status", "400"], expect(lambda r: r[3] == 400)),
        (["--status", "4xx"], expect(lambda r: 400 <= r[3] <= 499)),
        (["--status", "5xx,404"], expect(lambda r: r[3] >= 500 or r[3] == 404)),
        (["--since", "2026-03-02T10:00:00Z"],
         sorted(expect(lambda r: r[6] >= "2026-03-02T10:00:00.000Z") + ["bad"])),
        (["--until", "2026-03-02T10:00:00Z"], expect(lambda r: r[6] < "2026-03-02T10:00:00.000Z")),
        (["--since", "2026-03-02T00:00:00Z", "--until", "2026-03-04T00:00:00Z"],
         expect(lambda r: "2026-03-02" <= r[6] < "2026-03-04")),
        (["--partition", "1"], expect(lambda r: r[4] == 1)),
        (["--offset-from", "12", "--offset-to", "14"], expect(lambda r: 12 <= r[5] <= 14)),
        (["--offset-from", "17"], sorted(expect(lambda r: r[5] >= 17) + ["bad"])),
        (["--key", "u3"], ["u3"]),
        (["--key", "u"], []),
        (["--grep", "INVALID USER"], ["u0"]),
        (["--grep", "user"], expect(lambda r: "user" in r[7].lower())),
        (["--integration", "acme-degreed", "--reason", "retries_exhausted", "--status", "503"],
         ["u4"]),
        (["--integration", "globex-sf", "--status", "4xx", "--since", "2026-03-02T11:00:00Z"],
         ["u3", "u7"]),
    ]
    bad = []
    for args, want in FILTERS:
        rc, lines, _ = run("list", "--config", conf, *args)
        if rc != 0 or keys(lines) != want:
            bad.append((args, keys(lines), want))
    check(not bad, f"{len(FILTERS)} filters select exactly the expected records {bad}")

    # -- totals --
    rc, lines, _ = run("list", "--config", conf, "--count")
    t = lines[0] if lines else {}
    by_i, by_r = {}, {}
    for r in ROWS + [("bad", "", "invalid_event")]:
        by_i[r[1] or "(none)"] = by_i.get(r[1] or "(none)", 0) + 1
        by_r[r[2]] = by_r.get(r[2], 0) + 1
    check(rc == 0 and len(lines) == 1 and t.get("total") == len(ROWS) + 1 and
          t.get("by_integration") == by_i and t.get("by_reason") == by_r and
          t["by_integration_and_reason"]["acme-degreed"] == {"permanent_http": 2,
                                                             "retries_exhausted": 2},
          f"--count: totals by integration and reason ({t})")
    rc, lines, _ = run("list", "--config", conf, "--count", "--integration", "globex-sf")
    check(rc == 0 and lines[0]["total"] == 3 and
          lines[0]["by_reason"] == {"auth": 1, "permanent_http": 2},
          "--count with a filter counts the selection")

    # -- replay --dry-run: verdicts, nothing sent --
    rc, lines, _ = run("replay", "--config", conf, "--dry-run", "--max-replays", "2")
    verdicts = {l["key"]: l["action"] for l in lines if "action" in l}
    summary = lines[-1] if lines else {}
    check(rc == 0 and verdicts == {"u0": "replay", "u1": "replay", "u2": "replay",
                                   "u3": "replay", "u4": "replay", "u5": "no_integration",
                                   "u6": "replay", "u7": "replay_limit",
                                   "u8": "unknown_integration", "bad": "no_integration"},
          f"--dry-run: each selected record with its verdict ({verdicts})")
    check(summary.get("summary") == "dry-run" and summary.get("matched") == 10 and
          summary.get("to_replay") == 6 and
          summary.get("refused") == {"not_a_dead_letter": 0, "unknown_topic": 0,
                                     "truncated": 0, "replay_limit": 1, "no_integration": 2,
                                     "unknown_integration": 1} and
          summary.get("group") == "completion-worker.dlq-replay" and
          summary["to_replay_by"]["by_integration"] == {"acme-degreed": 4, "globex-sf": 2},
          "--dry-run summary: matched, to replay, refused by reason, progress group")
    rc, lines, _ = run("replay", "--config", conf, "--dry-run", "--integration", "globex-sf",
                       "--untargeted")
    check(rc == 0 and lines[-1]["matched"] == 3 and lines[-1]["to_replay"] == 3 and
          lines[-1]["group"].startswith("completion-worker.dlq-replay.") and
          len(lines[-1]["group"]) == len("completion-worker.dlq-replay.") + 12,
          "a filtered selection has a progress group of its own")
    rc, lines, _ = run("replay", "--config", conf, "--dry-run", "--reason", "invalid_event",
                       "--untargeted")
    check(rc == 0 and sorted(l["action"] for l in lines if "action" in l) ==
          ["replay_untargeted", "replay_untargeted"], "--untargeted: invalid events replayable")

    # -- replay without a terminal and without --yes: refused, nothing sent --
    rc, lines, err = run("replay", "--config", conf)
    check(rc == 2 and "pass --yes" in err and lines and lines[0].get("summary") == "plan",
          f"no terminal, no --yes: summary printed, replay refused (exit {rc})")
    check(env.end_offsets(TOPIC) == {0: 0, 1: 0}, "nothing republished")
    check(env.committed("completion-worker.dlq-replay", DLQ, [0, 1]) == {0: -1, 1: -1},
          "nothing committed")

    # -- usage --
    usage = [["list"], ["list", "--config", conf, "--reason", "bogus"],
             ["list", "--config", conf, "--yes"], ["replay", "--config", conf, "--count"],
             ["show", "--config", conf], ["list", "--config", conf, "--status", "4x"],
             ["list", "--config", conf, "--since", "yesterday"],
             ["replay", "--config", conf, "--max-replays", "-1"],
             ["list", "--config", conf, "--worker", "billing-worker"],
             ["list", "--config", conf, "extra"], ["list", "--config", conf, "--nope"]]
    codes = [run(*a)[0] for a in usage]
    check(codes == [2] * len(usage), f"usage errors exit 2 ({codes})")
    h = subprocess.run([DLQ_REPLAY, "--help"], capture_output=True, text=True, timeout=30)
    check(h.returncode == 0 and "lmsbridge.last_failure" in h.stdout and
          "progress" in h.stdout.lower(),
          "--help: exit 0, says what the time filters compare and how progress works")

    # -- configuration: the worker inferred, or named --
    bare = os.path.join(env.dir, "bare.conf")
    with open(bare, "w") as f:
        f.write(f"""
kafka: {{ brokers = "{env.brokers}"; }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
integrations = ( {integrations} );
""")
    rc, _, err = run("list", "--config", bare)
    check(rc == 2 and "--worker" in err, "defaults left to the worker: --worker asked for")
    rc, lines, _ = run("list", "--config", bare, "--worker", "completion-worker", "--count")
    check(rc == 0 and lines[0]["total"] == 10 and lines[0]["dlq_topic"] == DLQ,
          "--worker completion-worker reads completion-events.dlq")
    rc, lines, _ = run("list", "--config", bare, "--worker", "catalog", "--count")
    check(rc == 0 and lines[0]["total"] == 0 and lines[0]["dlq_topic"] == "catalog-events.dlq",
          "--worker catalog reads catalog-events.dlq (empty)")
    broken = os.path.join(env.dir, "broken.conf")
    with open(broken, "w") as f:
        f.write(f'kafka: {{ brokers = "{env.brokers}"; topics = ["{TOPIC}"]; bogus = 1; }};\n')
    rc, _, err = run("list", "--config", broken)
    check(rc == 1 and "broken.conf:" in err and "kafka.bogus" in err,
          "an invalid configuration: exit 1, file:line: key")
finally:
    env.close()
finish()
