#!/usr/bin/env bash
# The RAMPART_CMD of ../shared/bench/peers.sh: writes a config comparable to the peers' (one
# worker, upstream keep-alive, no access log) from the harness's environment and runs rampart in
# the foreground.
set -euo pipefail
cfg=$(mktemp /tmp/rampart-peers-XXXX.yaml)
cat > "$cfg" <<YAML
workers: 1
listeners:
  - name: bench
    address: 127.0.0.1:${RAMPART_PORT:-19003}
    limits: { idle_timeout: 65s, header_timeout: 10s }
routes:
  - name: all
    upstream: origin
upstreams:
  origin:
    endpoints: [${RAMPART_UPSTREAM:-127.0.0.1:19000}]
    keepalive: { max_idle: 128, idle_timeout: 60s }
access_log: { enabled: false }
admin: { address: 127.0.0.1:${RAMPART_ADMIN_PORT:-19903} }
YAML
exec "${RAMPART_BIN:-build/release/rampart}" run -c "$cfg"
