# Shared by the entry scripts: Debian packages and the build.
# shellcheck shell=bash

LB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Everything a fresh Debian 12 needs to build, test and demo lmsbridge.
LB_PACKAGES=(
  build-essential cmake pkg-config ca-certificates openssl
  librdkafka-dev libcurl4-openssl-dev libjson-c-dev libconfig-dev
  libmicrohttpd-dev libcmocka-dev uuid-dev
  kcat curl python3 python3-jsonschema python3-yaml systemd prometheus
  maven openjdk-17-jre-headless
)

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
  cmake -S "$LB_ROOT" -B "$dir" "${args[@]}" >/dev/null
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$(nproc)"
  fi
}
