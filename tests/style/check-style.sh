#!/usr/bin/env bash
# check-style.sh - fails when a C file is not clang-formatted or calls a banned function
# (unbounded string copies and formatting: strcpy, strcat, strncpy, strncat, sprintf, vsprintf,
# gets; and the non-reentrant gmtime, localtime, strtok).
set -euo pipefail
root=${1:-.}
cd "$root"
mapfile -t files < <(git ls-files -c -o --exclude-standard -- '*.c' '*.h' 2>/dev/null || find src tests fuzz bench -name '*.[ch]')
status=0
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/cityos-style.$$; then
  echo "not clang-formatted (run clang-format -i on these):"
  grep -o '^[^:]*\.[ch]' /tmp/cityos-style.$$ | sort -u
  status=1
fi
rm -f /tmp/cityos-style.$$
if grep -nE '\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|gmtime|localtime|strtok)\s*\(' "${files[@]}"; then
  echo "banned functions used (see docs/decisions.md)"
  status=1
fi
[ $status -eq 0 ] && echo "style: ${#files[@]} files ok"
exit $status
