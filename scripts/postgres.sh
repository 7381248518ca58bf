#!/usr/bin/env bash
# postgres.sh - a throwaway PostgreSQL for the tests (Debian's postgresql package): a cluster made
# by initdb in a folder of its own, listening on loopback only, on a port of our choosing.
#   scripts/postgres.sh start DIR PORT   # initdb DIR/pgdata (if new) and start; prints the URL
#   scripts/postgres.sh stop DIR         # fast shutdown (the folder stays; rm -rf it after)
#   scripts/postgres.sh url DIR          # the server URL (no database name) of a started DIR
# The superuser is "cityos" with trust authentication on 127.0.0.1 only; the cluster is UTF-8
# with the C collation (text sorts byte-wise, as in SQLite). As root, the server runs as the
# Debian "postgres" user (PostgreSQL refuses to run as root).
set -euo pipefail

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && bindir="$d"
done
[ -n "$bindir" ] || { echo "postgres.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR | url DIR" >&2; exit 2; }

case "$cmd" in
start)
  port="${3:?usage: $0 start DIR PORT}"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/pgdata" -U cityos -A trust -E UTF8 --locale=C --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  # fsync and synchronous_commit stay at their (durable) defaults: the tests check durability
  as_pg "$bindir/pg_ctl" -D "$dir/pgdata" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c max_connections=300" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  echo "postgresql://cityos@127.0.0.1:$port"
  ;;
stop)
  [ -f "$dir/pgdata/postmaster.pid" ] || exit 0
  as_pg "$bindir/pg_ctl" -D "$dir/pgdata" -m fast -w -t 60 stop >/dev/null
  ;;
url)
  echo "postgresql://cityos@127.0.0.1:$(cat "$dir/port")"
  ;;
*)
  echo "usage: $0 start DIR PORT | stop DIR | url DIR" >&2
  exit 2
  ;;
esac
