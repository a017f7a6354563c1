#!/usr/bin/env python3
"""Degreed rate limit: reference degreed-api.md section 6."""

import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbx import check, eq, run  # noqa: E402

RESET_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")


def reset_time(value):
    check(RESET_RE.fullmatch(value), "X-Rate-Limit-Reset %r" % value)
    return datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)


def test_default_is_70_per_minute(sb):
    sb.put_tenants({"name": "plain", "degreed": {
        "clients": [{"client_id": "p-id", "client_secret": "p-secret"}]}})
    t = sb.dg_token("plain", "p-id", "p-secret")
    r = sb.dg("GET", "plain", "/content/courses", t)
    eq(r.status, 200)
    eq(r.header("X-Rate-Limit-Limit"), "1m")
    eq(r.header("X-Rate-Limit-Remaining"), "69")
    reset = reset_time(r.header("X-Rate-Limit-Reset"))
    left = (reset - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    check(55 <= left <= 61, "reset about a minute ahead (%s)" % left)
    for i in range(69):
        eq(sb.dg("GET", "plain", "/content/courses", t).status, 200, "call %d" % i)
    r = sb.dg("GET", "plain", "/content/courses", t)
    eq(r.status, 429)
    eq(r.json["errors"][0]["detail"], "Maximum 70 requests allowed per 1m.")


def test_small_limit_429(sb):
    sb.put_tenants({"name": "tight", "degreed": {
        "rate_limit_per_minute": 3,
        "clients": [{"client_id": "t1", "client_secret": "s1"},
                    {"client_id": "t2", "client_secret": "s2"}]}})
    t1 = sb.dg_token("tight", "t1", "s1")
    remaining = []
    for _ in range(3):
        r = sb.dg("GET", "tight", "/content/courses", t1)
        eq(r.status, 200)
        eq(r.header("X-Rate-Limit-Limit"), "1m")
        reset_time(r.header("X-Rate-Limit-Reset"))
        remaining.append(r.header("X-Rate-Limit-Remaining"))
    eq(remaining, ["2", "1", "0"], "remaining counts down")
    r = sb.dg("POST", "tight", "/content/courses", t1, {"data": {"attributes": {}}})
    eq(r.status, 429, "over the limit")
    retry = r.header("Retry-After")
    check(retry is not None and retry.isdigit() and 1 <= int(retry) <= 60, retry)
    eq(r.header("X-Rate-Limit-Remaining"), "0")
    reset_time(r.header("X-Rate-Limit-Reset"))
    e = r.json["errors"][0]
    eq(e["code"], "quota-exceeded")
    eq(e["status"], 429)
    eq(e["title"], "API calls quota exceeded.")
    eq(e["detail"], "Maximum 3 requests allowed per 1m.")
    # per client: another client of the tenant has its own budget
    t2 = sb.dg_token("tight", "t2", "s2")
    eq(sb.dg("GET", "tight", "/content/courses", t2).status, 200)
    # a new token of the same client shares the client's budget
    eq(sb.dg("GET", "tight", "/content/courses", sb.dg_token("tight", "t1", "s1")).status, 429)
    # the token endpoint is not rate limited
    for _ in range(5):
        sb.dg_token("tight", "t1", "s1")
    eq(sb.state("tight")["degreed"]["rate_limited_requests"], 2)


def test_custom_rate_limit_fault_recovers(sb):
    t = sb.dg_token("globex", "globex-id", "globex-secret")
    sb.faults("globex", rate_limit={"limit": 2, "window_s": 1})
    time.sleep(1.05)  # start from a fresh window
    codes = [sb.dg("GET", "globex", "/content/courses", t).status for _ in range(3)]
    eq(codes, [200, 200, 429])
    r = sb.dg("GET", "globex", "/content/courses", t)
    eq(r.header("X-Rate-Limit-Limit"), "1s")
    eq(r.header("Retry-After"), "1")
    time.sleep(1.1)
    eq(sb.dg("GET", "globex", "/content/courses", t).status, 200, "next window")
    sb.faults("globex", rate_limit={"per_minute": 5})
    eq(sb.dg("GET", "globex", "/content/courses", t).header("X-Rate-Limit-Limit"), "1m")
    sb.faults("globex", rate_limit=None)
    r = sb.dg("GET", "globex", "/content/courses", t)
    eq(r.status, 200, "back to the configured limit")


if __name__ == "__main__":
    run([test_default_is_70_per_minute, test_small_limit_429,
         test_custom_rate_limit_fault_recovers])
