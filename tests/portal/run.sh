#!/usr/bin/env bash
# run.sh - the portal's browser tests (meson test portal_browser, suite browser): a demo town
# in a temporary folder with 会津 太郎's home blood-pressure readings imported, the portal's
# OAuth client (redirect URI <issuer>/) and a clinic app for his family doctor registered, then
# `cityos serve` on a free loopback port with --issuer set to that URL, and portal.test.mjs
# driving Debian's chromium through playwright-core against it. Screenshots are kept in
# $CITYOS_PORTAL_ARTIFACTS (meson sets it to <build>/portal-artifacts).
#
#   CITYOS_BIN=build/cityos bash tests/portal/run.sh
#
# Exit 77 (meson: SKIP, printed loudly) only when chromium is missing or cannot start.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
label=portal_browser
# shellcheck source=../lib/node_client.sh
. "$here/../lib/node_client.sh"
node_client_prepare playwright-core
node_client_workdir
artifacts=${CITYOS_PORTAL_ARTIFACTS:-$work/artifacts}
mkdir -p "$artifacts"

chromium=${CITYOS_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $chromium ]]; then
    say "SKIPPED: chromium is not installed (bash scripts/deps.sh installs Debian's chromium)"
    exit 77
fi
command -v sqlite3 >/dev/null || die "sqlite3 is not installed (bash scripts/deps.sh)"

# ---- a demo town and the persona's readings ------------------------------------------------------
node_client_demo
db=$data/cityos.db
taro=$(sqlite3 "$db" "SELECT id FROM person WHERE email = 'taro.aizu@example.jp'")
[[ -n $taro ]] || die "the demo town has no 会津 太郎"
line() { grep -A1 "$1" "$signins" | grep -o "$2=[^ ]*" | head -n 1 | cut -d= -f2-; }
taro_email=$(line '会津 太郎' email)
taro_password=$(line '会津 太郎' password)
doctor_email=$(line '山口 健一' email)
doctor_password=$(line '山口 健一' password)
[[ -n $taro_password && -n $doctor_password ]] || die "no demo passwords in $signins"
CITYOS_PATIENT=$taro node "$here/readings.mjs" >"$work/readings.ndjson"
"$bin" import --data-dir="$data" --source=portal-test "$work/readings.ndjson" >"$work/import.out" 2>&1 ||
    { cat "$work/import.out" >&2; die "cityos import of the readings failed"; }

# ---- the server, with the portal's client registered for its very URL ---------------------------
client_add() {
    "$bin" client add --data-dir="$data" "$@" 2>>"$work/clients.log" | grep -o 'client_id=[A-Za-z0-9]*' | cut -d= -f2
}
start() {
    local i
    port=$(free_port)
    base=http://127.0.0.1:$port
    portal_client=$(client_add --name="city portal (test)" --kind=public --redirect-uri="$base/" \
        --scopes="openid profile fhirUser launch/patient patient/*.rs patient/Consent.cu patient/Appointment.cu patient/QuestionnaireResponse.c patient/Account.c patient/RelatedPerson.cud user/*.cruds cityos.admin" \
        --grant-types=authorization_code)
    doctor_client=$(client_add --name="湊ファミリークリニック 電子カルテ (test)" --kind=public \
        --redirect-uri="$base/doctor-callback" --scopes="openid fhirUser user/*.rs" \
        --grant-types=authorization_code)
    [[ -n $portal_client && -n $doctor_client ]] || { cat "$work/clients.log" >&2; die "cityos client add failed"; }
    : >"$work/server.log"
    "$bin" serve --data-dir="$data" --listen=127.0.0.1 --port="$port" --issuer="$base" \
        --log-level=info >"$work/server.stdout" 2>>"$work/server.log" &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        grep -q '"listening' "$work/server.log" && return 0
        kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; pid=; return 1; }
        sleep 0.1
    done
    die "cityos serve logged no \"listening\" line within 10 s"
}
for n in 1 2 3; do
    start && break
    ((n < 3)) || die "cityos serve did not start"
done
say "cityos on $base (pid $pid); chromium $("$chromium" --version 2>/dev/null | head -n 1); node $(node --version)"

rc=0
CITYOS_URL=$base CITYOS_CHROMIUM=$chromium CITYOS_ARTIFACTS=$artifacts CITYOS_PATIENT=$taro \
    CITYOS_EMAIL=$taro_email CITYOS_PASSWORD=$taro_password \
    CITYOS_DOCTOR_EMAIL=$doctor_email CITYOS_DOCTOR_PASSWORD=$doctor_password \
    CITYOS_DOCTOR_CLIENT=$doctor_client CITYOS_PORTAL_CLIENT=$portal_client \
    node "$here/portal.test.mjs" || rc=$?
if ((rc == 0)); then CITYOS_URL=$base CITYOS_CHROMIUM=$chromium CITYOS_ARTIFACTS=$artifacts/roles CITYOS_PATIENT=$taro CITYOS_SIGNINS=$signins node "$here/roles.test.mjs" || rc=$?; fi
if ((rc == 0)); then CITYOS_URL=$base CITYOS_CHROMIUM=$chromium CITYOS_ARTIFACTS=$artifacts/journey CITYOS_PATIENT=$taro CITYOS_SIGNINS=$signins node "$here/journey.test.mjs" || rc=$?; fi
if ((rc == 77)); then
    kill -TERM "$pid"; wait "$pid" || true; pid=
    say "SKIPPED: chromium ($chromium) could not start; see the message above"
    exit 77
fi
say "screenshots: $artifacts"
node_client_finish "$rc" "the portal's browser test"
