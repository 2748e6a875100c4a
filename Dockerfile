# syntax=docker/dockerfile:1
# sms-hook on Node, as a container (docs/deploy-container.md). scripts/rehearse-docker.mjs runs these same steps
# without a Docker engine, and npm test runs the rehearsal.
#
# Build arguments, for where Docker Hub or the npm registry is slow or blocked (mainland China):
#   --build-arg NODE_IMAGE=<a mirror's copy of node:24-bookworm-slim>   the base image of both stages
#   --build-arg NPM_REGISTRY=https://registry.npmmirror.com/             where npm ci fetches the locked packages

# Node 24 (LTS): the runtime the image ships and docs/deploy-container.md documents.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: esbuild (a dev dependency) bundles the service into build/; nothing else of this stage ships.
FROM ${NODE_IMAGE} AS build
ARG NPM_REGISTRY=https://registry.npmjs.org/
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script to compile this, and the package's own build script
# would run too early. The lockfile's registry.npmjs.org addresses are fetched from NPM_REGISTRY instead (npm's
# replace-registry-host). The npm cache is a build cache, kept out of every layer.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund --registry="$NPM_REGISTRY"
COPY scripts/build.mjs ./scripts/
COPY src ./src
# The same build as `npm run build` and `npm pack`: the Node entries as single files, and the Redis state and the
# official SDK transport as bundles of their own with V8's code cache, made here by the Node that will run them.
RUN npm run build

# Run: the bundled JavaScript, with the production dependencies beside it for what a bundle leaves to them.
FROM ${NODE_IMAGE}
ARG NPM_REGISTRY=https://registry.npmjs.org/
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The build is copied in from the first stage; esbuild is not installed here.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --registry="$NPM_REGISTRY"
COPY --from=build /app/build ./build
# The package's command (its "bin", build/cli.js) as `sms-hook` on PATH, e.g. `docker run --rm IMAGE sms-hook
# secret`: the build writes it without the execute bit, and node_modules/.bin holds dependencies' commands only.
RUN chmod 0755 build/cli.js && mkdir bin && ln -s ../build/cli.js bin/sms-hook
ENV PATH=/app/bin:$PATH
# The image's unprivileged user; the app writes nothing, so /app stays owned by root.
USER node
EXPOSE 8080
# Node's own fetch: the slim image has no curl. PORT is the app's own setting (default 8080).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, node itself: SIGTERM from `docker stop` reaches the server, which finishes in-flight hooks.
CMD ["node", "build/node/main.js"]
