#!/usr/bin/env bash
# http.sh - the HTTP benchmark: requests/s and latency of a release cityos (GET /health and a
# store-backed JSON GET) beside nginx serving a static 1 KB JSON file on the same machine, the
# ceiling. Target: the JSON GET at >= 50% of nginx's rate. Run from anywhere, as root on
# Debian 12 (it installs wrk, nginx, curl and python3 when missing):
#
#   bench/http.sh
#   BENCH_DURATION=3 BENCH_RUNS=2 bench/http.sh      # a quick check that it works
#
# Settings (environment): BENCH_DURATION (wrk -d, default 10s), BENCH_RUNS (measured runs per
# target, default 5), BENCH_WARMUP (discarded runs per target, default 1), BENCH_CONNECTIONS
# (wrk -c, default 64), BENCH_THREADS (wrk -t, default 2). All traffic stays on 127.0.0.1; the
# servers, temporary folders and logs are removed on exit, failure included. The result (a
# markdown block) is printed and written to bench/out/http-<UTC time>.md with the raw wrk output
# beside it in .log. See bench/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$(readlink -f "$0")")/.."

DURATION=${BENCH_DURATION:-10s}
RUNS=${BENCH_RUNS:-5}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
TARGET_RATIO=0.50

check_run_settings
check_connections
COMMAND="BENCH_DURATION=$DURATION BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP BENCH_CONNECTIONS=$CONNS BENCH_THREADS=$THREADS bench/http.sh"

# ---- tools -----------------------------------------------------------------------------------
install_build_deps

missing=()
installed wrk || missing+=(wrk)
installed nginx || installed nginx-light || installed nginx-core || installed nginx-full ||
    installed nginx-extras || missing+=(nginx)
installed curl || missing+=(curl)
installed python3 || missing+=(python3)
install_packages "${missing[@]}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || die "nginx is installed but not found on PATH or at /usr/sbin/nginx"

build_release
trap_cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cityos-bench.XXXXXX")
chmod 0755 "$WORK" # nginx workers run as nobody and must reach html/
DATA=$WORK/data
NDIR=$WORK/nginx
mkdir -p "$DATA" "$NDIR/html" "$NDIR/client_body" "$WORK/runs"
CLOG=$WORK/cityos.log

http_get() { # url outfile -> "status content-type bytes"
    curl --noproxy '*' -sS --max-time 5 -o "$2" -w '%{http_code} %{content_type} %{size_download}' "$1"
}

note_load

# ---- cityos ----------------------------------------------------------------------------------
say "seeding $DATA"
"$BIN" demo --data-dir="$DATA" >"$WORK/demo.log" 2>&1 || {
    cat "$WORK/demo.log" >&2
    die "cityos demo failed"
}

start_cityos_info
say "cityos pid $CITYOS_PID listening on $CITYOS ($CITYOS_THREADS HTTP threads)"

read -r st ct _ <<<"$(http_get "$CITYOS/api/v1/notices" "$WORK/list.json")"
[[ $st == 200 ]] || die "GET /api/v1/notices answered $st: $(head -c 500 "$WORK/list.json")"
# The largest of the seeded notices (about 500 bytes), not simply the first: the list's order
# is not fixed between data folders, and the body size should be the same from run to run.
NOTICE_ID=$(python3 -c '
import json, sys
items = json.load(open(sys.argv[1], encoding="utf-8"))["items"]
size = lambda n: len(json.dumps(n, ensure_ascii=False, separators=(",", ":")).encode())
print(max(items, key=lambda n: (size(n), n["id"]))["id"])
' "$WORK/list.json") || die "GET /api/v1/notices: no items[].id in $(head -c 500 "$WORK/list.json")"
[[ $NOTICE_ID =~ ^[A-Za-z0-9_-]+$ ]] || die "unexpected notice id \"$NOTICE_ID\""

# ---- nginx -----------------------------------------------------------------------------------
python3 - "$NDIR/html/static.json" <<'EOF'
import json, sys
doc = {"id": "static", "category": "event", "districts": ["Minato", "Tsurugajo"],
       "title": {"ja": "静的ファイル", "en": "A static notice, the nginx ceiling"},
       "body": {"ja": "ベンチマーク用の固定JSONです。",
                "en": "A fixed 1 KB JSON document served from disk by nginx."},
       "createdAt": "2025-01-01T00:00:00.000Z", "pad": ""}
text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
doc["pad"] = "x" * (1024 - len(text.encode()))
data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
assert len(data) == 1024, len(data)
open(sys.argv[1], "wb").write(data)
EOF
chmod 0755 "$NDIR" "$NDIR/html"
chmod 0644 "$NDIR/html/static.json"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

NGINX_PORT=
for attempt in 1 2 3; do
    port=$(free_port)
    sed -e "s|@DIR@|$NDIR|g" -e "s|@PORT@|$port|g" bench/nginx.conf.in >"$NDIR/nginx.conf"
    : >"$NDIR/error.log"
    "$NGINX" -t -q -p "$NDIR/" -e "$NDIR/error.log" -c "$NDIR/nginx.conf" 2>"$WORK/nginx-t.log" || {
        cat "$WORK/nginx-t.log" "$NDIR/error.log" >&2
        die "nginx rejected bench/nginx.conf.in"
    }
    "$NGINX" -p "$NDIR/" -e "$NDIR/error.log" -c "$NDIR/nginx.conf" >"$NDIR/stdout" 2>&1 &
    NGINX_PID=$!
    for ((i = 0; i < 50; i++)); do
        kill -0 "$NGINX_PID" 2>/dev/null || break
        if curl --noproxy '*' -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/static.json" 2>/dev/null; then
            NGINX_PORT=$port
            break
        fi
        sleep 0.1
    done
    [[ -n $NGINX_PORT ]] && break
    stop_pid "$NGINX_PID" nginx
    NGINX_PID=
    say "nginx did not start on port $port (attempt $attempt): $(tail -n 2 "$NDIR/error.log" "$NDIR/stdout" | tr '\n' ' ')"
done
[[ -n $NGINX_PORT ]] || die "nginx would not start"
NGINX_URL=http://127.0.0.1:$NGINX_PORT
say "nginx pid $NGINX_PID listening on $NGINX_URL"

# ---- the targets, checked once by hand -------------------------------------------------------
NAMES=("cityos GET /health" "cityos JSON GET (store read)" "nginx static 1 KB JSON (ceiling)")
KEYS=(health notice static)
PATHS=("/health" "/api/v1/notices/{id}" "/static.json")
URLS=("$CITYOS/health" "$CITYOS/api/v1/notices/$NOTICE_ID" "$NGINX_URL/static.json")
BYTES=()
for k in 0 1 2; do
    read -r st ct size <<<"$(http_get "${URLS[k]}" "$WORK/probe-${KEYS[k]}")"
    [[ $st == 200 ]] || die "${URLS[k]} answered $st: $(head -c 500 "$WORK/probe-${KEYS[k]}")"
    [[ $ct == application/json* ]] || die "${URLS[k]} answered Content-Type \"$ct\", not application/json"
    BYTES+=("$size")
done
say "bodies: /health ${BYTES[0]} B, notice ${BYTES[1]} B, static ${BYTES[2]} B"

startup_problems=$(grep -E '"level":"(warn|error)"' "$CLOG" || true)
[[ -z $startup_problems ]] || say "cityos start-up warnings (not fatal): $startup_problems"
# from here on the logs hold only benchmark traffic; start them empty
: >"$CLOG"
: >"$NDIR/access.log"

# ---- wrk -------------------------------------------------------------------------------------
LUA=$WORK/report.lua
report_lua >"$LUA"

RAW=$WORK/wrk-raw.log
RESULTS=$WORK/results.tsv
: >"$RAW"
printf 'key\tround\trequests\tduration_us\tp50_us\tp99_us\n' >"$RESULTS"

# Sets LOGGED to the requests the servers logged since the last call and fails on any answer
# other than 200 or on a warning or error in the server's log; then empties the logs.
LOGGED=0
check_server_logs() { # key
    local key=$1 logged bad problems
    if [[ $key == static ]]; then
        logged=$(wc -l <"$NDIR/access.log")
        bad=$(awk '$9 != 200' "$NDIR/access.log" | wc -l)
        problems=$(grep -v '\[notice\]' "$NDIR/error.log" | head -n 5 || true)
        [[ -z $problems ]] || die "nginx error.log during the run: $problems"
        ((bad == 0)) || die "nginx logged $bad answers other than 200: $(awk '$9 != 200' "$NDIR/access.log" | head -n 3)"
        : >"$NDIR/access.log"
    else
        logged=$(grep -c '"msg":"request"' "$CLOG" || true)
        bad=$(grep '"msg":"request"' "$CLOG" | grep -o '"status":[0-9]*' | grep -vc '^"status":200$' || true)
        problems=$(grep -E '"level":"(warn|error)"' "$CLOG" | head -n 5 || true)
        [[ -z $problems ]] || die "cityos logged warnings or errors during the run:
$problems"
        ((bad == 0)) || die "cityos logged $bad answers other than 200: $(grep '"msg":"request"' "$CLOG" | grep -v '"status":200,' | head -n 3)"
        : >"$CLOG"
    fi
    LOGGED=$logged
}

servers_alive() { # when
    cityos_alive "$1"
    kill -0 "$NGINX_PID" 2>/dev/null || {
        tail -n 20 "$NDIR/error.log" >&2
        die "nginx died before or during $1"
    }
}

ROUNDS=$((WARMUP + RUNS))
say "$WARMUP warm-up + $RUNS measured runs per target, wrk -t$THREADS -c$CONNS -d$DURATION: about $((ROUNDS * 3 * (DUR_S + 1))) s"
for ((r = 0; r < ROUNDS; r++)); do
    for ((j = 0; j < 3; j++)); do
        k=$(((r + j) % 3)) # rotate the order each round so no target always runs first
        key=${KEYS[k]}
        kind=measured
        ((r < WARMUP)) && kind=warm-up
        out=$WORK/runs/$r-$key.txt
        servers_alive "round $r"
        timeout --foreground --signal=INT --kill-after=10 $((DUR_S + 30)) \
            wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "${URLS[k]}" >"$out" 2>&1 ||
            {
                cat "$out" >&2
                die "wrk failed against ${URLS[k]}"
            }
        {
            printf '### round %d (%s): %s\n' "$r" "$kind" "${URLS[k]}"
            cat "$out"
            echo
        } >>"$RAW"
        servers_alive "the run against ${URLS[k]}"
        read_wrk_report "$out" "for ${URLS[k]}"
        ((m[non2xx] == 0)) || die "${URLS[k]}: wrk counted ${m[non2xx]} non-2xx/3xx responses (round $r)"
        errs=$((m[connect] + m[read] + m[write] + m[timeout]))
        ((errs == 0)) || die "${URLS[k]}: wrk socket errors (round $r): connect ${m[connect]}, read ${m[read]}, write ${m[write]}, timeout ${m[timeout]}"
        ((m[requests] > 0)) || die "${URLS[k]}: wrk completed no requests"
        check_server_logs "$key"
        rps=$(awk -v n="${m[requests]}" -v d="${m[duration_us]}" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
        say "round $r ($kind) ${NAMES[k]}: $rps req/s, p50 ${m[p50_us]} us, p99 ${m[p99_us]} us ($LOGGED requests logged by the server)"
        if [[ $kind == measured ]]; then
            printf '%s\t%d\t%s\t%s\t%s\t%s\n' "$key" "$r" "${m[requests]}" "${m[duration_us]}" \
                "${m[p50_us]}" "${m[p99_us]}" >>"$RESULTS"
        fi
        unset m
        sleep 1
    done
done

# ---- stop cityos cleanly (its exit is part of the check) -------------------------------------
stop_cityos

# ---- report ----------------------------------------------------------------------------------
out_files http
describe_machine
NGINX_VERSION=$("$NGINX" -v 2>&1)
NAMES_0=${NAMES[0]} NAMES_1=${NAMES[1]} NAMES_2=${NAMES[2]}
PATHS_0=${PATHS[0]} PATHS_1=${PATHS[1]} PATHS_2=${PATHS[2]}
BYTES_0=${BYTES[0]} BYTES_1=${BYTES[1]} BYTES_2=${BYTES[2]}
export COMMAND NGINX_VERSION CITYOS_THREADS THREADS CONNS DURATION RUNS WARMUP TARGET_RATIO NAMES_0 NAMES_1 NAMES_2 \
    PATHS_0 PATHS_1 PATHS_2 BYTES_0 BYTES_1 BYTES_2

python3 - "$RESULTS" >"$WORK/report.md" <<'EOF'
import csv, os, statistics, sys

env = os.environ
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
keys = ["health", "notice", "static"]

def ms(us):
    return f"{us / 1000:.3f} ms" if us < 10000 else f"{us / 1000:.1f} ms"

stats = {}
for key in keys:
    mine = [r for r in rows if r["key"] == key]
    rps = [int(r["requests"]) / (int(r["duration_us"]) / 1e6) for r in mine]
    stats[key] = {
        "rps": statistics.median(rps), "min": min(rps), "max": max(rps),
        "p50": statistics.median(float(r["p50_us"]) for r in mine),
        "p99": statistics.median(float(r["p99_us"]) for r in mine),
    }

ratio = stats["notice"]["rps"] / stats["static"]["rps"]
target = float(env["TARGET_RATIO"])
out = []
w = out.append
w(f"## HTTP benchmark, {env['DATE']}")
w("")
w("| target | path | body bytes | median req/s | req/s min–max | median p50 | median p99 |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for i, key in enumerate(keys):
    s = stats[key]
    w(f"| {env[f'NAMES_{i}']} | `{env[f'PATHS_{i}']}` | {env[f'BYTES_{i}']} | {s['rps']:,.0f} | "
      f"{s['min']:,.0f}–{s['max']:,.0f} | {ms(s['p50'])} | {ms(s['p99'])} |")
w("")
verdict = "met" if ratio >= target else "NOT met"
w(f"**JSON GET / nginx static = {ratio:.2f}** (target >= {target:.2f}: {verdict}); "
  f"/health / nginx static = {stats['health']['rps'] / stats['static']['rps']:.2f}.")
w("")
w("Machine:")
w(f"- CPU: {env['CPU_MODEL']}, nproc {env['CORES']}; memory {env['MEM']}")
w(f"- OS: {env['DISTRO']}, kernel {env['KERNEL']}")
w(f"- load average at start: {env['LOAD']}")
w(f"- date: {env['DATE']}")
w(f"- {env['CITYOS_VERSION']}; source {env['COMMIT']}; release build (`meson setup build-bench "
  f"--buildtype=release -Dtests=false`)")
w(f"- {env['NGINX_VERSION']}; {env['WRK_VERSION']}")
w("")
w("Command:")
w("```")
w(env["COMMAND"])
w("```")
w(f"Each run is `wrk -t{env['THREADS']} -c{env['CONNS']} -d{env['DURATION']} --latency "
  f"-s report.lua URL` over loopback, with the client on the same cores as the server. "
  f"{env['WARMUP']} warm-up run per target is discarded, then {env['RUNS']} measured runs per "
  f"target, the three targets interleaved with the order rotated each round; the figures are "
  f"medians over the measured runs (p50/p99: the median of each run's percentile). cityos: "
  f"`cityos serve --port=0 --listen=127.0.0.1 --log-level=info` ({env['CITYOS_THREADS']} HTTP "
  f"threads), a data folder seeded by `cityos demo`, one JSON log line per request to a file; "
  f"nginx: bench/nginx.conf.in, worker_processes auto, access_log on to a file. Every run had "
  f"0 non-2xx answers and 0 socket errors, checked in wrk and in both servers' logs.")
print("\n".join(out))
EOF

cp "$WORK/report.md" "$OUT_MD"
cp "$RAW" "$OUT_LOG"
show_report
say "written to $OUT_MD (raw wrk output: $OUT_LOG)"
