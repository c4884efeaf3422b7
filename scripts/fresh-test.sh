#!/usr/bin/env bash
# Runs both README commands in a bare Debian 12 container: `make test` (CI=true), then
# `make run` on a clean clone of its own with no .venv (scripts/run-check.sh). The container
# is debootstrap's `minbase` plus only python3, python3-venv, make and git. Proves that the project's own scripts install everything
# the suite needs on a machine that has nothing else. Needs root and Debian packages.
#
# No image registry is reachable here, so the base image is built with debootstrap and
# `docker import` (cached as $IMAGE; `docker rmi $IMAGE` to rebuild). The container gets a
# clean clone of the committed HEAD: uncommitted changes are not tested.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${FRESH_IMAGE:-where-to-begin-fresh:bookworm}

. scripts/lib-docker.sh
ensure_docker
debootstrap_image "$IMAGE" python3,python3-venv,make,git,ca-certificates

work=$(mktemp -d /var/tmp/fresh-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone --quiet . "$work/main"
[ -d ../shared ] && cp -r ../shared "$work/shared"

# The host's CA bundle, in case this network reaches the package registries through a proxy
# with its own certificate authority; a machine on the open internet does not need it.
ca=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  ca=(-v /etc/ssl/certs/ca-certificates.crt:/host-ca.crt:ro -e PIP_CERT=/host-ca.crt
      -e NODE_EXTRA_CA_CERTS=/host-ca.crt)
fi

echo "running make test, then make run on a clean clone, in a fresh $IMAGE container ..."
docker run --rm --network host "${ca[@]}" -e CI=true -v "$work:/work" -w /work/main "$IMAGE" \
  bash -c 'git config --global --add safe.directory /work/main && make test && bash scripts/run-check.sh'
