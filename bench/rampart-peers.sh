#!/usr/bin/env bash
# The RAMPART_CMD of ../shared/bench/peers.sh: writes a config comparable to the peers' (one
# worker, upstream keep-alive, no access log) from the harness's environment and runs rampart in
# the foreground.
set -euo pipefail
cfg=$(mktemp /tmp/rampart-peers-XXXX.yaml)
tls_listeners=""
tls_listener() { # name port [extra tls keys]
  tls_listeners+="
  - name: $1
    address: 127.0.0.1:$2
    limits: { idle_timeout: 65s, header_timeout: 10s }
    tls: { cert: ${RAMPART_TLS_CERT}, key: ${RAMPART_TLS_KEY}, min_version: \"1.2\"${3:+, $3} }"
}
if [ -n "${RAMPART_TLS_PORT:-}" ]; then tls_listener bench_tls "$RAMPART_TLS_PORT"; fi
if [ -n "${RAMPART_TLS_FULL_PORT:-}" ]; then
  tls_listener bench_tls_full "$RAMPART_TLS_FULL_PORT" "session_tickets: false"
fi
cat > "$cfg" <<YAML
workers: 1
listeners:
  - name: bench
    address: 127.0.0.1:${RAMPART_PORT:-19003}
    limits: { idle_timeout: 65s, header_timeout: 10s }${tls_listeners}
routes:
  - name: all
    upstream: origin
upstreams:
  origin:
    endpoints: [${RAMPART_UPSTREAM:-127.0.0.1:19000}]
    keepalive: { idle_timeout: 60s }  # max_idle at its default: the pool follows the peak
access_log: { enabled: false }
admin: { address: 127.0.0.1:${RAMPART_ADMIN_PORT:-19903} }
YAML
exec "${RAMPART_BIN:-build/release/rampart}" run -c "$cfg"
