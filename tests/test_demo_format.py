#!/usr/bin/env python3
"""scripts/lib/demo_format.py, the helpers scripts/demo.sh's reports
(demo_report.py, demo_replay.py) print the demo's figures and dead letters
with: each fed what the demo feeds it (counts by integration or reason,
dead letters' records, the engine's messages, LMS error bodies) and its
output compared with the text a person should read."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "lib"))
sys.path.insert(0, os.path.join(HERE, "e2e"))
import demo_format as fmt  # noqa: E402
from harness import check, finish  # noqa: E402


def same(got, want, what):
    check(got == want, f"{what}: {got!r}" + ("" if got == want else f" (want {want!r})"))


# -- counts: sorted by name, zeros left out, a word when there is nothing --
same(fmt.counts({"globex-sf": 1, "acme-degreed": 3}), "acme-degreed 3, globex-sf 1",
     "counts: sorted by name")
same(fmt.counts({"acme-degreed": 2, "initech-xapi": 0}), "acme-degreed 2", "counts: no zeros")
same(fmt.counts({}), "none", "counts: nothing")
same(fmt.counts(None), "none", "counts: None")
same(fmt.counts({"x": 0}, none=""), "", "counts: the caller's word for nothing")

# -- shorten: whole when it fits, else at a word boundary with an ellipsis --
same(fmt.shorten("rejected  by\nthe   LMS"), "rejected by the LMS", "shorten: spaces folded")
same(fmt.shorten("a" * 200), "a" * 200, "shorten: exactly the limit is kept whole")
text = "Invalid user identifier: the user zoe@acme.example is not known to this organization"
got = fmt.shorten(text, 40)
check(got.endswith(" …") and text.startswith(got[:-2]) and len(got[:-2]) <= 40 and
      text[len(got[:-2])] == " ", f"shorten: cut between words, an ellipsis after: {got!r}")
same(fmt.shorten("one, two, three four", 14), "one, two …",
     "shorten: no comma before the ellipsis")
same(fmt.shorten("x" * 30, 10), "x" * 10 + " …", "shorten: one long word is cut at the limit")
same(fmt.shorten(None), "", "shorten: None")

# -- event: what a record is --
completion = json.dumps({"schema": "completion.v1", "event_id": "comp-9",
                         "organization_id": "acme",
                         "user": {"id": "u9", "email": "zoe@acme.example"},
                         "content": {"id": "191", "type": "assessment"}})
same(fmt.event(completion, "u9"), "event comp-9 (zoe@acme.example, assessment 191)",
     "event: a completion, by its learner's email and its content")
same(fmt.event(completion.encode(), "u9"), "event comp-9 (zoe@acme.example, assessment 191)",
     "event: bytes as read from Kafka")
sso = json.dumps({"event_id": "comp-10", "user": {"sso_nameid": "zoe-sso", "id": "u10"}})
same(fmt.event(sso), "event comp-10 (zoe-sso)", "event: a learner without email, by SSO name id")
catalog = json.dumps({"schema": "catalog.v1", "event_id": "cat-7",
                      "content": {"id": "107", "type": "course"}})
same(fmt.event(catalog, "107"), "event cat-7 (course 107)", "event: a catalog item")
same(fmt.event("not json", "bad1"), "key bad1 (value not JSON)", "event: a value not JSON")
same(fmt.event("not json"), "(value not JSON)", "event: not JSON and no key")
same(fmt.event('{"schema":"completion.v1"}', "bad4"), "key bad4",
     "event: an object without event id, by its key")
same(fmt.event(json.dumps({"user": {"email": "x@acme.example"}}), "k"), "key k (x@acme.example)",
     "event: no event id, what it has")
# a record without a key (kcat -J: "key": null) printed "key None"
same(fmt.event('{"schema":"completion.v1"}', None), "(no event id)",
     "event: no event id and no key")
same(fmt.event(json.dumps({"content": {"id": "5", "type": "course"}})), "(no event id) (course 5)",
     "event: no event id, no key, what it has")

# -- failure: the HTTP status once --
same(fmt.failure("rejected by the LMS (HTTP 400)", 400), "rejected by the LMS (HTTP 400)",
     "failure: a message naming the status already")
same(fmt.failure("retries exhausted", 503), "HTTP 503: retries exhausted",
     "failure: the status put first")
same(fmt.failure("", 502), "HTTP 502", "failure: a status alone")
same(fmt.failure("$: not valid JSON", 0), "$: not valid JSON", "failure: no status (0)")
same(fmt.failure(None, None), "", "failure: nothing")

# -- lms_said: the useful words of an LMS error body --
same(fmt.lms_said(json.dumps({"errors": [{"status": "400", "title": "Bad Request",
                                          "detail": "Invalid user identifier"}]})),
     "Invalid user identifier", "lms_said: Degreed's JSON:API detail")
same(fmt.lms_said(json.dumps({"errors": [{"title": "Conflict"}]})), "Conflict",
     "lms_said: a JSON:API title without detail")
same(fmt.lms_said(json.dumps({"error": {"code": "x", "message": {"lang": "en-US",
                                                                 "value": "Course not found"}}})),
     "Course not found", "lms_said: OData v2's message value")
same(fmt.lms_said(json.dumps({"error": {"code": "x", "message": "Bad field"}})), "Bad field",
     "lms_said: OData v4's message")
same(fmt.lms_said(json.dumps({"error": "invalid_client",
                              "error_description": "Client authentication failed"})),
     "Client authentication failed", "lms_said: OAuth's error_description")
same(fmt.lms_said(json.dumps({"error": "invalid_client"})), "invalid_client",
     "lms_said: OAuth's error alone")
same(fmt.lms_said("<html>Bad Gateway</html>"), "<html>Bad Gateway</html>",
     "lms_said: a body not JSON, as it is")
body = json.dumps({"errors": []})
same(fmt.lms_said(body), body, "lms_said: an empty error list, the body")
body = json.dumps({"errors": ["just text"]})
same(fmt.lms_said(body), body, "lms_said: errors that are not objects, the body")
same(fmt.lms_said(""), "", "lms_said: empty")
finish()
