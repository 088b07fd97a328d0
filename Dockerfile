# The worker and the API (one image, two commands: `npm run worker`, `npm run api`); see docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# tsx runs the TypeScript as it is; the type checker and test runner stay out of the image.
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# npm forwards SIGTERM to the process, which drains (worker) or stops accepting requests (API) and exits 0.
USER node
CMD ["npm", "run", "worker"]
