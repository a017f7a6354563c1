#!/usr/bin/env bash
# The main job on this machine: the Kafka sandbox, the LMS sandbox (Degreed
# and SuccessFactors tenants), both workers, the provider's sample catalog
# and learners' completions; prints what each LMS received and what was
# dead-lettered, fixes the causes in the LMS and replays the dead letters
# with dlq-replay, and shows how the workers stopped.
#
#   ./scripts/demo.sh [--kafka sandbox|real]
#
# --kafka real: the same demo on a real Apache Kafka (one node of the
# pinned 4.x release, or LB_KAFKA_VERSION), fetched from Maven Central into
# ~/.cache/lmsbridge/kafka when missing and run with java; started and
# stopped by this script. LB_BUILD_DIR: the build directory (default build).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$LB_ROOT"

kafka=sandbox
while [ $# -gt 0 ]; do
  case "$1" in
    --kafka) kafka=${2:-}; shift 2 || true ;;
    --kafka=*) kafka=${1#--kafka=}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) lb_say "unknown argument: $1 (usage: $0 [--kafka sandbox|real])"; exit 2 ;;
  esac
done
case "$kafka" in
  sandbox|real) ;;
  *) lb_say "--kafka takes sandbox or real, not '$kafka'"; exit 2 ;;
esac
build=${LB_BUILD_DIR:-build}

lb_ensure_packages "${LB_PACKAGES[@]}"
[ "$kafka" = real ] && lb_need_real_kafka
lb_say "build in $build/"
lb_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -- catalog-worker completion-worker \
  dlq-replay kafka-sandbox lms-sandbox >/dev/null

work=$(mktemp -d /tmp/lmsbridge-demo.XXXXXX)
pids=()
# Stops what runs, the last started first (workers before the brokers they
# drain to), each waited for: nothing is left running, however this ends.
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Demo credentials (the sandbox's; real ones come from a secret store).
export PROVIDER_DEGREED_SECRET=demo-provider-secret ACME_DEGREED_SECRET=demo-acme-secret \
       GLOBEX_SF_SECRET=demo-globex-secret

topics=(catalog-events:4 catalog-events.retry:4 catalog-events.dlq:1 catalog-events.state:4
        completion-events:4 completion-events.retry:4 completion-events.dlq:1)
if [ "$kafka" = real ]; then
  lb_say "Apache Kafka, one node on loopback (tests/kafka-real/kafka_real.py)"
  lb_start_real_kafka "$work/kafka" "$work/bootstrap" "${topics[@]}"
  pids+=("$lb_real_kafka_pid")
else
  lb_say "kafka-sandbox (librdkafka mock cluster)"
  targs=(); for t in "${topics[@]}"; do targs+=(--topic "$t"); done
  "$build"/tests/sandbox/kafka/kafka-sandbox --brokers 3 "${targs[@]}" \
    --bootstrap-file "$work/bootstrap" 2>"$work/kafka.log" &
  pids+=($!)
fi
lb_say "lms-sandbox (Degreed + SuccessFactors)"
cat > "$work/lms.json" <<JSON
{"tenants": [
  {"name": "provider", "degreed": {"clients": [{"client_id": "provider-client", "client_secret": "$PROVIDER_DEGREED_SECRET"}],
                                   "rate_limit_per_minute": 600}},
  {"name": "acme", "degreed": {"clients": [{"client_id": "acme-client", "client_secret": "$ACME_DEGREED_SECRET"}],
                               "users": ["ann@acme.example", "bob@acme.example"]}},
  {"name": "globex", "sf": {"company_id": "GLOBEX", "client_id": "GLOBEX", "client_secret": "$GLOBEX_SF_SECRET",
                            "admin_users": ["ocn_admin"],
                            "users": [{"userID": "GINA01", "active": true}, {"userID": "GUS02", "active": false}]}}]}
JSON
"$build"/tests/sandbox/lms/lms-sandbox --listen 127.0.0.1:0 --config "$work/lms.json" \
  --ready-file "$work/lms.ready" 2>"$work/lms.log" &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/bootstrap" ] && [ -s "$work/lms.ready" ] && break; sleep 0.05; done
brokers=$(cat "$work/bootstrap")
lms=$(cat "$work/lms.ready")

# One configuration per worker, pointed at the sandboxes.
write_config() { # worker topic listen integrations
  cat > "$work/$1.conf" <<CONF
kafka: { brokers = "$brokers"; topics = ["$2"];
         properties = ( ["session.timeout.ms", "6000"], ["heartbeat.interval.ms", "500"] ); };
provider: { code = "datacamp"; ocn_provider_id = "DATACAMP";
            logo_url = "https://assets.datacamp.com/logo.png";
            thumbnails = { python = "https://assets.datacamp.com/python.png";
                           r = "https://assets.datacamp.com/r.png";
                           sql = "https://assets.datacamp.com/sql.png"; }; };
delivery: { backoff_initial_ms = 200; backoff_max_ms = 5000; };
observability: { listen = "$3"; log_level = "info"; };
integrations = ( $4 );
CONF
}
degreed() { # id tenant organization client secret_env extra
  echo "{ id = \"$1\"; type = \"degreed\"; organization = \"$3\"; api_base_url = \"$lms/t/$2\";
          token_url = \"$lms/t/$2/oauth/token\"; client_id = \"$4\"; client_secret = \"@env:$5\";
          rate_limit_per_minute = 600; $6 }"
}
sf="{ id = \"globex-sf\"; type = \"successfactors\"; organization = \"globex\";
      base_url = \"$lms/t/globex\"; company_id = \"GLOBEX\"; admin_user = \"ocn_admin\";
      client_id = \"GLOBEX\"; client_secret = \"@env:GLOBEX_SF_SECRET\";
      catalog = { public = true; custom_tracks = true; types = [\"course\", \"project\", \"assessment\"]; };
      user_identifier = \"sso_nameid\"; min_post_interval_s = 0; batch_linger_ms = 500; }"
write_config catalog-worker catalog-events 127.0.0.1:9464 \
  "$(degreed provider-degreed provider '*' provider-client PROVIDER_DEGREED_SECRET ''),
   $(degreed acme-degreed acme acme acme-client ACME_DEGREED_SECRET ''), $sf"
write_config completion-worker completion-events 127.0.0.1:9465 \
  "$(degreed acme-degreed acme acme acme-client ACME_DEGREED_SECRET ''), $sf"

lb_say "catalog-worker and completion-worker"
"$build"/workers/catalog-worker/catalog-worker --config "$work/catalog-worker.conf" 2>"$work/catalog-worker.log" &
cat_pid=$!; pids+=($cat_pid)
"$build"/workers/completion-worker/completion-worker --config "$work/completion-worker.conf" 2>"$work/completion-worker.log" &
comp_pid=$!; pids+=($comp_pid)

consumed() { # port topic
  curl -s "http://127.0.0.1:$1/metrics" | awk -v t="$2" '$1 == "lmsbridge_events_consumed_total{topic=\""t"\"}" {print $2}'
}
inflight() { # port
  curl -s "http://127.0.0.1:$1/metrics" | awk '$1 == "lmsbridge_inflight" {print $2}'
}
# Every event consumed and nothing left to deliver (OCN courses waiting in
# their batch count as in flight). The in-flight gauge is refreshed once a
# second: it is trusted only from 1.5 s after the last event was consumed,
# or the completions could overtake a catalog batch not yet posted.
wait_consumed() { # port topic count
  local since=
  for _ in $(seq 600); do
    if [ "$(consumed "$1" "$2")" = "$3" ]; then
      since=${since:-$(date +%s%N)}
      [ $(( ($(date +%s%N) - since) / 1000000 )) -ge 1500 ] && [ "$(inflight "$1")" = "0" ] && return 0
    fi
    sleep 0.1
  done
  lb_say "timed out waiting for $2"; return 1
}

lb_say "producing the provider's catalog"
python3 scripts/lib/demo_events.py catalog > "$work/catalog.tsv"
kcat -b "$brokers" -t catalog-events -P -K $'\t' -l "$work/catalog.tsv"
wait_consumed 9464 catalog-events "$(wc -l < "$work/catalog.tsv")"
lb_say "producing learners' completions"
python3 scripts/lib/demo_events.py completions > "$work/completions.tsv"
kcat -b "$brokers" -t completion-events -P -K $'\t' -l "$work/completions.tsv"
wait_consumed 9465 completion-events "$(wc -l < "$work/completions.tsv")"
sleep 1

lb_say "what each LMS holds now, and the dead letters"
python3 scripts/lib/demo_report.py "$lms" "$brokers" "$work/completion-worker.log"

lb_say "support: find the dead letters, fix the cause in the LMS, replay (dlq-replay)"
python3 scripts/lib/demo_replay.py --lms "$lms" --lms-config "$work/lms.json" \
  --dlq-replay "$build/workers/dlq-replay/dlq-replay" --brokers "$brokers" \
  "$work/completion-worker.conf" "$work/catalog-worker.conf"

lb_say "stopping the workers (SIGTERM)"
kill -TERM "$cat_pid" "$comp_pid"
rc=0
wait "$cat_pid" || rc=$?
echo "  catalog-worker exited $rc"
wait "$comp_pid" || rc=$?
echo "  completion-worker exited $rc"
lb_say "logs and configurations: $work"
exit "$rc"
