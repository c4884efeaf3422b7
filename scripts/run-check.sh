#!/usr/bin/env bash
# The README's first command as a new user meets it: a clean clone of the committed HEAD (no
# .venv, nothing installed), `make run` on a free port, then /healthz, the /quiz page, one
# submission and its result page, and the server stopped. Prints the time from clone to the
# first 200 of /quiz. Used by .ci/run and `make fresh-test`. Needs only python3, make and git.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/run-check.XXXXXX")
pid=
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

started=$(date +%s.%N)
git clone --quiet . "$work/main"
[ ! -e "$work/main/.venv" ] || { echo "the clone has a .venv" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

# A process group of its own, so that stopping it stops make, uvicorn and its workers.
(cd "$work/main" && exec setsid make run PORT="$port") >"$work/run.log" 2>&1 &
pid=$!

echo "make run on a clean clone, port $port ..."
python3 - "$base" "$pid" <<'PY' || { echo "--- make run printed:"; tail -40 "$work/run.log"; exit 1; }
import os, sys, time, urllib.request
base, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 900
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("make run exited before serving")
    try:
        with urllib.request.urlopen(base + "/quiz", timeout=5) as answer:
            if answer.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit("make run did not serve /quiz within 15 minutes")
PY
python3 -c 'import sys; print(f"clone to first 200 of /quiz: {float(sys.argv[2]) - float(sys.argv[1]):.1f} s")' \
  "$started" "$(date +%s.%N)"
python3 scripts/smoke_check.py "$base"
echo "make run works on a clean clone"
