"""Fault injection through the kafka-sandbox control API: every call has an
effect a Kafka client can observe."""

import time

import ksb
from ksb import check


def broker_down_then_up():
    with ksb.Sandbox(brokers=3, topics=["d:1"]) as sb:
        sb.call("POST", "/partitions/d/0/leader?broker=2")
        check(sb.partitions("d") == {0: 2}, "leader of d/0 is not broker 2")
        addr2 = sb.broker_address(2)
        check(sb.metadata(bootstrap=addr2) is not None,
              "broker 2 does not answer before the fault")

        doc = sb.call("POST", "/brokers/2/down")
        check(doc["broker"] == 2 and doc["up"] is False, f"answer {doc}")
        status = sb.call("GET", "/status")
        check([b["up"] for b in status["brokers"]] == [True, False, True],
              f"status brokers {status['brokers']}")
        # A client cannot talk to broker 2 at all...
        check(sb.metadata(bootstrap=addr2, timeout_s=2) is None,
              "broker 2 still answers metadata while down")
        # ...so the partition it leads cannot take writes (the mock does
        # not move leaders on its own), while the cluster still answers.
        ev = ksb.produce(sb, "d", timeout_ms=1000)[0]
        check(ev["error"] == "_MSG_TIMED_OUT", f"produce while down: {ev}")
        check(sb.metadata() is not None, "cluster unreachable with 2 up")

        sb.call("POST", "/brokers/2/up")
        check(sb.metadata(bootstrap=addr2) is not None,
              "broker 2 does not answer after up")
        ev = ksb.produce(sb, "d")[0]
        check(ev["error"] is None, f"produce after up: {ev}")

        # "all" takes every broker down and up.
        sb.call("POST", "/brokers/all/down")
        check(sb.metadata(timeout_s=2) is None, "cluster answers while down")
        sb.call("POST", "/brokers/all/up")
        check(sb.metadata() is not None, "cluster silent after all up")


def broker_rtt_adds_latency():
    with ksb.Sandbox(brokers=3, topics=["r:1"]) as sb:
        sb.call("POST", "/partitions/r/0/leader?broker=3")

        def warm_latency():
            # The first message also waits for metadata: judge the others.
            evs = ksb.produce(sb, "r", count=3)
            check(all(e["error"] is None for e in evs), f"produce: {evs}")
            return min(e["latency_ms"] for e in evs[1:])

        base = warm_latency()
        check(base < 250, f"baseline produce latency {base} ms")
        doc = sb.call("POST", "/brokers/3/rtt?ms=400")
        check(doc["rtt_ms"] == 400, f"answer {doc}")
        status = sb.call("GET", "/status")
        check([b["rtt_ms"] for b in status["brokers"]] == [0, 0, 400],
              f"status brokers {status['brokers']}")
        slow = warm_latency()
        check(slow >= 350, f"produce latency {slow} ms with rtt 400 ms")
        sb.call("POST", "/brokers/all/rtt?ms=0")
        again = warm_latency()
        check(again < 250, f"produce latency {again} ms after rtt 0")


def produce_errors_seen_with_retries_off():
    with ksb.Sandbox(brokers=3, topics=["p:1"]) as sb:
        ksb.produce(sb, "p")  # warm up: topic metadata known
        doc = sb.call("POST", "/errors?api=Produce"
                      "&error=NOT_ENOUGH_REPLICAS,REQUEST_TIMED_OUT")
        check(doc["pushed"] == ["NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT"],
              f"answer {doc}")
        evs = ksb.produce(sb, "p", count=3, retries=0)
        check([e["error"] for e in evs] ==
              ["NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT", None],
              f"deliveries {evs}")

        # By number, with count: api 0 = Produce, error 19 =
        # NOT_ENOUGH_REPLICAS, twice.
        doc = sb.call("POST", "/errors?api=0&error=19&count=2")
        check(doc["api"] == "Produce" and
              doc["pushed"] == ["NOT_ENOUGH_REPLICAS"] * 2, f"answer {doc}")
        # A producer with retries absorbs them: delivered, but late.
        ev = ksb.produce(sb, "p", retries=3)[0]
        check(ev["error"] is None, f"retrying producer: {ev}")
        check(ev["latency_ms"] >= 150,
              f"two retries took only {ev['latency_ms']} ms")


def clear_errors():
    with ksb.Sandbox(brokers=1, topics=["c:1"]) as sb:
        ksb.produce(sb, "c")
        sb.call("POST", "/errors?api=Produce&error=NOT_ENOUGH_REPLICAS"
                "&count=5")
        ev = ksb.produce(sb, "c", retries=0)[0]
        check(ev["error"] == "NOT_ENOUGH_REPLICAS", f"pushed error: {ev}")
        doc = sb.call("DELETE", "/errors?api=Produce")
        check(doc["cleared"] == "Produce", f"answer {doc}")
        evs = ksb.produce(sb, "c", count=4, retries=0)
        check(all(e["error"] is None for e in evs),
              f"errors left after clear: {evs}")


def broker_errors_with_rtt():
    with ksb.Sandbox(brokers=3, topics=["b:1"]) as sb:
        sb.call("POST", "/partitions/b/0/leader?broker=1")
        ksb.produce(sb, "b")
        doc = sb.call("POST", "/brokers/1/errors?api=Produce"
                      "&error=NOT_ENOUGH_REPLICAS,NO_ERROR&rtt=0,400")
        check(doc["pushed"] == ["NOT_ENOUGH_REPLICAS", "NO_ERROR"] and
              doc["rtt_ms"] == [0, 400], f"answer {doc}")
        # Errors pushed on a broker that leads nothing stay unused.
        sb.call("POST", "/brokers/2/errors?api=Produce&error=_TRANSPORT")
        doc = sb.call("GET", "/brokers/1/errors?api=Produce")
        check(doc["remaining"] == 2, f"broker 1 stack {doc}")

        evs = ksb.produce(sb, "b", count=3, retries=0)
        check([e["error"] for e in evs] == ["NOT_ENOUGH_REPLICAS", None, None],
              f"deliveries {evs}")
        check(evs[1]["latency_ms"] >= 350,
              f"delayed response took {evs[1]['latency_ms']} ms")
        check(evs[2]["latency_ms"] < 350,
              f"undelayed response took {evs[2]['latency_ms']} ms")
        check(sb.call("GET", "/brokers/1/errors?api=Produce")["remaining"]
              == 0, "broker 1 stack not consumed")
        check(sb.call("GET", "/brokers/2/errors?api=Produce")["remaining"]
              == 1, "broker 2 stack consumed")

        # Once broker 2 leads the partition its _TRANSPORT is used: it drops
        # the connection under the Produce request, which fails (retries
        # off) without being written; the next one goes through.
        sb.call("POST", "/partitions/b/0/leader?broker=2")
        evs = ksb.produce(sb, "b", count=2, retries=0)
        check([(e["error"], e["offset"]) for e in evs] ==
              [("_TRANSPORT", -1001), (None, 3)], f"deliveries {evs}")
        check(sb.call("GET", "/brokers/2/errors?api=Produce")["remaining"]
              == 0, "broker 2 stack not consumed")
        # A producer with retries reconnects and delivers.
        sb.call("POST", "/brokers/2/errors?api=Produce&error=_TRANSPORT")
        ev = ksb.produce(sb, "b", retries=2)[0]
        check((ev["error"], ev["offset"]) == (None, 4), f"retried: {ev}")
        check(sb.call("GET", "/brokers/2/errors?api=Produce")["remaining"]
              == 0, "broker 2 stack not consumed by the retrying producer")


def offset_commit_errors():
    with ksb.Sandbox(brokers=3, topics=["o:2"]) as sb, \
            ksb.Consumer(sb, "o", "group-commit", commit="manual",
                         debug_cgrp=True) as c:
        c.wait_assigned()
        ksb.produce(sb, "o", count=4)
        ksb.wait_until(lambda: len(c.messages()) >= 4, 10, "4 messages")

        # A permanent error reaches the application's commit...
        sb.call("POST", "/errors?api=OffsetCommit"
                "&error=OFFSET_METADATA_TOO_LARGE")
        c.send("commit")
        ev = c.wait_for(lambda e: e["event"] == "commit", 15, "commit result")
        check(ev["error"] == "OFFSET_METADATA_TOO_LARGE", f"commit {ev}")
        # ...and the next commit goes through.
        c.send("commit")
        ev = c.wait_for(lambda e: e["event"] == "commit", 15, "commit result")
        check(ev["error"] is None, f"commit after the error: {ev}")

        # REQUEST_TIMED_OUT is retried by librdkafka: the commit succeeds,
        # late, and the pushed errors are used up.
        ksb.produce(sb, "o", count=2)
        ksb.wait_until(lambda: len(c.messages()) >= 6, 10, "6 messages")
        sb.call("POST", "/errors?api=OffsetCommit&error=REQUEST_TIMED_OUT"
                "&count=2")
        c.send("commit")
        ev = c.wait_for(lambda e: e["event"] == "commit", 15, "commit result")
        check(ev["error"] is None, f"retried commit: {ev}")
        check(ev["latency_ms"] >= 150,
              f"commit with two retries took {ev['latency_ms']} ms")


def join_group_errors():
    with ksb.Sandbox(brokers=3, topics=["j:2"]) as sb:
        # Pushed on the group coordinator before the consumer joins.
        sb.call("POST", "/coordinator?type=group&key=group-join&broker=2")
        doc = sb.call("POST", "/brokers/2/errors?api=JoinGroup"
                      "&error=COORDINATOR_NOT_AVAILABLE&count=2")
        check(doc["pushed"] == ["COORDINATOR_NOT_AVAILABLE"] * 2,
              f"answer {doc}")
        check(sb.call("GET", "/brokers/2/errors?api=JoinGroup")["remaining"]
              == 2, "broker 2 JoinGroup stack")
        with ksb.Consumer(sb, "j", "group-join", debug_cgrp=True) as c:
            ev = c.wait_assigned(timeout=60)  # two failed joins first
            check(sorted(ev["partitions"]) == [0, 1], f"assigned {ev}")
            # The client got both errors, then joined.
            joins = [e["message"] for e in c.events if e["event"] == "log"
                     and "JoinGroup response:" in e["message"]]
            check(len(joins) == 3 and
                  all(j.endswith("Coordinator not available")
                      for j in joins[:2]) and
                  "Coordinator not available" not in joins[2],
                  f"JoinGroup responses {joins}")
            check(sb.call("GET", "/brokers/2/errors?api=JoinGroup")
                  ["remaining"] == 0, "broker 2 stack not consumed")
            # ...and the group works.
            ksb.produce(sb, "j", count=2, partition=1)
            ksb.wait_until(lambda: len(c.messages()) >= 2, 10, "2 messages")


def broker_stack_shadows_cluster_errors():
    """librdkafka 2.0.2: a broker with an error stack for an API (even an
    empty one) never uses the cluster-wide errors of that API."""
    with ksb.Sandbox(brokers=3, topics=["s:1"]) as sb:
        sb.call("POST", "/partitions/s/0/leader?broker=1")
        ksb.produce(sb, "s")
        sb.call("POST", "/brokers/1/errors?api=Produce&error=NOT_ENOUGH_REPLICAS")
        sb.call("POST", "/errors?api=Produce&error=REQUEST_TIMED_OUT")
        evs = ksb.produce(sb, "s", count=3, retries=0)
        check([e["error"] for e in evs] == ["NOT_ENOUGH_REPLICAS", None, None],
              f"deliveries through broker 1: {evs}")
        # The cluster-wide error is still there for the other brokers.
        sb.call("POST", "/partitions/s/0/leader?broker=3")
        evs = ksb.produce(sb, "s", count=2, retries=0)
        check([e["error"] for e in evs] == ["REQUEST_TIMED_OUT", None],
              f"deliveries through broker 3: {evs}")


def fetch_errors_on_leader():
    with ksb.Sandbox(brokers=3, topics=["f:1"]) as sb, \
            ksb.Consumer(sb, "f", "group-fetch") as c:
        sb.call("POST", "/partitions/f/0/leader?broker=3")
        c.wait_assigned()
        ksb.produce(sb, "f", count=3)
        ksb.wait_until(lambda: len(c.messages()) >= 3, 10, "3 messages")
        # The consumer's next Fetch requests to the leader fail; it looks
        # the leader up again and goes on where it was.
        doc = sb.call("POST", "/brokers/3/errors?api=Fetch"
                      "&error=NOT_LEADER_FOR_PARTITION&count=2")
        check(doc["pushed"] == ["NOT_LEADER_FOR_PARTITION"] * 2, f"answer {doc}")
        ksb.produce(sb, "f", count=7)
        ksb.wait_until(lambda: len(c.messages()) >= 10, 20, "10 messages")
        ksb.wait_until(lambda: sb.call("GET", "/brokers/3/errors?api=Fetch")
                       ["remaining"] == 0, 10, "the Fetch errors used up")
        offsets = [m["offset"] for m in c.messages()]
        check(offsets == list(range(10)), f"consumed offsets {offsets}")
        check(not [e for e in c.events if e["event"] == "error"],
              "errors reached the application")


def transaction_coordinator_move():
    with ksb.Sandbox(brokers=3, topics=["t:1"]) as sb:
        sb.call("POST", "/partitions/t/0/leader?broker=1")
        doc = sb.call("POST", "/coordinator?type=transaction&key=txn-move"
                      "&broker=2")
        check(doc == {"ok": True, "type": "transaction", "key": "txn-move",
                      "broker": 2}, f"answer {doc}")
        check(sb.call("GET", "/status")["coordinators"] ==
              [{"type": "transaction", "key": "txn-move", "broker": 2}],
              "status coordinators")
        # With its coordinator down, the transactional producer cannot
        # even start (broker 1, the partition leader, is up)...
        sb.call("POST", "/brokers/2/down")
        steps, evs = ksb.produce_txn(sb, "t", "txn-move", timeout_ms=2000)
        check(steps == {"init": "_TIMED_OUT"} and not evs,
              f"coordinator down: {steps} {evs}")
        # ...moved to broker 3 (2 still down), it commits a transaction.
        sb.call("POST", "/coordinator?type=transaction&key=txn-move&broker=3")
        check(sb.call("GET", "/status")["coordinators"] ==
              [{"type": "transaction", "key": "txn-move", "broker": 3}],
              "status after the move")
        steps, evs = ksb.produce_txn(sb, "t", "txn-move", count=2)
        check(steps == {"init": None, "begin": None, "commit": None},
              f"transaction on the new coordinator: {steps}")
        check([(e["error"], e["offset"]) for e in evs] == [(None, 0), (None, 1)],
              f"deliveries {evs}")


def coordinator_move():
    with ksb.Sandbox(brokers=3, topics=["m:2"]) as sb, \
            ksb.Consumer(sb, "m", "group-move", commit="manual",
                         debug_cgrp=True) as c:
        c.wait_assigned()
        ev = c.wait_for(lambda e: e["event"] == "log" and
                        "changing coordinator -1 ->" in e["message"],
                        10, "the first coordinator")
        old = int(ev["message"].rsplit(" ", 1)[1])
        new = old % 3 + 1
        ksb.produce(sb, "m", count=2)
        ksb.wait_until(lambda: len(c.messages()) >= 2, 10, "2 messages")

        doc = sb.call("POST", f"/coordinator?type=group&key=group-move"
                      f"&broker={new}")
        check(doc["broker"] == new, f"answer {doc}")
        check(sb.call("GET", "/status")["coordinators"] ==
              [{"type": "group", "key": "group-move", "broker": new}],
              "status coordinators")
        # The consumer finds out (NOT_COORDINATOR from the old one or its
        # periodic coordinator query) and moves...
        c.wait_for(lambda e: e["event"] == "log" and
                   f"changing coordinator {old} -> {new}" in e["message"],
                   15, f"coordinator change {old} -> {new}")
        # ...and the group keeps working: commits and new messages.
        c.send("commit")
        ev = c.wait_for(lambda e: e["event"] == "commit", 15, "commit result")
        check(ev["error"] is None, f"commit on the new coordinator: {ev}")
        ksb.produce(sb, "m", count=2)
        ksb.wait_until(lambda: len(c.messages()) >= 4, 10, "2 more messages")
        c.send("commit")
        ev = c.wait_for(lambda e: e["event"] == "commit", 15, "commit result")
        check(ev["error"] is None, f"second commit: {ev}")
        check(not [e for e in c.events if e["event"] == "revoked"],
              "the coordinator move cost a rebalance")


if __name__ == "__main__":
    ksb.main({f.__name__: f for f in (
        broker_down_then_up, broker_rtt_adds_latency,
        produce_errors_seen_with_retries_off, clear_errors,
        broker_errors_with_rtt, broker_stack_shadows_cluster_errors,
        offset_commit_errors, join_group_errors, fetch_errors_on_leader,
        coordinator_move,
        transaction_coordinator_move)})
