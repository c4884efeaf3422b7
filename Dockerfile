# Production image: the app on uvicorn, as a non-root user, from a slim base. SQLite lives in
# /app/var (mount a volume there), or set DATABASE_URL=postgresql+psycopg://... for PostgreSQL.
#
# BASE is any Debian 12 image with python3 and python3-venv. No registry is reachable on our
# machines, so `make image-test` builds one from Debian packages (debootstrap + docker import);
# elsewhere, `--build-arg BASE=python:3.11-slim-bookworm` works as well.
ARG BASE=where-to-begin-base:bookworm

FROM ${BASE} AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# An extra certificate authority for a proxy in front of PyPI, if the build context has one
# (image-test.sh copies the host's bundle); it stays in this stage only.
COPY requirements.lock pyproject.toml README.md build-ca.crt* ./
RUN python3 -m venv /opt/venv \
 && if [ -s build-ca.crt ]; then export PIP_CERT=/src/build-ca.crt; fi \
 && /opt/venv/bin/pip install --require-hashes -r requirements.lock

FROM ${BASE}
WORKDIR /app
# WeasyPrint's libraries (the plan's PDF brief: Pango, HarfBuzz's subsetter) and a font; the
# same list as scripts/install-system-deps.sh. Without them only the PDF link is unavailable.
# The downloaded packages and apt's caches go in the same layer (83 MB of the image otherwise:
# the debootstrap base, unlike Debian's published images, does not clean them after an install).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/*
COPY --from=build /opt/venv /opt/venv
# The source itself, run from /app (uvicorn and `python3 -m` find the packages here).
COPY data ./data
COPY app ./app
COPY quiz ./quiz
COPY scoring ./scoring
# Bytecode compiled into the image: the app runs as a user who cannot write next to the source,
# so without it every worker start would compile every module again (pip compiled the venv's).
RUN python3 -m compileall -q /app/app /app/quiz /app/scoring
# Numeric user: the minimal base has no useradd, and nothing here needs a named account.
RUN mkdir -p /app/var && chown 10001:10001 /app/var
ENV PATH="/opt/venv/bin:$PATH" PYTHONUNBUFFERED=1 QUIZ_DATA_DIR=/app/data \
    DATABASE_URL=sqlite:////app/var/quiz.db
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python3 -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Migrate once, then serve: the app itself only checks that the schema is current. The uvicorn
# options are `make run`'s (app/server.py): a bounded request head, and a shutdown that fits in
# `docker stop`'s ten seconds (a two-second drain, then five for requests in flight).
CMD ["sh", "-c", "python3 -m app.cli migrate && exec uvicorn app.asgi:app --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-2} --http app.asgi:BoundedHttpTools --timeout-graceful-shutdown 5 --no-proxy-headers"]
