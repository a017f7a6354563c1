#!/usr/bin/env bash
# A real Apache Kafka on loopback, fetched from Maven Central (no Docker):
#   tests/kafka-real/kafka-real.sh fetch            # the default 4.x release into the cache
#   tests/kafka-real/kafka-real.sh start --mode sasl --user alice
#   tests/kafka-real/kafka-real.sh tool kafka-topics --bootstrap-server "$(cat /tmp/lmsbridge-kafka-real-$UID/bootstrap)" --list
#   tests/kafka-real/kafka-real.sh stop
# Run without arguments for every command; docs/testing.md ("Real Kafka").
exec python3 "$(dirname "$0")/kafka_real.py" "$@"
