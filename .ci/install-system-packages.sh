#!/usr/bin/env bash
# Installs the Debian packages the test suite needs: a real MQTT broker (with the headers and
# gcc that build our mosquitto plugin, src/telemetry/mosquitto/aquastop_retain.c), the AVR toolchain
# that builds our firmware, Chromium for the dashboard tests, Prometheus (promtool), Alertmanager (amtool), Graphite's
# carbon-cache (with whisper-fetch), Jinja2 (renders our Home Assistant templates as Home Assistant
# does), nats-server (a clustered MQTT broker for the fleet tests), PostgreSQL (monitors that share
# a fleet), udev for port listing, and systemd (systemd-analyze verify checks our service units).
set -euo pipefail
PKGS=(mosquitto mosquitto-clients openssl mosquitto-dev libmosquitto-dev gcc gcc-avr avr-libc arduino-core-avr avrdude simavr socat chromium prometheus prometheus-alertmanager graphite-carbon python3-jinja2 nats-server postgresql udev systemd)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian mosquitto package starts a system broker on :1883; the tests start their own.
$SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || $SUDO service mosquitto stop >/dev/null 2>&1 || true
pkill -x mosquitto 2>/dev/null || true
echo "system packages: installed ${missing[*]}"
