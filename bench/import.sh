#!/usr/bin/env bash
# import.sh - the life-stage import's throughput (issue 5 item 6, docs/import.md): records/s of
# `cityos import` for
#   ndjson   BENCH_NDJSON (default 20,000) body-weight Observations, one per line, of the demo
#            town's citizens (one record = one resource)
#   csv      BENCH_CSV (default 2,000) specific health check-up rows with every item measured
#            (one record = 15 Observations: 13 items, the blood-pressure panel, the row's panel)
# each into a fresh demo town (`cityos demo --people=1000`), durable (synchronous=FULL, group
# commit), with validation, reference checks, the ledger and the audit entries on. Median of
# BENCH_RUNS (default 3) runs, min-max beside it. Run from the repository root:
#
#   bench/import.sh
#   BENCH_BUILD=/tmp/b-rel BENCH_NDJSON=2000 BENCH_CSV=200 BENCH_RUNS=1 bench/import.sh   # quick
#
# Needs python3 (input generation and the person ids, read with its sqlite3 module). The result
# (a markdown block) is printed and written to bench/out/import-<UTC time>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
BUILD=${BENCH_BUILD:-build-bench}
BIN=$BUILD/cityos
RUNS=${BENCH_RUNS:-3}
NDJSON=${BENCH_NDJSON:-20000}
CSV=${BENCH_CSV:-2000}
[[ $RUNS =~ ^[1-9][0-9]?$ && $NDJSON =~ ^[1-9][0-9]{0,6}$ && $CSV =~ ^[1-9][0-9]{0,6}$ ]] ||
    die "BENCH_RUNS 1-99, BENCH_NDJSON and BENCH_CSV 1-9999999"
[[ -x $BIN ]] || build_release
command -v python3 >/dev/null || die "python3 is needed"
WORK=$(mktemp -d /tmp/cityos-bench-import-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# one fresh town per run; the inputs are written for its citizens
make_run() { # run-folder
    local d=$1
    mkdir -p "$d"
    "$BIN" demo --people=1000 --data-dir="$d/data" >/dev/null 2>&1 || die "cityos demo failed"
    python3 - "$d" "$NDJSON" "$CSV" <<'PY'
import sqlite3, sys
d, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids = [r[0] for r in sqlite3.connect(d + "/data/cityos.db").execute("SELECT id FROM person")]
cat = "http://terminology.hl7.org/CodeSystem/observation-category"
with open(d + "/obs.ndjson", "w") as f:
    for i in range(n):
        f.write('{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"%s","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2024-%02d-%02dT%02d:%02d:00Z","valueQuantity":{"value":%d.%d,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}\n'
                % (cat, ids[i % len(ids)], i % 12 + 1, i % 28 + 1, i % 24, i % 60, 40 + i % 50, i % 10))
with open(d + "/kenshin.csv", "w") as f:
    f.write("person_id,date,height_cm,weight_kg,bmi,waist_cm,systolic_mmhg,diastolic_mmhg,hba1c_ngsp_pct,"
            "fasting_glucose_mg_dl,triglycerides_mg_dl,hdl_mg_dl,ldl_mg_dl,ast_u_l,alt_u_l,ggt_u_l,urine_protein\n")
    for i in range(m):
        f.write("%s,2025-%02d-%02d,%d.%d,%d.%d,%d.%d,%d,%d,%d,5.%d,%d,%d,%d,%d,%d,%d,%d,%s\n" % (
            ids[i % len(ids)], i % 12 + 1, i % 28 + 1, 150 + i % 40, i % 10, 45 + i % 40, i % 10,
            19 + i % 10, i % 10, 70 + i % 30, 110 + i % 50, 70 + i % 30, i % 10, 90 + i % 30,
            60 + i % 200, 40 + i % 40, 80 + i % 90, 15 + i % 30, 12 + i % 40, 20 + i % 80,
            ["-", "±", "1+"][i % 3]))
PY
}

rate() { # folder file records -> records/s of one import
    local d=$1 file=$2 n=$3 t0 t1
    t0=$(date +%s.%N)
    "$BIN" import --data-dir="$d/data" --log-level=warn --source=bench "$d/$file" 2>"$d/$file.err" ||
        die "import of $file failed: $(tail -3 "$d/$file.err")"
    t1=$(date +%s.%N)
    grep -q "imported $n " "$d/$file.err" || die "$file: not every record was imported: $(tail -1 "$d/$file.err")"
    python3 -c "print(round($n / ($t1 - $t0)))"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] " (" a[1] "-" a[NR] ")"}'; }

nd=() cs=()
for ((r = 1; r <= RUNS; r++)); do
    say "run $r of $RUNS: seeding a demo town and writing the inputs"
    make_run "$WORK/r$r"
    nd+=("$(rate "$WORK/r$r" obs.ndjson "$NDJSON")")
    cs+=("$(rate "$WORK/r$r" kenshin.csv "$CSV")")
    say "run $r: ndjson ${nd[-1]} records/s, csv ${cs[-1]} rows/s"
    rm -rf "$WORK/r$r"
done
mkdir -p bench/out
out=bench/out/import-$(date -u +%Y%m%dT%H%M%SZ).md
{
    echo "| input | records | median records/s (min-max) | resources/s |"
    echo "| --- | ---: | ---: | ---: |"
    m=$(printf '%s\n' "${nd[@]}" | median)
    echo "| NDJSON Observations | $NDJSON | $m | ${m%% *} |"
    m=$(printf '%s\n' "${cs[@]}" | median)
    echo "| check-up CSV rows (15 Observations each) | $CSV | $m | $((${m%% *} * 15)) |"
} | tee "$out"
