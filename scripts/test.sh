#!/usr/bin/env bash
# The whole test suite: installs what a fresh Debian 12 lacks, builds, runs
# ctest, then runs the same suite again built with AddressSanitizer and
# UndefinedBehaviorSanitizer, less the tests on a real Apache Kafka
# (label kafka_real: kafka_real_*, e2e_real_*, deploy_real_*, soak_short;
# the same code of ours runs as on the sandbox, whose runs are in both
# passes; what the real runs add is the broker's
# behaviour, the same in both builds, so they run once, in the first pass),
# then the fuzz targets built with clang and libFuzzer, each over its corpus
# and fuzzing for LB_FUZZ_SECONDS (default 10; scripts/fuzz.sh runs them
# longer). Exit status is ctest's.
#   ./scripts/test.sh                    everything
#   ./scripts/test.sh -R config          only tests whose name matches (every build)
#   LB_FUZZ_SECONDS=60 ./scripts/test.sh each fuzz target fuzzes a minute
#   LB_KAFKA_REAL=0 ./scripts/test.sh    without the real-Kafka tests (said, and
#                                        each reported as skipped)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$LB_ROOT"

lb_ensure_packages "${LB_PACKAGES[@]}"
if [ "${LB_KAFKA_REAL:-1}" = 0 ]; then
  lb_say "LB_KAFKA_REAL=0: the tests on a real Apache Kafka (label kafka_real) are skipped"
fi
# The end-to-end tests mostly wait on sockets and timers: twice as many
# tests as cores keeps the machine busy without starving them.
jobs=$(( $(nproc) * 2 ))

# Our own builds treat warnings as errors (LB_WERROR); a user's build does not.
lb_say "build (Release, -O3) in build-release/: only to catch optimiser warnings"
lb_build build-release -DCMAKE_BUILD_TYPE=Release -DLB_WERROR=ON
lb_say "build (RelWithDebInfo) in build/"
lb_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_WERROR=ON
lb_say "ctest"
(cd build && ctest --output-on-failure -j "$jobs" "$@")

lb_say "build with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/"
lb_build build-asan -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=ON -DLB_WERROR=ON
lb_say "ctest (sanitizers)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$jobs" -LE '^kafka_real$' "$@")

lb_say "build the fuzz targets (clang, libFuzzer, ASan + UBSan) in build-fuzz/"
lb_build build-fuzz -DCMAKE_C_COMPILER=clang -DLB_FUZZ=ON -DLB_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLB_FUZZ_TEST_SECONDS="${LB_FUZZ_SECONDS:-10}" -- lb_fuzz
lb_say "ctest -L fuzz: each target over its corpus, then ${LB_FUZZ_SECONDS:-10} s of fuzzing"
(cd build-fuzz && ctest --output-on-failure -j "$(nproc)" -L '^fuzz$' "$@")
