# shellcheck shell=bash
# lib.sh - what bench/http.sh, bench/http_write.sh and bench/oauth.sh share. Sourced (never run)
# by each of them before anything else, with `. "$(dirname "$0")/lib.sh"`; it defines functions
# and the constants below, and runs nothing. The functions talk to the script through globals
# named in their comments (WORK, DATA, CLOG, CITYOS_PID, ...), as the scripts did before.
# SC2034/SC2153: the globals are set here for the scripts, or by the scripts for here.
# shellcheck disable=SC2034,SC2153

BUILD=build-bench
BIN=$BUILD/cityos
BENCH_SELF=${0##*/} # http.sh, http_write.sh or oauth.sh: the prefix of every message

say() { printf '%s: %s\n' "$BENCH_SELF" "$*" >&2; }
die() {
    printf '%s: FAILED: %s\n' "$BENCH_SELF" "$*" >&2
    exit 1
}

# ---- settings --------------------------------------------------------------------------------
# Checks DURATION, RUNS, WARMUP and THREADS; sets DUR_S to DURATION in seconds.
check_run_settings() {
    [[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_DURATION=$DURATION: want a wrk duration such as 10s, 30 or 1m"
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS=$RUNS: want a positive whole number"
    [[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP=$WARMUP: want a whole number"
    [[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "BENCH_THREADS=$THREADS: want a positive whole number"
    case $DURATION in
    *m) DUR_S=$((${DURATION%m} * 60)) ;;
    *h) DUR_S=$((${DURATION%h} * 3600)) ;;
    *) DUR_S=${DURATION%s} ;;
    esac
}

# Checks CONNS (one wrk -c for every run) against THREADS.
check_connections() {
    [[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS=$CONNS: want a positive whole number"
    ((CONNS >= THREADS)) || die "BENCH_CONNECTIONS ($CONNS) must be at least BENCH_THREADS ($THREADS)"
}

raise_fd_limit() { # connections: wrk and cityos each hold one descriptor per connection
    if (($(ulimit -n) < $1 + 256)); then
        ulimit -n $(($1 + 256)) 2>/dev/null ||
            die "ulimit -n is $(ulimit -n), too few for $1 connections; raise it"
    fi
}

# ---- tools -----------------------------------------------------------------------------------
installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

install_build_deps() {
    if [[ -f scripts/deps.sh ]]; then
        say "build dependencies: bash scripts/deps.sh"
        bash scripts/deps.sh
    else
        say "scripts/deps.sh not found; assuming the build dependencies are installed"
    fi
}

install_packages() { # package...: apt-get installs them (as root); nothing when there are none
    (($# > 0)) || return 0
    [[ $(id -u) -eq 0 ]] || die "missing $*: run as root, or: apt-get install $*"
    say "installing $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

install_missing_tools() { # tool...: those neither on PATH nor installed (the Debian packages have the tools' names)
    local tool missing=()
    for tool in "$@"; do
        command -v "$tool" >/dev/null || installed "$tool" || missing+=("$tool")
    done
    install_packages "${missing[@]}"
}

build_release() {
    say "building a release binary in $BUILD"
    # a build folder of another source tree would be silently reconfigured onto this one (and
    # the figures would belong to this tree's code, not the build's): refuse instead
    local info=$BUILD/meson-info/meson-info.json src
    if [[ -f $info ]]; then
        src=$(grep -o '"directories": {"source": "[^"]*"' "$info" | sed 's/.*"source": "//; s/"$//')
        [[ $(readlink -f "$src") == "$(pwd -P)" ]] ||
            die "$BUILD was set up for the source tree $src, not $(pwd -P): run that tree's own bench script, or pick another build folder"
    fi
    if [[ -d $BUILD/meson-private ]]; then
        meson setup --reconfigure "$BUILD" --buildtype=release -Dtests=false >&2
    else
        meson setup "$BUILD" --buildtype=release -Dtests=false >&2
    fi
    meson compile -C "$BUILD" >&2
    [[ -x $BIN ]] || die "the build did not produce $BIN"
}

# ---- clean-up, whatever happens --------------------------------------------------------------
WORK=
CITYOS_PID=
NGINX_PID=

stop_pid() { # pid name: SIGTERM, wait up to 15 s, then SIGKILL
    local pid=$1 name=$2 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) ignored SIGTERM for 15 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null
}

cleanup() { # stops CITYOS_PID and NGINX_PID, removes WORK, keeps the exit status
    local rc=$?
    set +e
    stop_pid "$CITYOS_PID" cityos
    stop_pid "$NGINX_PID" nginx
    [[ -n $WORK && -d $WORK ]] && rm -rf -- "$WORK"
    exit "$rc"
}

trap_cleanup() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Sets LOAD (the load average at start) and CORES, and warns when the machine is busy.
note_load() {
    LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
    CORES=$(nproc)
    if awk -v l="${LOAD%% *}" -v n="$CORES" 'BEGIN { exit !(l > n / 2) }'; then
        say "warning: load average $LOAD on $CORES cores: the machine is busy and the figures will be noisy"
    fi
}

# ---- cityos ----------------------------------------------------------------------------------
# Starts `cityos serve` on DATA, loopback, a port of its choosing, with the extra options given;
# stdout to WORK/cityos.stdout, stderr appended to CLOG (O_APPEND, so that the log can be
# emptied between runs and not fill the disk). Sets CITYOS_PID.
start_cityos() { # option...
    "$BIN" serve --data-dir="$DATA" --port=0 --listen=127.0.0.1 "$@" >"$WORK/cityos.stdout" 2>>"$CLOG" &
    CITYOS_PID=$!
}

# Calls the command every 0.1 s for 10 s until it prints the port; sets CITYOS_PORT to what it
# printed. Fails when cityos exits, or with the message when the 10 s pass.
wait_cityos_port() { # command failure-message
    local i
    CITYOS_PORT=
    for ((i = 0; i < 100; i++)); do
        kill -0 "$CITYOS_PID" 2>/dev/null || {
            cat "$CLOG" >&2
            die "cityos serve exited at start-up"
        }
        CITYOS_PORT=$($1 2>/dev/null || true)
        [[ -n $CITYOS_PORT ]] && break
        sleep 0.1
    done
    [[ -n $CITYOS_PORT ]] || {
        cat "$CLOG" >&2
        die "$2"
    }
}

port_from_log() { # -> "port threads" from the "listening" line in CLOG, if there is one yet
    python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if "listening" in str(o.get("msg", "")) and "port" in o:
        print(o["port"], o.get("threads", "?"))
        break
' "$CLOG"
}

# Starts cityos at --log-level=info and reads its port from its "listening" log line; sets
# CITYOS_PID, CITYOS_PORT, CITYOS_THREADS and CITYOS (the base URL).
start_cityos_info() {
    start_cityos --log-level=info
    wait_cityos_port port_from_log "cityos did not log a \"listening\" line with its port within 10 s"
    read -r CITYOS_PORT CITYOS_THREADS <<<"$CITYOS_PORT"
    CITYOS=http://127.0.0.1:$CITYOS_PORT
}

cityos_alive() { # when
    kill -0 "$CITYOS_PID" 2>/dev/null || {
        tail -n 20 "$CLOG" >&2
        die "cityos died before or during $1"
    }
}

stop_cityos() { # SIGTERM; cityos must exit 0 (its exit is part of the check)
    local rc=0
    kill -TERM "$CITYOS_PID"
    wait "$CITYOS_PID" || rc=$?
    CITYOS_PID=
    ((rc == 0)) || {
        tail -n 20 "$CLOG" >&2
        die "cityos exited with status $rc after SIGTERM"
    }
}

# ---- wrk -------------------------------------------------------------------------------------
report_lua() { # prints the Lua done() that ends every run with one machine-readable line
    cat <<'EOF'
-- prints one machine-readable line after the run; latencies are in microseconds;
-- "non2xx" is wrk's errors.status: answers with a status >= 400
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%.0f duration_us=%.0f bytes=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f " ..
    "max_us=%.0f non2xx=%.0f connect=%.0f read=%.0f write=%.0f timeout=%.0f\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
EOF
}

# Fails on wrk's own summary lines for answers other than 2xx/3xx and for socket errors.
check_wrk_summary() { # wrk-output label
    if grep -q 'Non-2xx or 3xx responses' "$1"; then
        die "$2: wrk: $(grep 'Non-2xx or 3xx responses' "$1" | tr -s ' ')"
    fi
    if grep -q 'Socket errors' "$1"; then
        die "$2: wrk: $(grep 'Socket errors' "$1" | tr -s ' ')"
    fi
}

# Reads the BENCH line of report_lua (and any further key=value words) into the global
# associative array m.
read_wrk_report() { # wrk-output what [key=value...]
    local line kv
    line=$(grep '^BENCH ' "$1") || {
        cat "$1" >&2
        die "wrk printed no BENCH line (the Lua report) $2"
    }
    unset m
    declare -gA m=()
    # shellcheck disable=SC2068 # the words are key=value, split on purpose
    for kv in ${line#BENCH } ${@:3}; do m[${kv%%=*}]=${kv#*=}; done
}

# Fails unless the run in m had no answer >= 400, no socket error and at least one request.
check_wrk_counts() { # label
    local errs
    ((m[non2xx] == 0)) || die "$1: wrk counted ${m[non2xx]} answers >= 400"
    errs=$((m[connect] + m[read] + m[write] + m[timeout]))
    ((errs == 0)) || die "$1: wrk socket errors: connect ${m[connect]}, read ${m[read]}, write ${m[write]}, timeout ${m[timeout]}"
    ((m[requests] > 0)) || die "$1: wrk completed no requests"
}

# ---- report ----------------------------------------------------------------------------------
out_files() { # name: sets OUT_MD and OUT_LOG to bench/out/NAME-<UTC time>.md and .log
    local stamp
    stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
    mkdir -p bench/out
    OUT_MD=bench/out/$1-$stamp.md
    OUT_LOG=bench/out/$1-$stamp.log
}

# Sets and exports the machine's description for the report: CPU_MODEL, CORES, KERNEL, MEM,
# LOAD (from note_load), DATE, COMMIT, CITYOS_VERSION, WRK_VERSION, DISTRO.
describe_machine() {
    CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    [[ -n $CPU_MODEL ]] || CPU_MODEL=$(awk -F': *' '/^(Hardware|Processor|cpu model)/ { print $2; exit }' /proc/cpuinfo)
    COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
    [[ -z $(git status --porcelain 2>/dev/null | head -n 1) ]] || COMMIT="$COMMIT + uncommitted changes"
    KERNEL=$(uname -srm)
    MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
    CITYOS_VERSION=$("$BIN" version)
    WRK_VERSION=$(wrk -v 2>&1 | head -n 1 || true)
    DISTRO=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
    export CPU_MODEL CORES KERNEL MEM LOAD DATE COMMIT CITYOS_VERSION WRK_VERSION DISTRO
}

show_report() { # prints OUT_MD between blank lines
    echo
    cat "$OUT_MD"
    echo
}
