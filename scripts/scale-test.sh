#!/usr/bin/env bash
# `make scale-test`: compose.yaml for real. Builds the four images from one Debian 12 base
# (debootstrap; the app's Dockerfile, Debian's postgresql-15 and nginx-light), starts PostgreSQL,
# two app replicas and nginx with Debian's docker-compose 1.29 on a fresh database, checks one
# submission and a plan's PDF through the proxy (smoke_check.py), then loads it
# (scale_check.py): 32 clients submitting through nginx for 30 s, one replica SIGKILLed at 8 s
# and started again at 10 s.
# Every acknowledged submission must be stored, and idempotency must hold across replicas;
# exit 1 otherwise. Containers, network and volume are removed at the end, images kept (a run
# after the first builds nothing). Needs root; one run at a time on a machine.
#
# For the run: RATE_LIMIT_PER_MINUTE=0, since all the load comes from one client address (the
# default 30 a minute would answer 429 after the first second); PUBLIC_BASE_URL is the proxy.
# Settings: SCALE_SECONDS, SCALE_THREADS, SCALE_KILL_AT, SCALE_RESTART_AT, and the host ports
# SCALE_PROXY_PORT (18090), SCALE_APP1_PORT (18091), SCALE_APP2_PORT (18092).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib-docker.sh

export BASE=${IMAGE_BASE:-where-to-begin-base:bookworm}
export PROXY_PORT=${SCALE_PROXY_PORT:-18090} APP1_PORT=${SCALE_APP1_PORT:-18091}
export APP2_PORT=${SCALE_APP2_PORT:-18092} NET_PREFIX=${SCALE_NET_PREFIX:-172.29.18}
export RATE_LIMIT_PER_MINUTE=0 PUBLIC_BASE_URL="http://127.0.0.1:$PROXY_PORT"
export POSTGRES_PASSWORD=scale-test-$$ WEB_CONCURRENCY=2
PROJECT=where-to-begin-scale
compose() { docker-compose --ansi never -p "$PROJECT" -f compose.yaml "$@"; }

ensure_docker
ensure_compose
debootstrap_image "$BASE" python3,python3-venv,ca-certificates

exec 9>/run/lock/where-to-begin-scale-test.lock
flock -n 9 || { echo "another scale-test is running on this machine" >&2; exit 1; }

cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "--- last container logs ---" >&2
    compose logs --no-color --tail 30 >&2 2>/dev/null || true
  fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -f build-ca.crt
  exit $rc
}
trap cleanup EXIT
# Whatever an interrupted run left behind, database volume included.
compose down -v --remove-orphans >/dev/null 2>&1 || true

# A proxy in front of PyPI may bring its own certificate authority; the app's build stage trusts it.
rm -f build-ca.crt
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt build-ca.crt
echo "building the images (compose.yaml; cached after the first run) ..."
compose build >/tmp/scale-test-build.log 2>&1 || { tail -30 /tmp/scale-test-build.log; exit 1; }
for image in where-to-begin:latest where-to-begin-postgres:15 where-to-begin-proxy:nginx; do
  printf '  %s %s\n' "$image" "$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
done

echo "starting PostgreSQL, app-1, app-2 (WEB_CONCURRENCY=$WEB_CONCURRENCY each) and nginx ..."
compose up -d --no-build >/tmp/scale-test-up.log 2>&1 || { cat /tmp/scale-test-up.log; exit 1; }
for url in "http://127.0.0.1:$PROXY_PORT" "http://127.0.0.1:$APP1_PORT" "http://127.0.0.1:$APP2_PORT"; do
  for _ in $(seq 60); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    sleep 1
  done
done
# Both replicas ran `app.cli migrate` at once on the empty database; one waited for the other.
compose logs --no-color app-1 app-2 | grep "up to date" | sort -u | sed "s/^/  /" || true
python3 scripts/smoke_check.py --plan-pdf "http://127.0.0.1:$PROXY_PORT"

app1=$(compose ps -q app-1)
app2=$(compose ps -q app-2)
db=$(compose ps -q db)
python3 scripts/scale_check.py \
  --proxy "http://127.0.0.1:$PROXY_PORT" \
  --app1 "http://127.0.0.1:$APP1_PORT" --app2 "http://127.0.0.1:$APP2_PORT" \
  --names "$NET_PREFIX.11:8000=app-1,$NET_PREFIX.12:8000=app-2" --app1-upstream "$NET_PREFIX.11:8000" \
  --seconds "${SCALE_SECONDS:-30}" --threads "${SCALE_THREADS:-32}" \
  --kill-at "${SCALE_KILL_AT:-8}" --kill "docker kill -s KILL $app1" \
  --restart-at "${SCALE_RESTART_AT:-10}" --restart "docker start $app1" \
  --psql "docker exec -i $db psql -U quiz -d quiz -At -v ON_ERROR_STOP=1" \
  --cli "docker exec -i $app2 python3 -m app.cli"
echo "nginx's error log over the run: $(compose logs --no-color proxy | grep -c -E '\[(error|warn)\]' || true) lines:"
compose logs --no-color proxy | grep -o -E '\[(error|warn)\] [0-9#]+: \*[0-9]+ [^,]+' \
  | sed -E 's/\[(error|warn)\] [0-9#]+: \*[0-9]+ //' | sort | uniq -c | sed 's/^/ /' || true
