#!/usr/bin/env bash
# Benchmarks, figures measured side by side in one run (never asserted in
# tests): the delivery client's requests/s against lms-sandbox at 1, 16, 64
# and 256 requests in flight beside wrk's rate on the same endpoint; then
# completion-worker end to end (Kafka -> worker -> LMS) at 0 and 50 ms of
# LMS latency, 256 in flight and sequential: events/s, CPU s per 1,000
# events, peak RSS; completions at a steady load (completions/s, p50/p99 of
# occurred_at to delivery, at 0 and 50 ms); a 10,000-item catalog to one
# SuccessFactors customer (OcnCourses POSTs and time). The engine's runs go
# through kafka-sandbox and, right after each, through a real single-node
# Apache Kafka (the pinned 4.x, fetched into ~/.cache/lmsbridge/kafka when
# missing), with the real/sandbox ratios printed. Last, "1,000 customers":
# both workers with 1, 100 and 1,000 integrations in one file, side by side,
# and catalog-worker's state restore at up to 1,000,000 state records
# (tests/bench/bench_scale.py, sandboxes only, about 3 minutes). "The
# floor", after the delivery client: libcurl alone sending the same request
# (tests/bench/bench_floor.c), its requests/s and CPU per request beside the
# delivery client's; with valgrind, instructions per delivered completion
# counted by callgrind: the worker's, the floor's, ours above it split by
# area (tests/bench/bench_cost.py, about 2 minutes; docs/cost.md), beside
# the same counts for the revision before the cuts (LB_BEFORE_CUTS in
# scripts/lib/common.sh, or BENCH_BEFORE=REV; built into BUILD-before/).
# Last of all but "1,000 customers": the cost of a delivered completion
# against its goals, from this run's figures (scripts/lib/bench_summary.py).
#
#   ./scripts/bench.sh [--sandbox-only | --scale-only | --floor-only]
#
# --sandbox-only (or LB_KAFKA_REAL=0): no real Kafka (the output says so).
# --scale-only: the "1,000 customers" section alone.
# --floor-only: the delivery client at 256 in flight and "the floor" alone.
# LB_BUILD_DIR: the build directory (default build).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$LB_ROOT"

real=1 why= scale_only=0 floor_only=0 lms_pid=
[ "${LB_KAFKA_REAL:-1}" = 0 ] && real=0 why=LB_KAFKA_REAL=0
for a in "$@"; do
  case "$a" in
    --sandbox-only) real=0 why=--sandbox-only ;;
    --scale-only) real=0 scale_only=1 ;;
    --floor-only) real=0 floor_only=1 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) lb_say "unknown argument: $a (usage: $0 [--sandbox-only | --scale-only | --floor-only])"
       exit 2 ;;
  esac
done
build=${LB_BUILD_DIR:-build}

# wrk and valgrind are bench tools, not the daemons' dependencies
lb_ensure_packages "${LB_PACKAGES[@]}" wrk valgrind
[ "$real" = 1 ] && lb_need_real_kafka "or run ./scripts/bench.sh --sandbox-only"
lb_say "build in $build/"
lb_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -- lms-sandbox kafka-sandbox \
  lb-bench-client lb-bench-floor completion-worker catalog-worker >/dev/null

work=$(mktemp -d)
trap '[ -n "$lms_pid" ] && kill "$lms_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export BENCH_RESULTS=$work/results.jsonl # the figures of the summary at the end
if [ "$scale_only" = 0 ]; then # every section but "1,000 customers"
export BENCH_SECRET=bench-secret-0042
cat > "$work/lms.json" <<JSON
{"tenants": [
  {"name": "client", "degreed": {"clients": [{"client_id": "bench", "client_secret": "$BENCH_SECRET"}],
                                 "rate_limit_per_minute": 100000000}},
  {"name": "wrk", "degreed": {"clients": [{"client_id": "bench", "client_secret": "$BENCH_SECRET"}],
                              "rate_limit_per_minute": 100000000}},
  {"name": "floor", "degreed": {"clients": [{"client_id": "bench", "client_secret": "$BENCH_SECRET"}],
                                "rate_limit_per_minute": 100000000}}]}
JSON
"$build"/tests/sandbox/lms/lms-sandbox --listen 127.0.0.1:0 --config "$work/lms.json" \
  --ready-file "$work/ready" --log-max-entries 200000 2>"$work/lms.log" &
lms_pid=$!
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.05; done
base=$(cat "$work/ready")

lb_say "delivery client: new Degreed completions, one thread"
N=${BENCH_REQUESTS:-20000}
if [ "$floor_only" = 1 ]; then
  "$build"/tests/lb-bench-client "$base" client bench "$N" 256 | tee "$work/client.txt"
else
  "$build"/tests/lb-bench-client "$base" client bench "$N" 1 16 64 256 | tee "$work/client.txt"
fi

lb_say "the floor: libcurl alone, the same request, 256 in flight (tests/bench/bench_floor.c)"
"$build"/tests/lb-bench-floor "$base" floor bench "$N" 256 | tee "$work/floor.txt"
field() { sed -E "s/(^|.* )$1=([0-9.]+).*/\2/" <<<"$2"; } # field NAME LINE: NAME=value's value
floor_line=$(cat "$work/floor.txt") client_line=$(grep 'in_flight=256 ' "$work/client.txt")
printf '%-36s %12s %16s\n' "256 in flight, $N requests" "requests/s" "CPU us/request"
printf '%-36s %12s %16s\n' "floor: libcurl alone" "$(field rate "$floor_line")" \
  "$(field cpu_us_per_request "$floor_line")"
printf '%-36s %12s %16s\n' "delivery client (lb_client, lb_http)" "$(field rate "$client_line")" \
  "$(field cpu_us_per_request "$client_line")"
if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
  before=()
  if lb_build_before "${BENCH_BEFORE:-$LB_BEFORE_CUTS}" "$build-before"; then
    before=(--before "$build-before/build")
  fi
  lb_say "the floor: instructions per delivered completion (callgrind; kafka-sandbox -> worker -> lms-sandbox)"
  python3 tests/bench/bench_cost.py "$build" "${BENCH_COST_EVENTS:-5000}" "${before[@]}"
else
  lb_say "the floor: valgrind is not installed, no instruction counts (apt-get install valgrind)"
fi
if [ "$floor_only" = 0 ]; then

lb_say "wrk: the same POST, 2 threads, 64 connections, 10 s"
token=$(curl -s -X POST "$base/t/wrk/oauth/token" \
  -d "grant_type=client_credentials&client_id=bench&client_secret=$BENCH_SECRET" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
BENCH_TOKEN=$token wrk -t2 -c64 -d10s -s tests/bench/wrk-completions.lua \
  "$base/t/wrk/api/v2/completions" | tee "$work/wrk.txt"
wrk_rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")

lb_say "summary"
printf '%-28s %12s %10s\n' "what" "requests/s" "vs wrk"
while read -r line; do
  k=$(sed -E 's/.*in_flight=([0-9]+).*/\1/' <<<"$line")
  r=$(sed -E 's/.*rate=([0-9]+).*/\1/' <<<"$line")
  printf '%-28s %12s %9.2fx\n' "client, $k in flight" "$r" "$(awk -v a="$r" -v b="$wrk_rate" 'BEGIN{print a/b}')"
done < "$work/client.txt"
printf '%-28s %12.0f %9.2fx\n' "wrk -t2 -c64" "$wrk_rate" 1

if [ "$real" = 1 ]; then
  lb_say "completion-worker end to end (Kafka -> worker -> lms-sandbox), kafka-sandbox and a real Apache Kafka"
  python3 scripts/lib/bench_engine.py "$build" "${BENCH_EVENTS:-20000}" "$wrk_rate" --real
else
  lb_say "completion-worker end to end (kafka-sandbox -> worker -> lms-sandbox)"
  lb_say "the real Kafka part is skipped ($why): no real/sandbox ratios"
  python3 scripts/lib/bench_engine.py "$build" "${BENCH_EVENTS:-20000}" "$wrk_rate"
fi
printf '%-28s %12.0f   (the same endpoint: the ratios above are to this rate)\n' "wrk -t2 -c64" "$wrk_rate"

lb_say "completion-worker at a steady load: completions/s and occurred_at-to-LMS latency"
python3 scripts/lib/bench_latency.py "$build" "${BENCH_RATE:-500}" "${BENCH_SECONDS:-15}"
if [ "$real" = 1 ]; then
  lb_say "the same steady load through a real Apache Kafka"
  LB_KAFKA=real python3 scripts/lib/bench_latency.py "$build" "${BENCH_RATE:-500}" \
    "${BENCH_SECONDS:-15}"
fi

lb_say "catalog-worker: a whole catalog to one SuccessFactors customer"
python3 scripts/lib/bench_catalog.py "$build" "${BENCH_CATALOG:-10000}"

lb_say "the cost of a delivered completion against its goals (docs/cost.md), this run's figures"
python3 scripts/lib/bench_summary.py "$BENCH_RESULTS" "$wrk_rate"
fi # floor_only
fi # scale_only
[ "$floor_only" = 1 ] && exit 0

lb_say "1,000 customers: 1, 100 and 1,000 integrations in one file, the state restore (kafka-sandbox, lms-sandbox)"
python3 tests/bench/bench_scale.py "$build" --sizes "${BENCH_SCALE_SIZES:-1,100,1000}"
