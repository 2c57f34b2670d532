#!/usr/bin/env bash
# Deploys Dito to OpenShift: production keys and signed plugins (on this machine; the private key
# never leaves it), the rendered config as a ConfigMap, the PUBLIC key as a Secret, Redis, and the
# production manifests in deployments/openshift/. See docs/deployment.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OC="${OC:-oc}"
MAKE="${MAKE:-make}"
PROD_KEYS_DIR="${PROD_KEYS_DIR:-$HOME/.dito/keys}"
K8S_CONFIG="${K8S_CONFIG:-$REPO_ROOT/configs/config-prod-k8s.yaml}"
TEMPLATE="$REPO_ROOT/configs/templates/application.yaml"
MANIFESTS="$REPO_ROOT/deployments/openshift"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"

namespace="dito"
version=""
image=""
force_keys=false
config_only=false
deploy_only=false
dev=false
with_redis=true
build_image=false
dry_run=false

usage() {
  cat <<USAGE
Usage: scripts/deploy-ocp.sh [options]

Deploys Dito to the OpenShift project NAMESPACE with the \`oc\` client (logged in beforehand).

Options:
  -n, --namespace NAME  OpenShift project (default: dito; created when missing)
  -v, --version TAG     image tag to deploy (default: the version in package.json)
  -i, --image REPO      image repository without tag
                        (default: image-registry.openshift-image-registry.svc:5000/NAMESPACE/dito)
  -f, --force-keys      new production key pair (the old pair is moved aside, never deleted), plugins
                        signed again; the image must then be rebuilt (-b) since it carries the plugins
  -c, --config-only     keys, config and Secret/ConfigMap only; no deployment
  -d, --deploy-only     skip keys and config: apply the manifests and roll out
  -b, --build           build the image (make docker-build) and push it; needs a container engine
      --dev             development keys (keys/ in the checkout) and a single replica
      --no-redis        do not deploy Redis (the config points at an existing one)
      --dry-run         print the commands that change anything instead of running them
  -h, --help            this help

Environment:
  PROD_KEYS_DIR  production keys (default: ~/.dito/keys; never inside the repository)
  K8S_CONFIG     rendered config (default: configs/config-prod-k8s.yaml)
  OC             OpenShift client (default: oc); ROLLOUT_TIMEOUT (default: 300s)

Examples:
  scripts/deploy-ocp.sh                       # keys if absent, config, deploy to project "dito"
  scripts/deploy-ocp.sh -n my-dito -v 0.2.0   # another project, a given image tag
  scripts/deploy-ocp.sh -c                    # update the config only (pods roll on the next deploy)
USAGE
}

die() {
  echo "deploy-ocp: $*" >&2
  exit 1
}

log() {
  echo "==> $*"
}

# SHA-256 hex of a file: sha256sum (GNU coreutils) or shasum (macOS).
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Runs a command, or prints it under --dry-run.
run() {
  if "$dry_run"; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# `oc create ... --dry-run=client -o yaml | oc apply -f -`: create or replace, idempotently.
apply_generated() {
  if "$dry_run"; then
    printf '+'
    printf ' %q' "$OC" "$@" --dry-run=client -o yaml
    printf ' | %q apply -n %q -f -\n' "$OC" "$namespace"
  else
    "$OC" "$@" --dry-run=client -o yaml | "$OC" apply -n "$namespace" -f -
  fi
}

parse_args() {
  while [ "$#" -gt 0 ]; do
    case "$1" in
      -n | --namespace)
        [ "$#" -ge 2 ] || die "$1 needs a value"
        namespace="$2"
        shift 2
        ;;
      -v | --version)
        [ "$#" -ge 2 ] || die "$1 needs a value"
        version="$2"
        shift 2
        ;;
      -i | --image)
        [ "$#" -ge 2 ] || die "$1 needs a value"
        image="$2"
        shift 2
        ;;
      -f | --force-keys) force_keys=true; shift ;;
      -c | --config-only) config_only=true; shift ;;
      -d | --deploy-only) deploy_only=true; shift ;;
      -b | --build) build_image=true; shift ;;
      --dev) dev=true; shift ;;
      --no-redis) with_redis=false; shift ;;
      --dry-run) dry_run=true; shift ;;
      -h | --help)
        usage
        exit 0
        ;;
      *)
        usage >&2
        die "unknown option: $1"
        ;;
    esac
  done
  if "$config_only" && "$deploy_only"; then die "-c (config only) and -d (deploy only) exclude each other"; fi
  if "$deploy_only" && "$force_keys"; then die "-d (deploy only) skips keys: it cannot be combined with -f"; fi
  [[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "invalid namespace: $namespace"
  if [ -z "$version" ]; then
    version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO_ROOT/package.json" | head -n 1)"
    [ -n "$version" ] || die "cannot read the version from package.json: pass -v"
  fi
  [[ "$version" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid image tag: $version"
  [ -n "$image" ] || image="image-registry.openshift-image-registry.svc:5000/$namespace/dito"
}

check_client() {
  "$dry_run" && return 0
  command -v "$OC" >/dev/null 2>&1 || die "'$OC' not found: install the OpenShift client (oc) and log in"
  "$OC" whoami >/dev/null 2>&1 || die "not logged in: run '$OC login <cluster>' first"
}

# Key pair and signed plugins. Development uses the checkout's keys/; production PROD_KEYS_DIR.
prepare_keys() {
  if "$dev"; then
    keys_dir="$REPO_ROOT/keys"
    log "development keys in $keys_dir; signing the plugins"
    run "$MAKE" -C "$REPO_ROOT" sign-plugins
    return 0
  fi
  keys_dir="$PROD_KEYS_DIR"
  if "$force_keys" && [ -e "$keys_dir/ed25519_private.key" ]; then
    local backup
    backup="$keys_dir/replaced-$(date +%Y%m%d-%H%M%S)"
    log "moving the current production key pair to $backup"
    run mkdir -p "$backup"
    run mv "$keys_dir/ed25519_private.key" "$keys_dir/ed25519_public.key" "$backup/"
  fi
  log "production keys in $keys_dir (created only if absent); signing the plugins"
  run "$MAKE" -C "$REPO_ROOT" sign-plugins-prod "PROD_KEYS_DIR=$keys_dir"
  if "$force_keys" && ! "$build_image"; then
    echo "note: the plugins were signed with a new key: rebuild and push the image (-b) before pods restart" >&2
  fi
}

config_and_secrets() {
  local public_key="$keys_dir/ed25519_public.key"
  log "rendering $K8S_CONFIG from the template"
  run "$REPO_ROOT/scripts/render-k8s-config.sh" "$TEMPLATE" "$public_key" "$K8S_CONFIG"
  log "ConfigMap dito-config and Secret dito-plugin-public-key (public key only) in $namespace"
  apply_generated create configmap dito-config "--from-file=config.yaml=$K8S_CONFIG"
  apply_generated create secret generic dito-plugin-public-key "--from-file=ed25519_public.key=$public_key"
}

# production-deployment.yaml with the image reference and the config hash filled in.
render_manifest() {
  local config_hash="$1"
  sed -e "s#^\([[:space:]]*image: \).*/dito:latest\$#\1$image:$version#" \
    -e "s#dito/config-sha256: \"\"#dito/config-sha256: \"$config_hash\"#" \
    "$MANIFESTS/production-deployment.yaml"
}

build_and_push() {
  log "building and pushing $image:$version"
  run "$MAKE" -C "$REPO_ROOT" docker-build "IMAGE=$image" "VERSION=$version"
  run docker push "$image:$version"
}

deploy() {
  if "$with_redis"; then
    log "Redis (dito-redis)"
    run "$OC" apply -n "$namespace" -f "$MANIFESTS/redis.yaml"
  fi
  local config_hash=""
  # A changed config changes the pod template, so the pods roll (hot_reload is off in the cluster).
  if [ -f "$K8S_CONFIG" ]; then config_hash="$(sha256_of "$K8S_CONFIG")"; fi
  log "Dito manifests, image $image:$version, config ${config_hash:-unchanged}"
  # Image and config hash go into the manifest before it is applied: one rollout, not two.
  if "$dry_run"; then
    echo "+ (production-deployment.yaml with image $image:$version) | $OC apply -n $namespace -f -"
  else
    render_manifest "$config_hash" | "$OC" apply -n "$namespace" -f -
  fi
  if "$dev"; then
    run "$OC" patch -n "$namespace" hpa/dito --type=merge -p '{"spec":{"minReplicas":1}}'
    run "$OC" scale -n "$namespace" deployment/dito --replicas=1
  fi
  log "waiting for the rollout (up to $ROLLOUT_TIMEOUT)"
  run "$OC" rollout status -n "$namespace" deployment/dito "--timeout=$ROLLOUT_TIMEOUT"
  if ! "$dry_run"; then
    local host
    host="$("$OC" get route dito -n "$namespace" -o jsonpath='{.spec.host}' 2>/dev/null || true)"
    if [ -n "$host" ]; then log "Dito is at https://$host"; fi
  fi
}

main() {
  parse_args "$@"
  check_client
  log "project $namespace, image $image:$version$("$dry_run" && echo ' (dry run)')"
  if "$dry_run"; then
    echo "+ $OC get project $namespace || $OC new-project $namespace"
  elif ! "$OC" get project "$namespace" >/dev/null 2>&1; then
    "$OC" new-project "$namespace" >/dev/null
  fi
  if ! "$deploy_only"; then
    prepare_keys
    config_and_secrets
  fi
  if "$build_image"; then build_and_push; fi
  if "$config_only"; then
    log "config updated; the pods pick it up at the next rollout (-d)"
    return 0
  fi
  deploy
  log "done"
}

main "$@"
