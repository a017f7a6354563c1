#!/usr/bin/env bash
# The main job on the local machine. Today: builds lmsbridge, validates the
# example configurations and shows, with --map, what each integration of
# the example configuration would receive for the example events (no Kafka,
# no network). Later issues make it run the daemons against the Kafka and
# LMS sandboxes.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$LB_ROOT"

lb_ensure_packages "${LB_PACKAGES[@]}"
lb_say "build in build/"
lb_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -- catalog-worker completion-worker >/dev/null

# Stand-in credentials for the example configurations.
. deploy/examples/example.env
CAT=build/workers/catalog-worker/catalog-worker
COMP=build/workers/completion-worker/completion-worker

lb_say "catalog-worker --check-config (secrets are shown by reference only)"
"$CAT" --config deploy/examples/catalog-worker.conf --check-config

show() { # worker config example-file
  lb_say "$(basename "$1") --map $3"
  "$1" --config "$2" --map "$3" | python3 scripts/lib/show_map.py
}

for f in catalog-project-upserted catalog-assessment-upserted catalog-course-archived \
         catalog-custom-track-upserted; do
  show "$CAT" deploy/examples/catalog-worker.conf "schemas/examples/valid/$f.json"
done
for f in completion-course-duration completion-assessment-score-skills completion-skipped; do
  show "$COMP" deploy/examples/completion-worker.conf "schemas/examples/valid/$f.json"
done
show "$CAT" deploy/examples/catalog-worker.conf schemas/examples/invalid/catalog-url-http.json
lb_say "demo done"
