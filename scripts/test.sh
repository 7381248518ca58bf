#!/usr/bin/env bash
# test.sh - README command 2: every test suite (unit, api, fuzz regression, style) under
# AddressSanitizer and UndefinedBehaviorSanitizer, built with clang; the unit and API suites
# again under ThreadSanitizer (the server and store are multi-threaded); a warning-clean gcc release build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

# gcc, exactly as scripts/run.sh builds (release, -O3): warning-free, or README command 1 fails
# (gcc's -Wformat-truncation sees more at -O3 than at -O2)
if [ ! -d build-gcc ]; then
  CC=gcc meson setup build-gcc --buildtype=release
fi
meson configure build-gcc --buildtype=release >/dev/null
meson compile -C build-gcc

# clang with ASan + UBSan + libFuzzer instrumentation: the build every test runs on
if [ ! -d build-test ]; then
  CC=clang meson setup build-test --buildtype=debug -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzzing=true
fi
meson compile -C build-test

# clang with ThreadSanitizer: data races in the server, the store writer and their hand-offs
if [ ! -d build-tsan ]; then
  CC=clang meson setup build-tsan --buildtype=debug -Db_sanitize=thread -Db_lundef=false
fi
meson compile -C build-tsan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# issue 9: a throwaway PostgreSQL (initdb in a temporary folder, loopback only, a random port,
# stopped on exit) for the tests of suite "pg": the store's unit tests and the API tests that
# already pass on PostgreSQL (tests/api/meson.build), run beside the SQLite ones
pgdir="$(mktemp -d /tmp/cityos-pg-XXXXXX)"
trap 'bash scripts/postgres.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
for attempt in 1 2 3 4 5; do
  pgport=$((20000 + RANDOM % 40000))
  if CITYOS_TEST_DATABASE_URL="$(bash scripts/postgres.sh start "$pgdir" "$pgport")"; then
    export CITYOS_TEST_DATABASE_URL
    break
  fi
done
[ -n "${CITYOS_TEST_DATABASE_URL:-}" ] || { echo "test.sh: cannot start PostgreSQL" >&2; exit 1; }
log=build-test/meson-logs/test-summary.txt
rc=0
meson test -C build-test --print-errorlogs --num-processes 2 "$@" 2>&1 | tee "$log" || rc=$?
# ThreadSanitizer run of the suites with threads in them (skipped when a suite was named); the
# one test that must sleep past a 60 s code lifetime already ran above and is skipped here
if [ $# -eq 0 ]; then
  CITYOS_SKIP_SLOW_TESTS=1 meson test -C build-tsan --print-errorlogs --num-processes 2 --suite unit --suite api 2>&1 |
    sed 's/^/tsan: /' | tee -a "$log" || rc=$?
fi
ok=$(awk '/^(tsan: )?Ok:/ {n += $NF} END {print n + 0}' "$log")
failed=$(awk '/^(tsan: )?(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")
echo "tests: ${ok} passed, ${failed} failed"
exit $rc
