#!/usr/bin/env bash
# Installs redis-server (Debian package) when it is missing; the tests start their own instances.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing the Debian package 'redis-server'"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
else
  echo "redis-server is needed by the tests: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)" >&2
  exit 1
fi
