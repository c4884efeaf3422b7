# Shared by fresh-test.sh, image-test.sh and scale-test.sh (sourced): Debian's docker.io
# running, and base images made from Debian packages, since no image registry is reachable on
# these machines.

ensure_docker() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v dockerd >/dev/null || need+=(docker.io)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  # Started by hand where no init system runs it, without the file descriptors this shell
  # holds: the daemon outlives the command, and must not keep a lock it was started under
  # (`flock /tmp/heavy.lock make ...` would stay held for as long as dockerd runs).
  if ! docker info >/dev/null 2>&1; then
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
      done
      exec nohup dockerd </dev/null >/var/log/dockerd-where-to-begin.log 2>&1
    ) &
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd-where-to-begin.log" >&2; exit 1; }
  fi
}

# Debian 12's docker-compose (1.29, Python): runs compose.yaml (scale-test.sh).
ensure_compose() {
  command -v docker-compose >/dev/null && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
}

# How debootstrap_image makes a base; a change here (or to the packages) rebuilds it next run.
# 2: without the .debs debootstrap leaves in /var/cache/apt/archives (45 MB in every image).
BASE_RECIPE=2

# debootstrap_image IMAGE PACKAGES: a Debian 12 minbase image with PACKAGES (comma-separated),
# built once and kept (`docker rmi IMAGE` to rebuild), labelled with the recipe that made it:
# an image of another recipe is replaced (its tag moves; images built on it keep their layers).
debootstrap_image() {
  local image=$1 packages=$2 rootfs recipe="$BASE_RECIPE minbase $2"
  [ "$(docker image inspect -f '{{index .Config.Labels "where-to-begin.base-recipe"}}' \
    "$image" 2>/dev/null)" = "$recipe" ] && return 0
  rootfs=$(mktemp -d /var/tmp/rootfs.XXXXXX)
  echo "building $image with debootstrap (minbase + $packages) ..."
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
  # Package lists, downloaded packages and docs are not needed at run time.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . \
    | docker import --change "LABEL where-to-begin.base-recipe=\"$recipe\"" - "$image" >/dev/null
  rm -rf "$rootfs"
}
