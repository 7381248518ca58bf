# node_client.sh - what the tests of npm client libraries against the real binary share
# (tests/oidc/run.sh, tests/fhirclient/run.sh): the checks of node and the pinned packages, a
# temporary folder removed on exit (with the server's log on failure), a demo town, `cityos
# serve` on a free loopback port with --issuer set to that very URL, and its clean stop.
# Sourced after the caller has set `here` (its folder) and `label` (its test name).

say() { printf '%s: %s\n' "$label" "$*" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}

# node_client_prepare PACKAGE: CITYOS_BIN, node >= 18, and the pinned packages in $here (npm ci
# when node_modules lacks PACKAGE). Sets bin.
node_client_prepare() {
    local package=$1 rel=${here#"$(cd "$here/../.." && pwd)/"}
    bin=${CITYOS_BIN:-}
    [[ -n $bin ]] || die "CITYOS_BIN is not set (the cityos binary to test)"
    [[ -x $bin ]] || die "CITYOS_BIN=$bin is not an executable"
    command -v node >/dev/null || die "node is not installed (bash scripts/deps.sh installs nodejs and npm)"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    ((major >= 18)) || die "node $(node --version) is too old: $package needs 18 or newer"
    command -v python3 >/dev/null || die "python3 is not installed (it picks a free port)"
    if [[ ! -f $here/node_modules/$package/package.json ]]; then
        command -v npm >/dev/null || die "$rel/node_modules is missing and npm is not installed (bash scripts/deps.sh)"
        say "installing the pinned packages: npm ci --prefix $rel"
        npm ci --prefix "$here" --no-audit --no-fund >&2 || die "npm ci failed (offline? run it once with the network)"
    fi
}

# node_client_workdir: a temporary folder in $work, removed on exit; pid is the server's. On a
# PostgreSQL run (CITYOS_TEST_BACKEND=postgresql, suite pg: the server CITYOS_TEST_DATABASE_URL
# names, as scripts/test.sh starts it) also a database of its own there, dropped on exit, which
# the demo and the server reach through CITYOS_DATABASE_URL.
node_client_workdir() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/cityos-$label.XXXXXX")
    pid=
    pgdb=
    trap node_client_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if [[ ${CITYOS_TEST_BACKEND:-} == postgresql ]]; then
        local base=${CITYOS_TEST_DATABASE_URL:-}
        if [[ -z $base ]]; then
            say "SKIPPED: CITYOS_TEST_DATABASE_URL is not set (scripts/test.sh starts a PostgreSQL)"
            exit 77
        fi
        command -v psql >/dev/null || die "psql is not installed (bash scripts/deps.sh)"
        pgdb="t_${label}_$(basename "$work" | tr -c 'a-zA-Z0-9\n' '_' | tr 'A-Z' 'a-z')"
        psql -q -v ON_ERROR_STOP=1 "$base/postgres" -c "CREATE DATABASE $pgdb" >&2 ||
            die "cannot create the database $pgdb on $base"
        export CITYOS_DATABASE_URL="$base/$pgdb"
    fi
}

node_client_cleanup() {
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
    if [[ -n $pgdb ]]; then
        psql -q "$CITYOS_TEST_DATABASE_URL/postgres" -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1
    fi
    exit "$rc"
}

# node_client_demo: a demo town in $work/data; sets data and signins (its sign-ins file).
node_client_demo() {
    data=$work/data
    "$bin" demo --data-dir="$data" --people=20 >"$work/demo.out" 2>&1 || {
        cat "$work/demo.out" >&2
        die "cityos demo failed"
    }
    signins=$data/demo-sign-ins.txt
    [[ -f $signins ]] || die "cityos demo wrote no $signins"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# One try: 0 when it logged "listening", 1 when it exited (e.g. the port was taken).
node_client_try_start() {
    local i
    port=$(free_port)
    base=http://127.0.0.1:$port
    : >"$work/server.log"
    # the variables are exported in the subshell that becomes the server (never on a command
    # line that `ps` shows)
    (
        (($# == 0)) || export "$@"
        exec "$bin" serve --data-dir="$data" --listen=127.0.0.1 --port="$port" --issuer="$base" \
            --log-level=info >"$work/server.stdout" 2>>"$work/server.log"
    ) &
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

# node_client_start [NAME=VALUE...]: cityos serve with those environment variables; sets base,
# port and pid. Three tries: another process may take the free port between check and bind.
node_client_start() {
    local n
    for n in 1 2 3; do
        node_client_try_start "$@" && return 0
    done
    die "cityos serve did not start ($n tries)"
}

# node_client_finish RC WHAT: the client's exit status RC; then the server must still run, stop
# cleanly on SIGTERM and have logged no error.
node_client_finish() {
    local rc=$1 what=$2 server_rc=0
    kill -0 "$pid" 2>/dev/null || die "cityos died during the test"
    kill -TERM "$pid"
    wait "$pid" || server_rc=$?
    pid=
    ((rc == 0)) || die "$what failed (node exit $rc)"
    ((server_rc == 0)) || die "cityos exited with $server_rc after SIGTERM"
    if grep -q '"level":"error"' "$work/server.log"; then
        grep '"level":"error"' "$work/server.log" | head -n 5 >&2
        die "cityos logged errors"
    fi
    say "passed"
}
