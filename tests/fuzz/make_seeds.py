#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets (tests/fuzz/corpus/<target>/),
from the event examples of schemas/examples, the example configurations
and the answers, headers and records the unit tests use, each file named
after where it comes from. Run it again after adding examples; it rewrites
only the files it makes ("seed-*" and the copies of the examples), never
the regression inputs kept beside them ("regress-*", findings that were
fixed)."""
import json
import os
import pathlib
import re
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"

# the organizations of plan.conf, each with its integrations' types
ORGS = ["org-acme", "org-wayne", "org-globex", "org-initech", "org-umbrella",
        "org-hooli", "org-stark", "org-nobody"]


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def examples(prefix):
    """(name, bytes) of schemas/examples/*/<prefix>-*.json."""
    out = []
    for kind in ("valid", "invalid", "c-only-invalid"):
        for p in sorted((ROOT / "schemas/examples" / kind).glob(prefix + "-*.json")):
            out.append((f"{kind}-{p.name}", p.read_bytes()))
    return out


def compact(data):
    return json.dumps(json.loads(data), separators=(",", ":"), ensure_ascii=False)


def events():
    catalog, completion = examples("catalog"), examples("completion")
    for name, data in catalog:
        put("event_catalog", name, data)
    for name, data in completion:
        put("event_completion", name, data)

    # the planners: valid events, custom tracks and completions of every
    # organization of plan.conf, and a few refusals (one of the other kind)
    for name, data in catalog:
        if name.startswith("valid-"):
            put("plan_catalog", name, compact(data))
    base = json.loads((ROOT / "schemas/examples/valid/catalog-custom-track-upserted.json").read_text())
    for org in ORGS:
        base["content"]["organization_id"] = org
        put("plan_catalog", f"seed-custom-track-{org}.json", json.dumps(base))
    for name, data in catalog + completion:
        if name.startswith("invalid-") and ("nul" in name or "missing-content." in name):
            put("plan_catalog" if "catalog" in name else "plan_completion", name, data)
    put("plan_catalog", "seed-completion-event.json",
        compact((ROOT / "schemas/examples/valid/completion-minimal.json").read_bytes()))
    for name, data in completion:
        if not name.startswith("valid-"):
            continue
        ev = json.loads(data)
        for org in ORGS:
            ev["organization_id"] = org
            put("plan_completion", f"seed-{org}-{name[len('valid-'):]}", json.dumps(ev))
    put("plan_completion", "seed-catalog-event.json",
        compact((ROOT / "schemas/examples/valid/catalog-minimal.json").read_bytes()))


def json_seeds():
    seeds = {
        "object": '{"a":[1,2.5,-0,1e-3,true,false,null],"b":{"c":"d"}}',
        "escapes": r'["\"\\\/\b\f\n\r\t","\u00e9\u4e2d","\ud83d\ude00","\u0000"]',
        "numbers": "[0,-1,1.5e308,-1.7976931348623157e308,123456789012345678901234567890,5e-324]",
        "utf8": '["é中😀","\u00a0"]',
        "nested": "[" * 64 + "]" * 64,
        "scalar": "  42  ",
        "string": '"text"',
        "lines": '{"a":1}\n{"b":2}\n',
    }
    for name, text in seeds.items():
        put("json", f"seed-{name}.json", text)
    for name, data in examples("catalog")[:6] + examples("completion")[:6]:
        put("json", name, data)


def response_seeds():
    # step: 0 create, 1 lookup, 2 update, 3 completion, 4 skill rating, 5 ocn course
    def seed(name, step, status, body):
        put("response", f"seed-{name}", bytes([step]) + struct.pack(">H", status) + body.encode())
    seed("degreed-create-201", 0, 201, '{"data":{"id":"Xk9a2","type":"content","attributes":{}}}')
    seed("degreed-lookup-200", 1, 200, '{"data":[{"id":"Xk9a2","type":"content"}],"links":{}}')
    seed("degreed-lookup-empty", 1, 200, '{"data":[]}')
    seed("degreed-create-409", 0, 409, '{"errors":[{"status":409,"detail":"exists"}]}')
    seed("degreed-update-404", 2, 404, '{"errors":[{"status":404}]}')
    seed("degreed-503", 0, 503, "<html><body>Service Unavailable</body></html>")
    seed("completion-201", 3, 201, '{"data":{"id":"c-1","type":"completions"}}')
    seed("skill-rating-400", 4, 400, '{"errors":[{"detail":"bad rating"}]}')
    seed("ocn-200", 5, 200, '{"jobId":"J-77","status":"queued"}')
    seed("sf-token-expired", 5, 400,
         '{"error":"invalid_token","error_description":"The Token has expired"}')
    seed("xapi-200", 3, 200, '["9f1c2c68-8e0f-5b0e-a1f7-0f6c0a3b1d2e"]')
    seed("xapi-409", 3, 409, "")
    seed("no-response", 0, 0, "")
    seed("redirect-302", 0, 302, "")
    seed("token-degreed", 0, 200,
         '{"access_token":"eyJhbGciOi.J9x-_~+/abc==","token_type":"Bearer","expires_in":3599,'
         '"refresh_token":"r","scope":"content:read content:write"}')
    seed("token-sf", 0, 200, '{"access_token":"dGVzdA==","expires_in":86400.5,"token_type":"Bearer"}')
    seed("token-bad-characters", 0, 200, '{"access_token":"a b\\r\\nX-Injected: 1","expires_in":60}')
    seed("token-401", 0, 401, '{"error":"invalid_client"}')


def header_seeds():
    def response(dt, throttled, retry_after="", remaining="", reset=""):
        return bytes([dt, throttled]) + b"\0".join(
            s.encode() for s in (retry_after, remaining, reset)) + b"\0"
    put("headers", "seed-degreed-quota", bytes([2, 255]) + response(0, 0, "", "69", "2027-01-15T08:00:00Z")
        + response(1, 0, "", "0", "2027-01-15T08:01:00Z") + response(30, 1, "120"))
    put("headers", "seed-retry-after-date", bytes([1, 128]) +
        response(0, 1, "Fri, 15 Jan 2027 08:05:00 GMT") + response(5, 1, "Sun, 06 Nov 1994 08:49:37 GMT"))
    put("headers", "seed-retry-after-huge", bytes([3, 255]) +
        response(0, 1, "86399999") + response(0, 1, "99999999999999999999999") +
        response(1, 1, "Fri, 31 Dec 9999 23:59:59 GMT"))
    put("headers", "seed-reset-far", bytes([2, 10]) + response(0, 0, "", "0", "9999-12-31T23:59:59Z") +
        response(0, 0, "", "-3", "") + response(200, 0, "", "12abc", "2027-01-15T08:00:00+01:00"))
    put("headers", "seed-bare-429", bytes([0, 0]) + response(0, 1) + response(1, 1, "0"))


def dlq_seeds():
    C, O = "__connect.errors.", "lmsbridge."

    def record(flags, key, value, headers, built=None):
        out = bytes([flags])
        if built:
            out += b"\0".join(s.encode() for s in built[:4]) + b"\0" + bytes(built[4:])
        def raw(s):
            return s if isinstance(s, bytes) else s.encode()
        out += raw(key) + b"\0" + raw(value) + b"\0"
        out += b"".join(raw(n) + b"\0" + raw(v) + b"\0" for n, v in headers)
        return out
    value = compact((ROOT / "schemas/examples/valid/catalog-course-upserted.json").read_bytes())
    dead = [(C + "topic", "catalog-events"), (C + "partition", "3"), (C + "offset", "1200"),
            (C + "exception.class.name", "permanent_http"),
            (C + "exception.message", "rejected by the LMS (HTTP 400)"),
            (O + "integration", "acme-degreed"), (O + "http.status", "400"),
            (O + "http.body", '{"errors":[{"detail":"title too long"}]}'),
            (O + "attempts", "1"), (O + "first_failure", "2027-01-15T08:00:00.000Z"),
            (O + "last_failure", "2027-01-15T08:00:00.000Z"), (O + "worker", "catalog-worker"),
            (O + "replays", "0"), ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-01")]
    put("dlq", "seed-permanent-http", record(0, "course-1", value, dead))
    put("dlq", "seed-invalid-event-untargeted", record(0x10, "", "not json", [
        (C + "topic", "catalog-events"), (C + "exception.class.name", "invalid_event"),
        (C + "exception.message", "$: not valid JSON"), (O + "integration", "")]))
    put("dlq", "seed-truncated", record(0, "k", value[:40], dead + [
        (O + "value.truncated", "true"), (O + "value.original_bytes", "2000000"),
        (O + "headers.dropped", "4")]))
    put("dlq", "seed-replayed-twice", record(0, "course-1", value, dead + [
        (O + "replays", "2"), (O + "target", "acme-degreed"), (O + "replayed_from", "x/0/1")]))
    put("dlq", "seed-not-utf8-headers", record(0x2, b"\xff", "", [
        (b"\xe0", b"\x01"), (C + "exception.class.name", b"\xc3\x28"), (O + "integration", b"\xed\xa0\x80")]))
    put("dlq", "seed-parked", record(0x4, "k", value, [
        (O + "target", "globex-sf"), (O + "attempts", "4"), (O + "not_before", "1800000060000"),
        (O + "first_failure", "1800000000000"), (O + "original.topic", "catalog-events"),
        (O + "original.partition", "2"), (O + "original.offset", "77")]))
    put("dlq", "seed-built", record(0x20, "course-1", value, [("traceparent", "00-1-01")],
                                   ["catalog-events", "globex-sf", "retry budget spent: HTTP 503",
                                    '<html>Service Unavailable</html>', 1, 247, 12]))
    put("dlq", "seed-built-cut", record(0x60, "k", "{}", [],
                                       ["catalog-events", "", "é" * 1500, "中" * 900, 0, 0, 0]))


def config_seeds():
    plan = (HERE / "plan.conf").read_text()
    put("config", "seed-plan.conf", plan)
    for p in sorted((ROOT / "deploy/examples").glob("*.conf")):
        put("config", f"deploy-examples-{p.name}", p.read_text())
    for p in sorted((ROOT / "deploy/kubernetes/base/config").glob("*.conf")):
        put("config", f"deploy-kubernetes-{p.name}", p.read_text())
    # one mistake each, in the manner of test_lb_config.c
    mistakes = {
        "syntax": ("brokers = \"127.0.0.1:9092\";", "brokers = \"127.0.0.1:9092\""),
        "unknown-setting": ("skill_ratings = true; },", "skill_ratings = true; colour = \"red\"; },"),
        "duplicate-id": ("id = \"wayne-degreed\"", "id = \"acme-degreed\""),
        "secret-literal": ("\"@env:LB_FUZZ_SECRET_GLOBEX\"", "\"plain-text-secret\""),
        "secret-missing": ("@env:LB_FUZZ_SECRET_STARK", "@env:LB_FUZZ_NOT_SET"),
        "secret-file": ("@env:LB_FUZZ_SECRET_HOOLI", "@file:/nonexistent/secret"),
        "bad-url": ("https://globex.example-lms.com", "http://globex.example-lms.com"),
        "bad-range": ("batch_size = 50;", "batch_size = 1001;"),
        "bad-type": ("type = \"xapi\"; organization = \"org-hooli\"",
                     "type = \"moodle\"; organization = \"org-hooli\""),
        "xapi-catalog": ("actor = \"mbox\"; }", "actor = \"mbox\"; catalog = { public = true; }; }"),
        "provider-completions": ("organization = \"*\";", "organization = \"*\"; completions = true;"),
        "no-activity-iri": ("activity_iri_base", "#activity_iri_base"),
        "kafka-properties": ("brokers = \"127.0.0.1:9092\";",
                             "brokers = \"127.0.0.1:9092\"; topics = [\"catalog-events\"];\n"
                             "  properties = ( [\"sasl.password\", \"@env:LB_FUZZ_SECRET_ACME\"],\n"
                             "    [\"socket.timeout.ms\", \"@env:LB_FUZZ_SECRET_WAYNE\"],\n"
                             "    [\"client.id\", \"x\"], [\"group.id\", \"y\"] );"),
        "other-daemon": ("brokers = \"127.0.0.1:9092\";",
                         "brokers = \"127.0.0.1:9092\"; group_id = \"completion-worker\";"),
        "same-secret-as-id": ("client_id = \"stark-client\"", "client_id = \"@env:LB_FUZZ_SECRET_STARK\""),
    }
    for name, (old, new) in mistakes.items():
        assert old in plan, name
        put("config", f"seed-plan-{name}.conf", plan.replace(old, new, 1))
    put("config", "seed-empty-string.conf", '""')
    put("config", "seed-minimal.conf",
        'kafka: { brokers = "b"; };\nprovider: { code = "c"; logo_url = "https://x.example/l.png"; };\n')


def time_seeds():
    for i, t in enumerate(["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123456789Z",
                           "2024-02-29T23:59:60+05:30", "0000-01-01T00:00:00-23:59",
                           "9999-12-31T23:59:59.999+00:00", "2026-02-30T00:00:00Z",
                           "2026-01-02t03:04:05z", "2026-01-02T03:04:05.Z"]):
        put("time", f"seed-{i}", t)


def url_seeds():
    for i, u in enumerate(["https://app.datacamp.com/learn/courses/x?a=1#b",
                           "https://l:65535/", "https://l:65536/", "https://l/\x01",
                           "http://127.0.0.1:8080/api", "http://localhost", "http://[::1]:9/x",
                           "https://user@host/", "https://h_x.example/p?q", "https://h/\u00a0",
                           "https://-bad.example", "https://host.example:0/", "a b&c=d/é~"]):
        put("url", f"seed-{i}", u)


def main():
    events()
    json_seeds()
    response_seeds()
    header_seeds()
    dlq_seeds()
    config_seeds()
    time_seeds()
    url_seeds()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(os.listdir(d))} inputs")


if __name__ == "__main__":
    main()
