# Production image: the app on uvicorn, as a non-root user. SQLite lives in /app/var (mount a
# volume there), or set DATABASE_URL=postgresql+psycopg://... for PostgreSQL.
FROM python:3.11-slim-bookworm AS build
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
COPY quiz ./quiz
COPY scoring ./scoring
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim-bookworm
RUN useradd --system --create-home --uid 10001 nonroot
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=nonroot:nonroot data ./data
COPY --chown=nonroot:nonroot app ./app
COPY --chown=nonroot:nonroot quiz ./quiz
COPY --chown=nonroot:nonroot scoring ./scoring
RUN mkdir -p /app/var && chown nonroot:nonroot /app/var
ENV PATH="/opt/venv/bin:$PATH" PYTHONUNBUFFERED=1 QUIZ_DATA_DIR=/app/data
USER nonroot
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Migrate once, then serve: the app itself only checks that the schema is current.
CMD ["sh", "-c", "python -m app.cli migrate && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --no-proxy-headers"]
