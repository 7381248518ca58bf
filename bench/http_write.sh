#!/usr/bin/env bash
# http_write.sh - durable writes over HTTP, end to end: wrk POSTs a ~450-byte notice to
# /api/v1/notices of a release cityos at 1, 16, 64 and 256 connections. Each POST suspends its
# connection while the store's single writer commits a batch (SQLite WAL, synchronous=FULL); the
# 201 goes out only once the batch is on disk, so every 2xx wrk counts is an acknowledged durable
# write. /metrics is scraped before and after every run for the writes, the mean batch size
# (group commit at work) and the mean commit time; at the end the rows in the database are
# counted and must equal the writes the store reported. Run from anywhere, as root on Debian 12
# (it installs wrk, curl, python3 and sqlite3 when missing):
#
#   bench/http_write.sh
#   BENCH_DURATION=3 BENCH_RUNS=1 BENCH_CONNECTIONS_LIST="1 64" bench/http_write.sh   # quick check
#
# Settings (environment): BENCH_CONNECTIONS_LIST (wrk -c values, default "1 16 64 256"; spaces
# or commas), BENCH_DURATION (wrk -d, default 10s), BENCH_RUNS (measured runs per connection
# count, default 3), BENCH_WARMUP (discarded runs per count, default 1), BENCH_THREADS (wrk -t,
# default 2, fewer when there are fewer connections). All traffic stays on 127.0.0.1; the server,
# temporary folders and logs are removed on exit, failure included. The result (a markdown block)
# is printed and written to bench/out/http-write-<UTC time>.md with the raw wrk output and the
# per-run metrics beside it in .log. See bench/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$(readlink -f "$0")")/.."

CONNS_LIST=${BENCH_CONNECTIONS_LIST:-1 16 64 256}
DURATION=${BENCH_DURATION:-10s}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-1}
THREADS=${BENCH_THREADS:-2}

check_run_settings
read -r -a CONNS <<<"${CONNS_LIST//,/ }"
((${#CONNS[@]} > 0)) || die "BENCH_CONNECTIONS_LIST is empty"
MAX_CONNS=0
for c in "${CONNS[@]}"; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS_LIST: \"$c\" is not a positive whole number"
    ((c <= 4000)) || die "BENCH_CONNECTIONS_LIST: $c connections; cityos accepts 4096 at most"
    ((c > MAX_CONNS)) && MAX_CONNS=$c
done
# shellcheck disable=SC2089 # the quotes are for the reader of the report
printf -v COMMAND 'BENCH_CONNECTIONS_LIST="%s" BENCH_DURATION=%s BENCH_RUNS=%s BENCH_WARMUP=%s BENCH_THREADS=%s bench/http_write.sh' \
    "${CONNS[*]}" "$DURATION" "$RUNS" "$WARMUP" "$THREADS"

raise_fd_limit "$MAX_CONNS"

# ---- tools -----------------------------------------------------------------------------------
install_build_deps
install_missing_tools wrk curl python3 sqlite3
build_release
trap_cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cityos-bench-write.XXXXXX")
DATA=$WORK/data
mkdir -p "$DATA" "$WORK/runs" "$WORK/prom"
CLOG=$WORK/cityos.log
DB=$DATA/cityos.db

# The point is fsync: on tmpfs (or another memory file system) it costs nothing.
FS_TYPE=$(stat -f -c %T "$DATA")
case $FS_TYPE in
tmpfs | ramfs)
    die "$DATA is on $FS_TYPE, where a sync is not a disk write; set TMPDIR to a folder on a disk"
    ;;
esac
FS_DESC="$(findmnt -n -o SOURCE,FSTYPE -T "$DATA" 2>/dev/null | tr -s ' ' || echo "$FS_TYPE")"

note_load

# ---- cityos ----------------------------------------------------------------------------------
# A random operator token; the server starts on an empty data folder (the store creates the
# schema), so every row in the database at the end was written through HTTP by this run.
TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
((${#TOKEN} == 48)) || die "could not make a random token"

# At --log-level=warn the server logs nothing per request, and neither its "listening" line
# (info): the port it bound (--port=0) is read from /proc instead, as its one listening socket.
start_cityos --admin-token="$TOKEN" --log-level=warn

listening_port() { # pid -> the TCP port the process listens on, if any
    python3 - "$1" <<'EOF'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if target.startswith("socket:["):
        inodes.add(target[8:-1])
for table in ("tcp", "tcp6"):
    try:
        lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        f = line.split()
        if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
            print(int(f[1].rsplit(":", 1)[1], 16))
            sys.exit(0)
EOF
}

cityos_port() { listening_port "$CITYOS_PID"; }
wait_cityos_port cityos_port "cityos did not open a listening socket within 10 s"
CITYOS=http://127.0.0.1:$CITYOS_PORT
URL=$CITYOS/api/v1/notices
for ((i = 0; i < 50; i++)); do
    curl --noproxy '*' -fsS --max-time 2 -o /dev/null "$CITYOS/health" 2>/dev/null && break
    sleep 0.1
done
curl --noproxy '*' -fsS --max-time 5 -o /dev/null "$CITYOS/health" || die "GET /health on $CITYOS failed"
say "cityos pid $CITYOS_PID listening on $CITYOS; data in $DATA ($FS_DESC)"

# ---- the request: a realistic notice, valid per docs/api.md ------------------------------------
BODY=$WORK/notice.json
LUA=$WORK/post.lua
python3 - "$BODY" "$LUA" "$TOKEN" <<'EOF'
import json, sys
doc = {"category": "transport",
       "title": {"ja": "市道3号線 夜間工事による通行止め",
                 "en": "Night closure of City Road 3"},
       "body": {"ja": "12月3日から5日まで、22時から翌朝5時まで駅前通りを通行止めにします。"
                      "迂回路をご利用ください。",
                "en": "Station Avenue is closed from 22:00 to 05:00, 3 to 5 December, for "
                      "resurfacing. Please follow the signed detour."},
       "district": "中央区",
       "validUntil": "2026-12-06T05:00:00+09:00"}
text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
assert "]==]" not in text
open(sys.argv[1], "w", encoding="utf-8").write(text)
lua = """-- POSTs one notice per request, then report_lua's done()
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer %s"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]

""" % (sys.argv[3], text)
open(sys.argv[2], "w", encoding="utf-8").write(lua)
EOF
report_lua >>"$LUA"
BODY_BYTES=$(wc -c <"$BODY")

# One request by hand, so that a body the server rejects is reported plainly, not as 100% non-2xx.
probe_status=$(curl --noproxy '*' -sS --max-time 10 -o "$WORK/probe.json" -D "$WORK/probe.headers" \
    -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary "@$BODY" "$URL")
[[ $probe_status == 201 ]] || die "POST $URL answered $probe_status: $(head -c 500 "$WORK/probe.json")"
location=$(tr -d '\r' <"$WORK/probe.headers" | sed -n 's/^[Ll]ocation: *//p')
[[ $location == /api/v1/notices/* ]] || die "the 201 had no Location /api/v1/notices/{id}: \"$location\""
curl --noproxy '*' -fsS --max-time 5 -o "$WORK/probe-get.json" "$CITYOS$location" ||
    die "GET $location after its 201 failed"
cmp -s "$WORK/probe.json" "$WORK/probe-get.json" || die "GET $location differs from the 201's body"
say "body $BODY_BYTES bytes; the probe POST answered 201 and reads back the same"

startup_problems=$(cat "$CLOG")
[[ -z $startup_problems ]] || say "cityos start-up warnings (not fatal): $startup_problems"
: >"$CLOG"

# ---- metrics ---------------------------------------------------------------------------------
PROM=$WORK/prom.py
cat >"$PROM" <<'EOF'
# prom.py inflight FILE          -> cityos_http_inflight_requests
# prom.py total FILE             -> cityos_store_writes_total{outcome="ok"}
# prom.py delta BEFORE AFTER     -> one line of key=value: the store's and the POST route's deltas
import sys

def parse(path):
    series = {}
    for line in open(path, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        try:  # "name{labels} value": label values may hold spaces and braces, the value not
            key, value = line.strip().rsplit(None, 1)
            series[key] = float(value)
        except ValueError:
            sys.exit(f"prom.py: unreadable line in {path}: {line.strip()[:200]}")
    return series

def need(s, name, path):
    if name not in s:
        sys.exit(f"prom.py: {path} has no {name}")
    return s[name]

WOK = 'cityos_store_writes_total{outcome="ok"}'
WFAIL = 'cityos_store_writes_total{outcome="failed"}'
POST = 'cityos_http_requests_total{method="POST",route="/api/v1/notices",status="'
UNMATCHED = 'cityos_http_requests_total{method="any",route="(unmatched)",status="'

cmd = sys.argv[1]
if cmd == "inflight":
    print(int(need(parse(sys.argv[2]), "cityos_http_inflight_requests", sys.argv[2])))
elif cmd == "total":
    print(int(need(parse(sys.argv[2]), WOK, sys.argv[2])))
elif cmd == "delta":
    b, a = parse(sys.argv[2]), parse(sys.argv[3])
    def d(name, required=True):
        if required:
            need(b, name, sys.argv[2]), need(a, name, sys.argv[3])
        return a.get(name, 0.0) - b.get(name, 0.0)
    names = set(a) | set(b)
    other = sum(d(n, False) for n in names if n.startswith(POST) and not n.startswith(POST + '201"'))
    unmatched = sum(d(n, False) for n in names if n.startswith(UNMATCHED))
    out = {
        "writes_ok": d(WOK), "writes_failed": d(WFAIL),
        "batches": d("cityos_store_batch_size_count{}"), "batch_sum": d("cityos_store_batch_size_sum{}"),
        "commits": d("cityos_store_commit_seconds_count{}"),
        "commit_sum_s": d("cityos_store_commit_seconds_sum{}"),
        "post_201": d(POST + '201"}', False), "post_other": other, "unmatched": unmatched,
    }
    print(" ".join(f"{k}={v:.0f}" if k != "commit_sum_s" else f"{k}={v:.6f}" for k, v in out.items()))
else:
    sys.exit(f"prom.py: unknown command {cmd}")
EOF

scrape() { # outfile
    local st
    st=$(curl --noproxy '*' -sS --max-time 5 -o "$1" -w '%{http_code}' "$CITYOS/metrics") ||
        die "GET /metrics failed"
    [[ $st == 200 ]] || die "GET /metrics answered $st"
}

# Scrapes /metrics once nothing but the scrape itself is in flight: the writes of the requests
# wrk left unanswered when it stopped are then committed and counted too (a write is counted
# before its 201 is sent, and a request leaves the in-flight gauge after that).
settled_scrape() { # outfile
    local i n
    for ((i = 0; i < 150; i++)); do
        scrape "$1"
        n=$(python3 "$PROM" inflight "$1")
        ((n <= 1)) && return 0
        sleep 0.1
    done
    die "cityos still had $((n - 1)) requests in flight 15 s after wrk stopped"
}

# ---- wrk -------------------------------------------------------------------------------------
RAW=$WORK/wrk-raw.log
RESULTS=$WORK/results.tsv
: >"$RAW"
printf 'conns\tthreads\tround\trows_before\trequests\tduration_us\tp50_us\tp99_us\twrites_ok\tbatches\tbatch_sum\tcommits\tcommit_sum_s\tpost_201\n' >"$RESULTS"

ROUNDS=$((WARMUP + RUNS))
TOTAL_2XX=0
say "${CONNS[*]} connections, $WARMUP warm-up + $RUNS measured runs each, wrk -d$DURATION: about $((${#CONNS[@]} * ROUNDS * (DUR_S + 2))) s"
for conns in "${CONNS[@]}"; do
    threads=$((conns < THREADS ? conns : THREADS)) # wrk wants at least one connection per thread
    for ((r = 0; r < ROUNDS; r++)); do
        kind=measured
        ((r < WARMUP)) && kind=warm-up
        out=$WORK/runs/c$conns-$r.txt
        before=$WORK/prom/c$conns-$r-before.prom
        after=$WORK/prom/c$conns-$r-after.prom
        cityos_alive "the run at $conns connections"
        settled_scrape "$before"
        rows_before=$(python3 "$PROM" total "$before") # the table started empty
        # from $WORK so that the command line is the documented one (-s post.lua)
        (cd "$WORK" && timeout --foreground --signal=INT --kill-after=10 $((DUR_S + 30)) \
            wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -s post.lua "$URL") >"$out" 2>&1 || {
            cat "$out" >&2
            die "wrk failed at $conns connections"
        }
        cityos_alive "the run at $conns connections"
        settled_scrape "$after"
        delta=$(python3 "$PROM" delta "$before" "$after") || die "could not read /metrics: $delta"
        {
            printf '### %d connections, round %d (%s): wrk -t%d -c%d -d%s --latency -s post.lua %s\n' \
                "$conns" "$r" "$kind" "$threads" "$conns" "$DURATION" "$URL"
            cat "$out"
            printf 'METRICS %s\n\n' "$delta"
        } >>"$RAW"

        # wrk's own verdict: its summary lines and the Lua report must both be clean
        check_wrk_summary "$out" "$conns connections, round $r"
        # shellcheck disable=SC2086 # delta: key=value words
        read_wrk_report "$out" "at $conns connections" $delta
        check_wrk_counts "$conns connections, round $r"

        # the server's verdict: every acknowledged write is a committed write, nothing failed
        ((m[writes_failed] == 0)) || die "$conns connections, round $r: the store failed ${m[writes_failed]} writes"
        ((m[post_other] == 0)) || die "$conns connections, round $r: cityos answered ${m[post_other]} POSTs with a status other than 201"
        ((m[unmatched] == 0)) || die "$conns connections, round $r: cityos answered ${m[unmatched]} requests that matched no route"
        ((m[post_201] >= m[requests])) || die "$conns connections, round $r: wrk counted ${m[requests]} answers but cityos sent only ${m[post_201]} 201s"
        ((m[writes_ok] >= m[requests])) || die "$conns connections, round $r: wrk counted ${m[requests]} 201s but the store committed only ${m[writes_ok]} writes"
        ((m[batches] > 0 && m[commits] == m[batches])) || die "$conns connections, round $r: batches ${m[batches]}, commits ${m[commits]}"
        [[ -z $(cat "$CLOG") ]] || die "cityos logged warnings or errors during the run at $conns connections:
$(head -n 5 "$CLOG")"
        TOTAL_2XX=$((TOTAL_2XX + m[requests]))

        summary=$(awk -v n="${m[requests]}" -v d="${m[duration_us]}" -v w="${m[writes_ok]}" \
            -v b="${m[batches]}" -v s="${m[batch_sum]}" -v c="${m[commit_sum_s]}" \
            'BEGIN { printf "%.0f writes/s acknowledged, mean batch %.1f, mean commit %.2f ms", n / (d / 1e6), s / b, c * 1000 / b }')
        say "$conns connections, round $r ($kind): $summary, p50 ${m[p50_us]} us, p99 ${m[p99_us]} us ($((m[writes_ok] - m[requests])) committed writes wrk did not see answered; $rows_before rows before)"
        if [[ $kind == measured ]]; then
            printf '%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$conns" "$threads" "$r" \
                "$rows_before" "${m[requests]}" "${m[duration_us]}" "${m[p50_us]}" "${m[p99_us]}" "${m[writes_ok]}" \
                "${m[batches]}" "${m[batch_sum]}" "${m[commits]}" "${m[commit_sum_s]}" "${m[post_201]}" >>"$RESULTS"
        fi
        unset m
        sleep 1
    done
done

# ---- every committed write is a row: stop cityos cleanly, then count ----------------------------
settled_scrape "$WORK/prom/final.prom"
WRITES_TOTAL=$(python3 "$PROM" total "$WORK/prom/final.prom")
stop_cityos
[[ -z $(cat "$CLOG") ]] || die "cityos logged warnings or errors while stopping:
$(head -n 5 "$CLOG")"
DB_BYTES=$(du -cb "$DB"* | awk 'END { print $1 }')
ROWS=$(timeout 120 sqlite3 -readonly "$DB" 'SELECT COUNT(*) FROM notice;') || die "sqlite3 could not count the rows of $DB"
[[ $ROWS =~ ^[0-9]+$ ]] || die "sqlite3 answered \"$ROWS\" for the row count"
((ROWS == WRITES_TOTAL)) || die "the database holds $ROWS notices but the store reported $WRITES_TOTAL writes ok"
say "the database holds $ROWS notices = the store's $WRITES_TOTAL writes ok (>= $TOTAL_2XX 201s counted by wrk, + 1 probe)"

# ---- report ----------------------------------------------------------------------------------
out_files http-write
describe_machine
SQLITE_CLI=$(sqlite3 --version | cut -d' ' -f1)
DISTRO=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
# shellcheck disable=SC2090 # COMMAND is text for the report, never run
export COMMAND SQLITE_CLI DURATION RUNS WARMUP THREADS BODY_BYTES FS_DESC ROWS WRITES_TOTAL TOTAL_2XX DB_BYTES

python3 - "$RESULTS" >"$WORK/report.md" <<'EOF'
import csv, os, statistics, sys

env = os.environ
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = statistics.median

def ms(us):
    return f"{us / 1000:.2f} ms" if us < 10000 else f"{us / 1000:.1f} ms"

out = []
w = out.append
w(f"## Durable writes over HTTP, {env['DATE']}")
w("")
w("| connections | median req/s (durable writes/s acknowledged) | req/s min–max | median p50 "
  "| median p99 | median mean batch size | median mean commit | rows in the table before |")
w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for conns in dict.fromkeys(r["conns"] for r in rows):
    mine = [r for r in rows if r["conns"] == conns]
    rps = [int(r["requests"]) / (int(r["duration_us"]) / 1e6) for r in mine]
    batch = [int(r["batch_sum"]) / int(r["batches"]) for r in mine]
    commit = [float(r["commit_sum_s"]) * 1000 / int(r["commits"]) for r in mine]
    w(f"| {conns} | {med(rps):,.0f} | {min(rps):,.0f}–{max(rps):,.0f} | "
      f"{ms(med(float(r['p50_us']) for r in mine))} | {ms(med(float(r['p99_us']) for r in mine))} | "
      f"{med(batch):.1f} | {med(commit):.2f} ms | {min(int(r['rows_before']) for r in mine):,} |")
w("")
w(f"Every run: 0 answers other than 201, 0 socket errors or timeouts (wrk), 0 failed writes and "
  f"nothing in the server's log (warn level); in each run the store committed at least as many "
  f"writes as wrk counted 201s. At the end the database held {int(env['ROWS']):,} notices = the "
  f"{int(env['WRITES_TOTAL']):,} writes the store reported (wrk counted {int(env['TOTAL_2XX']):,} "
  f"201s over all runs, warm-ups included; the rest were answered after wrk stopped reading, plus "
  f"one probe); {int(env['DB_BYTES']) / 1048576:.0f} MiB on disk.")
w("")
w("Machine:")
w(f"- CPU: {env['CPU_MODEL']}, nproc {env['CORES']}; memory {env['MEM']}")
w(f"- OS: {env['DISTRO']}, kernel {env['KERNEL']}")
w(f"- data folder on {env['FS_DESC']}")
w(f"- load average at start: {env['LOAD']}")
w(f"- date: {env['DATE']}")
w(f"- {env['CITYOS_VERSION']}; source {env['COMMIT']}; release build (`meson setup build-bench "
  f"--buildtype=release -Dtests=false`)")
w(f"- {env['WRK_VERSION']}; sqlite3 CLI {env['SQLITE_CLI']} (the final count)")
w("")
w("Command:")
w("```")
w(env["COMMAND"])
w("```")
w(f"Each run is `wrk -t{env['THREADS']} -cN -d{env['DURATION']} --latency -s post.lua "
  f"http://127.0.0.1:PORT/api/v1/notices` (`-t1` at one connection) over loopback, with the "
  f"client on the same cores as the server. post.lua POSTs the same {env['BODY_BYTES']}-byte "
  f"notice (Japanese and English title and body, a district, validUntil) with the operator "
  f"bearer token; every request is a new row with a new id. cityos: `cityos serve --port=0 "
  f"--listen=127.0.0.1 --admin-token=<random> --log-level=warn` on an empty data folder (one "
  f"HTTP thread per core, the store's default batch limit); the table grows over the runs, which "
  f"go in the order of the table (last column: its rows before the first measured run). "
  f"{env['WARMUP']} warm-up run per connection count is "
  f"discarded, then {env['RUNS']} measured runs; the figures are medians over the measured runs "
  f"(p50/p99: the median of each run's percentile). Mean batch size and mean commit time (COMMIT "
  f"plus its fsync, per batch) come from /metrics deltas over each run: "
  f"`cityos_store_batch_size_sum/_count` and `cityos_store_commit_seconds_sum/_count`.")
print("\n".join(out))
EOF

cp "$WORK/report.md" "$OUT_MD"
cp "$RAW" "$OUT_LOG"
show_report
say "written to $OUT_MD (raw wrk output and per-run metrics: $OUT_LOG)"
