# syntax=docker/dockerfile:1
# Dito container image. Build: `make docker-build` (sign the plugins first: `make sign-plugins-prod`).
# Stages: build (dev dependencies, the same `make build` and `make build-plugins` the tests run),
# production-dependencies, demo (the demo backend for Compose), runtime (the final image).
# Keys never enter the image: plugins are signed outside it; the public key is mounted at run time.

ARG NODE_VERSION=24.21.0
ARG DEBIAN_RELEASE=bookworm

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS build
WORKDIR /src
# make drives the build exactly as on a developer machine and in CI.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make=4.3-4.1 \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# `make build` and `make build-plugins` bundle into a scratch folder; then every signed bundle in
# bin/plugins (from `make sign-plugins-prod`, before the image build) must be byte-identical to what
# this source builds: the image never ships a plugin that does not come from this commit.
RUN touch node_modules/.package-lock.json \
 && make build \
 && make build-plugins PLUGINS_OUT=/tmp/plugins-from-source \
 && mkdir -p bin/plugins \
 && for bundle in bin/plugins/*/*.mjs; do \
      [ -e "$bundle" ] || continue; \
      cmp "$bundle" "/tmp/plugins-from-source/${bundle#bin/plugins/}" \
        || { echo "signed plugin $bundle differs from this source: rebuild and sign it again" >&2; exit 1; }; \
      [ -f "$bundle.sig" ] || { echo "$bundle has no signature: run make sign-plugins-prod" >&2; exit 1; }; \
    done

# Production dependencies only, for the final image.
FROM build AS production-dependencies
RUN npm prune --omit=dev --no-audit --no-fund

# The demo backend (HTTP + WebSocket echo) used by deployments/docker/docker-compose.yml; `ws` (a
# dev dependency, no dependencies of its own) comes from the build stage's full install.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS demo
WORKDIR /demo
COPY --from=build /src/node_modules/ws ./node_modules/ws
COPY demo/backend.mjs ./
USER 1001:0
ENV DEMO_BACKEND_HOST=0.0.0.0
EXPOSE 9000
CMD ["node", "backend.mjs", "9000"]

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT/SIGHUP to Dito (node as PID 1 would get no default
# signal handling) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/dito/plugins /etc/dito/keys
WORKDIR /app
# Owned by root, readable by group 0: OpenShift runs the container with an arbitrary UID in group 0;
# nothing here needs to be writable (read-only root filesystem).
COPY --from=build --chown=0:0 /src/package.json ./
COPY --from=production-dependencies --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist/src ./dist/src
COPY --from=build --chown=0:0 /src/bin/dito /src/bin/plugin-signer ./bin/
COPY --from=build --chown=0:0 /src/bin/plugins /etc/dito/plugins
COPY --from=build --chown=0:0 /src/configs/docker.yaml /etc/dito/config.yaml
RUN chmod -R g=u,o-w /app /etc/dito
# MALLOC_TRIM_THRESHOLD_: keep up to 32 MiB of freed buffers instead of re-faulting them;
# MALLOC_ARENA_MAX=1: one malloc arena for every thread, so that limit is kept once, not per arena
# (docs/operations.md#memory).
ENV NODE_ENV=production \
    MALLOC_TRIM_THRESHOLD_=33554432 \
    MALLOC_ARENA_MAX=1 \
    DITO_HEALTHCHECK_URL=http://127.0.0.1:8081/healthz
USER 1001:0
EXPOSE 8081
# Liveness as Docker sees it (Kubernetes uses its own probes on /healthz and /readyz instead).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.DITO_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A young generation of 2 x 4 MiB, Node 24's best (bin/dito's own first line gives Node 20 2 x 8 MiB).
# Node 24 also gets --initial-old-space-size=80: bin/dito restarts itself with it, same pid (src/cli/relaunch.ts).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--no-memory-reducer", "--max-semi-space-size=4", "/app/bin/dito"]
CMD ["-f", "/etc/dito/config.yaml"]
