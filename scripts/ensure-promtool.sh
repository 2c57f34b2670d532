#!/usr/bin/env bash
# Makes `promtool` (Prometheus' metrics linter) available for the metrics tests: installs the
# Debian package `prometheus` when it is missing and we may. Exit 0 = promtool on PATH; exit 1 =
# it cannot be had here (the reason on stderr; the test then skips that one assertion, loudly).
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "promtool not found: installing the Debian package 'prometheus'" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package's service must not start inside a container or CI job: policy-rc.d 101 = deny.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  status=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; } >/dev/null 2>&1 || status=$?
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$status" = 0 ] && command -v promtool >/dev/null 2>&1; then exit 0; fi
  echo "could not install the Debian package 'prometheus' (apt-get exit $status): promtool unavailable" >&2
  exit 1
fi
echo "promtool not found and cannot be installed here (needs root and apt-get): install Prometheus' promtool (Debian/Ubuntu: apt-get install prometheus; macOS: brew install prometheus)" >&2
exit 1
