# syntax=docker/dockerfile:1
#
# Ledgerstream broker image.
#
#   docker build -t ledgerstream .
#   docker run --rm -p 9092:9092 ledgerstream                      # one broker, embedded defaults
#   docker run --rm --entrypoint node ledgerstream dist/src/cli.js help   # every setting
#
#   docker run --rm -p 19092:9092 -e LEDGERSTREAM_ADVERTISED_HOST=localhost \
#     -e LEDGERSTREAM_ADVERTISED_PORT=19092 ledgerstream       # another host port: advertise it
#
# Settings are flags after the image name (`--port 9093`), or LEDGERSTREAM_* environment
# variables (see src/config/config.ts). This file needs Docker Hub's node images; where no
# registry is reachable, scripts/docker/build-images.sh builds ledgerstream:local (the image the
# compose files run) from docker/ledgerstream.Dockerfile instead (README, "Docker Compose").
#
# Stages: `build` compiles TypeScript with every dependency; `deps` installs the production
# dependencies alone; the runtime image is node:20-bookworm-slim with those two copied in.
# `deps` runs on the full bookworm image rather than on slim: better-sqlite3's install script
# fetches a prebuilt binary or, failing that (no network to GitHub, an unusual platform),
# compiles it with node-gyp, which needs python3, make and g++ that slim lacks. Both images are
# Debian bookworm (same glibc), so the native modules built there run in slim.
#
# Install scripts: package.json's `allowScripts` lists the dependencies whose install scripts
# must run (better-sqlite3: native build; esbuild, lz4: dev only). npm 10 (shipped with Node 20)
# runs every install script and ignores the field; npm 11.16+ reads it (advisory) and npm 12
# enforces it, so the build works with all three. Never use --ignore-scripts in `deps`:
# better-sqlite3 would install without its native binding and the broker would fail at start.
# The other native modules (@node-rs/*, snappy, lz4-napi, node-zstd) are prebuilt per platform
# packages (glibc x64/arm64) chosen by npm, with no script.

ARG NODE_VERSION=20

# --- build: compile dist/ --------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
# node-gyp compiles against the headers of the Node in the image (/usr/local/include/node)
# instead of downloading them.
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY protocol ./protocol
COPY storage ./storage
COPY src ./src
# tsconfig.json also includes bench/, test/ and scripts/; .dockerignore keeps them out of the
# context, so only what the broker runs is compiled.
RUN npm run build && test -f dist/src/cli.js

# --- deps: production node_modules ------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm AS deps
WORKDIR /app
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"

# --- runtime ------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    LEDGERSTREAM_HOST=0.0.0.0 \
    LEDGERSTREAM_PORT=9092 \
    LEDGERSTREAM_DATA_DIR=/var/lib/ledgerstream/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/protocol ./dist/protocol
COPY --from=build /app/dist/storage ./dist/storage
COPY package.json ./
COPY bin ./bin
# The data folder and the mount point of a shared WAL volume, owned by the unprivileged `node`
# user of the base image; a named volume mounted there starts with this ownership.
RUN mkdir -p /var/lib/ledgerstream/data /var/lib/ledgerstream/wal \
 && chown -R node:node /var/lib/ledgerstream
USER node
EXPOSE 9092
# The listener opens only once the broker has recovered (and, in cluster mode, joined): a TCP
# connection to it means ready.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const s=require('node:net').connect(Number(process.env.LEDGERSTREAM_PORT||9092),'127.0.0.1');s.setTimeout(2000,()=>process.exit(1));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (graceful shutdown: hand partitions over, upload the
# WAL); give it time: `docker stop -t 60`, or stop_grace_period in compose.
# --max-semi-space-size, --initial-old-space-size: see src/cli/node-flags.ts.
ENTRYPOINT ["node", "--max-semi-space-size=64", "--initial-old-space-size=256", "dist/src/cli.js", "start"]
