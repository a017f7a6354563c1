# Shared by the entry scripts: Debian packages and the build.
# shellcheck shell=bash

LB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Everything a fresh Debian 12 needs to build, test and demo lmsbridge.
LB_PACKAGES=(
  build-essential cmake pkg-config ca-certificates openssl
  librdkafka-dev libcurl4-openssl-dev libjson-c-dev libconfig-dev
  libmicrohttpd-dev libcmocka-dev uuid-dev
  kcat curl python3 python3-jsonschema python3-yaml systemd prometheus
  maven openjdk-17-jre-headless clang-format
  clang libclang-rt-dev
)
# clang alone (installed without its recommends, as here) cannot link
# -fsanitize=fuzzer or the sanitizers: libclang-rt-dev brings their runtimes
# (Debian 12: libclang-rt-14-dev, for clang 14). The fuzz targets need both
# (scripts/fuzz.sh, the fuzz tests of scripts/test.sh).
# node and npm run the real LRS in the tests (tests/lrs). A machine may have
# them from elsewhere (NodeSource's nodejs brings its own npm, which Debian's
# npm package would clash with): Debian's only when the commands are missing.
command -v node >/dev/null 2>&1 || LB_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || LB_PACKAGES+=(npm)

lb_say() { printf '==> %s\n' "$*" >&2; }

# Installs the packages of "$@" that are missing (apt-get, as root or via
# sudo); does nothing when all are there.
lb_ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { lb_say "need root or sudo to install: ${missing[*]}"; return 1; }
    sudo=(sudo)
  fi
  lb_say "installing missing packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# lb_build DIR [cmake args...] [-- targets...]: configure and build DIR
# (everything, or only the given targets).
lb_build() {
  local dir=$1; shift
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && { shift; targets=("$@"); }
  cmake -S "${LB_SRC:-$LB_ROOT}" -B "$dir" "${args[@]}" >/dev/null
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$(nproc)"
  fi
}

# The revision before the cuts of docs/cost.md: scripts/bench.sh counts
# its completion-worker's instructions beside this one's.
LB_BEFORE_CUTS=920503e

# lb_build_before REV DIR: completion-worker of git revision REV, its
# sources in DIR/src (git archive: the checkout is not touched) and its
# build in DIR/build, rebuilt when REV changes. False, saying why, when
# REV is not in this checkout's history (a copy without .git, say).
lb_build_before() {
  local rev=$1 dir=$2 id
  if ! id=$(git -C "$LB_ROOT" rev-parse -q --verify "$rev^{commit}" 2>/dev/null); then
    lb_say "no 'before' build: revision $rev is not in this checkout's history"
    return 1
  fi
  if [ "$(cat "$dir/rev" 2>/dev/null)" != "$id" ]; then
    rm -rf "$dir" && mkdir -p "$dir/src"
    git -C "$LB_ROOT" archive "$id" | tar -x -C "$dir/src"
    echo "$id" >"$dir/rev"
  fi
  lb_say "build of revision ${id:0:7} (before the cuts) in $dir/build"
  LB_SRC=$dir/src lb_build "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -- completion-worker \
    >/dev/null
}

# lb_need_real_kafka [HINT]: a real Apache Kafka runs with java, and is
# fetched once with mvn; says which is missing and exits 1 when one is
# (HINT: how to do without, default: leave --kafka real out).
lb_need_real_kafka() {
  local missing=() version cached hint=${1:-"or leave --kafka real out"}
  version=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import kafka_real as k
print(k.resolve_version(None))' "$LB_ROOT/tests/kafka-real")
  cached=$(python3 -c 'import os, sys; sys.path.insert(0, sys.argv[1]); import kafka_real as k
print(os.path.exists(os.path.join(k.cache_root(), sys.argv[2], "libs", ".complete")))' \
    "$LB_ROOT/tests/kafka-real" "$version")
  command -v java >/dev/null || missing+=("java (Debian package openjdk-17-jre-headless)")
  if [ "$cached" != True ] && ! command -v mvn >/dev/null; then
    missing+=("mvn (Debian package maven), to fetch Apache Kafka $version from Maven Central once")
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  lb_say "a real Kafka needs what this machine lacks:"
  printf '    %s\n' "${missing[@]}" >&2
  lb_say "install it (as root: apt-get install openjdk-17-jre-headless maven), $hint"
  exit 1
}

# lb_start_real_kafka DIR BOOTSTRAP_FILE TOPIC:PARTITIONS...: a single-node
# Apache Kafka (scripts/lib/real_kafka.py) in the background, fetched into
# the cache when missing, with the topics; returns once BOOTSTRAP_FILE
# holds its address (1 if it failed to start). Its pid: lb_real_kafka_pid;
# SIGTERM stops the broker (it stops too when this shell dies).
lb_start_real_kafka() {
  local dir=$1 boot=$2
  shift 2
  python3 "$LB_ROOT/scripts/lib/real_kafka.py" "$dir" "$boot" "$@" &
  lb_real_kafka_pid=$!
  until [ -s "$boot" ]; do
    if ! kill -0 "$lb_real_kafka_pid" 2>/dev/null; then
      lb_say "the real Kafka did not start (the reason is above)"
      return 1
    fi
    sleep 0.2
  done
}
