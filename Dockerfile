# One image for web, actors and ledger (the command picks the process).
# Stage 1 builds the console; stage 2 installs the locked Python set; stage 3 runs.

FROM node:20-bookworm-slim AS console
WORKDIR /src/spa
COPY spa/package.json spa/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY spa/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS python
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv /venv
COPY requirements.lock ./
RUN /venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY runtime/ runtime/
COPY actors/ actors/
COPY web/ web/
COPY ledger/ ledger/
COPY billing/ billing/
COPY tools/ tools/
COPY piccolo_migrations/ piccolo_migrations/
RUN /venv/bin/pip install --no-deps .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /app hirebuddha
WORKDIR /app
COPY --from=python /venv /venv
COPY --from=python /app /app
COPY --from=console /src/spa/dist /app/spa/dist
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HB_ENV=production \
    HB_HTTP_HOST=0.0.0.0 \
    HB_HTTP_PORT=8000 \
    HB_SPA_DIST=/app/spa/dist \
    PICCOLO_CONF=runtime.piccolo_conf
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=6s --retries=4 CMD ["python", "-m", "runtime.probe"]
ENTRYPOINT ["hirebuddha"]
CMD ["web"]
