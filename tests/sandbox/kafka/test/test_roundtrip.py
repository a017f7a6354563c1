"""Produce/consume round trips through kafka-sandbox: keys, values and
record headers come back intact, with kcat and with librdkafka."""

import json

import ksb
from ksb import check

RECORDS = [("user-1", '{"event_id":"e1","score":97.5}'),
           ("user-2", "colons:in:the:value"),
           ("user-3", "unicode é ü ✓")]


def kcat_keys_and_headers():
    with ksb.Sandbox(brokers=3, topics=["rt:2"]) as sb:
        text = "".join(f"{k}:{v}\n" for k, v in RECORDS)
        p = ksb.kcat(["-P", "-t", "rt", "-p", "1", "-K:",
                      "-H", "lmsbridge.attempts=3", "-H", "empty=",
                      "-H", "trace=a=b"], sb.bootstrap, input=text)
        check(p.returncode == 0, f"kcat -P: {p.stderr}")
        p = ksb.kcat(["-C", "-t", "rt", "-o", "beginning", "-e", "-J", "-q"],
                     sb.bootstrap)
        check(p.returncode == 0, f"kcat -C: {p.stderr}")
        got = [json.loads(line) for line in p.stdout.splitlines()]
        check([(m["key"], m["payload"]) for m in got] == RECORDS,
              f"records {got}")
        for m in got:
            check(m["partition"] == 1, f"partition {m}")
            check(m["headers"] == ["lmsbridge.attempts", "3", "empty", "",
                                   "trace", "a=b"], f"headers {m}")
        check([m["offset"] for m in got] == [0, 1, 2], f"offsets {got}")


def librdkafka_producer_to_group_consumer():
    with ksb.Sandbox(brokers=3, topics=["hd:3"]) as sb, \
            ksb.Consumer(sb, "hd", "group-headers") as c:
        c.wait_assigned()
        evs = ksb.produce(sb, "hd", count=3, key="course-42",
                          headers=["__connect.errors.topic=catalog-events",
                                   "lmsbridge.http.body={\"errors\":[]}",
                                   "null-value"])
        check(all(e["error"] is None for e in evs), f"produce {evs}")
        # One key, one partition: order kept.
        check(len({e["partition"] for e in evs}) == 1, f"partitions {evs}")
        ksb.wait_until(lambda: len(c.messages()) >= 3, 10, "3 messages")
        msgs = c.messages()
        check(len(msgs) == 3, f"messages {msgs}")
        for i, m in enumerate(msgs):
            check(m["key"] == "course-42" and m["value"] == f"message-{i}",
                  f"message {i}: {m}")
            check(m["headers"] == [
                ["__connect.errors.topic", "catalog-events"],
                ["lmsbridge.http.body", '{"errors":[]}'],
                ["null-value", None]], f"headers {m}")
        # kcat reads the same records (a different client implementation
        # of the same protocol).
        p = ksb.kcat(["-C", "-t", "hd", "-o", "beginning", "-e", "-J", "-q"],
                     sb.bootstrap)
        got = [json.loads(line) for line in p.stdout.splitlines()]
        check([m["headers"] for m in got] ==
              [["__connect.errors.topic", "catalog-events",
                "lmsbridge.http.body", '{"errors":[]}', "null-value", None]]
              * 3, f"kcat headers {got}")


if __name__ == "__main__":
    ksb.main({f.__name__: f for f in (kcat_keys_and_headers,
                                      librdkafka_producer_to_group_consumer)})
