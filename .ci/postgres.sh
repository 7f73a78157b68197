#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: its own data folder, loopback only, a free port.
#
#   eval "$(.ci/postgres.sh start)"     # prints `export REPORT_TEST_POSTGRES_URL=...`
#   .venv/bin/pytest tests/tasks/store  # the PostgreSQL tests run (they skip without the URL)
#   .ci/postgres.sh stop                # stops the server and deletes its folder
#
# The folder is $REPORT_POSTGRES_DIR (default /tmp/tthc-report-postgres); `start` refuses a folder
# whose server is still running. The superuser `tthc` logs in without a password from loopback
# only (trust): never use this for anything but tests. PostgreSQL refuses to run as root, so
# as root the server runs as the `postgres` user (or `nobody`). The binaries are found on PATH,
# in /usr/lib/postgresql/*/bin, or (as root, on a machine without them) installed with apt-get.
set -euo pipefail

folder="${REPORT_POSTGRES_DIR:-/tmp/tthc-report-postgres}"
data="$folder/data"
log="$folder/server.log"

find_bin() {
    # The folder of the real programs (a pg_ctl on PATH may be a lone link to one of them).
    local candidate
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$candidate/pg_ctl" ]; then
            echo "$candidate"
            return
        fi
    done
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return
    fi
    return 1
}

as_owner() {
    # PostgreSQL will not run as root: run its programs as the owner of the folder.
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$owner" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local bin
    if ! bin="$(find_bin)"; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "postgres.sh: no PostgreSQL here; installing it with apt-get" >&2
            timeout 600 apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq postgresql >&2
            bin="$(find_bin)"
        else
            echo "postgres.sh: no PostgreSQL binaries (pg_ctl) found" >&2
            exit 1
        fi
    fi
    if [ -f "$data/postmaster.pid" ] && as_owner_of_folder "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        echo "postgres.sh: a server is already running in $data (stop it first)" >&2
        exit 1
    fi
    rm -rf "$folder"
    mkdir -p "$folder"
    owner="$(id -un)"
    if [ "$(id -u)" = 0 ]; then
        owner="$(getent passwd postgres >/dev/null && echo postgres || echo nobody)"
        chown "$owner" "$folder"
    fi
    local port
    port="$(free_port)"
    as_owner "$bin/initdb" -D "$data" -U tthc --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$folder/initdb.log" 2>&1 || { cat "$folder/initdb.log" >&2; exit 1; }
    # Loopback only, its socket in its own folder; durability is not needed for tests.
    as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$folder -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        >/dev/null || { cat "$log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U tthc tthc
    echo "$bin" >"$folder/bin"
    echo "$owner" >"$folder/owner"
    local url="postgresql+psycopg://tthc@127.0.0.1:$port/tthc"
    echo "$url" >"$folder/url"
    echo "export REPORT_TEST_POSTGRES_URL=$url"
}

as_owner_of_folder() {
    owner="$(cat "$folder/owner" 2>/dev/null || id -un)"
    as_owner "$@"
}

stop() {
    if [ ! -f "$folder/bin" ]; then
        rm -rf "$folder"
        return
    fi
    local bin
    bin="$(cat "$folder/bin")"
    if [ -f "$data/postmaster.pid" ]; then
        as_owner_of_folder "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$folder"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop   (folder: \$REPORT_POSTGRES_DIR, default /tmp/tthc-report-postgres)" >&2
        exit 2
        ;;
esac
