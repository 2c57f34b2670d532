#!/usr/bin/env bash
# Renders the Kubernetes/OpenShift config from its template: PLACEHOLDER_HASH_TO_BE_REPLACED becomes
# the SHA-256 of the public key file (what plugins.public_key_hash must hold).
# Usage: scripts/render-k8s-config.sh <template> <public-key> <output>
set -euo pipefail

usage="usage: $0 <template.yaml> <ed25519_public.key> <output.yaml>"
case "${1:-}" in
  -h | --help) echo "$usage"; exit 0 ;;
esac
[ "$#" -eq 3 ] || { echo "$usage" >&2; exit 2; }
template="$1"
public_key="$2"
output="$3"

[ -f "$template" ] || { echo "template not found: $template" >&2; exit 1; }
[ -f "$public_key" ] || { echo "public key not found: $public_key (run: make generate-prod-keys)" >&2; exit 1; }
grep -q PLACEHOLDER_HASH_TO_BE_REPLACED "$template" \
  || { echo "$template has no PLACEHOLDER_HASH_TO_BE_REPLACED to fill" >&2; exit 1; }

# sha256sum (GNU coreutils) or shasum (macOS); the same value as `plugin-signer hash`.
if command -v sha256sum >/dev/null 2>&1; then
  hash="$(sha256sum "$public_key" | cut -d' ' -f1)"
else
  hash="$(shasum -a 256 "$public_key" | cut -d' ' -f1)"
fi
case "$hash" in
  *[!0-9a-f]* | "") echo "could not hash $public_key" >&2; exit 1 ;;
esac
[ "${#hash}" -eq 64 ] || { echo "could not hash $public_key" >&2; exit 1; }

mkdir -p "$(dirname "$output")"
# Written beside the target and renamed: a reader never sees half a config.
tmp="$(mktemp "$output.XXXXXX")"
sed "s/PLACEHOLDER_HASH_TO_BE_REPLACED/$hash/g" "$template" >"$tmp"
mv "$tmp" "$output"
echo "wrote $output (public_key_hash $hash)"
