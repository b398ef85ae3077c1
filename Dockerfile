# permafrost as a scheduled backup service: `permafrost daemon` runs the JOB_<N>_WHAT/WHEN jobs of
# its environment, as docker-duplicity does (see docs/service.md and compose.yaml).
#
#   docker build -t permafrost .
#   docker compose up -d
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
COPY scripts/build-ui.mjs ./scripts/
RUN npx tsc -p tsconfig.json && node scripts/build-ui.mjs

# --- deps: the runtime dependencies only --------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM to the daemon (Node ignores signals as PID 1) and reaps the
# jobs' orphans. tzdata for TZ in the shell jobs (`date`); gnupg for --encrypt-key lookups in a
# keyring; ca-certificates for S3 and SMTP over TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini tzdata gnupg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/permafrost
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# `dup`, as in docker-duplicity: permafrost with OPTIONS and OPTIONS_EXTRA (expanded by the shell,
# split at white space; no filename globbing) before the arguments. For `docker run IMAGE dup ...`
# and for shell jobs; the daemon runs plain `dup` jobs itself.
RUN ln -s /opt/permafrost/bin/permafrost.js /usr/local/bin/permafrost \
 && printf '%s\n' '#!/bin/sh' 'set -f' 'exec permafrost $(eval "echo $OPTIONS") $(eval "echo $OPTIONS_EXTRA") "$@"' > /usr/local/bin/dup \
 && chmod 755 /usr/local/bin/dup \
 && mkdir -p /var/lib/permafrost /mnt/backup/src /home/node/.cache/duplicity \
 && chown node:node /var/lib/permafrost /home/node/.cache /home/node/.cache/duplicity
# MALLOC_ARENA_MAX=2: glibc gives every thread (the compression worker, libuv's pool) its own
# malloc arena; two arenas lower a backup's peak memory by about 18 MiB for 1-2% more time
# (bench/RESULTS.md), which suits a long-running service.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    SRC=/mnt/backup/src \
    PERMAFROST_STATE_DIR=/var/lib/permafrost
# The status file and the run lock; the cache (--archive-dir, default ~/.cache/duplicity) should
# be a volume too (the guide mounts ./config and passes --archive-dir).
VOLUME ["/var/lib/permafrost"]
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--max-semi-space-size=2", "/opt/permafrost/bin/permafrost.js", "daemon"]
