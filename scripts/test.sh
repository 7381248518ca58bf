#!/usr/bin/env bash
# test.sh - README command 2: every test suite (unit, api, fuzz regression, style) under
# AddressSanitizer and UndefinedBehaviorSanitizer, built with clang; plus a warning-clean gcc build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

# gcc: the compiler of the release build must stay warning-free too
if [ ! -d build-gcc ]; then
  CC=gcc meson setup build-gcc --buildtype=debugoptimized
fi
meson compile -C build-gcc

# clang with ASan + UBSan + libFuzzer instrumentation: the build every test runs on
if [ ! -d build-test ]; then
  CC=clang meson setup build-test --buildtype=debug -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzzing=true
fi
meson compile -C build-test

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1
log=build-test/meson-logs/test-summary.txt
rc=0
meson test -C build-test --print-errorlogs --num-processes 2 "$@" 2>&1 | tee "$log" || rc=$?
ok=$(awk '/^Ok:/ {print $2}' "$log")
failed=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")
echo "tests: ${ok:-0} passed, ${failed} failed"
exit $rc
