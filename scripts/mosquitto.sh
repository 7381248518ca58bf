#!/usr/bin/env bash
# mosquitto.sh - starts or stops the MQTT broker (Debian's Mosquitto 2.0) cityos uses for home
# devices: loopback only, no anonymous clients, users and ACLs managed by cityos through the
# dynamic-security plugin, persistence on (see docs/internals/devices.md for what it keeps).
#
#   scripts/mosquitto.sh start DIR PORT   # writes DIR/mosquitto.conf, starts the broker (daemon)
#   scripts/mosquitto.sh stop DIR         # stops the broker started on DIR (it saves its database)
#
# DIR keeps everything: mosquitto.conf, dynamic-security.json (clients, roles, password hashes),
# admin.secret (0600: the password of "cityos-admin", the account cityos manages the broker with),
# mosquitto.db (sessions and queued messages), mosquitto.pid and mosquitto.log.
# MOSQUITTO_AUTOSAVE_CHANGES (default 1): save the database after that many changes.
set -euo pipefail

MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
MOSQUITTO_CTRL=${MOSQUITTO_CTRL:-/usr/bin/mosquitto_ctrl}
DYNSEC_PLUGIN=${DYNSEC_PLUGIN:-/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so}
ADMIN_USER=cityos-admin

usage() {
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
}

broker_pid() { # prints the pid of the broker running on $1, or nothing
  local pidfile="$1/mosquitto.pid" pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  fi
}

start() {
  local dir=$1 port=$2
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || usage
  mkdir -p "$dir"
  chmod 700 "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -n "$(broker_pid "$dir")" ]; then
    echo "mosquitto: already running on $dir (pid $(broker_pid "$dir"))" >&2
    return 0
  fi
  # the admin account: made once, its password kept beside the plugin's file
  if [ ! -s "$dir/dynamic-security.json" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$dir/admin.secret")
    rm -f "$dir/dynamic-security.json"
    (umask 077 && "$MOSQUITTO_CTRL" dynsec init "$dir/dynamic-security.json" "$ADMIN_USER" \
      "$(cat "$dir/admin.secret")" >/dev/null)
  fi
  chmod 600 "$dir/admin.secret" "$dir/dynamic-security.json"
  cat > "$dir/mosquitto.conf" <<CONF
# written by scripts/mosquitto.sh - do not edit (rewritten at every start)
per_listener_settings false
# stay the user who runs this script (as root, Mosquitto would otherwise switch to "mosquitto",
# which cannot read DIR)
user $(id -un)
listener $port 127.0.0.1
allow_anonymous false
plugin $DYNSEC_PLUGIN
plugin_opt_config_file $dir/dynamic-security.json
persistence true
persistence_location $dir/
persistence_file mosquitto.db
autosave_on_changes true
autosave_interval ${MOSQUITTO_AUTOSAVE_CHANGES:-1}
persistent_client_expiration 30d
max_queued_messages 100000
max_inflight_messages 100
pid_file $dir/mosquitto.pid
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
CONF
  chmod 600 "$dir/mosquitto.conf"
  rm -f "$dir/mosquitto.pid"
  "$MOSQUITTO" -c "$dir/mosquitto.conf" -d
  # wait until it listens
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "mosquitto: listening on 127.0.0.1:$port (data in $dir)" >&2
      return 0
    fi
    sleep 0.1
  done
  echo "mosquitto: did not start; see $dir/mosquitto.log" >&2
  tail -n 20 "$dir/mosquitto.log" >&2 || true
  return 1
}

stop() {
  local dir=$1 pid
  pid=$(broker_pid "$dir")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "mosquitto: pid $pid did not stop in 10 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
