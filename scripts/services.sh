#!/usr/bin/env bash
# Installs and starts the real services the tests use, on 127.0.0.1 only, and stops them.
#   scripts/services.sh install   apt-get install what is missing (Debian 12)
#   scripts/services.sh up        start them; prints `export VAR=...` lines for the tests
#   scripts/services.sh down      stop everything `up` started
# nats-server is started by the tests themselves (clusters, leaf nodes, kills), so only its
# binary is installed here; PostgreSQL/PostGIS runs as one throw-away cluster per test run.
set -euo pipefail

STATE_DIR="${HOTZONE_SERVICES_DIR:-${TMPDIR:-/tmp}/hotzone-services-$(id -u)}"
PACKAGES=(nats-server postgresql postgresql-15-postgis-3 chromium)

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

PG_BIN="${HOTZONE_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR="$STATE_DIR/pg"

# Runs a PostgreSQL program as the cluster's owner: the server refuses to run as root, so
# under root it runs as the `postgres` system user that Debian's package creates.
as_pg_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A throw-away cluster under $STATE_DIR/pg: 127.0.0.1 only, socket in the state dir, password
# authentication; durability is switched off because the data lives for one test run.
postgres_up() {
    if [ ! -x "$PG_BIN/initdb" ]; then
        echo "PostgreSQL 15 not found at $PG_BIN (run: $0 install)" >&2
        return 1
    fi
    [ -d "$PG_DIR" ] && postgres_down
    mkdir -p "$PG_DIR/data" "$PG_DIR/socket"
    local password
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    printf '%s\n' "$password" >"$PG_DIR/password"
    chmod 700 "$PG_DIR/data"
    chmod 600 "$PG_DIR/password"
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$PG_DIR"; fi
    as_pg_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U hotzone --pwfile="$PG_DIR/password" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || {
        cat "$PG_DIR/initdb.log" >&2
        return 1
    }
    local port started=0
    for _ in 1 2 3; do
        port="$(free_port)"
        if as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR/socket -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off" start >/dev/null 2>&1; then
            started=1
            break
        fi
    done
    if [ "$started" != 1 ]; then
        echo "PostgreSQL did not start; its log:" >&2
        cat "$PG_DIR/server.log" >&2 || true
        return 1
    fi
    PGPASSWORD="$password" "$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
        -U hotzone -d postgres -c "CREATE DATABASE hotzone_test" >&2
    PGPASSWORD="$password" "$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
        -U hotzone -d hotzone_test -c "CREATE EXTENSION postgis" >&2
    echo "export HOTZONE_TEST_POSTGRES_DSN=postgresql://hotzone:$password@127.0.0.1:$port/hotzone_test"
}

postgres_down() {
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
}

case "${1:-}" in
    install) install ;;
    up) up ;;
    down) down ;;
    postgres-up) mkdir -p "$STATE_DIR"; postgres_up ;;
    postgres-down) postgres_down ;;
    *) echo "usage: $0 install|up|down|postgres-up|postgres-down" >&2; exit 2 ;;
esac
