#!/usr/bin/env bash
# run.sh - README command 1: install what is missing, build, seed a demo data folder and serve
# cityos on http://localhost:8080 (Ctrl-C stops it gracefully).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
if [ ! -d build ]; then
  meson setup build --buildtype=release
fi
meson compile -C build

data=${CITYOS_DATA_DIR:-demo-data}
demo_out=$(build/cityos demo --data-dir="$data" --journey=1)
printf '%s\n' "$demo_out"
# the demo prints its sign-ins when it seeds; on later runs show the copy it kept (mode 0600)
if ! grep -q '^Demo sign-ins' <<<"$demo_out" && [ -s "$data/demo-sign-ins.txt" ]; then
  cat "$data/demo-sign-ins.txt"
fi
# an operator token for the admin API of this demo, made once and kept beside the data
if [ ! -s "$data/operator-token" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$data/operator-token")
fi
echo "cityos: operator token for admin writes is in $data/operator-token" >&2
# the MQTT broker home devices publish to (scripts/mosquitto.sh: loopback only, accounts and
# ACLs managed by cityos); CITYOS_MQTT_PORT=0 runs without it (no device credentials, no ingest)
mqtt_port=${CITYOS_MQTT_PORT:-1883}
mqtt_args=()
if [ "$mqtt_port" != 0 ]; then
  bash scripts/mosquitto.sh start "$data/mqtt" "$mqtt_port"
  trap 'bash scripts/mosquitto.sh stop "$data/mqtt"' EXIT
  mqtt_args=(--mqtt-port="$mqtt_port" --mqtt-admin-password-file="$data/mqtt/admin.secret")
fi
echo "cityos: serving on http://localhost:${CITYOS_PORT:-8080} (Ctrl-C to stop)" >&2
# not exec: the broker is stopped when cityos has exited
CITYOS_ADMIN_TOKEN=$(cat "$data/operator-token") build/cityos serve --data-dir="$data" \
  "${mqtt_args[@]}" "$@"
