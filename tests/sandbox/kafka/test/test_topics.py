"""Topics of kafka-sandbox: created at start and at run time with the
requested partition counts, leaders moved, metadata errors set, and the
status call reporting them."""

import ksb
from ksb import check


def topic_layout(sb):
    """{topic: (partitions, replication factor)} from kcat -L."""
    md = sb.metadata()
    check(md is not None, "no metadata")
    out = {}
    for t in md["topics"]:
        parts = t["partitions"]
        rf = {len(p["replicas"]) for p in parts}
        check(len(rf) == 1, f"{t['topic']}: uneven replicas {parts}")
        out[t["topic"]] = (len(parts), rf.pop())
    return out, md


def startup_topics_and_status():
    with ksb.Sandbox(brokers=3, topics=["catalog-events:4",
                                        "completion-events:2",
                                        "completion-events.dlq:1"]) as sb:
        layout, md = topic_layout(sb)
        check(layout == {"catalog-events": (4, 3),
                         "completion-events": (2, 3),
                         "completion-events.dlq": (1, 3)},
              f"topics {layout}")
        check(sorted(b["id"] for b in md["brokers"]) == [1, 2, 3],
              f"brokers {md['brokers']}")
        check(sorted(b["name"] for b in md["brokers"]) ==
              sorted(sb.bootstrap.split(",")),
              "bootstrap file does not list the brokers")
        for path in ("/", "/status"):
            st = sb.call("GET", path)
            check(st["bootstrap_servers"] == sb.bootstrap, f"status {st}")
            check(st["broker_count"] == 3 and len(st["brokers"]) == 3,
                  f"status {st}")
            check({t["name"]: t["partitions"] for t in st["topics"]} ==
                  {"catalog-events": 4, "completion-events": 2,
                   "completion-events.dlq": 1}, f"status {st}")


def replication_is_min_3_brokers():
    with ksb.Sandbox(brokers=2, topics=["two:3"]) as sb:
        layout, _ = topic_layout(sb)
        check(layout == {"two": (3, 2)}, f"topics {layout}")
    with ksb.Sandbox(brokers=5, topics=["five:2"], control=False) as sb:
        layout, md = topic_layout(sb)
        check(layout == {"five": (2, 3)}, f"topics {layout}")
        check(len(md["brokers"]) == 5, f"brokers {md['brokers']}")


def runtime_topic_create():
    with ksb.Sandbox(brokers=3) as sb:
        doc = sb.call("POST", "/topics?name=late.topic&partitions=6", 201)
        check(doc["topic"] == "late.topic" and doc["partitions"] == 6,
              f"answer {doc}")
        layout, _ = topic_layout(sb)
        check(layout == {"late.topic": (6, 3)}, f"topics {layout}")
        st = sb.call("GET", "/status")
        check([(t["name"], t["partitions"], t["replication_factor"])
               for t in st["topics"]] == [("late.topic", 6, 3)],
              f"status {st['topics']}")
        ev = ksb.produce(sb, "late.topic", partition=5)[0]
        check(ev["error"] is None and ev["partition"] == 5, f"produce {ev}")
        sb.call("POST", "/topics?name=late.topic&partitions=6", 409)


def auto_create_limitation():
    # Documented mock behaviour: a metadata request for an unknown topic
    # creates it with 4 partitions. The control API does not know it.
    with ksb.Sandbox(brokers=3) as sb:
        parts = sb.partitions("never-declared")
        check(sorted(parts) == [0, 1, 2, 3],
              f"auto-created topic has partitions {sorted(parts)}")
        sb.call("POST", "/partitions/never-declared/0/leader?broker=1", 404)
        sb.call("POST", "/topics?name=never-declared&partitions=2", 409)


def partition_leader_change():
    with ksb.Sandbox(brokers=3, topics=["lead:3"]) as sb:
        for broker in (1, 2, 3):
            doc = sb.call("POST", f"/partitions/lead/2/leader?broker={broker}")
            check(doc["leader"] == broker, f"answer {doc}")
            check(sb.partitions("lead")[2] == broker,
                  f"leader of lead/2 is not {broker}")
            ev = ksb.produce(sb, "lead", partition=2, retries=0)[0]
            check(ev["error"] is None, f"produce to new leader: {ev}")
        st = sb.call("GET", "/status")
        check(st["topics"][0]["leaders_set"] == [{"partition": 2,
                                                   "broker": 3}],
              f"status {st['topics']}")
        # Leaderless: the client sees no leader.
        doc = sb.call("POST", "/partitions/lead/0/leader?broker=none")
        check(doc["leader"] is None, f"answer {doc}")
        check(sb.partitions("lead")[0] == -1, "partition 0 still led")


def topic_metadata_error():
    with ksb.Sandbox(brokers=1, topics=["gone:1"]) as sb:
        doc = sb.call("POST", "/topics/gone/error?error=UNKNOWN_TOPIC_OR_PART")
        check(doc["error"] == "UNKNOWN_TOPIC_OR_PART", f"answer {doc}")
        md = sb.metadata("gone")
        t = [t for t in md["topics"] if t["topic"] == "gone"][0]
        check("Unknown topic" in t.get("error", ""), f"metadata {t}")
        sb.call("DELETE", "/topics/gone/error")
        check(sb.partitions("gone") == {0: 1}, "topic still in error")


if __name__ == "__main__":
    ksb.main({f.__name__: f for f in (
        startup_topics_and_status, replication_is_min_3_brokers,
        runtime_topic_create, auto_create_limitation,
        partition_leader_change, topic_metadata_error)})
