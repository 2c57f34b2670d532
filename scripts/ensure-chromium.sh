#!/usr/bin/env bash
# Makes Debian's `chromium` available for the dashboard's browser test (playwright-core drives it;
# it never downloads a browser of its own). Installs it with apt-get when missing and the machine
# allows it (root and apt-get). Prints the executable's path on success; on failure prints the
# reason on stderr and exits 1, so the test can skip loudly instead of passing silently.
set -euo pipefail
for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is not installed and apt-get is not available" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is not installed and installing it needs root (apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Serialise concurrent installs (two test files may ask at once).
exec 9>/tmp/dito-ensure-chromium.lock
flock 9
if [ ! -x /usr/bin/chromium ]; then
  {
    apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
  } >/tmp/dito-ensure-chromium.log 2>&1 || {
    echo "apt-get install chromium failed (log: /tmp/dito-ensure-chromium.log)" >&2
    tail -n 5 /tmp/dito-ensure-chromium.log >&2 || true
    exit 1
  }
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium was installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo /usr/bin/chromium
