#!/usr/bin/env bash
# run_target.sh NAME PROGRAM SECONDS WORKDIR: runs the libFuzzer program of
# fuzz target NAME (tests/fuzz/targets.txt) over its corpus in the
# repository (corpus/NAME) and what earlier runs found (WORKDIR/corpus/NAME,
# where new inputs go), then fuzzes for SECONDS with its dictionary.
# What breaks it is saved in WORKDIR/findings/NAME/, libFuzzer's output in
# WORKDIR/logs/NAME.log. Prints one line:
#   fuzz NAME: N executions in S s (X exec/s), cov C, ft F, corpus U inputs, findings K
# then each finding. Exit 0; 1 on a finding (the end of the log printed
# too), or when libFuzzer failed otherwise; 2 on a usage error.
# Used by ctest (the fuzz_NAME tests) and scripts/fuzz.sh.
set -uo pipefail
if [ $# -ne 4 ]; then
  echo "usage: run_target.sh NAME PROGRAM SECONDS WORKDIR" >&2
  exit 2
fi
name=$1 prog=$2 secs=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
dict=$(awk -v n="$name" '$1 == n { print $3 }' "$here/targets.txt")
if [ -z "$dict" ] || [ ! -d "$here/corpus/$name" ]; then
  echo "run_target: no target \"$name\" (targets.txt, corpus/$name)" >&2
  exit 2
fi
corpus=$work/corpus/$name findings=$work/findings/$name log=$work/logs/$name.log
mkdir -p "$corpus" "$findings" "$work/logs"
mark=$work/logs/$name.start
: >"$mark"

args=(-max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$findings/")
[ "$dict" != - ] && args+=(-dict="$here/dict/$dict.dict")
"$prog" "${args[@]}" "$corpus" "$here/corpus/$name" >"$log" 2>&1 </dev/null
rc=$?

# libFuzzer's figures: the final stats, and the last status line's
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
status=$(grep -E '^#[0-9]+[[:space:]]+(INITED|NEW|REDUCE|pulse|DONE|RELOAD)' "$log" | tail -1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
units=$(find "$corpus" "$here/corpus/$name" -type f | wc -l)
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
mapfile -t found < <(find "$findings" -type f -newer "$mark" \
  \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)

printf 'fuzz %s: %s executions in %s s (%s exec/s), cov %s, ft %s, corpus %s inputs, findings %d\n' \
  "$name" "${execs:-?}" "${took:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units" "${#found[@]}"
for f in "${found[@]}"; do
  echo "  finding: $f (replay: $prog $f)"
done
if [ ${#found[@]} -gt 0 ] || [ $rc -ne 0 ]; then
  [ ${#found[@]} -eq 0 ] && echo "  libFuzzer exited with $rc and saved nothing:"
  echo "  the end of $log:"
  tail -n 40 "$log" | sed 's/^/    /'
  exit 1
fi
exit 0
