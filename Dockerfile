# The image of one replicated-log node. ROLE=master or ROLE=secondary in the environment says
# which; every other node option reads its variable too (see "Configuration" in README.md).
# docker-compose.yml runs a master and two secondaries from it.

# Build and run on the same Node line: 24, a long-term-support line (LTS since 24.11.0 in October
# 2025, security fixes until its end of life in April 2028), the newest of the lines CI tests
# the code on (20, 22 and 24). The Docker test builds this file on a stand-in for this image,
# with the same Node 24 (.ci/docker-base-image), as no registry is reachable there.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, in a layer of their own, so that a change to the sources does not
# reinstall them. No dependency has an install script; --ignore-scripts also skips our own
# `prepare` build, which runs below once the sources are in.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Compiled tests are of no use in the image.
RUN npm run build \
  && find dist -name '*.test.js' -delete -o -name '*.test.js.map' -delete

FROM ${NODE_IMAGE} AS runtime
# GLIBC_TUNABLES: glibc's malloc asks for transparent huge pages for its large blocks, where Node
# keeps Buffers, so a growing log faults in 2 MiB at a time instead of 4 KiB (README
# "Performance"; the launcher sets the same). It takes effect where the host's THP mode is
# madvise or always; `docker run -e GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns it off.
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=8000 \
  DATA_DIR=/data \
  GLIBC_TUNABLES=glibc.malloc.hugetlb=1
WORKDIR /app
# The code stays owned by root and read-only for the node user: the process can write its data
# directory and nothing else. No node_modules: what runs is dist/cli/main.js, the bundle of the
# code and every dependency (src/build/bundle.ts), and the healthcheck, which needs only Node's
# own modules. (The other compiled files in dist/ import packages and are not run here.)
COPY --from=build /app/package.json ./
COPY --from=build /app/dist ./dist
# Node's module compile cache (src/cli/main.ts turns it on): V8's compiled code of the bundle,
# made here once so that a container's first start reuses it as well as its restarts (~0.1 s
# less from spawn to serving). Node keys it by user id, so the node user makes it; root then owns
# it, readable by all: the node user still writes nothing but /data (Node skips, silently, a
# cache it cannot write).
ENV NODE_COMPILE_CACHE=/app/compile-cache
RUN mkdir /app/compile-cache && chown node:node /app/compile-cache
USER node
RUN node dist/cli/main.js --version >/dev/null
USER root
RUN chown -R root:root /app/compile-cache && chmod -R a+rX,go-w /app/compile-cache
# The log lives in /data, a volume, so that it outlives the container. The directory must exist
# and belong to the node user before VOLUME: a named volume starts as a copy of it, ownership
# included.
RUN mkdir /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8000
# GET /health answers 200 whenever the node serves (read-only included). `rlog healthcheck` asks
# it on 127.0.0.1 at PORT (127.0.0.1 works because HOST is 0.0.0.0), over HTTPS when TLS_CERT is
# set, bounded by a 2 s timeout; no curl or wget needed in a slim image. Its own entry point
# (healthcheck-main.js) loads Node's modules only: ~0.13 s of CPU a run, Node's own start
# included, against ~0.35 s for the whole CLI (bundled; ~0.5 s before), which on a busy machine could pass the 3 s --timeout and fail a healthy node. Every 5 s, so that the
# master, which waits for both secondaries to be healthy, starts a few seconds after them.
# (--start-interval would make that faster but needs Docker Engine 25; Debian's docker.io,
# beside its docker-compose 1.29, refuses it.)
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "dist/cli/healthcheck-main.js"]
# On SIGTERM (docker stop) the node stops cleanly: it closes its HTTP server and its log, then
# exits 0. Node is PID 1 here and handles the signal itself.
STOPSIGNAL SIGTERM
CMD ["node", "dist/cli/main.js"]
