#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) for the full test suite: the tools the tests drive
# for real (git, a Docker engine, loop-device and image tools, decompressors, kas), the npm
# dependencies, a running dockerd, and a locally made base image (no registry is reachable here).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  git ca-certificates rsync
  docker.io debootstrap podman catatonit
  util-linux fdisk dosfstools mtools e2fsprogs bmap-tools
  bzip2 lbzip2 pbzip2 xz-utils zstd pigz gzip lz4 lzop zip unzip tar gnupg
  kas chromium fonts-dejavu-core
  zsh fish
  # kas 5.4 run from its source by test/kas/differential.test.ts
  python3-yaml python3-distro python3-jsonschema python3-git python3-gnupg
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-host-setup: missing Debian packages (${missing[*]}) and not root to install them" >&2
    exit 3
  fi
  echo "test-host-setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit
fi

# A Docker engine: start one if none answers (no systemd here).
if ! docker info >/dev/null 2>&1; then
  echo "test-host-setup: starting dockerd"
  mkdir -p /var/log
  (setsid dockerd >/var/log/yoctoforge-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "test-host-setup: dockerd did not start (see /var/log/yoctoforge-dockerd.log)" >&2; exit 3; }
fi

# Base image for the build environment, made locally because Docker Hub is unreachable.
base_image="${YOCTOFORGE_TEST_BASE_IMAGE:-yoctoforge-test-base:bookworm}"
if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  echo "test-host-setup: debootstrapping $base_image"
  rootfs=$(mktemp -d /var/tmp/yf-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$rootfs" >/var/log/yoctoforge-debootstrap.log 2>&1
  tar -C "$rootfs" -c . | docker import - "$base_image" >/dev/null
  rm -rf "$rootfs"
fi
# Podman keeps its own image store: give it the same base image.
if command -v podman >/dev/null && ! podman image exists "localhost/$base_image" 2>/dev/null; then
  echo "test-host-setup: loading $base_image into podman"
  docker save "$base_image" | podman load -q >/dev/null
fi
echo "test-host-setup: ready (base image $base_image)"
