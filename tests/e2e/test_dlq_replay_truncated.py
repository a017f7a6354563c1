#!/usr/bin/env python3
"""dlq-replay never replays a dead letter whose value the worker cut to fit
the DLQ (lmsbridge.value.truncated = "true"): that value is not the event,
so a replay would only be dead-lettered again, or deliver a cut event. On a
dead-letter topic written by hand: three whole dead letters (one targeted,
one invalid event, one invalid event already replayed 3 times) and three cut
ones (targeted, invalid event replayed 3 times, and one whose own headers
were dropped too). list shows the marks; --dry-run says "truncated" for each
cut one; replay --yes republishes the whole targeted one only, counts 3
refused as truncated and logs each with the original event's coordinates;
--untargeted with --max-replays 100 on an explicit selection replays the
whole invalid event replayed 3 times, never its cut twin."""
import json
import os

from harness import (Env, check, dead_letter_headers, dlq_replay, finish, group_line, ns,
                     produce_to)

TOPIC = ns("completion-events")
DLQ = f"{TOPIC}.dlq"


def event(key, pad=0):
    return json.dumps({"schema": "completion.v1", "event_id": f"e-{key}", "user": key,
                       "pad": "x" * pad}, separators=(",", ":"))


FULL = {k: event(k, 4000) for k in ("c1", "c2", "c3")}
# key, value, reason, integration, original offset, extra headers
RECORDS = [
    ("ok1", event("ok1"), "permanent_http", "acme-degreed", 10, {}),
    ("bad1", "not json", "invalid_event", "", 11, {}),
    ("c1", FULL["c1"][:300], "retries_exhausted", "acme-degreed", 12,
     {"lmsbridge.value.truncated": "true",
      "lmsbridge.value.original_bytes": str(len(FULL["c1"]))}),
    ("c2", FULL["c2"][:200], "invalid_event", "", 13,
     {"lmsbridge.value.truncated": "true", "lmsbridge.replays": "3",
      "lmsbridge.value.original_bytes": str(len(FULL["c2"]))}),
    ("c3", FULL["c3"][:100], "permanent_http", "acme-degreed", 14,
     {"lmsbridge.value.truncated": "true",
      "lmsbridge.value.original_bytes": str(len(FULL["c3"])), "lmsbridge.headers.dropped": "3"}),
    # c2's whole twin: the options of the last step lift every refusal it meets
    ("w2", "not json either", "invalid_event", "", 15, {"lmsbridge.replays": "3"}),
]
CUT = ["c1", "c2", "c3"]

env = Env([f"{TOPIC}:1", f"{TOPIC}.retry:1", f"{DLQ}:1"], [])
try:
    for key, value, reason, integ, off, extra in RECORDS:
        h = dead_letter_headers(TOPIC, 0, off, reason, f"failed: {key}", integ)
        h.update(extra)
        if "lmsbridge.headers.dropped" not in extra:
            h["trace-id"] = f"t-{key}"
        produce_to(env, DLQ, 0, [(key, value, h)])

    conf = os.path.join(env.dir, "completion-worker.conf")
    with open(conf, "w") as f:
        f.write(f"""
kafka: {{ brokers = "{env.brokers}"; topics = ["{TOPIC}"]; {group_line("completion-worker")} }};
provider: {{ code = "datacamp"; logo_url = "https://cdn.example.com/logo.png"; }};
integrations = ( {{ id = "acme-degreed"; type = "degreed"; organization = "acme";
  client_id = "x"; client_secret = "@env:SECRET"; }} );
""")
    args = ["--config", conf]

    # -- list: the marks --
    rc, lines, _ = dlq_replay("list", *args)
    by_key = {l["key"]: l for l in lines}
    check(rc == 0 and sorted(by_key) == sorted(r[0] for r in RECORDS),
          f"list: every dead letter ({sorted(by_key)})")
    check(all(by_key[k]["value_truncated"] is False and
              by_key[k]["value_original_bytes"] is None and by_key[k]["headers_dropped"] is None
              for k in ("ok1", "bad1", "w2")), "list: whole dead letters are not marked")
    check(by_key["c1"]["value_truncated"] is True and
          by_key["c1"]["value_original_bytes"] == len(FULL["c1"]) and
          by_key["c1"]["value"] == FULL["c1"][:300] and by_key["c1"]["headers_dropped"] is None and
          by_key["c3"]["value_truncated"] is True and by_key["c3"]["headers_dropped"] == 3 and
          "headers" not in by_key["c3"],
          "list: a cut dead letter shows value_truncated, the original size, headers dropped")

    # -- dry run: the verdicts --
    rc, lines, _ = dlq_replay("replay", *args, "--dry-run")
    actions = {l["key"]: l["action"] for l in lines if "action" in l}
    plan = lines[-1] if lines else {}
    check(rc == 0 and actions == {"ok1": "replay", "bad1": "no_integration", "c1": "truncated",
                                  "c2": "truncated", "c3": "truncated", "w2": "replay_limit"},
          f"--dry-run: each cut dead letter refused as truncated ({actions})")
    check(plan.get("to_replay") == 1 and plan.get("refused", {}).get("truncated") == 3 and
          plan["refused"].get("no_integration") == 1 and plan["refused"].get("replay_limit") == 1,
          f"--dry-run summary ({plan})")
    rc, lines, _ = dlq_replay("replay", *args, "--dry-run", "--untargeted")
    actions = {l["key"]: l["action"] for l in lines if "action" in l}
    check(rc == 0 and actions["bad1"] == "replay_untargeted" and actions["c2"] == "truncated"
          and actions["w2"] == "replay_limit",
          f"--untargeted replays a whole invalid event, never a cut one ({actions})")
    check(env.end_offsets(TOPIC) == {0: 0}, "dry runs sent nothing")

    # -- replay: the whole one only --
    rc, lines, err = dlq_replay("replay", *args, "--yes")
    plan, done = lines[0], lines[-1]
    check(rc == 0 and plan["to_replay"] == 1 and plan["refused"]["truncated"] == 3,
          f"replay --yes: plan of 1 to replay, 3 refused as truncated (exit {rc})")
    check(done.get("summary") == "replay" and done["replayed"] == 1 and done["refused"] == 5 and
          done["refused_by"]["truncated"] == 3 and done["failed"] == 0 and
          done["committed"] == {"0": len(RECORDS)},
          f"replay: 1 republished, 5 refused, progress past all ({done})")
    sent = env.consume_all(TOPIC)
    check(len(sent) == 1 and sent[0]["key"] == "ok1" and sent[0]["payload"] == event("ok1") and
          sent[0]["headers"].get("lmsbridge.target") == "acme-degreed",
          f"only the whole targeted dead letter reached {TOPIC}")
    logs = [json.loads(l) for l in err.splitlines() if l.startswith("{")]
    warned = sorted((l.get("source_offset"), l.get("value_bytes")) for l in logs
                    if "not replayed" in l.get("msg", ""))
    check(warned == [(12, len(FULL["c1"])), (13, len(FULL["c2"])), (14, len(FULL["c3"]))],
          f"one warning per cut dead letter with the original event's offset and size ({warned})")

    # -- an explicit selection with every option that lifts a refusal: c2
    #    (invalid event, replayed 3 times) would need both --untargeted and
    #    --max-replays, as its whole twin w2 shows --
    lift = ["--untargeted", "--max-replays", "100"]
    rc, lines, _ = dlq_replay("replay", *args, "--dry-run", "--key", "w2", *lift)
    got = [l.get("action") for l in lines if "action" in l]
    check(rc == 0 and got == ["replay_untargeted"],
          f"the whole twin, replayed 3 times, is replayed with {' '.join(lift)} ({got})")
    rc, lines, _ = dlq_replay("replay", *args, "--yes", "--key", "c2", *lift)
    check(rc == 0 and by_key["c2"]["replays"] == 3 and lines[0]["matched"] == 1 and
          lines[0]["refused"]["truncated"] == 1 and lines[-1]["replayed"] == 0,
          f"c2 selected explicitly, with {' '.join(lift)}: still refused as truncated")
    check(len(env.consume_all(TOPIC)) == 1 and len(env.consume_all(DLQ)) == len(RECORDS),
          "nothing more sent, nothing deleted from the DLQ")
finally:
    env.close()
finish()
