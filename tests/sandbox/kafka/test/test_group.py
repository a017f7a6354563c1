"""Consumer groups on kafka-sandbox: two consumer processes share a
4-partition topic, together see every message exactly once, and the
survivor takes over when one leaves."""

import ksb
from ksb import check

TOPIC = "orders"
GROUP = "group-split"


def two_members_split_then_survivor_takes_over():
    with ksb.Sandbox(brokers=3, topics=[f"{TOPIC}:4"]) as sb, \
            ksb.Consumer(sb, TOPIC, GROUP, name="consumer-a") as a, \
            ksb.Consumer(sb, TOPIC, GROUP, name="consumer-b") as b:
        # Both join; wait for a stable split: each member owns some
        # partitions and together they own all four.
        def split():
            pa, pb = a.assignment(), b.assignment()
            return (pa and pb and sorted(pa + pb) == [0, 1, 2, 3]
                    and (pa, pb))
        pa, pb = ksb.wait_until(split, 30, "both members assigned")

        # One message per key; keys spread over the four partitions
        # (pinned explicitly so each partition gets traffic).
        produced = set()
        for p in range(4):
            for ev in ksb.produce(sb, TOPIC, count=5, partition=p,
                                  key=f"k{p}"):
                check(ev["error"] is None, f"produce failed: {ev}")
                produced.add((p, ev["offset"]))

        def consumed():
            got = [(m["partition"], m["offset"])
                   for m in a.messages() + b.messages()]
            return len(got) >= len(produced) and got
        got = ksb.wait_until(consumed, 20, "all 20 messages consumed")
        check(len(got) == len(set(got)), f"duplicates: {sorted(got)}")
        check(set(got) == produced, "consumed set differs from produced")
        for c, parts in ((a, pa), (b, pb)):
            mine = {m["partition"] for m in c.messages()}
            check(mine and mine <= set(parts),
                  f"{c.name} consumed partitions {mine}, owns {parts}")

        # Wait for both auto-commits, so that the takeover below starts
        # from committed offsets. (The 2.0.2 mock refuses OffsetCommit with
        # REBALANCE_IN_PROGRESS while the group rebalances: offsets not
        # committed before a member leaves are redelivered, as with any
        # at-least-once consumer.)
        for c, parts in ((a, pa), (b, pb)):
            want = {p: 5 for p in parts}
            ksb.wait_until(lambda: c.committed() == want, 10,
                           f"{c.name} committing offsets {want}")

        # Consumer a leaves the group; b takes over every partition.
        a.stop()
        b.wait_for(lambda e: e["event"] == "revoked", 20,
                   "revocation after a left")
        ksb.wait_until(lambda: b.assignment() == [0, 1, 2, 3], 20,
                       "b owning all four partitions")

        before = len(b.messages())
        second = set()
        for p in range(4):
            for ev in ksb.produce(sb, TOPIC, count=3, partition=p):
                check(ev["error"] is None, f"produce failed: {ev}")
                second.add((p, ev["offset"]))
        ksb.wait_until(
            lambda: {(m["partition"], m["offset"])
                     for m in b.messages()} >= second,
            20, "b consuming the second batch on all partitions")
        b.stop()
        # Exactly once over the whole run: a's committed offsets were
        # honoured by b after the takeover.
        got = [(m["partition"], m["offset"])
               for m in a.messages() + b.messages()]
        check(len(got) == len(set(got)),
              f"duplicates after takeover: {sorted(got)}")
        check(set(got) == produced | second, "messages missing")
        check(len(b.messages()) - before == len(second),
              "b re-read messages a had consumed")


if __name__ == "__main__":
    ksb.main({"two_members_split_then_survivor_takes_over":
              two_members_split_then_survivor_takes_over})
