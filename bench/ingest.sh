#!/usr/bin/env bash
# ingest.sh - the MQTT ingest benchmark (issue 6): a private Mosquitto (scripts/mosquitto.sh), a
# demo town, DEVICES wrist monitors bound to 会津 太郎 (bench/ingest seed), cityos serving with
# CONNECTIONS ingest connections, then DEVICES MQTT connections each publishing READINGS
# readings at QoS 1 (bench/ingest run). Reports the broker's and cityos' rates; "stored" means
# durable in cityos' store with its audit entry and outbox event. With SQLite it then waits for
# the home doctor to have handled every reading's event (its watermark) and reports the rate and
# cityos' CPU "stored and evaluated", to that point.
#
#   BUILD=/work/b-ing-rel bench/ingest.sh        # defaults below; every setting is an env var
#
# DEVICES (50), READINGS per device (400), INFLIGHT per device (20), CONNECTIONS (16), PERF_OUT
# (a file: perf record cityos meanwhile), LOAD_SUBJECT ("others": the load devices are bound to
# the demo's people other than 会津 太郎, round robin; "taro": all to him; his 4 probe monitors
# measure the reading-to-alert latency either way),
# RATE (readings/s offered in all, open loop; unset: as fast as the broker acknowledges),
# AUTOSAVE: the broker saves its database after this many changes (scripts/mosquitto.sh's
# default 1 makes every queued message durable in the broker; larger is faster, less safe).
# DATABASE_URL (a PostgreSQL server, e.g. the one `scripts/postgres.sh start DIR PORT` prints):
# the run makes a database of its own there (C collation), points cityos demo, the driver and
# cityos serve at it through CITYOS_DATABASE_URL, and drops it at the end; unset: SQLite in the
# temporary data folder, as before.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
DEVICES=${DEVICES:-50}
READINGS=${READINGS:-400}
INFLIGHT=${INFLIGHT:-20}
CONNECTIONS=${CONNECTIONS:-16}
AUTOSAVE=${AUTOSAVE:-1}
if [ ! -x "$BUILD/cityos" ] || [ ! -x "$BUILD/bench/ingest" ]; then
    echo "ingest.sh: build $BUILD first (meson compile -C $BUILD)" >&2
    exit 1
fi
work=$(mktemp -d /tmp/cityos-ingest-bench-XXXXXX)
port=$((20000 + RANDOM % 20000))
dbname=
cleanup() {
    [ -n "${cpid:-}" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    bash scripts/mosquitto.sh stop "$work/mqtt" >/dev/null 2>&1 || true
    if [ -n "$dbname" ]; then
        psql -q -d "${DATABASE_URL%/}/postgres" -c "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
backend=sqlite
unset CITYOS_DATABASE_URL
if [ -n "${DATABASE_URL:-}" ]; then
    dbname="cityos_bench_ingest_$$"
    psql -q -v ON_ERROR_STOP=1 -d "${DATABASE_URL%/}/postgres" \
        -c "CREATE DATABASE $dbname TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" >/dev/null
    export CITYOS_DATABASE_URL="${DATABASE_URL%/}/$dbname"
    backend="postgresql ($(psql -Atq -d "$CITYOS_DATABASE_URL" -c 'SHOW server_version'), fsync $(psql -Atq -d "$CITYOS_DATABASE_URL" -c 'SHOW fsync'), synchronous_commit on for the writer)"
fi
MOSQUITTO_AUTOSAVE_CHANGES=$AUTOSAVE bash scripts/mosquitto.sh start "$work/mqtt" "$port" >/dev/null
admin=$(cat "$work/mqtt/admin.secret")
ctrl() { mosquitto_ctrl -h 127.0.0.1 -p "$port" -u cityos-admin -P "$admin" dynsec "$@" >/dev/null; }
# one account the simulated devices share, allowed to publish on every device topic
ctrl createRole bench-devices
ctrl addRoleACL bench-devices publishClientSend 'cityos/v1/devices/#' allow
ctrl createClient bench-devices -p bench-secret
ctrl addClientRole bench-devices bench-devices
"$BUILD/cityos" demo --people=10 --seed=1 --data-dir="$work/data" >/dev/null 2>&1
"$BUILD/bench/ingest" seed "$work/data" "$DEVICES" "${LOAD_SUBJECT:-others}"
"$BUILD/cityos" serve --data-dir="$work/data" --port=0 --mqtt-port="$port" \
    --mqtt-admin-password-file="$work/mqtt/admin.secret" --ingest-connections="$CONNECTIONS" \
    > "$work/cityos.log" 2>&1 &
cpid=$!
if [ -n "${PERF_OUT:-}" ]; then
    perf record -g -F 499 -p "$cpid" -o "$PERF_OUT" >/dev/null 2>&1 &
fi
for _ in $(seq 300); do
    [ "$(grep -c 'subscribed to' "$work/cityos.log" || true)" -ge "$CONNECTIONS" ] && break
    sleep 0.1
done
echo "ingest.sh: backend=$backend devices=$DEVICES readings=$READINGS inflight=$INFLIGHT connections=$CONNECTIONS rate=${RATE:-max} autosave=$AUTOSAVE load=$(cut -d' ' -f1-3 /proc/loadavg)"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system CPU, clock ticks
bpid=$(cat "$work/mqtt/mosquitto.pid")
# PostgreSQL: the CPU of the server processes serving cityos on the run's database
# (pg_stat_activity, less the driver's own polling connection), when the server runs on this
# machine (their /proc entries are readable); 0 otherwise
declare -A pg0=()
pg_snapshot() { # fills the named array with pid -> CPU ticks
    local -n snap=$1
    local p
    [ -n "$dbname" ] || return 0
    for p in $(psql -Atq -d "${DATABASE_URL%/}/postgres" \
        -c "SELECT pid FROM pg_stat_activity WHERE datname = '$dbname'
            AND application_name <> 'cityos-bench-ingest'" 2>/dev/null); do
        # shellcheck disable=SC2034,SC2004 # snap: the caller's associative array (a nameref)
        [ -r "/proc/$p/stat" ] && snap[$p]=$(ticks "$p")
    done
    return 0
}
pg_snapshot pg0
c0=$(ticks "$cpid"); b0=$(ticks "$bpid"); s0=$(date +%s.%N)
"$BUILD/bench/ingest" run "$work/data" "$port" bench-devices bench-secret "$DEVICES" "$READINGS" "$INFLIGHT"
c1=$(ticks "$cpid"); b1=$(ticks "$bpid"); s1=$(date +%s.%N)
declare -A pg1=()
pg_snapshot pg1
pgt=0
for p in "${!pg1[@]}"; do pgt=$((pgt + pg1[$p] - ${pg0[$p]:-0})); done
awk -v c="$((c1 - c0))" -v b="$((b1 - b0))" -v g="$pgt" -v hz="$(getconf CLK_TCK)" -v n="$((DEVICES * READINGS))" \
    -v s0="$s0" -v s1="$s1" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" -v pg="${dbname:+1}" 'BEGIN {
    printf "CPU during the run (%.1f s wall, the history and the probes included): cityos %.2f s (%.0f readings per cityos CPU-second), mosquitto %.2f s",
        s1 - s0, c / hz, n / (c / hz), b / hz
    if (pg != "")
        printf ", PostgreSQL backends %.2f s (%.0f readings per CPU-second of cityos and PostgreSQL together)",
            g / hz, n / ((c + g) / hz)
    printf "; load %s\n", l }'
# stored AND evaluated: wait until the home doctor's watermark passes the last reading's event
# (SQLite only), then the CPU of cityos from the start of the run to there
db="$work/data/cityos.db"
if [ -z "$dbname" ] && [ -r "$db" ]; then
    for _ in $(seq 1500); do
        behind=$(sqlite3 -readonly -cmd ".timeout 5000" "$db" \
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM event_outbox WHERE kind = 'reading.stored') -
                    COALESCE((SELECT MAX(done_seq) FROM event_consumer WHERE consumer = 'homedoctor'
                              AND kind = 'reading.stored'), 0)" 2>/dev/null || echo 1)
        [ "${behind:-1}" -le 0 ] && break
        sleep 0.2
    done
    c2=$(ticks "$cpid"); s2=$(date +%s.%N)
    awk -v c="$((c2 - c0))" -v hz="$(getconf CLK_TCK)" -v n="$((DEVICES * READINGS))" -v s0="$s0" \
        -v s1="$s1" -v s2="$s2" -v behind="${behind:-?}" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
        printf "home doctor caught up %.1f s after the run (%s events behind at the end); stored and evaluated: %.1f s wall, %.0f readings/s, cityos %.2f CPU-s (%.0f readings per cityos CPU-second); load %s\n",
            s2 - s1, behind, s2 - s0, n / (s2 - s0), c / hz, n / (c / hz), l }'
fi
mport=$(grep -o "listening on http://[0-9.]*:[0-9]*" "$work/cityos.log" | grep -o "[0-9]*$")
curl -s "http://127.0.0.1:$mport/metrics" | grep -E "^cityos_ingest_messages_total|^cityos_events_deliveries_total|^cityos_events_batches_total|^cityos_homedoctor_events_total|^cityos_store_batch_size_(sum|count)|^cityos_store_commit_seconds_(sum|count)|^cityos_ingest_message_seconds_(sum|count)" || true
