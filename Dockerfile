# The relay for Railway (or any container host) against a managed PostgreSQL in DATABASE_URL.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall patches the database driver (scripts/patch-postgres.mjs): it must be there before npm ci.
COPY scripts/patch-postgres.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY sql ./sql
USER node
EXPOSE 3000
CMD ["npm", "start"]
