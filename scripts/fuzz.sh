#!/usr/bin/env bash
# The fuzz targets of tests/fuzz/ (docs/testing.md, "Fuzzing"), each for a
# while, one after another:
#   ./scripts/fuzz.sh [SECONDS [TARGET...]]   default 600 s each, every target
#                                             of tests/fuzz/targets.txt
# Builds them with clang and libFuzzer in build-fuzz/ (installing clang and
# its libFuzzer runtime when missing), then runs each
# (tests/fuzz/run_target.sh): over the repository's corpus and what earlier
# runs kept (build-fuzz/fuzz/corpus/<target>/), then fuzzing for SECONDS.
# Prints each target's executions, exec/s, coverage (libFuzzer's cov: edges,
# ft: features) and findings, saved in build-fuzz/fuzz/findings/<target>/
# (a finding enters the repository only once fixed, as a regression seed
# tests/fuzz/corpus/<target>/regress-*), then a table of all.
# Exit 0; 1 when a target found something; 2 on a usage error.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$LB_ROOT"

secs=${1:-600}
[ $# -gt 0 ] && shift
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
  echo "usage: ./scripts/fuzz.sh [SECONDS [TARGET...]]" >&2
  exit 2
fi
mapfile -t all < <(awk '/^[a-z]/ { print $1 }' tests/fuzz/targets.txt)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  if ! printf '%s\n' "${all[@]}" | grep -qx "$t"; then
    echo "fuzz: no target \"$t\"; the targets: ${all[*]}" >&2
    exit 2
  fi
done

lb_ensure_packages "${LB_PACKAGES[@]}"
lb_say "build the fuzz targets (clang, libFuzzer, ASan + UBSan) in build-fuzz/"
lb_build build-fuzz -DCMAKE_C_COMPILER=clang -DLB_FUZZ=ON -DLB_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -- lb_fuzz
if ! grep -q '^LB_HAVE_LIBFUZZER:INTERNAL=1' build-fuzz/CMakeCache.txt; then
  lb_say "clang cannot link libFuzzer here (the warning of the configure step above says why)"
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
lb_say "fuzzing ${#targets[@]} targets for $secs s each, one after another"
rc=0 lines=()
for t in "${targets[@]}"; do
  out=$(tests/fuzz/run_target.sh "$t" "build-fuzz/tests/fuzz/fuzz_$t" "$secs" build-fuzz/fuzz) ||
    rc=1
  printf '%s\n' "$out"
  lines+=("$(head -n 1 <<<"$out")")
done

# the table: "fuzz NAME: N executions in S s (X exec/s), cov C, ft F, corpus U inputs, findings K"
echo
printf '%-18s %14s %9s %6s %7s %8s %9s\n' target executions exec/s cov ft corpus findings
for l in "${lines[@]}"; do
  sed -E 's/^fuzz ([^:]+): ([^ ]+) executions in [^ ]+ s \(([^ ]+) exec\/s\), cov ([^,]+), ft ([^,]+), corpus ([^ ]+) inputs, findings (.*)$/\1 \2 \3 \4 \5 \6 \7/' <<<"$l" |
    awk '{ printf "%-18s %14s %9s %6s %7s %8s %9s\n", $1, $2, $3, $4, $5, $6, $7 }'
done
if [ $rc -ne 0 ]; then
  lb_say "findings above: each is saved under build-fuzz/fuzz/findings/<target>/, with the command that replays it"
fi
exit $rc
