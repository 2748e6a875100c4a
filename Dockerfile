# syntax=docker/dockerfile:1
# sms-hook on Node, as a container (README: "Container"). scripts/rehearse-docker.mjs runs these same steps
# without a Docker engine, and npm test runs the rehearsal.

# Build: the TypeScript compiler needs the dev dependencies; nothing of this stage ships but build/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script to compile this, and "prepare" would build too early.
# The npm cache is a build cache, kept out of every layer.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Run: production dependencies and the compiled JavaScript only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# "prepare" runs tsc, which is not installed here; the build is copied in instead.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/build ./build
# The image's unprivileged user; the app writes nothing, so /app stays owned by root.
USER node
EXPOSE 8080
# Node's own fetch: the slim image has no curl. PORT is the app's own setting (default 8080).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, node itself: SIGTERM from `docker stop` reaches the server, which finishes in-flight hooks.
CMD ["node", "build/node/main.js"]
