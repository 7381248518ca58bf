#!/usr/bin/env bash
# run.sh - the OIDC client-library test (meson test oidc_client, suite api): seeds a demo town in
# a temporary folder, starts `cityos serve` on a free loopback port with --issuer set to that
# very URL, and runs code_flow.test.mjs (oauth4webapi) against it with the sample app's
# client_id and the first demo person's e-mail and password. Exits non-zero when anything fails.
#
#   CITYOS_BIN=build/cityos bash tests/oidc/run.sh
#
# Needs node (>= 18) and the packages of tests/oidc/package-lock.json: `npm ci --prefix
# tests/oidc` (scripts/deps.sh does it; so does this script when node_modules is missing).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
label=oidc_client
# shellcheck source=../lib/node_client.sh
. "$here/../lib/node_client.sh"
node_client_prepare oauth4webapi
node_client_workdir

# ---- a demo town: the sample app and its people ------------------------------------------------
node_client_demo
client_id=$(grep -o 'sample app[^:]*: client_id=[A-Za-z0-9_-]*' "$signins" | head -n 1 | sed 's/.*client_id=//')
email=$(grep -o 'email=[^ ]*' "$signins" | head -n 1 | cut -d= -f2-)
password=$(grep -o 'password=[^ ]*' "$signins" | head -n 1 | cut -d= -f2-)
[[ -n $client_id && -n $email && -n $password ]] ||
    die "could not read the sample app's client_id and a person's email and password from $signins"

# ---- the server: --issuer must be the URL the client uses, so the port is chosen here ----------
node_client_start
say "cityos on $base (pid $pid), client_id=$client_id, person $email; node $(node --version)"

# ---- the client ---------------------------------------------------------------------------------
rc=0
CITYOS_URL=$base CITYOS_CLIENT_ID=$client_id CITYOS_EMAIL=$email CITYOS_PASSWORD=$password \
    node --test "$here/code_flow.test.mjs" || rc=$?

node_client_finish "$rc" "the OIDC client test"
