#!/usr/bin/env bash
# Runs every compiled test file with node's test runner on the given node binary.
# Usage: scripts/run-tests.sh [node-binary] [file-filter-regex]
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN="${1:-node}"
FILTER="${2:-${TEST_FILTER:-}}"
if ! command -v redis-server >/dev/null 2>&1; then
  bash scripts/ensure-redis.sh
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  # Not fatal here: the deployment tests then fail with the reason.
  bash scripts/ensure-shellcheck.sh || true
fi
mapfile -t files < <(find dist/test -name '*.test.js' | sort | { if [ -n "$FILTER" ]; then grep -E "$FILTER"; else cat; fi; })
if [ ${#files[@]} -eq 0 ]; then echo "no test files match '${FILTER}'" >&2; exit 1; fi
echo "running ${#files[@]} test files on $("$NODE_BIN" --version)"
exec "$NODE_BIN" --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
