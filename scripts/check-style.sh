#!/usr/bin/env bash
# The style checks, each also a ctest test (label "style"):
#   format     every tracked .c/.h file is as clang-format (.clang-format) writes it
#   boundary   the engine and the delivery client name no LMS (lb_connector.h)
#   names      every name a common/ header declares is its module's
#
#   ./scripts/check-style.sh [format|boundary|names]...   (default: all)
#
# Exit 0 when all hold; 1 with what breaks them. Needs clang-format
# (Debian package clang-format) for `format`: 77 (skipped) without it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
checks=("$@")
[ ${#checks[@]} -eq 0 ] && checks=(format boundary names)
rc=0
for c in "${checks[@]}"; do
  case "$c" in
    format)
      if ! command -v clang-format >/dev/null; then
        echo "check-style: clang-format is missing (apt-get install clang-format): format not checked" >&2
        [ ${#checks[@]} -eq 1 ] && exit 77
        continue
      fi
      # git ls-files: what is committed or staged; a plain copy of the tree
      # (no .git) is checked by find
      if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        mapfile -t files < <(git ls-files '*.c' '*.h')
      else
        mapfile -t files < <(find common workers tests -name '*.[ch]' | sort)
      fi
      if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/check-style.$$; then
        awk '/^[^ ].*: (error|warning):/ && n++ < 40' /tmp/check-style.$$ >&2
        n=$(awk '/^[^ ].*: (error|warning):/ { n++ } END { print n + 0 }' /tmp/check-style.$$)
        echo "check-style: $n places differ from .clang-format; run: clang-format -i \$(git ls-files '*.c' '*.h')" >&2
        rc=1
      else
        echo "check-style: ${#files[@]} C files as .clang-format writes them"
      fi
      rm -f /tmp/check-style.$$
      ;;
    boundary) python3 tests/style/check_connector_boundary.py --source-dir "$root" || rc=1 ;;
    names) python3 tests/style/check_names.py --source-dir "$root" || rc=1 ;;
    *) echo "check-style: unknown check $c (format, boundary or names)" >&2; exit 2 ;;
  esac
done
exit $rc
