#!/usr/bin/env python3
"""A real single-node Apache Kafka for the entry scripts (demo.sh --kafka
real, bench.sh), through tests/kafka-real/kafka_real.py: the pinned release
fetched into the cache when missing (Maven Central), started on free
loopback ports, the topics created; the bootstrap address is written to
BOOTSTRAP_FILE once the topics have leaders. It runs until SIGTERM or
SIGINT, or until the script that started it dies (it gets SIGTERM then),
and stops the broker on the way out (its data goes, its log stays in
WORKDIR). The JVM dies with this process whatever happens to it.

  real_kafka.py WORKDIR BOOTSTRAP_FILE TOPIC:PARTITIONS...

Exit 1 with the reason on stderr when the fetch or the start fails.
Environment: LB_KAFKA_VERSION (default: the pinned 4.x), LB_KAFKA_CACHE.
"""
import ctypes
import os
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "kafka-real"))
import kafka_real  # noqa: E402

stop = []


def main(workdir, bootstrap_file, topics):
    # SIGTERM when the parent (the script) dies, even by SIGKILL
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    parent = os.getppid()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.append(1))
    rk = kafka_real.RealKafka(workdir, "single")
    try:
        try:
            rk.start()
            rk.create_topics(topics)
        except kafka_real.KafkaRealError as e:
            print(f"real Kafka: {e}", file=sys.stderr, flush=True)
            return 1
        tmp = f"{bootstrap_file}.tmp"
        with open(tmp, "w") as f:
            f.write(rk.bootstrap + "\n")
        os.rename(tmp, bootstrap_file)
        print(f"Apache Kafka {rk.version}: one node at {rk.bootstrap}, started in "
              f"{rk.started_s:.1f}s", file=sys.stderr, flush=True)
        while not stop and os.getppid() == parent and rk.pids():
            time.sleep(0.2)
        if not rk.pids():
            print(f"real Kafka: the broker exited; its log: {rk.nodes[0].log}",
                  file=sys.stderr)
            return 1
        return 0
    finally:
        rk.close()


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
