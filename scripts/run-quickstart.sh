#!/usr/bin/env bash
# `make run`: the demo origin on 127.0.0.1:9000 and rampart on examples/quickstart.yaml
# (listener 127.0.0.1:8080, admin 127.0.0.1:9901). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/release/rampart
"$BIN" demo-origin --listen 127.0.0.1:9000 &
ORIGIN=$!
trap 'kill "$ORIGIN" 2>/dev/null || true; wait "$ORIGIN" 2>/dev/null || true' EXIT
cat <<MSG

  rampart is starting on http://127.0.0.1:8080 (admin on http://127.0.0.1:9901)
  try:  curl -i http://127.0.0.1:8080/hello
        curl -i http://127.0.0.1:8080/limited     (a few times: 429 after the burst of 3)
        curl -s http://127.0.0.1:9901/metrics | head
  Ctrl-C to stop.

MSG
"$BIN" run -c examples/quickstart.yaml
