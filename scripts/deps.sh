#!/usr/bin/env bash
# deps.sh - installs the Debian 12 packages cityos needs to build, run and test, when missing.
# Idempotent and quick when everything is present (no apt-get update then).
set -euo pipefail

packages=(
  # build
  gcc clang libclang-rt-14-dev meson ninja-build pkg-config clang-format
  # libraries (see docs/decisions.md for why each)
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libinih-dev
  # tests
  libcmocka-dev libcurl4-openssl-dev curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "cityos: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "cityos: run as root (or install sudo) to install packages" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
