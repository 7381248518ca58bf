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
say() { printf 'fhir_client: %s\n' "$*" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}

bin=${CITYOS_BIN:-}
[[ -n $bin ]] || die "CITYOS_BIN is not set (the cityos binary to test)"
[[ -x $bin ]] || die "CITYOS_BIN=$bin is not an executable"
command -v node >/dev/null || die "node is not installed (bash scripts/deps.sh installs nodejs and npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || die "node $(node --version) is too old: fhir-kit-client needs fetch (18 or newer)"
command -v python3 >/dev/null || die "python3 is not installed (it picks a free port)"

if [[ ! -f $here/node_modules/fhir-kit-client/package.json ]]; then
    command -v npm >/dev/null || die "tests/fhirclient/node_modules is missing and npm is not installed (bash scripts/deps.sh)"
    say "installing the pinned packages: npm ci --prefix tests/fhirclient"
    npm ci --prefix "$here" --no-audit --no-fund >&2 || die "npm ci failed (offline? run it once with the network)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cityos-fhirclient.XXXXXX")
pid=
cleanup() {
    local rc=$?
    set +e
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid"
    fi
    if ((rc != 0)) && [[ -f $work/server.log ]]; then
        say "the server's log (last 30 lines):"
        tail -n 30 "$work/server.log" >&2
    fi
    rm -rf -- "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- a demo town: 会津 太郎, his family and their consents --------------------------------------
data=$work/data
"$bin" demo --data-dir="$data" --people=20 >"$work/demo.out" 2>&1 || {
    cat "$work/demo.out" >&2
    die "cityos demo failed"
}
signins=$data/demo-sign-ins.txt
[[ -f $signins ]] || die "cityos demo wrote no $signins"
grep -q 'email=taro.aizu@example.jp password=' "$signins" ||
    die "no password for taro.aizu@example.jp in $signins"

# The operator token of this run only (the admin API registers the app); in the environment,
# not on a command line that `ps` shows.
admin_token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')

# ---- the server: --issuer must be the URL the client uses, so the port is chosen here ----------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_server() { # -> 0 when it logged "listening", 1 when it exited (e.g. the port was taken)
    local i
    port=$(free_port)
    base=http://127.0.0.1:$port
    : >"$work/server.log"
    CITYOS_ADMIN_TOKEN=$admin_token "$bin" serve --data-dir="$data" --listen=127.0.0.1 --port="$port" \
        --issuer="$base" --log-level=info >"$work/server.stdout" 2>>"$work/server.log" &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        grep -q '"listening' "$work/server.log" && return 0
        kill -0 "$pid" 2>/dev/null || {
            wait "$pid" || true
            pid=
            return 1
        }
        sleep 0.1
    done
    die "cityos serve logged no \"listening\" line within 10 s"
}

started=0
for _ in 1 2 3; do # another process may take the free port between the check and the bind
    if start_server; then
        started=1
        break
    fi
done
((started)) || die "cityos serve did not start (three tries)"
say "cityos on $base (pid $pid); node $(node --version), fhir-kit-client $(node -p "require('$here/node_modules/fhir-kit-client/package.json').version")"

# ---- the client ---------------------------------------------------------------------------------
rc=0
CITYOS_URL=$base CITYOS_ADMIN_TOKEN=$admin_token CITYOS_SIGNINS=$signins \
    node --test "$here/fhir_client.test.mjs" || rc=$?

kill -0 "$pid" 2>/dev/null || die "cityos died during the test"
kill -TERM "$pid"
server_rc=0
wait "$pid" || server_rc=$?
pid=
((rc == 0)) || die "the FHIR client test failed (node exit $rc)"
((server_rc == 0)) || die "cityos exited with $server_rc after SIGTERM"
if grep -q '"level":"error"' "$work/server.log"; then
    grep '"level":"error"' "$work/server.log" | head -n 5 >&2
    die "cityos logged errors"
fi
say "passed"
