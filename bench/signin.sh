#!/usr/bin/env bash
# signin.sh - the person-facing side of the regional ID (issue 3): requests/s and latency of a
# release cityos for
#   - GET /oauth/userinfo with a person's access token (from the authorization code flow),
#   - POST /oauth/introspect of that token by a resource server (scope cityos.introspect, Basic),
#   - POST /signin with a correct password (Argon2id-bound) at several connection counts,
#   - POST /signin for an account in lock-out (429, answered without Argon2id).
# Run from anywhere, as root on Debian 12 (it installs wrk, curl and python3 when missing):
#
#   bench/signin.sh
#   BENCH_DURATION=3s BENCH_RUNS=1 BENCH_SIGNIN_CONNECTIONS="4" bench/signin.sh   # quick check
#
# Settings (environment): BENCH_DURATION (wrk -d, default 10s, at most 1m), BENCH_RUNS (measured
# runs per target, default 3), BENCH_WARMUP (discarded runs per target, default 1),
# BENCH_CONNECTIONS (wrk -c for userinfo, introspection and the lock-out path, default 64),
# BENCH_SIGNIN_CONNECTIONS (wrk -c list for the correct-password sign-in, default "2 16 64"),
# BENCH_THREADS (wrk -t, default 2). All traffic stays on 127.0.0.1; the server, temporary
# folders and logs are removed on exit, failure included. The result (a markdown block) is
# printed and written to bench/out/signin-<UTC time>.md with the raw wrk output in .log beside
# it. See bench/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$(readlink -f "$0")")/.."

DURATION=${BENCH_DURATION:-10s}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
SIGNIN_CONNS=${BENCH_SIGNIN_CONNECTIONS:-2 16 64}
SIGNIN_CONNS=${SIGNIN_CONNS//,/ }

check_run_settings
check_connections
((CONNS <= 4000)) || die "BENCH_CONNECTIONS=$CONNS: cityos accepts 4096 connections at most"
for c in $SIGNIN_CONNS; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIGNIN_CONNECTIONS: \"$c\" is not a positive whole number"
    # the sign-in pool queues 64 steps (SIGNIN_POOL_QUEUE) beside one per core; more are a 503
    ((c <= 64)) || die "BENCH_SIGNIN_CONNECTIONS: $c is more than the sign-in queue (64): the excess would be 503s"
done
# the lock-out lasts 15 minutes and the access token as long: the runs of one target must fit
((DUR_S <= 60)) || die "BENCH_DURATION=$DURATION: at most 1m, so that a target's runs fit in the 15-minute lock-out"
# the quotes are part of the command as printed in the report
# shellcheck disable=SC2089
COMMAND="BENCH_DURATION=$DURATION BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP BENCH_CONNECTIONS=$CONNS BENCH_SIGNIN_CONNECTIONS='$SIGNIN_CONNS' BENCH_THREADS=$THREADS bench/signin.sh"

raise_fd_limit "$CONNS"

# ---- tools -----------------------------------------------------------------------------------
install_build_deps
install_missing_tools wrk curl python3
build_release
trap_cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cityos-bench-signin.XXXXXX")
DATA=$WORK/data
mkdir -p "$WORK/runs" "$WORK/lua"
CLOG=$WORK/cityos.log
NOTES=$WORK/server-notes.log
: >"$NOTES"
note_load

# ---- a demo town: the sample app, the back-end service and people with passwords --------------
"$BIN" demo --data-dir="$DATA" --people=200 >"$WORK/demo.out" 2>&1 || {
    cat "$WORK/demo.out" >&2
    die "cityos demo failed"
}
SIGNINS=$DATA/demo-sign-ins.txt
APP=$(grep -o 'sample app[^:]*: client_id=[A-Za-z0-9_-]*' "$SIGNINS" | sed 's/.*client_id=//')
mapfile -t EMAILS < <(grep -o 'email=[^ ]*' "$SIGNINS" | cut -d= -f2-)
mapfile -t PASSWORDS < <(grep -o 'password=[^ ]*' "$SIGNINS" | cut -d= -f2-)
[[ -n $APP ]] || die "no sample app client_id in $SIGNINS"
((${#EMAILS[@]} >= 3)) || die "fewer than 3 demo sign-ins in $SIGNINS"
# A resource server that may introspect other clients' tokens (scope cityos.introspect, RFC 7662
# 2.2: without it a token of another client is reported inactive).
"$BIN" client add --data-dir="$DATA" --name=bench-rs --kind=confidential --scopes=cityos.introspect \
    --grant-types=client_credentials >"$WORK/client.out" 2>"$WORK/client.err" || {
    cat "$WORK/client.err" >&2
    die "cityos client add failed"
}
RS_ID=$(sed -n 's/^client_id=//p' "$WORK/client.out")
RS_SECRET=$(sed -n 's/^client_secret=//p' "$WORK/client.out")
[[ -n $RS_ID && -n $RS_SECRET ]] || die "cityos client add printed no client_id= and client_secret= lines"
BASIC=$(python3 -c '
import base64, sys, urllib.parse
q = lambda s: urllib.parse.quote(s, safe="")
print(base64.b64encode(f"{q(sys.argv[1])}:{q(sys.argv[2])}".encode()).decode())
' "$RS_ID" "$RS_SECRET")
# person 0: the token for userinfo and introspection; person 1: signs in correctly under load;
# person 2: locked out by ten wrong passwords before the 429 runs
TOKEN_EMAIL=${EMAILS[0]} TOKEN_PASSWORD=${PASSWORDS[0]}
SIGNIN_EMAIL=${EMAILS[1]} SIGNIN_PASSWORD=${PASSWORDS[1]}
LOCKED_EMAIL=${EMAILS[2]}

start_cityos_info
say "cityos pid $CITYOS_PID listening on $CITYOS ($CITYOS_THREADS HTTP threads); app $APP"

urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
CURL=(curl --noproxy '*' -sS --max-time 30)

# One login CSRF pair (cookie and form field; a double submit, so any number of POSTs may use it).
# Sets LOGIN_CSRF; the cookie goes to the jar $1.
login_csrf() { # jar
    local page
    page=$("${CURL[@]}" -c "$1" -b "$1" "$CITYOS/signin?lang=en") || die "GET /signin failed"
    LOGIN_CSRF=$(grep -o 'name="login_csrf" value="[^"]*"' <<<"$page" | head -n 1 | sed 's/.*value="//;s/"$//')
    [[ -n $LOGIN_CSRF ]] || die "GET /signin: no login_csrf field"
}

# ---- a person's access token: the authorization code flow with PKCE, by curl ----------------
JAR=$WORK/cookies
login_csrf "$JAR"
st=$("${CURL[@]}" -c "$JAR" -b "$JAR" -o /dev/null -w '%{http_code}' "$CITYOS/signin?lang=en" \
    --data "email=$(urlenc "$TOKEN_EMAIL")&password=$(urlenc "$TOKEN_PASSWORD")&login_csrf=$LOGIN_CSRF&return_to=%2F")
[[ $st == 303 ]] || die "POST /signin for $TOKEN_EMAIL answered $st, not 303"
VERIFIER=$(head -c 48 /dev/urandom | basenc --base64url | tr -d '=')
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
REDIRECT=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback
Q="client_id=$APP&redirect_uri=$REDIRECT&response_type=code&scope=openid%20profile%20fhirUser%20offline_access&state=bench&code_challenge=$CHALLENGE&code_challenge_method=S256&nonce=bench"
page=$("${CURL[@]}" -c "$JAR" -b "$JAR" "$CITYOS/oauth/authorize?$Q&lang=en") || die "GET /oauth/authorize failed"
CSRF=$(grep -o 'name="csrf" value="[^"]*"' <<<"$page" | head -n 1 | sed 's/.*value="//;s/"$//')
ACT=$(grep -o 'name="act_as" value="[^"]*"' <<<"$page" | head -n 1 | sed 's/.*value="//;s/"$//')
[[ -n $CSRF && -n $ACT ]] || die "GET /oauth/authorize: no approval form ($(head -c 300 <<<"$page"))"
LOC=$("${CURL[@]}" -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' "$CITYOS/oauth/authorize" \
    --data "$Q&csrf=$CSRF&act_as=$(urlenc "$ACT")&decision=approve")
CODE=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$LOC")
[[ -n $CODE ]] || die "approval gave no code: $LOC"

TOKEN=''
REFRESH=''
take_tokens() { # form body for POST /oauth/token -> TOKEN, REFRESH
    local st
    st=$("${CURL[@]}" -o "$WORK/token.json" -w '%{http_code}' --data "$1" "$CITYOS/oauth/token") || die "POST /oauth/token: curl failed"
    [[ $st == 200 ]] || die "POST /oauth/token answered $st: $(head -c 300 "$WORK/token.json")"
    read -r TOKEN REFRESH < <(python3 -c 'import json, sys; t = json.load(open(sys.argv[1])); print(t["access_token"], t["refresh_token"])' "$WORK/token.json")
}
take_tokens "grant_type=authorization_code&client_id=$APP&code=$CODE&redirect_uri=$REDIRECT&code_verifier=$VERIFIER"
new_token() { take_tokens "grant_type=refresh_token&client_id=$APP&refresh_token=$REFRESH"; } # rotation

# ---- the sign-in pair for wrk, checked: the same pair twice, 303 both times ------------------
SJAR=$WORK/signin-cookies
login_csrf "$SJAR"
SIGNIN_CSRF=$LOGIN_CSRF
SIGNIN_BODY="email=$(urlenc "$SIGNIN_EMAIL")&password=$(urlenc "$SIGNIN_PASSWORD")&login_csrf=$SIGNIN_CSRF&return_to=%2F"
for i in 1 2; do
    st=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H "Cookie: cityos_login_csrf=$SIGNIN_CSRF" \
        --data "$SIGNIN_BODY" "$CITYOS/signin?lang=en")
    [[ $st == 303 ]] || die "POST /signin with one login CSRF pair, try $i: $st, not 303 (the pair cannot be reused?)"
done

# ---- lock out person 2: ten wrong passwords, waiting out the back-off between them -------------
lock_out() {
    local jar=$WORK/lock-cookies failures=0 st wait tries=0
    login_csrf "$jar"
    while ((failures < 10)); do
        ((++tries < 40)) || die "could not lock $LOCKED_EMAIL out"
        st=$("${CURL[@]}" -o /dev/null -D "$WORK/lock-headers" -w '%{http_code}' -c "$jar" -b "$jar" \
            --data "email=$(urlenc "$LOCKED_EMAIL")&password=wrong-password-$tries&login_csrf=$LOGIN_CSRF&return_to=%2F" \
            "$CITYOS/signin?lang=en")
        case $st in
        200) failures=$((failures + 1)) ;;
        429)
            wait=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$WORK/lock-headers")
            sleep "${wait:-1}"
            ;;
        *) die "POST /signin with a wrong password answered $st" ;;
        esac
    done
    st=$("${CURL[@]}" -o /dev/null -D "$WORK/lock-headers" -w '%{http_code}' -c "$jar" -b "$jar" \
        --data "email=$(urlenc "$LOCKED_EMAIL")&password=wrong&login_csrf=$LOGIN_CSRF&return_to=%2F" "$CITYOS/signin?lang=en")
    wait=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$WORK/lock-headers")
    if [[ $st != 429 ]] || ((${wait:-0} < 600)); then
        die "after ten failures: $st, Retry-After ${wait:-none} (no 15-minute lock-out)"
    fi
    LOCK_CSRF=$LOGIN_CSRF
    LOCK_BODY="email=$(urlenc "$LOCKED_EMAIL")&password=$(urlenc "${PASSWORDS[2]}")&login_csrf=$LOCK_CSRF&return_to=%2F"
}

# ---- the targets -----------------------------------------------------------------------------
# key: userinfo, introspect, signin-N (N connections), locked
route_of() { case $1 in userinfo) echo /oauth/userinfo ;; introspect) echo /oauth/introspect ;; *) echo /signin ;; esac; }
status_of() { case $1 in signin-*) echo 303 ;; locked) echo 429 ;; *) echo 200 ;; esac; }
url_of() { case $1 in userinfo) echo "$CITYOS/oauth/userinfo" ;; introspect) echo "$CITYOS/oauth/introspect" ;; *) echo "$CITYOS/signin?lang=en" ;; esac; }
name_of() {
    case $1 in
    userinfo) echo "GET /oauth/userinfo (a person's bearer token)" ;;
    introspect) echo "POST /oauth/introspect (a person's token; resource server, Basic auth)" ;;
    signin-*) echo "POST /signin, correct password, ${1#signin-} connections" ;;
    locked) echo "POST /signin, account locked out (429), $CONNS connections" ;;
    esac
}
conns_of() { case $1 in signin-*) echo "${1#signin-}" ;; *) echo "$CONNS" ;; esac; }

write_lua() { # key file
    case $1 in
    userinfo) printf 'wrk.method = "GET"\nwrk.headers["Authorization"] = "Bearer %s"\n' "$TOKEN" ;;
    introspect)
        printf 'wrk.method = "POST"\nwrk.headers["Authorization"] = "Basic %s"\n' "$BASIC"
        printf 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.body = "token=%s"\n' "$TOKEN"
        ;;
    signin-*)
        printf 'wrk.method = "POST"\nwrk.headers["Cookie"] = "cityos_login_csrf=%s"\n' "$SIGNIN_CSRF"
        printf 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.body = "%s"\n' "$SIGNIN_BODY"
        ;;
    locked)
        printf 'wrk.method = "POST"\nwrk.headers["Cookie"] = "cityos_login_csrf=%s"\n' "$LOCK_CSRF"
        printf 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.body = "%s"\n' "$LOCK_BODY"
        ;;
    esac >"$2"
    report_lua >>"$2"
}

# The bytes of a 200 to userinfo and of an active introspection, from one probe each.
declare -A BYTES=()
new_token
for k in userinfo introspect; do
    if [[ $k == userinfo ]]; then
        r=$("${CURL[@]}" -o "$WORK/probe-$k.json" -w '%{http_code} %{size_download}' -H "Authorization: Bearer $TOKEN" "$(url_of $k)")
    else
        r=$("${CURL[@]}" -o "$WORK/probe-$k.json" -w '%{http_code} %{size_download}' -H "Authorization: Basic $BASIC" --data "token=$TOKEN" "$(url_of $k)")
    fi
    [[ ${r% *} == 200 ]] || die "$(url_of $k) answered ${r% *}: $(head -c 300 "$WORK/probe-$k.json")"
    BYTES[$k]=${r#* }
done
grep -q '"active":true' "$WORK/probe-introspect.json" || die "introspection of the person's token: $(head -c 300 "$WORK/probe-introspect.json")"
grep -q '"sub"' "$WORK/probe-userinfo.json" || die "userinfo without sub: $(head -c 300 "$WORK/probe-userinfo.json")"

# Every request line the server logged since the last call must be to the target's route with
# its status (and, for 200s, the probe's size); requests wrk cut off at its stop are allowed.
check_server_log() { # key
    local k=$1 n=-1 i verdict
    for ((i = 0; i < 50; i++)); do
        [[ $(wc -l <"$CLOG") == "$n" ]] && break
        n=$(wc -l <"$CLOG")
        sleep 0.2
    done
    verdict=$(python3 - "$CLOG" "$(route_of "$k")" "$(status_of "$k")" "${BYTES[$k]:--1}" "$NOTES" "$(conns_of "$k")" <<'EOF'
import json, sys
path, route, status, size, notes, conns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
logged = aborted = 0
bad = []
with open(path, encoding="utf-8", errors="replace") as f, open(notes, "a", encoding="utf-8") as n:
    for line in f:
        try:
            o = json.loads(line)
        except ValueError:
            if line.strip():
                bad.append(f"not JSON: {line.strip()[:200]}")
            continue
        if o.get("msg") != "request":
            if o.get("msg") != "signed in":
                n.write(line)
            if o.get("level") in ("warn", "error"):
                bad.append(line.strip()[:300])
            continue
        logged += 1
        ok = o.get("route") == route and o.get("status") == status and (size < 0 or o.get("bytes") == size)
        # in flight when wrk closed its connections at the end of the run: a sign-in waiting in
        # the pool's queue is cut off without an answer (status 0), logged as "client-abort" or,
        # by libmicrohttpd's read error on the suspended connection, as "error"
        if o.get("route") == route and (o.get("end") == "client-abort" or (o.get("end") == "error" and o.get("status") == 0)):
            aborted += 1
        elif not ok or o.get("end") != "ok":
            if len(bad) < 5:
                bad.append(line.strip()[:300])
if aborted > conns:
    bad.append(f"{aborted} requests cut off, more than the {conns} connections")
print(f"LOGGED {logged} {aborted}")
for b in bad:
    print(b)
EOF
    ) || die "could not read the server's log"
    read -r _ LOGGED _ <<<"${verdict%%$'\n'*}"
    [[ $verdict == *$'\n'* ]] && die "cityos logged something other than $(status_of "$k")s to $(route_of "$k"):
${verdict#*$'\n'}"
    : >"$CLOG"
}

RAW=$WORK/wrk-raw.log
RESULTS=$WORK/results.tsv
: >"$RAW"
printf 'key\tround\trequests\tduration_us\tp50_us\tp99_us\n' >"$RESULTS"
: >"$CLOG"

run_one() { # key round
    local k=$1 r=$2 c kind=measured out rps
    c=$(conns_of "$k")
    ((r < WARMUP)) && kind=warm-up
    out=$WORK/runs/$r-$k.txt
    cityos_alive "round $r"
    if [[ $k == userinfo || $k == introspect ]]; then
        new_token
        : >"$CLOG"
    fi
    write_lua "$k" "$WORK/lua/$k.lua"
    local t=$THREADS
    ((c < t)) && t=$c
    (cd "$WORK/lua" && timeout --foreground --signal=INT --kill-after=10 $((DUR_S + 30)) \
        wrk -t"$t" -c"$c" -d"$DURATION" --latency --timeout 30s -s "$k.lua" "$(url_of "$k")") >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk failed against $(url_of "$k")"
    }
    {
        printf '### %s round %d (%s): wrk -t%d -c%d -d%s --latency --timeout 30s -s %s.lua %s\n' \
            "$k" "$r" "$kind" "$t" "$c" "$DURATION" "$k" "$(url_of "$k")"
        cat "$out"
        echo
    } >>"$RAW"
    cityos_alive "the run of $k"
    read_wrk_report "$out" "for $k"
    if [[ $k == locked ]]; then # every answer is a 429, which wrk counts as an error status
        ((m[non2xx] == m[requests])) || die "$k round $r: ${m[non2xx]} of ${m[requests]} answers >= 400 (want all: 429)"
        m[non2xx]=0
        grep -q 'Socket errors' "$out" && die "$k round $r: wrk: $(grep 'Socket errors' "$out")"
    else
        check_wrk_summary "$out" "$k, round $r"
    fi
    check_wrk_counts "$k, round $r"
    check_server_log "$k"
    ((LOGGED >= m[requests])) || die "$k round $r: wrk counted ${m[requests]} answers but cityos logged only $LOGGED"
    rps=$(awk -v n="${m[requests]}" -v d="${m[duration_us]}" 'BEGIN { printf "%.1f", n / (d / 1e6) }')
    say "$k round $r ($kind): $rps req/s, p50 ${m[p50_us]} us, p99 ${m[p99_us]} us"
    [[ $k == signin-* ]] && SIGNED_IN=$((SIGNED_IN + m[requests]))
    [[ $kind == measured ]] && printf '%s\t%d\t%s\t%s\t%s\t%s\n' "$k" "$r" "${m[requests]}" \
        "${m[duration_us]}" "${m[p50_us]}" "${m[p99_us]}" >>"$RESULTS"
    unset m
    sleep 1
}

SIGNED_IN=0 # 303s wrk counted over all sign-in runs: each must be a stored session
ROUNDS=$((WARMUP + RUNS))
n_signin=$(wc -w <<<"$SIGNIN_CONNS")
say "$WARMUP warm-up + $RUNS measured runs per target, $DURATION each: about $((ROUNDS * (3 + n_signin) * (DUR_S + 2) + 35)) s"
# userinfo and introspection interleaved, the order swapped each round
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2 == 0)); then run_one userinfo "$r" && run_one introspect "$r"; else run_one introspect "$r" && run_one userinfo "$r"; fi
done
for c in $SIGNIN_CONNS; do
    for ((r = 0; r < ROUNDS; r++)); do run_one "signin-$c" "$r"; done
done
say "locking $LOCKED_EMAIL out (ten wrong passwords, waiting out the back-off: about 35 s)"
lock_out
: >"$CLOG"
for ((r = 0; r < ROUNDS; r++)); do run_one locked "$r"; done

stop_cityos
problems=$(grep -E '"level":"(warn|error)"' "$CLOG" | head -n 5 || true)
[[ -z $problems ]] || die "cityos logged warnings or errors while stopping:
$problems"
SESSIONS=$(python3 -c '
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(c.execute("SELECT COUNT(*) FROM web_session").fetchone()[0])
' "$DATA/cityos.db") || die "could not count the sessions in $DATA/cityos.db"
((SESSIONS >= SIGNED_IN)) || die "wrk counted $SIGNED_IN sign-ins (303) but only $SESSIONS sessions are stored"

# The in-process Argon2id rate in the same sitting (bench/identity_crypto, built with the release
# binary), so that the HTTP figure can be read against what this machine gives right now.
ARGON_VERIFY="not measured ($BUILD/bench/identity_crypto not built)"
if [[ -x $BUILD/bench/identity_crypto ]]; then
    say "the in-process Argon2id rate now, for comparison: $BUILD/bench/identity_crypto"
    ARGON_VERIFY=$("$BUILD/bench/identity_crypto" 2>&1 | sed -n 's/^Argon2id verify[^0-9]*2 threads *\([0-9.]*\).*/\1/p')
    [[ -n $ARGON_VERIFY ]] || ARGON_VERIFY="? (identity_crypto printed no verify line)"
fi

# ---- report ----------------------------------------------------------------------------------
out_files signin
describe_machine
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
KEYS_ALL="userinfo introspect $(for c in $SIGNIN_CONNS; do printf 'signin-%s ' "$c"; done)locked"
NAMES_TSV=$(for k in $KEYS_ALL; do printf '%s\t%s\n' "$k" "$(name_of "$k")"; done)
# shellcheck disable=SC2090 # COMMAND is printed, never run
export LOAD_END COMMAND CITYOS_THREADS THREADS CONNS DURATION RUNS WARMUP KEYS_ALL NAMES_TSV SESSIONS SIGNED_IN ARGON_VERIFY \
    BYTES_USERINFO="${BYTES[userinfo]}" BYTES_INTROSPECT="${BYTES[introspect]}"
python3 - "$RESULTS" >"$WORK/report.md" <<'EOF'
import csv, os, statistics, sys
env = os.environ
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
names = dict(line.split("\t", 1) for line in env["NAMES_TSV"].splitlines())
med = statistics.median
def ms(us):
    return f"{us / 1000:.3f} ms" if us < 10000 else f"{us / 1000:.1f} ms"
def rate(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"
out = []
w = out.append
w(f"## Sign-in and a person's token, {env['DATE']}")
w("")
w("| target | median req/s | req/s min–max | median p50 | median p99 |")
w("| --- | ---: | ---: | ---: | ---: |")
for key in env["KEYS_ALL"].split():
    mine = [r for r in rows if r["key"] == key]
    if not mine:
        continue
    rps = [int(r["requests"]) / (int(r["duration_us"]) / 1e6) for r in mine]
    w(f"| {names[key]} | {rate(med(rps))} | {rate(min(rps))}–{rate(max(rps))} | "
      f"{ms(med(float(r['p50_us']) for r in mine))} | {ms(med(float(r['p99_us']) for r in mine))} |")
w("")
w(f"Answers: userinfo {env['BYTES_USERINFO']} B of JSON, introspection {env['BYTES_INTROSPECT']} B "
  f"(`active: true`); sign-in a 303 with the session cookie; lock-out a 429 page with Retry-After. "
  f"Every 303 is a stored session: wrk counted {env['SIGNED_IN']} over the sign-in runs "
  f"(warm-ups included), {env['SESSIONS']} sessions were in the database at the end. In-process "
  f"Argon2id verifications/s on 2 threads in the same sitting (`build-bench/bench/identity_crypto`, "
  f"run right after): {env['ARGON_VERIFY']}.")
w("")
w("Machine:")
w(f"- CPU: {env['CPU_MODEL']}, nproc {env['CORES']}; memory {env['MEM']}")
w(f"- OS: {env['DISTRO']}, kernel {env['KERNEL']}")
w(f"- load average at start: {env['LOAD']}; at the end: {env['LOAD_END']}")
w(f"- {env['CITYOS_VERSION']}; source {env['COMMIT']}; release build; {env['WRK_VERSION']}")
w("")
w("Command:")
w("```")
w(env["COMMAND"])
w("```")
w(f"Each run is `wrk -t{env['THREADS']} -cN -d{env['DURATION']} --latency --timeout 30s -s KEY.lua URL` "
  f"over loopback, client and server on the same cores; {env['WARMUP']} warm-up run per target "
  f"discarded, then {env['RUNS']} measured; medians over the measured runs. cityos: `cityos serve "
  f"--port=0 --listen=127.0.0.1 --log-level=info` ({env['CITYOS_THREADS']} HTTP threads, sign-in "
  f"pool: one thread per core, 64 queued) on `cityos demo --people=200`.")
print("\n".join(out))
EOF
cp "$WORK/report.md" "$OUT_MD"
{
    cat "$RAW"
    echo "### server log lines other than requests and sign-ins"
    cat "$NOTES"
} >"$OUT_LOG"
show_report
say "written to $OUT_MD (raw wrk output: $OUT_LOG)"
