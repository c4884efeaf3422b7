#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages, only when it is missing:
# a PostgreSQL server (the storage tests start a throwaway cluster). Idempotent.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${need[*]} (install them as root; tests needing them will be skipped, or fail with CI=true)" >&2
  exit 0
fi
echo "installing ${need[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
