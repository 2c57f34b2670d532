#!/usr/bin/env bash
# Installs shellcheck (Debian package) when it is missing: the tests lint the deployment scripts.
set -euo pipefail
command -v shellcheck >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "shellcheck not found: installing the Debian package 'shellcheck'"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
else
  echo "shellcheck is needed by the tests: install it (Debian/Ubuntu: apt-get install shellcheck; macOS: brew install shellcheck)" >&2
  exit 1
fi
