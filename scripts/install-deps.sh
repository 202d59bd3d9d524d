#!/usr/bin/env bash
# Installs every Debian package that rampart's build, tests and benchmarks need.
# Idempotent: installs only what is missing; runs `apt-get update` only when needed.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
  # libraries
  libboost1.81-dev libssl-dev libnghttp2-dev libyaml-cpp-dev libsimdjson-dev libhiredis-dev
  libpcre2-dev libvectorscan-dev libxml2-dev libcli11-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # test and benchmark peers
  redis-server redis-tools curl openssl nginx haproxy wrk libmodsecurity-dev libnginx-mod-http-modsecurity nghttp2-client nghttp2-server python3-h2 hyperfine
  procps iproute2 util-linux python3 python3-cryptography
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Update the package lists unless they were refreshed in the last day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
  $SUDO apt-get update -qq
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian nginx and redis packages start system services; rampart's tests and benchmarks
# start their own instances on their own ports, so stop the system ones when we just installed them.
for svc in nginx redis-server; do
  if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
done
