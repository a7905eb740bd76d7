# Ledgerstream broker image built with no registry (scripts/docker/build-images.sh stages the
# context: node/node is this machine's node binary, app/ holds dist/, bin/ and the production
# node_modules installed on this machine). For a machine that reaches Docker Hub, ../Dockerfile
# builds the same broker on node:20-bookworm-slim.
ARG BASE_IMAGE=ledgerstream/base:bookworm
FROM ${BASE_IMAGE}
COPY node/node /usr/local/bin/node
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && mkdir -p /var/lib/ledgerstream/data /var/lib/ledgerstream/wal \
 && chown -R node:node /var/lib/ledgerstream \
 && node --version
ENV NODE_ENV=production \
    LEDGERSTREAM_HOST=0.0.0.0 \
    LEDGERSTREAM_PORT=9092 \
    LEDGERSTREAM_DATA_DIR=/var/lib/ledgerstream/data \
    LEDGERSTREAM_METRICS_HOST=0.0.0.0 \
    LEDGERSTREAM_METRICS_PORT=9464
WORKDIR /app
COPY app/ ./
USER node
EXPOSE 9092 9464
# /ready on the metrics port answers 200 once the broker recovered, joined and reaches its
# object store (src/metrics.ts).
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "require('node:http').get('http://127.0.0.1:'+(process.env.LEDGERSTREAM_METRICS_PORT||9464)+'/ready',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).setTimeout(2000,()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (graceful shutdown): give it time (stop_grace_period).
# --max-semi-space-size, --initial-old-space-size: see src/cli/node-flags.ts.
ENTRYPOINT ["node", "--max-semi-space-size=64", "--initial-old-space-size=256", "dist/src/cli.js", "start"]
