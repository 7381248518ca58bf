#!/usr/bin/env bash
# fhir.sh - the FHIR benchmark (issue 5): requests/s and latency of a release cityos for
#   create    POST /fhir/Observation (a blood-pressure Observation, LOINC 85354-9 with its
#             8480-6 and 8462-4 components)
#   read      GET /fhir/Observation/{id}
#   search    GET /fhir/Observation?patient=...&code=http://loinc.org|85354-9&_count=20 among
#             10,000 Observations of the patient (four vital signs, 2,500 of each)
#   transaction  POST /fhir, a transaction Bundle of 100 Observations with urn:uuid fullUrls
# over HTTP with real tokens (会津 太郎 of the demo town, signed in by the authorization-code
# flow with PKCE; a fresh token for every run), consent and audit on as always; side by side in
# the same sitting with Medplum's FHIR router (@medplum/fhir-router 4.5, its MemoryRepository
# behind node:http, bench/medplum/server.mjs: no auth, no consent, no audit, no disk) and with
# nginx serving a static 1 KB JSON file, the HTTP ceiling. Targets: create >= 20,000/s, read >=
# 70% of nginx's static rate, search >= 20,000/s, transaction ingest >= 80,000 Observations/s.
# Run from anywhere, as root on Debian 12 (it installs wrk, nginx, curl and python3 when missing,
# and bench/medplum's npm packages with npm ci; Medplum 4.5 needs node >= 20.19):
#
#   bench/fhir.sh
#   BENCH_DURATION=3s BENCH_RUNS=1 BENCH_WARMUP=0 bench/fhir.sh     # a quick check that it works
#
# Settings (environment): BENCH_DURATION (wrk -d, default 10s, at most 10m), BENCH_RUNS
# (measured runs per row, default 3), BENCH_WARMUP (discarded runs per row, default 1),
# BENCH_CONNECTIONS (wrk -c, default 32), BENCH_THREADS (wrk -t, default 2), BENCH_BUILD (the
# meson build folder, default build-bench), BENCH_PERF=1 (one more run of each cityos row under
# `perf record -g`, its top symbols written to the .log), BENCH_HOLD=1 (seed, then keep the
# servers up for measuring by hand; see below), BENCH_DATABASE_URL (a PostgreSQL server URL
# such as `scripts/postgres.sh start DIR PORT` prints: cityos runs on a database of its own made
# there for the run, C collation, dropped at the end; unset: SQLite in the data folder),
# BENCH_CITYOS_ONLY=1 (no Medplum rows: cityos and nginx only, for comparing backends). The
# read and search rows run first, on the seeded 10,000, then create, then transaction (those
# add Observations). The transaction row is reported "not served" when POST /fhir answers 404
# or 405. All traffic stays on 127.0.0.1; the servers, temporary folders and logs (and the
# PostgreSQL database) are removed on exit, failure included. The result (a markdown block) is
# printed and written to bench/out/fhir-<UTC time>.md with the raw wrk output beside it in .log.
# See bench/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$(readlink -f "$0")")/.."

DURATION=${BENCH_DURATION:-10s}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
PERF=${BENCH_PERF:-0}
DB_URL=${BENCH_DATABASE_URL:-}
DB_URL=${DB_URL%/}
CITYOS_ONLY=${BENCH_CITYOS_ONLY:-0}
BUILD=${BENCH_BUILD:-$BUILD}
BIN=$BUILD/cityos
SEED_N=10000 # Observations of the patient before the read and search rows
TXN_N=100    # Observations per transaction Bundle
PAGE=20      # _count of the search
EMAIL=taro.aizu@example.jp
SCOPE="openid launch/patient patient/*.cruds"
REDIRECT_URI=http://127.0.0.1:8765/callback

check_run_settings
check_connections
((CONNS <= 4000)) || die "BENCH_CONNECTIONS=$CONNS: cityos accepts 4096 connections at most"
((DUR_S <= 600)) || die "BENCH_DURATION=$DURATION: at most 10m, so that a run fits in one access token's life"
[[ $PERF == 0 || $PERF == 1 ]] || die "BENCH_PERF=$PERF: want 0 or 1"
[[ $CITYOS_ONLY == 0 || $CITYOS_ONLY == 1 ]] || die "BENCH_CITYOS_ONLY=$CITYOS_ONLY: want 0 or 1"
[[ -z $DB_URL || $DB_URL =~ ^postgres(ql)?:// ]] || die "BENCH_DATABASE_URL=$DB_URL: want postgresql://user@host:port"
COMMAND="BENCH_DURATION=$DURATION BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP BENCH_CONNECTIONS=$CONNS BENCH_THREADS=$THREADS"
[[ -z $DB_URL ]] || COMMAND+=" BENCH_DATABASE_URL=$DB_URL"
((CITYOS_ONLY == 0)) || COMMAND+=" BENCH_CITYOS_ONLY=1"
COMMAND+=" bench/fhir.sh"

raise_fd_limit "$CONNS"

# ---- tools -----------------------------------------------------------------------------------
install_build_deps
missing=()
installed wrk || command -v wrk >/dev/null || missing+=(wrk)
installed nginx || installed nginx-light || installed nginx-core || installed nginx-full ||
    installed nginx-extras || command -v nginx >/dev/null || missing+=(nginx)
installed curl || missing+=(curl)
installed python3 || missing+=(python3)
((PERF == 0)) || command -v perf >/dev/null || missing+=(linux-perf)
[[ -z $DB_URL ]] || command -v psql >/dev/null || missing+=(postgresql-client)
install_packages "${missing[@]}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || die "nginx is installed but not found on PATH or at /usr/sbin/nginx"

MEDPLUM_DIR=bench/medplum
MEDPLUM_VERSION="not run (BENCH_CITYOS_ONLY=1)"
if ((CITYOS_ONLY == 0)); then
    command -v node >/dev/null || die "node is not installed (bash scripts/deps.sh installs it)"
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
        die "node $(node --version) is too old for @medplum/fhir-router 4.5 (it needs 20.19 or newer)"
    if [[ ! -f $MEDPLUM_DIR/node_modules/.package-lock.json ||
        $MEDPLUM_DIR/package-lock.json -nt $MEDPLUM_DIR/node_modules/.package-lock.json ]]; then
        command -v npm >/dev/null || die "npm is not installed (bash scripts/deps.sh installs it)"
        say "installing Medplum's FHIR router: npm ci --prefix $MEDPLUM_DIR"
        npm ci --prefix "$MEDPLUM_DIR" --no-audit --no-fund --loglevel=error >&2 || die "npm ci --prefix $MEDPLUM_DIR failed"
    fi
    MEDPLUM_VERSION=$(node -p "require('./$MEDPLUM_DIR/node_modules/@medplum/fhir-router/package.json').version")
fi

build_release

MEDPLUM_PID=
DB_NAME=
cleanup_all() { # bench/lib.sh's cleanup (cityos, nginx, WORK) after Medplum's server
    local rc=$?
    set +e
    # Medplum's server holds nothing worth a clean exit, and a search in progress can keep its
    # single thread (and so its SIGTERM handler) busy for many seconds
    if [[ -n $MEDPLUM_PID ]] && kill -0 "$MEDPLUM_PID" 2>/dev/null; then
        kill -KILL "$MEDPLUM_PID" 2>/dev/null
        wait "$MEDPLUM_PID" 2>/dev/null
    fi
    if [[ -n $DB_NAME ]]; then # the run's database goes with it (cityos has stopped by now)
        stop_pid "$CITYOS_PID" cityos
        CITYOS_PID=
        psql -q -d "$DB_URL/postgres" -c "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null 2>&1 ||
            say "could not drop database $DB_NAME on $DB_URL"
    fi
    (exit "$rc")
    cleanup
}
trap cleanup_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cityos-bench-fhir.XXXXXX")
chmod 0755 "$WORK" # nginx workers run as nobody and must reach html/
DATA=$WORK/data
NDIR=$WORK/nginx
mkdir -p "$DATA" "$NDIR/html" "$NDIR/client_body" "$WORK/runs"
CLOG=$WORK/cityos.log
NOTES=$WORK/server-notes.log # server log lines that are not request lines, kept for the report
: >"$NOTES"

note_load

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# curl with the usual options; prints "status size" and writes the body to the file
hcurl() { # outfile curl-args...
    local out=$1
    shift
    curl --noproxy '*' -sS --max-time 120 -o "$out" -w '%{http_code} %{size_download}' "$@"
}

# ---- the database (PostgreSQL only) ----------------------------------------------------------
BACKEND="SQLite (the data folder's cityos.db)"
unset CITYOS_DATABASE_URL
if [[ -n $DB_URL ]]; then
    DB_NAME=cityos_bench_fhir_$$
    psql -q -v ON_ERROR_STOP=1 -d "$DB_URL/postgres" \
        -c "CREATE DATABASE $DB_NAME TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" \
        >/dev/null || die "cannot create database $DB_NAME on $DB_URL"
    export CITYOS_DATABASE_URL=$DB_URL/$DB_NAME # cityos demo and cityos serve read it
    BACKEND="PostgreSQL $(psql -Atq -d "$CITYOS_DATABASE_URL" -c 'SHOW server_version') on $DB_URL (fsync $(psql -Atq -d "$CITYOS_DATABASE_URL" -c 'SHOW fsync'); the store's writer commits with synchronous_commit on)"
fi
say "backend: $BACKEND"

# ---- the demo town and cityos ----------------------------------------------------------------
say "seeding the demo town in $DATA"
"$BIN" demo --data-dir="$DATA" >"$WORK/demo.log" 2>&1 || {
    cat "$WORK/demo.log" >&2
    die "cityos demo failed"
}
PASSWORD=$(grep -o "email=$EMAIL password=[^ ]*" "$DATA/demo-sign-ins.txt" | head -n 1 | sed 's/.*password=//')
[[ -n $PASSWORD ]] || die "no password for $EMAIL in $DATA/demo-sign-ins.txt"

# an operator token for this run only, in the environment (not on a command line `ps` shows)
CITYOS_ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')
export CITYOS_ADMIN_TOKEN
start_cityos --log-level=info --access-token-ttl=3600
wait_cityos_port port_from_log "cityos did not log a \"listening\" line with its port within 10 s"
read -r CITYOS_PORT CITYOS_THREADS <<<"$CITYOS_PORT"
CITYOS=http://127.0.0.1:$CITYOS_PORT
say "cityos pid $CITYOS_PID listening on $CITYOS ($CITYOS_THREADS HTTP threads)"

# the app: a public client with the PHR scopes, registered through the admin API
read -r st _ <<<"$(hcurl "$WORK/client.json" -H "Authorization: Bearer $CITYOS_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' --data "{\"name\":\"bench/fhir.sh\",\"kind\":\"public\",\"scopes\":\"$SCOPE\",\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"$REDIRECT_URI\"]}" \
    "$CITYOS/api/v1/admin/clients")"
[[ $st == 201 ]] || die "POST /api/v1/admin/clients answered $st: $(head -c 500 "$WORK/client.json")"
CLIENT_ID=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["client_id"])' "$WORK/client.json")

# The authorization-code flow with PKCE S256 as a browser plays it (sign-in form, approval page
# acting as oneself, the code, the token); prints the access token.
cat >"$WORK/codeflow.py" <<'EOF'
import base64, hashlib, html, http.client, json, re, secrets, sys, urllib.parse

base, client_id, email, password, scope, redirect_uri = sys.argv[1:7]
u = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
jar = {}

def call(method, target, form=None):
    headers = {"Accept-Language": "en"}
    if jar:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, target, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read().decode("utf-8", "replace")
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if value == "" or re.search(r"max-age=0\b", v, re.I):
                jar.pop(name, None)
            else:
                jar[name] = value
    return r.status, r.getheader("Location"), data

def form_of(page):
    m = re.search(r'<form\b[^>]*method="post"[^>]*>(.*?)</form>', page, re.S | re.I)
    if not m:
        sys.exit("no POST form")
    action = html.unescape(re.search(r'action="([^"]*)"', m.group(0)).group(1))
    fields, radios = {}, {}
    for tag in re.findall(r"<input\b[^>]*>", m.group(1)):
        a = dict((k, html.unescape(v)) for k, v in re.findall(r'\s([a-z_-]+)="([^"]*)"', tag))
        if a.get("type") == "hidden" and "name" in a:
            fields[a["name"]] = a.get("value", "")
        elif a.get("type") == "radio" and "name" in a:
            radios.setdefault(a["name"], []).append(a.get("value", ""))
    return action, fields, radios

def path_of(url):
    s = urllib.parse.urlsplit(url)
    return s.path + ("?" + s.query if s.query else "")

verifier = secrets.token_urlsafe(32)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
q = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
                            "scope": scope, "state": "bench", "nonce": secrets.token_urlsafe(8),
                            "code_challenge": challenge, "code_challenge_method": "S256"})
st, loc, _ = call("GET", f"/oauth/authorize?{q}")
if st != 303:
    sys.exit(f"GET /oauth/authorize: {st}")
st, _, page = call("GET", path_of(loc))
action, fields, _ = form_of(page)
st, loc, body = call("POST", path_of(action), {**fields, "email": email, "password": password})
if st != 303:
    sys.exit(f"POST /signin: {st} {body[:300]}")
st, _, page = call("GET", path_of(loc))
if st != 200:
    sys.exit(f"the approval page: {st}")
action, fields, radios = form_of(page)
form = {**fields, "decision": "approve"}
if "act_as" in radios:
    form["act_as"] = next(v for v in radios["act_as"] if v.startswith("self"))
st, loc, _ = call("POST", path_of(action), form)
if st != 303:
    sys.exit(f"POST approve: {st}")
code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).get("code", [None])[0]
if not code:
    sys.exit(f"no code in {loc}")
st, _, body = call("POST", "/oauth/token", {"grant_type": "authorization_code", "client_id": client_id,
                                           "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier})
if st != 200:
    sys.exit(f"POST /oauth/token: {st} {body[:300]}")
print(json.loads(body)["access_token"])
EOF

TOKEN=
new_token() { # sets TOKEN: 太郎 signs in again (code flow, PKCE)
    TOKEN=$(python3 "$WORK/codeflow.py" "$CITYOS" "$CLIENT_ID" "$EMAIL" "$PASSWORD" "$SCOPE" "$REDIRECT_URI") ||
        die "the code flow for $EMAIL failed"
}
new_token
read -r st _ <<<"$(hcurl "$WORK/me.json" -H "Authorization: Bearer $TOKEN" "$CITYOS/api/v1/me/consents")"
[[ $st == 200 ]] || die "GET /api/v1/me/consents answered $st"
PATIENT=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["subject"])' "$WORK/me.json")
[[ $PATIENT =~ ^[A-Za-z0-9_.-]+$ ]] || die "unexpected patient id \"$PATIENT\""
say "client $CLIENT_ID; $EMAIL is Patient/$PATIENT"

# ---- the request bodies ----------------------------------------------------------------------
# obs.json: one blood pressure; txn.json: a transaction of TXN_N of them with urn:uuid fullUrls;
# seed-N.json: transactions of 100 for the 10,000 (blood pressure, heart rate, body weight and
# body temperature in turn, one a minute back from 2026-11-01).
python3 - "$WORK" "$PATIENT" "$TXN_N" "$SEED_N" <<'EOF'
import datetime, json, sys, uuid
work, patient, txn_n, seed_n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
VITAL = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}]

def q(v, unit, code):
    return {"value": v, "unit": unit, "system": UCUM, "code": code}

def obs(kind, i, when):
    o = {"resourceType": "Observation", "status": "final", "category": VITAL,
         "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": when}
    if kind == 0:
        o["code"] = {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}]}
        o["component"] = [
            {"code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
             "valueQuantity": q(110 + i % 50, "mmHg", "mm[Hg]")},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
             "valueQuantity": q(70 + i % 30, "mmHg", "mm[Hg]")}]
    elif kind == 1:
        o["code"] = {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]}
        o["valueQuantity"] = q(55 + i % 40, "beats/minute", "/min")
    elif kind == 2:
        o["code"] = {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]}
        o["valueQuantity"] = q(60 + (i % 200) / 10, "kg", "kg")
    else:
        o["code"] = {"coding": [{"system": LOINC, "code": "8310-5", "display": "Body temperature"}]}
        o["valueQuantity"] = q(36 + (i % 15) / 10, "Cel", "Cel")
    return o

def bundle(resources):
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r,
                       "request": {"method": "POST", "url": "Observation"}} for r in resources]}

def dump(name, doc):
    with open(f"{work}/{name}", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))

start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=9)))
when = lambda i: (start - datetime.timedelta(minutes=i)).isoformat()
dump("obs.json", obs(0, 28, "2026-11-24T07:30:00+09:00"))
dump("txn.json", bundle([obs(0, i, when(i)) for i in range(txn_n)]))
all_ = [obs(i % 4, i // 4, when(i)) for i in range(seed_n)]
for k in range(0, seed_n, 100):
    dump(f"seed-{k // 100}.json", bundle(all_[k:k + 100]))
EOF
OBS_BYTES=$(stat -c %s "$WORK/obs.json")
TXN_BYTES=$(stat -c %s "$WORK/txn.json")

# ---- Medplum's FHIR router -------------------------------------------------------------------
declare -A TXN SEEDED READ_ID READ_BYTES SEARCH_BYTES
MEDPLUM_PORT=
SERVERS=(cityos)
((CITYOS_ONLY == 1)) || SERVERS+=(medplum)
for attempt in 1 2 3; do
    ((CITYOS_ONLY == 0)) || break
    port=$(free_port)
    node "$MEDPLUM_DIR/server.mjs" --port="$port" --listen=127.0.0.1 >"$WORK/medplum.out" 2>"$WORK/medplum.err" &
    MEDPLUM_PID=$!
    for ((i = 0; i < 600; i++)); do # it indexes the FHIR definitions first (several seconds)
        kill -0 "$MEDPLUM_PID" 2>/dev/null || break
        if grep -q "^listening $port" "$WORK/medplum.out"; then
            MEDPLUM_PORT=$port
            break
        fi
        sleep 0.1
    done
    [[ -n $MEDPLUM_PORT ]] && break
    stop_pid "$MEDPLUM_PID" "Medplum's server"
    MEDPLUM_PID=
    say "Medplum's server did not start on port $port (attempt $attempt): $(tail -n 3 "$WORK/medplum.err" | tr '\n' ' ')"
done
if ((CITYOS_ONLY == 0)); then
    [[ -n $MEDPLUM_PORT ]] || die "Medplum's server would not start"
    MEDPLUM=http://127.0.0.1:$MEDPLUM_PORT
    say "Medplum's FHIR router $MEDPLUM_VERSION (pid $MEDPLUM_PID) on $MEDPLUM"
else
    MEDPLUM=http://127.0.0.1:9 # never called
    TXN[medplum]="not run (BENCH_CITYOS_ONLY=1)" SEEDED[medplum]="not run"
    READ_BYTES[medplum]=- SEARCH_BYTES[medplum]=- READ_ID[medplum]=none
fi

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

# ---- probes: each request answered as the row means it, once by hand --------------------------
# create: 201 with an id (the read row reads that one)
probe_create() { # server-url auth-header... -> sets PROBE_ID
    local url=$1 st
    shift
    read -r st _ <<<"$(hcurl "$WORK/probe.json" "$@" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$WORK/obs.json" "$url/fhir/Observation")"
    [[ $st == 201 ]] || die "POST $url/fhir/Observation answered $st: $(head -c 500 "$WORK/probe.json")"
    PROBE_ID=$(python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["resourceType"] == "Observation" and o["code"]["coding"][0]["code"] == "85354-9", o
print(o["id"])' "$WORK/probe.json") || die "POST $url/fhir/Observation: not the Observation: $(head -c 300 "$WORK/probe.json")"
}

# transaction: 200 with TXN_N entries of 201; 404 or 405: not served
probe_txn() { # server-url auth-header... -> sets TXN_STATE (ok, "not served (404)" or "failed (...)")
    local url=$1 st
    shift
    read -r st _ <<<"$(hcurl "$WORK/probe-txn.json" "$@" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$WORK/txn.json" "$url/fhir")"
    case $st in
    200)
        if python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
ok = b.get("type") == "transaction-response" and len(b.get("entry", [])) == int(sys.argv[2]) and \
     all(str(e["response"]["status"]).startswith("201") for e in b["entry"])
sys.exit(0 if ok else 1)' "$WORK/probe-txn.json" "$TXN_N"; then
            TXN_STATE=ok
        else
            TXN_STATE="failed (200 without $TXN_N created entries)"
        fi
        ;;
    404 | 405) TXN_STATE="not served ($st)" ;;
    *) TXN_STATE="failed ($st: $(head -c 200 "$WORK/probe-txn.json" | tr -d '\n'))" ;;
    esac
}

# seeding: the 10,000 by transactions of 100 when served, else one POST each (8 at a time)
cat >"$WORK/seed.py" <<'EOF'
import concurrent.futures, glob, http.client, json, sys, time, urllib.parse
base, token, mode, work = sys.argv[1:5]
u = urllib.parse.urlsplit(base)
headers = {"Content-Type": "application/fhir+json"}
if token:
    headers["Authorization"] = f"Bearer {token}"
files = sorted(glob.glob(f"{work}/seed-*.json"))

def post(conn, path, body):
    conn.request("POST", path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, data

def worker(part):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    n = 0
    for f in part:
        bundle = open(f, "rb").read()
        if mode == "txn":
            st, data = post(conn, "/fhir", bundle)
            if st != 200:
                sys.exit(f"POST /fhir: {st} {data[:300]!r}")
            n += len(json.loads(bundle)["entry"])
        else:
            for e in json.loads(bundle)["entry"]:
                st, data = post(conn, "/fhir/Observation", json.dumps(e["resource"]).encode())
                if st != 201:
                    sys.exit(f"POST /fhir/Observation: {st} {data[:300]!r}")
                n += 1
    return n

t0 = time.monotonic()
parts = [files[i::8] for i in range(8)]
with concurrent.futures.ThreadPoolExecutor(8) as ex:
    n = sum(ex.map(worker, parts))
print(f"{n} {time.monotonic() - t0:.2f}")
EOF

AUTH=(-H "Authorization: Bearer $TOKEN")
for srv in "${SERVERS[@]}"; do
    url=$MEDPLUM auth=() tok=
    if [[ $srv == cityos ]]; then
        url=$CITYOS auth=("${AUTH[@]}") tok=$TOKEN
    fi
    probe_txn "$url" "${auth[@]}"
    TXN[$srv]=$TXN_STATE
    mode=single
    [[ $TXN_STATE == ok ]] && mode=txn
    say "$srv: transaction of $TXN_N: $TXN_STATE; seeding $SEED_N Observations ($mode)"
    seeded=$(python3 "$WORK/seed.py" "$url" "$tok" "$mode" "$WORK") || die "$srv: seeding failed"
    read -r n secs <<<"$seeded"
    SEEDED[$srv]="$n Observations in $secs s by $([[ $mode == txn ]] && echo "transactions of 100, 8 at a time" || echo "single POSTs, 8 at a time")"
    say "$srv: seeded ${SEEDED[$srv]}"
    probe_create "$url" "${auth[@]}"
    READ_ID[$srv]=$PROBE_ID
done

SEARCH_Q="patient=Patient%2F$PATIENT&code=http%3A%2F%2Floinc.org%7C85354-9&_count=$PAGE"
for srv in "${SERVERS[@]}"; do
    url=$MEDPLUM auth=()
    if [[ $srv == cityos ]]; then
        url=$CITYOS auth=("${AUTH[@]}")
    fi
    read -r st size <<<"$(hcurl "$WORK/probe-read.json" "${auth[@]}" "$url/fhir/Observation/${READ_ID[$srv]}")"
    [[ $st == 200 ]] || die "$srv: GET /fhir/Observation/${READ_ID[$srv]} answered $st"
    READ_BYTES[$srv]=$size
    read -r st size <<<"$(hcurl "$WORK/probe-search.json" "${auth[@]}" "$url/fhir/Observation?$SEARCH_Q")"
    [[ $st == 200 ]] || die "$srv: the search answered $st: $(head -c 300 "$WORK/probe-search.json")"
    python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
obs = [e for e in b.get("entry", []) if e.get("resource", {}).get("resourceType") == "Observation"]
assert b["type"] == "searchset" and len(obs) == int(sys.argv[2]), (b.get("type"), len(obs))
assert all(e["resource"]["code"]["coding"][0]["code"] == "85354-9" for e in obs)' \
        "$WORK/probe-search.json" "$PAGE" || die "$srv: the search did not answer a page of $PAGE blood pressures"
    SEARCH_BYTES[$srv]=$size
done
read -r st STATIC_BYTES <<<"$(hcurl "$WORK/probe-static.json" "$NGINX_URL/static.json")"
[[ $st == 200 ]] || die "nginx answered $st"
say "bodies: Observation $OBS_BYTES B, transaction $TXN_BYTES B; read answers cityos ${READ_BYTES[cityos]} B, Medplum ${READ_BYTES[medplum]} B; search pages cityos ${SEARCH_BYTES[cityos]} B, Medplum ${SEARCH_BYTES[medplum]} B"

# BENCH_HOLD=1: keep the seeded servers up for measuring by hand instead of running wrk; the
# addresses, the token (an hour's) and the ids go to bench/out/fhir-hold.env, sourced by a shell
if [[ ${BENCH_HOLD:-0} == 1 ]]; then
    mkdir -p bench/out
    {
        printf 'CITYOS=%q
CITYOS_PID=%q
TOKEN=%q
PATIENT=%q
' "$CITYOS" "$CITYOS_PID" "$TOKEN" "$PATIENT"
        printf 'READ_ID=%q
SEARCH_Q=%q
OBS=%q
TXN=%q
' "${READ_ID[cityos]}" "$SEARCH_Q" "$WORK/obs.json" "$WORK/txn.json"
        printf 'MEDPLUM=%q
NGINX_URL=%q
' "$MEDPLUM" "$NGINX_URL"
    } >bench/out/fhir-hold.env
    say "holding: source bench/out/fhir-hold.env; Ctrl-C (or kill $$) ends it and removes everything"
    while kill -0 "$CITYOS_PID" 2>/dev/null; do sleep 1; done
    die "cityos exited while held"
fi

grep -v '"msg":"request"' "$CLOG" >>"$NOTES" || true
startup_problems=$(grep -E '"level":"(warn|error)"' "$CLOG" || true)
[[ -z $startup_problems ]] || say "cityos warnings before the runs (not fatal): $startup_problems"
: >"$CLOG"
: >"$NDIR/access.log"

# ---- wrk -------------------------------------------------------------------------------------
LUA=$(readlink -f bench/fhir.lua)
RAW=$WORK/wrk-raw.log
RESULTS=$WORK/results.tsv
: >"$RAW"
printf 'key\tround\trequests\tduration_us\tp50_us\tp99_us\n' >"$RESULTS"

# key -> server, method, URL, body
declare -A K_SRV K_METHOD K_URL K_BODY
row() { K_SRV[$1]=$2 K_METHOD[$1]=$3 K_URL[$1]=$4 K_BODY[$1]=$5; }
row static nginx GET "$NGINX_URL/static.json" ""
row c_read cityos GET "$CITYOS/fhir/Observation/${READ_ID[cityos]}" ""
row m_read medplum GET "$MEDPLUM/fhir/Observation/${READ_ID[medplum]}" ""
row c_search cityos GET "$CITYOS/fhir/Observation?$SEARCH_Q" ""
row m_search medplum GET "$MEDPLUM/fhir/Observation?$SEARCH_Q" ""
# Medplum's MemoryRepository searches by scanning every resource on node's one thread, seconds a
# search here: 32 connections would only queue (no search done within a run, and minutes of
# backlog charged to the next run), so its search row runs with one connection per wrk thread.
declare -A K_CONNS=([m_search]=$THREADS)
row c_create cityos POST "$CITYOS/fhir/Observation" "$WORK/obs.json"
row m_create medplum POST "$MEDPLUM/fhir/Observation" "$WORK/obs.json"
row c_txn cityos POST "$CITYOS/fhir" "$WORK/txn.json"
row m_txn medplum POST "$MEDPLUM/fhir" "$WORK/txn.json"

# Waits until the process has used less than 5% of a core over half a second (at most 5
# minutes): requests still queued when wrk stops (a slow row leaves up to CONNS of them) must
# not be charged to the next run.
wait_idle() { # pid name
    local pid=$1 a b i
    for ((i = 0; i < 600; i++)); do
        a=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || return 0
        sleep 0.5
        b=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || return 0
        (((b - a) * 100 < 5 * $(getconf CLK_TCK))) && return 0
    done
    say "warning: $2 still busy 5 minutes after the run"
}

# PostgreSQL: waits until no statement of the run's database is in progress for half a second
# (at most 5 minutes), so that writes queued when wrk stopped are not charged to the next run
wait_db_idle() {
    local i n
    for ((i = 0; i < 600; i++)); do
        n=$(psql -Atq -d "$CITYOS_DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()") || return 0
        ((n == 0)) && sleep 0.5 && n=$(psql -Atq -d "$CITYOS_DATABASE_URL" -c "SELECT count(*)
            FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle'
            AND pid <> pg_backend_pid()") && ((n == 0)) && return 0
        sleep 0.5
    done
    say "warning: PostgreSQL still busy 5 minutes after the run"
}

# one wrk run of key; sets m (see read_wrk_report); fails on any answer >= 400 or socket error
run_wrk() { # key label outfile
    local key=$1 label=$2 out=$3 tok='' conns=${K_CONNS[$1]:-$CONNS}
    if [[ ${K_SRV[$key]} == cityos ]]; then
        cityos_alive "$label"
        new_token # a fresh token for every run: it cannot expire during the run
        tok=$TOKEN
        : >"$CLOG" # the sign-in is not part of the run
    fi
    FHIR_METHOD=${K_METHOD[$key]} FHIR_TOKEN=$tok FHIR_BODY=${K_BODY[$key]} \
        timeout --foreground --signal=INT --kill-after=10 $((DUR_S + 60)) \
        wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout 30s --latency -s "$LUA" "${K_URL[$key]}" >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk failed against ${K_URL[$key]}"
    }
    {
        printf '### %s: wrk -t%d -c%d -d%s --latency -s bench/fhir.lua %s (%s)\n' \
            "$label" "$THREADS" "$conns" "$DURATION" "${K_URL[$key]}" "${K_METHOD[$key]}"
        cat "$out"
        echo
    } >>"$RAW"
    case ${K_SRV[$key]} in
    cityos)
        wait_idle "$CITYOS_PID" cityos
        [[ -z $DB_NAME ]] || wait_db_idle # cityos waiting on PostgreSQL looks idle
        ;;
    medplum) wait_idle "$MEDPLUM_PID" "Medplum's server" ;;
    esac
    case ${K_SRV[$key]} in
    cityos) cityos_alive "$label" ;;
    medplum) kill -0 "$MEDPLUM_PID" 2>/dev/null || die "Medplum's server died during $label" ;;
    nginx) kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died during $label" ;;
    esac
    check_wrk_summary "$out" "$label"
    read_wrk_report "$out" "for $label"
    # as bench/lib.sh's check_wrk_counts, except that a run may complete no request at all (a
    # row slower than the run is long): that is a figure (0/s), reported, not a failure
    local errs
    ((m[non2xx] == 0)) || die "$label: wrk counted ${m[non2xx]} answers >= 400"
    errs=$((m[connect] + m[read] + m[write] + m[timeout]))
    ((errs == 0)) || die "$label: wrk socket errors: connect ${m[connect]}, read ${m[read]}, write ${m[write]}, timeout ${m[timeout]}"
    ((m[requests] > 0)) || say "warning: $label: no request completed within $DURATION"
    if [[ ${K_SRV[$key]} == cityos ]]; then
        # the server's verdict: no warning or error while the run went on
        local problems
        problems=$(grep -E '"level":"(warn|error)"' "$CLOG" | head -n 5 || true)
        [[ -z $problems ]] || die "$label: cityos logged warnings or errors:
$problems"
        # every answer wrk counted was logged by the server (it logs a request once it is done,
        # which may be just after wrk has its answer: give it a moment)
        local i logged=0
        for ((i = 0; i < 50; i++)); do
            logged=$(grep -c '"msg":"request"' "$CLOG" || true)
            ((logged >= m[requests])) && break
            sleep 0.1
        done
        ((logged >= m[requests])) || die "$label: wrk counted ${m[requests]} answers but cityos logged only $logged requests"
        grep -v '"msg":"request"' "$CLOG" >>"$NOTES" || true
        : >"$CLOG"
    elif [[ ${K_SRV[$key]} == nginx ]]; then
        : >"$NDIR/access.log"
    fi
}

# Runs the keys WARMUP + RUNS times each, the order rotated each round.
run_phase() { # key...
    local keys=("$@") n=$# r j key kind out rps
    for ((r = 0; r < WARMUP + RUNS; r++)); do
        for ((j = 0; j < n; j++)); do
            key=${keys[(r + j) % n]}
            kind=measured
            ((r < WARMUP)) && kind=warm-up
            out=$WORK/runs/$key-$r.txt
            run_wrk "$key" "$key round $r ($kind)" "$out"
            rps=$(awk -v n="${m[requests]}" -v d="${m[duration_us]}" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
            say "$key round $r ($kind): $rps req/s, p50 ${m[p50_us]} us, p99 ${m[p99_us]} us"
            if [[ $kind == measured ]]; then
                printf '%s\t%d\t%s\t%s\t%s\t%s\n' "$key" "$r" "${m[requests]}" "${m[duration_us]}" \
                    "${m[p50_us]}" "${m[p99_us]}" >>"$RESULTS"
            fi
            unset m
            sleep 1
        done
    done
}

ROWS=9
[[ ${TXN[cityos]} == ok ]] || ROWS=$((ROWS - 1))
[[ ${TXN[medplum]} == ok ]] || ROWS=$((ROWS - 1))
((CITYOS_ONLY == 0)) || ROWS=$((ROWS - 3)) # no Medplum read, search and create rows
say "$WARMUP warm-up + $RUNS measured runs per row, wrk -t$THREADS -c$CONNS -d$DURATION: about $((ROWS * (WARMUP + RUNS) * (DUR_S + 2))) s"
if ((CITYOS_ONLY == 1)); then
    run_phase static c_read c_search
    run_phase c_create
else
    run_phase static c_read m_read c_search m_search
    run_phase c_create m_create
fi
txn_keys=()
[[ ${TXN[cityos]} == ok ]] && txn_keys+=(c_txn)
[[ ${TXN[medplum]} == ok ]] && txn_keys+=(m_txn)
((${#txn_keys[@]} == 0)) || run_phase "${txn_keys[@]}"

# ---- optional: where cityos spends its time (perf) --------------------------------------------
PERF_LOG=$WORK/perf.txt
: >"$PERF_LOG"
if ((PERF)); then
    for key in c_read c_search c_create c_txn; do
        [[ $key != c_txn || ${TXN[cityos]} == ok ]] || continue
        perf record -F 499 -g -p "$CITYOS_PID" -o "$WORK/perf-$key.data" -- sleep "$((DUR_S > 2 ? DUR_S - 1 : 1))" \
            >/dev/null 2>&1 &
        perf_pid=$!
        run_wrk "$key" "$key under perf" "$WORK/runs/$key-perf.txt"
        wait "$perf_pid" || true
        {
            echo "### perf: $key (self time, top 40 symbols)"
            perf report -i "$WORK/perf-$key.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
                grep -v '^#' | grep '%' | head -n 40 || true
            echo
        } >>"$PERF_LOG"
        unset m
    done
fi

# ---- stop cityos cleanly (its exit is part of the check) -------------------------------------
stop_cityos
grep -v '"msg":"request"' "$CLOG" >>"$NOTES" || true
problems=$(grep -E '"level":"(warn|error)"' "$CLOG" | head -n 5 || true)
[[ -z $problems ]] || die "cityos logged warnings or errors while stopping:
$problems"
DB_BYTES=$(du -sb "$DATA" | cut -f1)
if [[ -n $DB_NAME ]]; then # the database, not the folder (which holds only the keys then)
    DB_BYTES=$(psql -Atq -d "$CITYOS_DATABASE_URL" -c 'SELECT pg_database_size(current_database())')
fi

# ---- report ----------------------------------------------------------------------------------
out_files fhir
describe_machine
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
NODE_VERSION=$(node --version)
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
TXN_CITYOS=${TXN[cityos]} TXN_MEDPLUM=${TXN[medplum]}
SEEDED_CITYOS=${SEEDED[cityos]} SEEDED_MEDPLUM=${SEEDED[medplum]}
export BACKEND LOAD_END COMMAND CITYOS_THREADS THREADS CONNS DURATION RUNS WARMUP SCOPE EMAIL PATIENT \
    TXN_N SEED_N PAGE OBS_BYTES TXN_BYTES STATIC_BYTES TXN_CITYOS TXN_MEDPLUM SEEDED_CITYOS \
    SEEDED_MEDPLUM MEDPLUM_VERSION NODE_VERSION NGINX_VERSION DB_BYTES BUILD

python3 - "$RESULTS" >"$WORK/report.md" <<'EOF'
import csv, os, statistics, sys

env = os.environ
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = statistics.median
txn_n = int(env["TXN_N"])

def stat(key):
    mine = [r for r in rows if r["key"] == key]
    if not mine:
        return None
    rps = [int(r["requests"]) / (int(r["duration_us"]) / 1e6) for r in mine]
    return {"rps": med(rps), "min": min(rps), "max": max(rps), "n": len(mine),
            "p50": med(float(r["p50_us"]) for r in mine), "p99": med(float(r["p99_us"]) for r in mine)}

def ms(us):
    return f"{us / 1000:.2f} ms" if us < 10000 else f"{us / 1000:.0f} ms"

def rate(s, per=1):
    if s is None:
        return None
    if s["max"] == 0:
        return f"none completed within a {env['DURATION']} run"
    t = f"{s['rps'] * per:,.0f}" if s["rps"] * per >= 100 else f"{s['rps'] * per:.1f}"
    if s["n"] > 1:
        t += f" ({s['min'] * per:,.0f}–{s['max'] * per:,.0f})"
    return t

static = stat("static")
out = []
w = out.append
w(f"## FHIR benchmark, {env['DATE']}")
w("")
w(f"cityos's store: {env['BACKEND']}.")
w("")
w("| row | cityos median/s (min–max) | p50 / p99 | Medplum router median/s (min–max) | p50 / p99 | target | met? |")
w("| --- | ---: | ---: | ---: | ---: | --- | --- |")
specs = [
    ("create: POST /fhir/Observation (blood pressure)", "create", 1, "≥ 20,000/s", lambda c: c >= 20000),
    ("read: GET /fhir/Observation/{id}", "read", 1, "≥ 70% of nginx static", lambda c: c >= 0.7 * static["rps"]),
    (f"search: patient + code, _count={env['PAGE']}, among {int(env['SEED_N']):,}", "search", 1, "≥ 20,000/s",
     lambda c: c >= 20000),
    (f"transaction of {txn_n}: Observations/s (Bundles/s × {txn_n})", "txn", txn_n, "≥ 80,000 Observations/s",
     lambda c: c >= 80000),
]
for name, k, per, target, ok in specs:
    c, m_ = stat("c_" + k), stat("m_" + k)
    if c is not None:
        ctext, clat = rate(c, per), f"{ms(c['p50'])} / {ms(c['p99'])}"
        met = "yes" if ok(c["rps"] * per) else "**no**"
        if k == "read":
            target += f" ({0.7 * static['rps']:,.0f}/s)"
            met += f" ({c['rps'] / static['rps']:.0%})" if static["rps"] > 0 else ""
    else:
        ctext, clat, met = env["TXN_CITYOS"], "–", "**no** (not measured)"
    if m_ is not None:
        mtext, mlat = rate(m_, per), (f"{ms(m_['p50'])} / {ms(m_['p99'])}" if m_["max"] > 0 else "–")
    else:
        mtext, mlat = env["TXN_MEDPLUM"], "–"
    w(f"| {name} | {ctext} | {clat} | {mtext} | {mlat} | {target} | {met} |")
w(f"| nginx static 1 KB JSON (the ceiling) | | | | | {rate(static)} req/s, p50 / p99 {ms(static['p50'])} / {ms(static['p99'])} | |")
w("")
ratios = []
for k in ("create", "read", "search", "txn"):
    c, m_ = stat("c_" + k), stat("m_" + k)
    if c and m_:
        ratios.append(f"{k} {c['rps'] / m_['rps']:.2f}x" if m_["rps"] > 0 else f"{k}: Medplum completed none")
if ratios:
    w("cityos / Medplum router: " + ", ".join(ratios) + ".")
    w("")
w(f"Bodies: the Observation {env['OBS_BYTES']} B, the transaction {env['TXN_BYTES']} B, nginx's file "
  f"{env['STATIC_BYTES']} B. Seeding before the runs: cityos {env['SEEDED_CITYOS']}; Medplum "
  f"{env['SEEDED_MEDPLUM']}. cityos's data at the end (data folder, or the PostgreSQL database): "
  f"{int(env['DB_BYTES']) / 2**20:,.0f} MiB.")
w("")
w("Machine:")
w(f"- CPU: {env['CPU_MODEL']}, nproc {env['CORES']}; memory {env['MEM']}")
w(f"- OS: {env['DISTRO']}, kernel {env['KERNEL']}")
w(f"- load average at start: {env['LOAD']}; at the end: {env['LOAD_END']}")
w(f"- date: {env['DATE']}")
w(f"- {env['CITYOS_VERSION']}; source {env['COMMIT']}; release build (`meson setup {env['BUILD']} "
  f"--buildtype=release -Dtests=false`)")
w(f"- @medplum/fhir-router {env['MEDPLUM_VERSION']} on node {env['NODE_VERSION']}; nginx {env['NGINX_VERSION']}; "
  f"{env['WRK_VERSION']}")
w("")
w("Command:")
w("```")
w(env["COMMAND"])
w("```")
w(f"Each run is `wrk -t{env['THREADS']} -c{env['CONNS']} -d{env['DURATION']} --latency -s bench/fhir.lua URL` "
  f"over loopback, client and servers on the same cores. {env['WARMUP']} warm-up run per row is discarded, "
  f"then {env['RUNS']} measured runs per row; figures are medians over the measured runs (p50/p99: the "
  f"median of each run's percentile). Order: nginx, read and search (cityos and Medplum interleaved, the "
  f"order rotated each round) on the seeded data, then create, then transaction. cityos: `cityos serve "
  f"--port=0 --listen=127.0.0.1 --log-level=info` ({env['CITYOS_THREADS']} HTTP threads), one JSON log line "
  f"per request to a file, on `cityos demo`'s town; the app is a public client registered through the "
  f"admin API with `{env['SCOPE']}`, and before every run {env['EMAIL']} (Patient/{env['PATIENT']}) signs "
  f"in again by the authorization-code flow with PKCE; the token is sent as `Authorization: Bearer`. "
  f"Consent is decided and an audit record written on every request, as always. Medplum: "
  f"`bench/medplum/server.mjs`, the FHIR router over its MemoryRepository in node:http, no authentication, "
  f"consent, audit or disk; its search row runs with -c{env['THREADS']} (the MemoryRepository scans every "
  f"resource on node's single thread: more connections only queue). nginx: `bench/nginx.conf.in`. Every measured run had 0 answers >= 400 and 0 "
  f"socket errors (wrk's summary and the Lua report), and cityos logged no warning or error.")
print("\n".join(out))
EOF

cp "$WORK/report.md" "$OUT_MD"
{
    cat "$RAW"
    if ((PERF)); then cat "$PERF_LOG"; fi
    echo "### server log lines other than requests (start-up, runs, shut-down)"
    cat "$NOTES"
} >"$OUT_LOG"
show_report
say "written to $OUT_MD (raw wrk output and the server's non-request log lines: $OUT_LOG)"
