#!/usr/bin/env bash
# run.sh - the FHIR client-library test (meson test fhir_client, suite api): seeds a demo town in
# a temporary folder, starts `cityos serve` on a free loopback port with --issuer set to that
# very URL and a random operator token, and runs fhir_client.test.mjs (fhir-kit-client) against
# it: the app is registered through the admin API, 会津 太郎 signs in with the code flow and
# PKCE, and the client creates, reads, updates, searches and posts a transaction. Exits
# non-zero when anything fails.
#
#   CITYOS_BIN=build/cityos bash tests/fhirclient/run.sh
#
# Needs node (>= 18) and the packages of tests/fhirclient/package-lock.json: `npm ci --prefix
# tests/fhirclient` (scripts/deps.sh does it; so does this script when node_modules is missing).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
label=fhir_client
# shellcheck source=../lib/node_client.sh
. "$here/../lib/node_client.sh"
node_client_prepare fhir-kit-client
node_client_workdir

# ---- a demo town: 会津 太郎, his family and their consents --------------------------------------
node_client_demo
grep -q 'email=taro.aizu@example.jp password=' "$signins" ||
    die "no password for taro.aizu@example.jp in $signins"

# The operator token of this run only (the admin API registers the app); in the environment,
# not on a command line that `ps` shows.
admin_token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')

# ---- the server: --issuer must be the URL the client uses, so the port is chosen here ----------
node_client_start CITYOS_ADMIN_TOKEN="$admin_token"
say "cityos on $base (pid $pid); node $(node --version), fhir-kit-client $(node -p "require('$here/node_modules/fhir-kit-client/package.json').version")"

# ---- the client ---------------------------------------------------------------------------------
rc=0
CITYOS_URL=$base CITYOS_ADMIN_TOKEN=$admin_token CITYOS_SIGNINS=$signins \
    node --test "$here/fhir_client.test.mjs" || rc=$?

node_client_finish "$rc" "the FHIR client test"
