#!/usr/bin/env bash
# oauth.sh - the OAuth benchmark (issue 3): requests/s and latency of a release cityos for an
# authenticated GET (GET /api/v1/me/token with a bearer access token: the token's hash looked up
# in SQLite, its scope parsed, the principal answered as JSON) and for token introspection
# (POST /oauth/introspect with HTTP Basic client authentication and a form body token=...), with
# GET /health as the baseline in the same sitting. Run from anywhere, as root on Debian 12 (it
# installs wrk, curl and python3 when missing):
#
#   bench/oauth.sh
#   BENCH_DURATION=3s BENCH_RUNS=2 bench/oauth.sh     # a quick check that it works
#
# Settings (environment): BENCH_DURATION (wrk -d, default 10s, at most 10m: a run must fit in
# one access token's 15-minute life), BENCH_RUNS (measured runs per target, default 5),
# BENCH_WARMUP (discarded runs per target, default 1), BENCH_CONNECTIONS (wrk -c, default 64),
# BENCH_THREADS (wrk -t, default 2). All traffic stays on 127.0.0.1; the server, temporary
# folders and logs are removed on exit, failure included. The result (a markdown block) is
# printed and written to bench/out/oauth-<UTC time>.md with the raw wrk output beside it in
# .log. See bench/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$(readlink -f "$0")")/.."

DURATION=${BENCH_DURATION:-10s}
RUNS=${BENCH_RUNS:-5}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
SCOPE=system/Observation.rs

check_run_settings
check_connections
((CONNS <= 4000)) || die "BENCH_CONNECTIONS=$CONNS: cityos accepts 4096 connections at most"
# Each run gets a fresh access token (15 minutes) and must end well before it expires: an
# expired token makes /api/v1/me/token answer 401 (caught) but introspection 200 {"active":false}.
((DUR_S <= 600)) || die "BENCH_DURATION=$DURATION: at most 10m, so that a run fits in one access token's life"
COMMAND="BENCH_DURATION=$DURATION BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP BENCH_CONNECTIONS=$CONNS BENCH_THREADS=$THREADS bench/oauth.sh"

raise_fd_limit "$CONNS"

# ---- tools -----------------------------------------------------------------------------------
install_build_deps
install_missing_tools wrk curl python3
build_release
trap_cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cityos-bench-oauth.XXXXXX")
DATA=$WORK/data
mkdir -p "$DATA" "$WORK/runs" "$WORK/lua"
CLOG=$WORK/cityos.log
NOTES=$WORK/server-notes.log # every server log line that is not a request line, kept for the report
: >"$NOTES"

note_load

# ---- the client ------------------------------------------------------------------------------
# A confidential client for the client-credentials grant, registered in the empty data folder
# before the server starts (the CLI creates the database); the secret is printed once.
"$BIN" client add --data-dir="$DATA" --name=bench --kind=confidential --scopes="$SCOPE" \
    --grant-types=client_credentials >"$WORK/client.out" 2>"$WORK/client.err" || {
    cat "$WORK/client.err" >&2
    die "cityos client add failed"
}
CLIENT_ID=$(sed -n 's/^client_id=//p' "$WORK/client.out")
CLIENT_SECRET=$(sed -n 's/^client_secret=//p' "$WORK/client.out")
[[ -n $CLIENT_ID && -n $CLIENT_SECRET ]] || die "cityos client add printed no client_id= and client_secret= lines"
# client_secret_basic (RFC 6749 2.3.1): id and secret form-urlencoded, joined by ":", base64
BASIC=$(python3 -c '
import base64, sys, urllib.parse
q = lambda s: urllib.parse.quote(s, safe="")
print(base64.b64encode(f"{q(sys.argv[1])}:{q(sys.argv[2])}".encode()).decode())
' "$CLIENT_ID" "$CLIENT_SECRET")

# ---- cityos ----------------------------------------------------------------------------------
start_cityos_info
say "cityos pid $CITYOS_PID listening on $CITYOS ($CITYOS_THREADS HTTP threads); client $CLIENT_ID"

# ---- tokens ----------------------------------------------------------------------------------
# Sets TOKEN to a fresh access token by the client-credentials grant (Basic auth), checked.
TOKEN=
new_token() {
    local st
    st=$(curl --noproxy '*' -sS --max-time 10 -o "$WORK/token.json" -w '%{http_code}' \
        -H "Authorization: Basic $BASIC" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data 'grant_type=client_credentials' "$CITYOS/oauth/token") || die "POST /oauth/token: curl failed"
    [[ $st == 200 ]] || die "POST /oauth/token answered $st: $(head -c 500 "$WORK/token.json")"
    TOKEN=$(python3 - "$WORK/token.json" "$SCOPE" "$DUR_S" <<'EOF'
import json, re, sys
t = json.load(open(sys.argv[1]))
problems = []
if t.get("token_type") != "Bearer":
    problems.append(f"token_type {t.get('token_type')!r}")
if t.get("scope") != sys.argv[2]:
    problems.append(f"scope {t.get('scope')!r}, not {sys.argv[2]!r}")
if not isinstance(t.get("expires_in"), int) or t["expires_in"] < int(sys.argv[3]) + 60:
    problems.append(f"expires_in {t.get('expires_in')!r}: shorter than a run plus a minute")
if not re.fullmatch(r"[A-Za-z0-9_-]{43}", str(t.get("access_token", ""))):
    problems.append("access_token is not 43 base64url characters")
if problems:
    sys.exit("token response: " + "; ".join(problems))
print(t["access_token"])
EOF
    ) || die "POST /oauth/token: $(head -c 500 "$WORK/token.json")"
}

# ---- the targets, checked once by hand -------------------------------------------------------
NAMES=("GET /api/v1/me/token (bearer token)" "POST /oauth/introspect (Basic auth)" "GET /health (baseline)")
KEYS=(me introspect health)
ROUTES=("/api/v1/me/token" "/oauth/introspect" "/health")
URLS=("$CITYOS/api/v1/me/token" "$CITYOS/oauth/introspect" "$CITYOS/health")

probe() { # key outfile -> "status content-type bytes"
    case $1 in
    me) curl --noproxy '*' -sS --max-time 5 -o "$2" -w '%{http_code} %{content_type} %{size_download}' \
        -H "Authorization: Bearer $TOKEN" "${URLS[0]}" ;;
    introspect) curl --noproxy '*' -sS --max-time 5 -o "$2" -w '%{http_code} %{content_type} %{size_download}' \
        -H "Authorization: Basic $BASIC" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data "token=$TOKEN" "${URLS[1]}" ;;
    health) curl --noproxy '*' -sS --max-time 5 -o "$2" -w '%{http_code} %{content_type} %{size_download}' "${URLS[2]}" ;;
    esac
}

new_token
BYTES=()
for k in 0 1 2; do
    key=${KEYS[k]}
    read -r st ct size <<<"$(probe "$key" "$WORK/probe-$key.json")"
    [[ $st == 200 ]] || die "${URLS[k]} answered $st: $(head -c 500 "$WORK/probe-$key.json")"
    [[ $ct == application/json* ]] || die "${URLS[k]} answered Content-Type \"$ct\", not application/json"
    BYTES+=("$size")
done
# the answers must be the ones the benchmark means to measure: the caller's principal and an
# active token, both naming this client and scope
python3 - "$WORK/probe-me.json" "$WORK/probe-introspect.json" "$CLIENT_ID" "$SCOPE" <<'EOF' ||
import json, sys
me, intro = (json.load(open(p)) for p in sys.argv[1:3])
cid, scope = sys.argv[3], sys.argv[4]
problems = []
if me.get("kind") != "client" or me.get("client_id") != cid or me.get("scope") != scope:
    problems.append(f"/api/v1/me/token: {me}")
if intro.get("active") is not True or intro.get("client_id") != cid or intro.get("scope") != scope:
    problems.append(f"/oauth/introspect: {intro}")
if problems:
    sys.exit("unexpected answer: " + "; ".join(problems))
EOF
    die "the probes did not answer as expected"
say "bodies: me/token ${BYTES[0]} B, introspect (active) ${BYTES[1]} B, health ${BYTES[2]} B"

grep -v '"msg":"request"' "$CLOG" >>"$NOTES" || true
startup_problems=$(grep -E '"level":"(warn|error)"' "$CLOG" || true)
[[ -z $startup_problems ]] || say "cityos start-up warnings (not fatal): $startup_problems"
# from here on the log holds only benchmark traffic; start it empty
: >"$CLOG"

# ---- wrk -------------------------------------------------------------------------------------
# One Lua script per target and run (the token changes each run); each ends with the same report.
REPORT_LUA=$(report_lua)

write_lua() { # key file: the request of target key with the current TOKEN, plus the report
    case $1 in
    me) printf 'wrk.method = "GET"\nwrk.headers["Authorization"] = "Bearer %s"\n' "$TOKEN" ;;
    introspect)
        printf 'wrk.method = "POST"\nwrk.headers["Authorization"] = "Basic %s"\n' "$BASIC"
        printf 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        printf 'wrk.body = "token=%s"\n' "$TOKEN"
        ;;
    health) printf 'wrk.method = "GET"\n' ;;
    esac >"$2"
    printf '%s\n' "$REPORT_LUA" >>"$2"
}

RAW=$WORK/wrk-raw.log
RESULTS=$WORK/results.tsv
: >"$RAW"
printf 'key\tround\trequests\tduration_us\tp50_us\tp99_us\n' >"$RESULTS"

# Reads the server's log since the last call: every request line must be the target's route,
# status 200 and the probe's body size (an introspection answering {"active":false} is a 200
# too, but 16 bytes); warnings and errors fail the run; other lines are kept for the report.
# Requests still in flight when wrk stops are logged as "end":"client-abort" (at most one per
# connection). Sets LOGGED and ABORTED to the requests logged and those aborted, then empties
# the log.
LOGGED=0
ABORTED=0
check_server_log() { # k
    local k=$1 verdict
    # the server logs a request once it is done, which may be just after wrk has its answer
    local n=-1 i
    for ((i = 0; i < 50; i++)); do
        [[ $(wc -l <"$CLOG") == "$n" ]] && break
        n=$(wc -l <"$CLOG")
        sleep 0.2
    done
    verdict=$(python3 - "$CLOG" "${ROUTES[k]}" "${BYTES[k]}" "$NOTES" "$CONNS" <<'EOF'
import json, sys
path, route, size, notes, conns = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
logged = aborted = 0
bad = []
with open(path, encoding="utf-8", errors="replace") as f, open(notes, "a", encoding="utf-8") as n:
    for line in f:
        try:
            o = json.loads(line)
        except ValueError:
            if line.strip():
                n.write(line)
                bad.append(f"not JSON: {line.strip()[:200]}")
            continue
        if o.get("msg") != "request":
            n.write(line)
            if o.get("level") in ("warn", "error"):
                bad.append(line.strip()[:300])
            continue
        logged += 1
        answered = o.get("status") == 200 and o.get("bytes") == size
        if o.get("route") == route and o.get("end") == "client-abort" and (answered or o.get("status") == 0):
            aborted += 1  # in flight when wrk closed its connections at the end of the run
        elif o.get("route") != route or not answered or o.get("end") != "ok":
            if len(bad) < 5:
                bad.append(line.strip()[:300])
            else:
                bad[4] = "(and more)"
if aborted > conns:
    bad.append(f"{aborted} requests ended by a client abort, more than wrk's {conns} connections")
print(f"LOGGED {logged} {aborted}")
for b in bad:
    print(b)
EOF
    ) || die "could not read the server's log"
    read -r _ LOGGED ABORTED <<<"${verdict%%$'\n'*}"
    [[ $verdict == *$'\n'* ]] && die "cityos logged something other than 200 answers of ${BYTES[k]} bytes to ${ROUTES[k]}:
${verdict#*$'\n'}"
    : >"$CLOG"
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
        cityos_alive "round $r"
        if [[ $key != health ]]; then
            new_token # a fresh token each run: it cannot expire during the run
            : >"$CLOG" # the token request is not part of the run
        fi
        write_lua "$key" "$WORK/lua/$key.lua"
        # from $WORK/lua so that the command line is the documented one (-s KEY.lua)
        (cd "$WORK/lua" && timeout --foreground --signal=INT --kill-after=10 $((DUR_S + 30)) \
            wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$key.lua" "${URLS[k]}") >"$out" 2>&1 || {
            cat "$out" >&2
            die "wrk failed against ${URLS[k]}"
        }
        {
            printf '### round %d (%s): wrk -t%d -c%d -d%s --latency -s %s.lua %s\n' \
                "$r" "$kind" "$THREADS" "$CONNS" "$DURATION" "$key" "${URLS[k]}"
            cat "$out"
            echo
        } >>"$RAW"
        cityos_alive "the run against ${URLS[k]}"

        # wrk's verdict: its summary lines and the Lua report must both be clean
        check_wrk_summary "$out" "${URLS[k]}, round $r"
        read_wrk_report "$out" "for ${URLS[k]}"
        check_wrk_counts "${URLS[k]}, round $r"

        # the server's verdict: every request it logged was this target's, 200 and the right size
        check_server_log "$k"
        ((LOGGED >= m[requests])) || die "${URLS[k]}, round $r: wrk counted ${m[requests]} answers but cityos logged only $LOGGED requests"
        rps=$(awk -v n="${m[requests]}" -v d="${m[duration_us]}" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
        say "round $r ($kind) ${NAMES[k]}: $rps req/s, p50 ${m[p50_us]} us, p99 ${m[p99_us]} us ($LOGGED requests logged by the server, $ABORTED of them cut off by wrk's stop)"
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
grep -v '"msg":"request"' "$CLOG" >>"$NOTES" || true
problems=$(grep -E '"level":"(warn|error)"' "$CLOG" | head -n 5 || true)
[[ -z $problems ]] || die "cityos logged warnings or errors while stopping:
$problems"

# ---- report ----------------------------------------------------------------------------------
out_files oauth
describe_machine
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
NAMES_0=${NAMES[0]} NAMES_1=${NAMES[1]} NAMES_2=${NAMES[2]}
BYTES_0=${BYTES[0]} BYTES_1=${BYTES[1]} BYTES_2=${BYTES[2]}
export LOAD_END COMMAND CITYOS_THREADS THREADS CONNS DURATION RUNS WARMUP SCOPE NAMES_0 NAMES_1 NAMES_2 \
    BYTES_0 BYTES_1 BYTES_2

python3 - "$RESULTS" >"$WORK/report.md" <<'EOF'
import csv, os, statistics, sys

env = os.environ
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
keys = ["me", "introspect", "health"]
med = statistics.median

def ms(us):
    return f"{us / 1000:.3f} ms" if us < 10000 else f"{us / 1000:.1f} ms"

stats = {}
for key in keys:
    mine = [r for r in rows if r["key"] == key]
    rps = [int(r["requests"]) / (int(r["duration_us"]) / 1e6) for r in mine]
    stats[key] = {"rps": med(rps), "min": min(rps), "max": max(rps),
                  "p50": med(float(r["p50_us"]) for r in mine),
                  "p99": med(float(r["p99_us"]) for r in mine)}

out = []
w = out.append
w(f"## OAuth benchmark, {env['DATE']}")
w("")
w("| target | median req/s | req/s min–max | median p50 | median p99 |")
w("| --- | ---: | ---: | ---: | ---: |")
for i, key in enumerate(keys):
    s = stats[key]
    w(f"| {env[f'NAMES_{i}']} | {s['rps']:,.0f} | {s['min']:,.0f}–{s['max']:,.0f} | "
      f"{ms(s['p50'])} | {ms(s['p99'])} |")
w("")
h = stats["health"]["rps"]
w(f"Relative to /health: authenticated GET {stats['me']['rps'] / h:.2f}, introspection "
  f"{stats['introspect']['rps'] / h:.2f}. Answers: me/token {env['BYTES_0']} B, introspection "
  f"{env['BYTES_1']} B (`active: true`), /health {env['BYTES_2']} B of JSON.")
w("")
w("Machine:")
w(f"- CPU: {env['CPU_MODEL']}, nproc {env['CORES']}; memory {env['MEM']}")
w(f"- OS: {env['DISTRO']}, kernel {env['KERNEL']}")
w(f"- load average at start: {env['LOAD']}; at the end: {env['LOAD_END']}")
w(f"- date: {env['DATE']}")
w(f"- {env['CITYOS_VERSION']}; source {env['COMMIT']}; release build (`meson setup build-bench "
  f"--buildtype=release -Dtests=false`)")
w(f"- {env['WRK_VERSION']}")
w("")
w("Command:")
w("```")
w(env["COMMAND"])
w("```")
w(f"Each run is `wrk -t{env['THREADS']} -c{env['CONNS']} -d{env['DURATION']} --latency "
  f"-s KEY.lua URL` over loopback, with the client on the same cores as the server. "
  f"{env['WARMUP']} warm-up run per target is discarded, then {env['RUNS']} measured runs per "
  f"target, the three targets interleaved with the order rotated each round; the figures are "
  f"medians over the measured runs (p50/p99: the median of each run's percentile). cityos: "
  f"`cityos serve --port=0 --listen=127.0.0.1 --log-level=info` ({env['CITYOS_THREADS']} HTTP "
  f"threads), one JSON log line per request to a file, on a fresh data folder holding one "
  f"confidential client (`cityos client add --kind=confidential --scopes={env['SCOPE']} "
  f"--grant-types=client_credentials`). Before each run of the first two targets the client "
  f"takes a fresh access token (client credentials, HTTP Basic); the authenticated GET sends it "
  f"as `Authorization: Bearer`, introspection POSTs `token=<it>` with the client's Basic "
  f"credentials. Every run had 0 answers >= 400 and 0 socket errors or timeouts (wrk's summary "
  f"and its Lua report), and every request the server logged was a 200 of the probe's size "
  f"(so every introspection answered `active: true`).")
print("\n".join(out))
EOF

cp "$WORK/report.md" "$OUT_MD"
{
    cat "$RAW"
    echo "### server log lines other than requests (start-up, runs, shut-down)"
    cat "$NOTES"
} >"$OUT_LOG"
show_report
say "written to $OUT_MD (raw wrk output and the server's non-request log lines: $OUT_LOG)"
