# permafrost as a scheduled backup service: `permafrost daemon` runs the JOB_<N>_WHAT/WHEN jobs of
# its environment, as docker-duplicity does (see docs/service.md and compose.yaml).
#
#   docker build -t permafrost:latest .
#   docker compose up -d
#
# scripts/test-image.sh builds this file and runs the image (docs/service.md).
#
# Base images are pinned to an exact Node release on Debian 12; bump NODE_IMAGE deliberately
# (docker-duplicity's floating python:3-alpine base once broke its users overnight).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- build: compile TypeScript to dist/ ---------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency would download a second Node; the image has one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# the dashboard's browser app (served by `daemon --listen`): esbuild bundles ui/ into dist/ui/
COPY ui ./ui
# the CLI as a bundle (docs/performance.md "Start-up"): esbuild writes dist/bundle/
COPY scripts/build-ui.mjs scripts/build-cli.mjs ./scripts/
RUN npx tsc -p tsconfig.json && node scripts/build-cli.mjs && node scripts/build-ui.mjs

# --- deps: the runtime dependencies only --------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Type declarations, source maps and READMEs are not run: about 13 MB of node_modules.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -iname '*.md' \) -delete

# --- files: the runtime's file system, assembled on the Node image ------------------------------
FROM ${NODE_IMAGE} AS files
# tini is PID 1: it forwards SIGTERM to the daemon (Node ignores signals as PID 1) and reaps the
# jobs' orphans. tzdata for TZ in the shell jobs (`date`); gnupg for --encrypt-key lookups in a
# keyring; ca-certificates for S3 and SMTP over TLS. What a service does not run goes: npm, npx,
# yarn and corepack, Node's C headers, apt's caches.
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini tzdata gnupg ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /usr/local/include /usr/local/share/doc /usr/local/share/man
WORKDIR /opt/permafrost
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# `dup`, as in docker-duplicity: permafrost with OPTIONS and OPTIONS_EXTRA before the arguments
# (bin/dup.js: expanded by the shell as the daemon's jobs are; a failing `$(...)` stops it). For
# `docker run IMAGE dup ...`; the daemon's jobs have a `dup` of their own.
RUN ln -s /opt/permafrost/bin/permafrost.js /usr/local/bin/permafrost \
 && ln -s /opt/permafrost/bin/dup.js /usr/local/bin/dup \
 && mkdir -p /var/lib/permafrost /mnt/backup/src /mnt/backup/config /home/node/.cache/duplicity \
 && chown node:node /var/lib/permafrost /mnt/backup/config /home/node/.cache /home/node/.cache/duplicity

# --- runtime: those files as one layer (what the stage above deleted is not underneath) ----------
FROM scratch AS runtime
COPY --from=files / /
WORKDIR /opt/permafrost
# MALLOC_ARENA_MAX=2: glibc gives every thread (the compression worker, libuv's pool) its own
# malloc arena; two arenas lower a backup's peak memory by about 18 MiB for 1-2% more time
# (bench/RESULTS.md), which suits a long-running service.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    SRC=/mnt/backup/src \
    PERMAFROST_STATE_DIR=/var/lib/permafrost
# The status file and the run lock; the cache (--archive-dir, default ~/.cache/duplicity) should
# be a volume too (compose.yaml mounts ./config at /mnt/backup/config for it).
VOLUME ["/var/lib/permafrost"]
USER node
# The dashboard and /metrics, when PERMAFROST_LISTEN=0.0.0.0:8080 is set (with a token: docs/dashboard.md).
EXPOSE 8080
# Unhealthy when a job's last run failed, a run is overdue, or there is no status file (docs/service.md).
HEALTHCHECK --interval=5m --timeout=30s --start-period=1m --retries=1 \
  CMD ["node", "/opt/permafrost/bin/permafrost.js", "daemon", "--health"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--max-semi-space-size=2", "--heap-growing-percent=20", "/opt/permafrost/bin/permafrost.js", "daemon"]
