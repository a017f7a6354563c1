#!/usr/bin/env python3
"""OcnCourses and OCNLearningEvents: reference successfactors-ocn-api.md
sections 2-4."""

import copy
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import check, course, eq, full_course, now_ms, run  # noqa: E402

TOKEN = {}


def tok(sb):
    if "t" not in TOKEN:
        TOKEN["t"] = sb.sf_token()
    return TOKEN["t"]


def ocn_state(sb, tenant="acme"):
    return sb.state(tenant)["sf"]


def find(sb, course_id, tenant="acme"):
    for c in ocn_state(sb, tenant)["ocn_courses"]:
        if c["courseID"] == course_id:
            return c
    return None


def event(user="u1", course_id="course-1", **extra):
    e = {"userID": user, "providerID": "DATACAMP", "courseID": course_id,
         "courseCompleted": True, "completedTimestamp": now_ms() - 60000}
    e.update(extra)
    return e


def test_minimal_course_t3(sb):
    t3 = {"ocnCourses": [{"courseID": "TED1", "providerID": "TED", "status": "ACTIVE",
                          "title": [{"locale": "English",
                                     "value": "Can a computer write poetry?"}]}]}
    r = sb.ocn_courses("acme", tok(sb), None, raw=t3)
    eq(r.status, 200)
    eq(r.json["@odata.context"], "$metadata#OcnCourses/$entity")
    eq(r.json["ocnCourses"], t3["ocnCourses"], "echo")
    c = find(sb, "TED1")
    eq(c["revisions"], 1)
    eq(c["status"], "ACTIVE")
    eq(c["providerID"], "TED")
    eq(c["course"], t3["ocnCourses"][0], "latest object as sent")


def test_full_course_and_upsert_inactive(sb):
    before = ocn_state(sb)["ocn_course_posts"]
    c = full_course("course-1")
    eq(sb.ocn_courses("acme", tok(sb), [c, full_course("course-2")]).status, 200)
    inactive = copy.deepcopy(c)
    inactive["status"] = "INACTIVE"
    inactive["schedule"] = []
    eq(sb.ocn_courses("acme", tok(sb), [inactive]).status, 200)
    stored = find(sb, "course-1")
    eq(stored["revisions"], 2, "upsert keeps one course")
    eq(stored["status"], "INACTIVE")
    eq(stored["course"], inactive, "latest object")
    eq(len([x for x in ocn_state(sb)["ocn_courses"] if x["courseID"] == "course-1"]), 1)
    # same courseID of another provider is another course
    eq(sb.ocn_courses("acme", tok(sb), [course("course-1", provider="OTHER")]).status, 200)
    eq(len([x for x in ocn_state(sb)["ocn_courses"] if x["courseID"] == "course-1"]), 2)
    eq(sb.ocn_courses("acme", tok(sb), [course("course-3", status="DELETED")]).status, 200)
    eq(find(sb, "course-3")["status"], "DELETED")
    st = ocn_state(sb)
    eq(st["ocn_course_posts"], before + 4, "POSTs counted")
    eq(st["ocn_course_posts_accepted"], st["ocn_course_posts"], "all accepted")


def test_batch_size_limits(sb):
    batch = [course("bulk-%d" % i) for i in range(1000)]
    eq(sb.ocn_courses("globex-dummy", tok(sb), batch).status, 404, "unknown tenant")
    r = sb.ocn_courses("acme", tok(sb), batch)
    eq(r.status, 200, "1000 is allowed")
    eq(len(r.json["ocnCourses"]), 1000)
    r = sb.ocn_courses("acme", tok(sb), batch + [course("bulk-1000")])
    eq(r.status, 400, "1001 is rejected")
    check("1000" in r.json["error"]["message"], r.json)
    check(find(sb, "bulk-1000") is None, "nothing stored from a rejected batch")
    eq(sb.ocn_courses("acme", tok(sb), []).status, 400, "empty batch")
    eq(sb.ocn_courses("acme", tok(sb), None, raw={"courses": []}).status, 400, "wrong key")
    eq(sb.ocn_courses("acme", tok(sb), None, raw=[course("a")]).status, 400, "bare array")


def expect_400(sb, courses, needle):
    r = sb.ocn_courses("acme", tok(sb), courses)
    eq(r.status, 400, needle)
    err = r.json["error"]
    check("code" in err and needle in err["message"], (needle, err))
    return err


def test_unknown_and_missing_fields(sb):
    err = expect_400(sb, [course("f-1", totalHours=4)], "ocnCourses[0].totalHours")
    eq(err["code"], "invalid_property")
    c = full_course("f-2")
    c["content"][0]["duration"] = "1h"
    expect_400(sb, [course("ok"), c], "ocnCourses[1].content[0].duration")
    for field in ("courseID", "providerID", "title"):
        c = course("f-3")
        del c[field]
        expect_400(sb, [c], "ocnCourses[0].%s" % field)
    expect_400(sb, [course("f-4", title=[])], "ocnCourses[0].title")
    expect_400(sb, [course("f-5", title=[{"locale": "English"}])], "title[0].value")
    expect_400(sb, [course("f-6", title="Just a string")], "ocnCourses[0].title")
    for field in ("launchURL", "contentTitle", "contentID", "launchType", "mobileEnabled"):
        c = full_course("f-7")
        del c["content"][0][field]
        expect_400(sb, [c], "content[0].%s" % field)
    c = full_course("f-8")
    c["content"][0]["launchType"] = "3"
    expect_400(sb, [c], "content[0].launchType")
    c = full_course("f-9")
    c["content"][0]["mobileEnabled"] = "true"
    expect_400(sb, [c], "content[0].mobileEnabled")
    expect_400(sb, [course("f-10", status="ARCHIVED")], "status")
    c = full_course("f-11")
    c["schedule"] = [{"active": True, "endDate": 2147483647000}]
    expect_400(sb, [c], "schedule[0].startDate")
    check(find(sb, "ok") is None, "the valid course of a rejected batch is not stored")


def test_learning_event_ok_and_idempotent(sb):
    sb.ocn_courses("acme", tok(sb), [full_course("course-ev")])
    ev = event(course_id="course-ev", grade="Pass", totalHours=2.5)
    r = sb.ocn_event("acme", tok(sb), ev)
    eq(r.status, 200)
    eq(r.json["@odata.context"], "$metadata#OCNLearningEvents/$entity")
    eq(r.json["courseID"], "course-ev")
    eq(sb.ocn_event("acme", tok(sb), ev).status, 200, "repeat")
    evs = [e for e in ocn_state(sb)["learning_events"] if e["event"]["courseID"] == "course-ev"]
    eq(len(evs), 1, "no duplicate")
    eq(evs[0]["repeats"], 1)
    eq(evs[0]["event"], ev, "stored as sent")
    # LI unit test body shape (with a real timestamp)
    eq(sb.ocn_event("acme", tok(sb), {"userID": "u2", "courseID": "course-ev",
                                      "providerID": "DATACAMP", "courseCompleted": True,
                                      "completedTimestamp": now_ms()}).status, 200)


def test_learning_event_rules(sb):
    sb.ocn_courses("acme", tok(sb), [full_course("course-rules")])

    def bad(ev, needle, what):
        r = sb.ocn_event("acme", tok(sb), ev)
        eq(r.status, 400, what)
        check(needle in r.json["error"]["message"], (what, r.json))

    bad(event(course_id="course-rules", courseCompleted="true"), "courseCompleted",
        "string \"true\"")
    bad(event(course_id="course-rules", courseCompleted=False), "courseCompleted", "false")
    bad(event(course_id="course-rules", completedTimestamp=now_ms() + 60000), "future",
        "future timestamp")
    eq(sb.ocn_event("acme", tok(sb), event(course_id="course-rules",
                                          completedTimestamp=now_ms() + 2000)).status,
       200, "2 s ahead is within the 5 s clock slack")
    bad(event(course_id="course-rules", completedTimestamp=str(now_ms())),
        "completedTimestamp", "string timestamp")
    bad(event(course_id="course-rules", completedTimestamp=now_ms() / 1.0 + 0.5),
        "completedTimestamp", "float timestamp")
    bad(event(course_id="course-rules", completedTimestamp=1485283526), "seconds",
        "seconds instead of ms")
    bad(event(course_id="never-posted"), "never-posted", "unknown course")
    bad(event(course_id="course-rules", providerID="OTHER"), "course-rules",
        "course of another provider")
    bad(event(user="stranger", course_id="course-rules"), "stranger", "unknown user")
    bad(event(user="gone", course_id="course-rules"), "user account is inactive",
        "inactive user")
    bad(event(course_id="course-rules", score=90), "score", "unknown field")
    for field in ("userID", "providerID", "courseID", "courseCompleted",
                  "completedTimestamp"):
        ev = event(course_id="course-rules")
        del ev[field]
        bad(ev, field, "missing " + field)
    r = sb.ocn_event("acme", tok(sb), [event(course_id="course-rules")])
    eq(r.status, 400, "array of events")
    # globex has no user list: any user id is accepted
    g = sb.sf_token("globex", "globex-sf", "globex-sf-secret", user="admin",
                    company="GLOBEX")
    sb.ocn_courses("globex", g, [course("g-1")])
    eq(sb.ocn_event("globex", g, event(user="whoever", course_id="g-1")).status, 200)


def test_min_post_interval(sb):
    sb.put_tenants({"name": "throttled", "sf": {
        "company_id": "T", "client_id": "c", "client_secret": "s", "admin_users": ["a"],
        "min_post_interval_s": 1}})
    t = sb.sf_token("throttled", "c", "s", user="a", company="T")
    eq(sb.ocn_courses("throttled", t, [course("t-1")]).status, 200)
    r = sb.ocn_courses("throttled", t, [course("t-2")])
    eq(r.status, 429, "too soon")
    eq(r.header("Retry-After"), "1")
    check(find(sb, "t-2", "throttled") is None)
    time.sleep(1.05)
    eq(sb.ocn_courses("throttled", t, [course("t-2")]).status, 200, "after the interval")
    st = ocn_state(sb, "throttled")
    eq((st["ocn_course_posts"], st["ocn_course_posts_accepted"],
        st["ocn_course_posts_throttled"]), (3, 2, 1))
    # learning events are not throttled
    eq(sb.ocn_event("throttled", t, event(course_id="t-2")).status, 200)
    eq(sb.ocn_event("throttled", t, event(user="u9", course_id="t-2")).status, 200)


def test_wrong_method_and_path(sb):
    r = sb.get("/t/acme/learning/odatav4/public/admin/ocn/v1/OcnCourses",
               headers={"Authorization": "Bearer " + tok(sb)})
    eq(r.status, 405)
    r = sb.post("/t/acme/learning/odatav4/public/admin/ocn/v1/Nothing",
                json_body={}, headers={"Authorization": "Bearer " + tok(sb)})
    eq(r.status, 404)
    check("error" in r.json)
    r = sb.post("/t/acme/learning/odatav4/public/admin/ocn/v1/OcnCourses",
                body="ocnCourses=1", headers={"Authorization": "Bearer " + tok(sb),
                                              "Content-Type": "text/plain"})
    eq(r.status, 415)


if __name__ == "__main__":
    run([test_minimal_course_t3, test_full_course_and_upsert_inactive,
         test_batch_size_limits, test_unknown_and_missing_fields,
         test_learning_event_ok_and_idempotent, test_learning_event_rules,
         test_min_post_interval, test_wrong_method_and_path])
