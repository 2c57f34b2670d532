#!/usr/bin/env bash
# make bench: installs the benchmark's system tools (wrk, nginx, taskset) with apt-get when they are
# missing. wrk is required; nginx and taskset are optional (their absence is reported by the bench).
set -u
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v taskset >/dev/null || missing+=(util-linux)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo -n"
if command -v apt-get >/dev/null && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  echo "bench: installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "bench: apt-get could not install ${missing[*]}" >&2
else
  echo "bench: cannot install ${missing[*]} here (no apt-get, or not root and no passwordless sudo)." >&2
fi

if ! command -v wrk >/dev/null; then
  echo "bench: wrk is required. Install it (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk) and run make bench again." >&2
  exit 1
fi
command -v nginx >/dev/null || echo "bench: nginx unavailable: the nginx cases will be skipped (Debian/Ubuntu: apt-get install nginx)." >&2
command -v taskset >/dev/null || echo "bench: taskset unavailable: processes will not be pinned to CPUs (it is in util-linux)." >&2
exit 0
