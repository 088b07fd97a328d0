# The worker and the API (one image, two commands: dist/worker/main.js, dist/client/http/main.js); see docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The compiler is a dev dependency: installed for the build, pruned after it.
RUN npm ci --include=dev --no-audit --no-fund
COPY . .
# Compiles to dist/ and bundles the workflows once (dist/workflow-bundle.js): production runs node on the built
# files, and a worker started from dist/ loads the bundle instead of bundling at every start.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
USER node
CMD ["node", "dist/worker/main.js"]
