#!/usr/bin/env bash
# The soak test (docs/testing.md, "Soak"; the logic is tests/soak/soak.py):
# three catalog-workers and three completion-workers on a real Apache Kafka
# (a single node, the pinned 4.x, fetched into ~/.cache/lmsbridge/kafka when
# missing) and lms-sandbox, under a steady stream of both kinds of events,
# random SIGKILLs of members, random LMS faults and broker restarts. Prints
# produced, delivered, lost, duplicated (and its bound), dead-lettered, the
# occurred-to-delivered latency, RSS and open descriptors of each member.
#
#   ./scripts/soak.sh [--events N] [--kills K] [--broker-restarts R]
#                     [--minutes M] [--seed S] [--asan] [--plan]
#
# Defaults: 50,000 events over 15 minutes, 20 SIGKILLs, 2 broker restarts.
# --asan: the members are built with AddressSanitizer and UndefinedBehavior-
# Sanitizer (build-asan/, LB_ASAN_BUILD_DIR) and run with leak detection: a
# leak at exit, or any sanitizer report, fails the run (RSS is then shown,
# not judged). LB_BUILD_DIR: the build of lms-sandbox and the members
# (default build). --plan prints what a run would do (the seed, when each
# kill and broker restart comes) and exits. Exit 0 when every check passed,
# 1 otherwise, 2 on a usage error.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$LB_ROOT"

asan=0
for a in "$@"; do
  case "$a" in
    --asan) asan=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done
build=${LB_BUILD_DIR:-build}
asan_build=${LB_ASAN_BUILD_DIR:-build-asan}
# the arguments checked (exit 2) before anything is built
python3 tests/soak/soak.py --plan "$@" >/dev/null

lb_ensure_packages "${LB_PACKAGES[@]}"
lb_need_real_kafka "(the soak test runs on a real Apache Kafka)"
lb_say "build lms-sandbox and the workers in $build/"
lb_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_WERROR=ON -- \
  lms-sandbox catalog-worker completion-worker >/dev/null
if [ "$asan" = 1 ]; then
  lb_say "build the workers with AddressSanitizer + UndefinedBehaviorSanitizer in $asan_build/"
  lb_build "$asan_build" -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=ON -DLB_WERROR=ON -- \
    catalog-worker completion-worker >/dev/null
fi
LB_BIN_DIR=$(cd "$build" && pwd)
export LB_BIN_DIR
if [ "$asan" = 1 ]; then
  LB_ASAN_BIN_DIR=$(cd "$asan_build" && pwd)
  export LB_ASAN_BIN_DIR
fi
exec python3 tests/soak/soak.py "$@"
