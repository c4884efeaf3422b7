#!/usr/bin/env bash
# `make image-test`: build the production image the way these machines can (a Debian 12 base
# from debootstrap + docker import, then the multi-stage Dockerfile), start it, and check
# /healthz, one submission, its result page, and a plan's PDF brief laid out in the container
# (WeasyPrint on the image's Pango and fonts). Prints the build's time and the image size.
# Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-docker.sh

BASE=${IMAGE_BASE:-where-to-begin-base:bookworm}
APP=${IMAGE_APP:-where-to-begin:test}
PORT=${IMAGE_PORT:-18080}

ensure_docker
debootstrap_image "$BASE" python3,python3-venv,ca-certificates

# A proxy in front of PyPI may bring its own certificate authority; the build stage trusts it.
rm -f build-ca.crt
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt build-ca.crt
trap 'rm -f build-ca.crt; docker rm -f where-to-begin-image-test >/dev/null 2>&1 || true' EXIT
build_started=$(date +%s.%N)
docker build --network host --build-arg BASE="$BASE" -t "$APP" . >/tmp/image-test-build.log 2>&1 \
  || { tail -30 /tmp/image-test-build.log; exit 1; }
# Steps docker took from its cache: a build with none of them is the time from scratch.
echo "docker build: $(awk -v s="$build_started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.0f s", e - s}')," \
     "$(grep -c -- '---> Using cache' /tmp/image-test-build.log || true) steps from the cache"

docker rm -f where-to-begin-image-test >/dev/null 2>&1 || true
docker run -d --name where-to-begin-image-test -p "127.0.0.1:$PORT:8000" "$APP" >/dev/null
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 1
done
python3 scripts/smoke_check.py --plan-pdf "http://127.0.0.1:$PORT"
echo "user in the container: $(docker exec where-to-begin-image-test id -u)"
for _ in $(seq 40); do
  health=$(docker inspect -f '{{.State.Health.Status}}' where-to-begin-image-test)
  [ "$health" = healthy ] && break
  sleep 1
done
echo "docker HEALTHCHECK: $health"
echo "image size: $(docker image inspect -f '{{.Size}}' "$APP" | awk '{printf "%.0f MB", $1/1e6}')" \
     "(base $(docker image inspect -f '{{.Size}}' "$BASE" | awk '{printf "%.0f MB", $1/1e6}'))"
