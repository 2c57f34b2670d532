#!/usr/bin/env bash
# Starts the demo backend in the background and Dito in the foreground on bin/config.yaml.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${CONFIG:-bin/config.yaml}"
BACKEND_PORT="${DEMO_BACKEND_PORT:-9000}"

node demo/backend.mjs "$BACKEND_PORT" &
backend=$!
cleanup() { kill "$backend" 2>/dev/null || true; wait "$backend" 2>/dev/null || true; }
trap cleanup EXIT

cat <<MSG

  Dito is starting on http://localhost:8081 with $CONFIG. Try:
    curl -s localhost:8081/api/hello            # proxied to the echo backend
    curl -si localhost:8081/hello               # through the signed hello-plugin (X-Hello header)
    curl -s localhost:8081/status               # replace_path: fixed upstream path
    curl -sN localhost:8081/stream              # streamed response
    curl -s localhost:8081/too-big              # 413 JSON: response over the location's limit
    curl -si localhost:8081/cached | grep -i x-cache   # MISS, then HIT
    for i in 1 2 3 4 5 6; do curl -so /dev/null -w '%{http_code} ' localhost:8081/limited; done  # 200 x5, 429
    curl -s localhost:8081/readyz               # readiness
    curl -s localhost:8081/metrics | head       # Prometheus metrics
  Edit $CONFIG and save: hot reload applies it. Ctrl-C stops Dito and the backend.

MSG
# bin/dito carries the Node flags and malloc setting every launcher uses (docs/operations.md#memory).
bin/dito -f "$CONFIG"
