#!/usr/bin/env bash
# The local stack: private PostgreSQL, Redis and nginx processes plus the services, with all state
# under one folder of the repo. Everything started is recorded by PID and stopped by PID.
#
#   stack.sh up      install what is missing, start what is not running, migrate, wait until ready
#   stack.sh down    stop what `up` started (keeps the data)
#   stack.sh clean   down, then remove the state folder
#   stack.sh status  what runs and answers (exit code 3 when anything does not)
#   stack.sh logs [--follow] [QUERY]   where the logs are; or search them all (and follow them)
#   stack.sh failover   promote a streaming replica (the primary is stopped first if it still runs)
#   stack.sh rejoin     make the old primary a replica of the new one (pg_rewind, else a base backup)
#
# A process counts as running only when it is alive, not a zombie, and answers (procs.sh); `up`
# cleans up a dead, zombie or unresponsive one and starts it again.
#
# Settings (environment): STACK (name, default dev), STATE_DIR, PG_PORT, REDIS_PORT, GATEWAY_PORT,
# SERVICE_PORT_BASE, AUTH_INSTANCES, CATALOG_INSTANCES, STOCK_INSTANCES, LEDGER_INSTANCES, BIN_DIR,
# PG_FAST (1: no fsync, for throwaway test stacks), GATEWAY_RATE/GATEWAY_BURST (nginx per-client
# limit, default 200r/s and 400), GATEWAY_AUTH_RATE/GATEWAY_AUTH_BURST (login and register, default
# 10r/s and 20), READY_TIMEOUT, PROBE_GRACE (seconds a live process may take to answer before `up`
# restarts it, 10), LOG_MAX_BYTES and LOG_KEEP (each log rotates at 10 MiB, 3 older files kept),
# REDIS_MAXMEMORY (256mb), PG_REPLICAS (streaming replicas, 1; 0: none) on PG_PORT+1.., PG_SYNC_REPLICA
# (1: the first replica is synchronous), and the services' own variables (README).
# The default ports of each stack are in deploy/local/stacks.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="${STACK:-dev}"
STATE_DIR="${STATE_DIR:-$ROOT/.state/$STACK}"
# The ports (and PG_FAST) of each stack: one table, deploy/local/stacks.sh.
# shellcheck source=deploy/local/stacks.sh
. "$ROOT/deploy/local/stacks.sh"
stack_defaults "$STACK"
AUTH_INSTANCES="${AUTH_INSTANCES:-2}"
CATALOG_INSTANCES="${CATALOG_INSTANCES:-2}"
STOCK_INSTANCES="${STOCK_INSTANCES:-2}"
LEDGER_INSTANCES="${LEDGER_INSTANCES:-1}"
BIN_DIR="${BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
PROBE_GRACE="${PROBE_GRACE:-10}"
LOG_MAX_BYTES="${LOG_MAX_BYTES:-10485760}"
LOG_KEEP="${LOG_KEEP:-3}"
REDIS_MAXMEMORY="${REDIS_MAXMEMORY:-256mb}"
# Streaming replicas of PostgreSQL (deploy/local/replicas.sh): replica N listens on PG_PORT + N.
PG_REPLICAS="${PG_REPLICAS:-1}"
PG_SYNC_REPLICA="${PG_SYNC_REPLICA:-0}"

# PostgreSQL's folder; moved by pg_home() when the postgres user cannot reach the repo (see there).
PG_HOME="$STATE_DIR"
PG_DATA="$PG_HOME/postgres"
PG_RUN="$PG_HOME/run"
PIDS="$STATE_DIR/pids"
LOGS="$STATE_DIR/logs"
KEYS="$STATE_DIR/keys"
SECRETS="$STATE_DIR/secrets.env"
ENV_FILE="$STATE_DIR/stack.env"
NGINX_DIR="$STATE_DIR/nginx"

log() { printf '[stack:%s] %s\n' "$STACK" "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
    done
    command -v "$1" || true
}

# --- packages ---------------------------------------------------------------------------------
ensure_packages() {
    local missing=()
    [ -n "$(pg_bin initdb)" ] || missing+=(postgresql)
    command -v psql >/dev/null || missing+=(postgresql-client)
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v curl >/dev/null || missing+=(curl)
    command -v python3 >/dev/null || missing+=(python3)
    command -v zstd >/dev/null || missing+=(zstd)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]} from the system packages"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

nginx_bin() { command -v nginx || echo /usr/sbin/nginx; }

# --- helpers ----------------------------------------------------------------------------------
# shellcheck source=deploy/local/procs.sh
. "$ROOT/deploy/local/procs.sh"

random_secret() { openssl rand -hex 24; }

# Runs a command as the unprivileged owner of the PostgreSQL data (initdb refuses root).
as_pg_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Secrets are created readable by their owner only (umask 077 before the file exists).
load_secrets() {
    if [ ! -f "$SECRETS" ]; then
        (
            umask 077
            {
                echo "PG_SUPERUSER_PASSWORD=$(random_secret)"
                for svc in auth catalog stock ledger; do echo "PG_${svc^^}_PASSWORD=$(random_secret)"; done
                echo "ADMIN_PASSWORD=${INVENTORY_ADMIN_PASSWORD:-$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-20)}"
            } >"$SECRETS"
        )
    fi
    # A state folder from before Redis had a password gets one.
    grep -q '^REDIS_PASSWORD=' "$SECRETS" || (umask 077; echo "REDIS_PASSWORD=$(random_secret)" >>"$SECRETS")
    # shellcheck disable=SC1090
    . "$SECRETS"
    ADMIN_USERNAME="${INVENTORY_ADMIN_USERNAME:-admin}"
    ADMIN_PASSWORD="${INVENTORY_ADMIN_PASSWORD:-$ADMIN_PASSWORD}"
}

# --- PostgreSQL ------------------------------------------------------------------------------
# As root, PostgreSQL runs as the `postgres` user (initdb refuses root). When that user cannot reach
# the repo (a checkout under /root, say), its folder lives under /var/tmp instead, linked from the
# state folder as `pg`, and `clean` removes it too.
# Points $STATE_DIR/$1 at a folder that user $2 can reach: the state folder itself when it can,
# otherwise one under /var/tmp (linked as $STATE_DIR/$1, removed by `clean`). Prints the folder.
reachable_dir() {
    local name="$1" user="$2"
    if [ "$(id -u)" != 0 ] || { [ ! -L "$STATE_DIR/$name" ] && runuser -u "$user" -- test -x "$STATE_DIR"; }; then
        mkdir -p "$STATE_DIR/$name"
        echo "$STATE_DIR/$name"
        return
    fi
    local outside
    outside="/var/tmp/inventory-$(printf '%s' "$STATE_DIR/$name" | sha256sum | cut -c1-16)"
    mkdir -p "$outside"
    ln -sfn "$outside" "$STATE_DIR/$name"
    echo "$outside"
}

pg_home() {
    [ "$(id -u)" = 0 ] || return 0
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
    if [ -L "$STATE_DIR/pg" ] || ! runuser -u postgres -- test -x "$STATE_DIR"; then
        PG_HOME="$(reachable_dir pg postgres)"
        chown postgres "$PG_HOME"
        PG_DATA="$PG_HOME/postgres"
        PG_RUN="$PG_HOME/run"
    fi
}

# Where backups go (deploy/local/backup.sh) and PostgreSQL archives its WAL: BACKUP_DIR, or the state
# folder's backups/ (reachable by the postgres user). Prints the folder.
backup_root() {
    local dir="${BACKUP_DIR:-}"
    [ -n "$dir" ] || dir="$(reachable_dir backups postgres)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    echo "$dir"
}

# The settings for this workload (short write transactions, each committed durably: fsync and
# synchronous_commit stay on), given on every start so that an existing stack gets them too; the
# bench's private PostgreSQL (deploy/bench) uses the same, and so do replicas (one may be promoted).
# See the README's PostgreSQL settings. Besides memory and checkpoints: pg_stat_statements (where
# the time goes: `make bench` reports it per scenario), and a replica's feedback every second
# rather than every 10 s — with hot_standby_feedback the primary's vacuum waits for the replica's
# reported horizon, so a 10 s interval kept 10 s of dead outbox rows (6,600 at 600 sales/s) in the
# relay's index scan (4 ms a claim). lz4 for the full-page images in the WAL: about a third less WAL
# to write, archive and replicate after each checkpoint, at no measured cost in sales.
pg_workload_settings() {
    echo "shared_buffers = $(pg_shared_buffers)MB"
    cat <<'CONF'
wal_buffers = 16MB
max_wal_size = 4GB
checkpoint_timeout = 15min
random_page_cost = 1.1
jit = off
shared_preload_libraries = pg_stat_statements
wal_receiver_status_interval = 1s
CONF
    # lz4 for WAL records arrived with PostgreSQL 15; older servers keep theirs uncompressed.
    [ "$(pg_major)" -ge 15 ] && echo "wal_compression = lz4"
    return 0
}

# PostgreSQL's page cache in MB: an eighth of the machine's memory (a stack runs a primary and a
# replica on one machine, and the kernel caches the same files again), from 256 MB to 2 GB. At
# 256 MB on a 24 GB machine the bench's 2.2 GB database was read from the kernel's cache on most
# random lookups (the ledger's check of recent changes read 580,000 pages in one run).
pg_shared_buffers() {
    local mb
    mb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
    mb=$(( ${mb:-0} / 8 / 1024 ))
    [ "$mb" -lt 256 ] && mb=256
    [ "$mb" -gt 2048 ] && mb=2048
    echo "$mb"
}

# The major version of the PostgreSQL server binaries in use (15 for 15.18).
pg_major() {
    "$(pg_bin postgres)" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/'
}

# How a finished WAL segment (%p, named %f) goes into the archive `$PG_HOME/wal-archive`, for sh:
# compressed with zstd -1 (a 16 MB segment of sales in 0.08 s of CPU and 4.6 MB, against 0.30 s and
# 5.9 MB with gzip -1, which took 5 % of the machine under sales), written aside, synced, then
# renamed. A segment already there (PostgreSQL retries one whose success it did not record) is
# compared instead of overwritten. Segments archived gzipped by earlier releases count as there.
wal_archive_command() {
    local f="\"$PG_HOME/wal-archive/%f\""
    printf '%s' "f=$f; if [ -f \"\$f.zst\" ]; then zstd -dcq \"\$f.zst\" | cmp -s - %p;" \
        " elif [ -f \"\$f.gz\" ]; then gzip -dc \"\$f.gz\" | cmp -s - %p;" \
        " else zstd -q -1 -c %p >\"\$f.zst.part\" && sync \"\$f.zst.part\" && mv \"\$f.zst.part\" \"\$f.zst\"; fi"
}

# How file %f of archive folder $1 comes back to %p, for sh (restores, pg_rewind): zstd, or gzip for
# files an earlier release archived; a file the archive does not hold fails (the end of the archive).
wal_restore_command() {
    local f="\"$1/%f\""
    printf '%s' "f=$f; if [ -f \"\$f.zst\" ]; then zstd -dcq \"\$f.zst\" >\"%p\";" \
        " elif [ -f \"\$f.gz\" ]; then gzip -dc \"\$f.gz\" >\"%p\"; else exit 1; fi"
}

# Sets data folder $1's archive_command to the current one (a stack made by an earlier release
# switches on its next start; a replica archives only once promoted, with its own folder's).
write_archive_command() {
    as_pg_owner sed -i '/^archive_command = /d' "$1/postgresql.conf"
    echo "archive_command = '$(wal_archive_command)'" | as_pg_owner tee -a "$1/postgresql.conf" >/dev/null
}

start_postgres() {
    pg_home
    if is_fenced 0; then
        log "postgres (node 0) is fenced: another node was promoted in its place (make rejoin makes it a replica)"
        return 0
    fi
    mkdir -p "$PG_RUN"
    [ "$(id -u)" = 0 ] && chown postgres "$PG_RUN"
    ln -sfn "$PG_RUN/postgres.log" "$LOGS/postgres.log"
    # Where archive_command (below) puts the WAL: BACKUP_DIR may change between starts.
    local archive; archive="$(backup_root)/wal"
    mkdir -p "$archive"
    [ "$(id -u)" = 0 ] && chown postgres "$archive"
    ln -sfn "$archive" "$PG_HOME/wal-archive"
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        log "initialising PostgreSQL in $PG_DATA"
        mkdir -p "$PG_DATA"
        [ "$(id -u)" = 0 ] && chown postgres "$PG_DATA"
        local pwfile="$PG_RUN/.pgpw"
        (umask 077; printf '%s\n' "$PG_SUPERUSER_PASSWORD" >"$pwfile")
        [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
        as_pg_owner "$(pg_bin initdb)" -D "$PG_DATA" -U inventory --pwfile="$pwfile" \
            --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 \
            || die "initdb failed (see $LOGS/initdb.log)"
        rm -f "$pwfile"
        {
            echo "listen_addresses = '127.0.0.1'"
            echo "unix_socket_directories = '$PG_RUN'"
            echo "max_connections = 400"
            echo "log_min_duration_statement = 1000"
            # pg_rewind (make rejoin) needs the hint bits WAL-logged.
            echo "wal_log_hints = on"
            echo "hot_standby_feedback = on"
            # full_page_writes stays on even then: pg_rewind (make rejoin) needs it.
            if [ "$PG_FAST" = 1 ]; then echo "fsync = off"; echo "synchronous_commit = off"; fi
            # WAL archiving for point-in-time restores (deploy/local/backup.sh): each finished segment,
            # and one at least every minute while there are writes, goes compressed into the archive
            # that `wal-archive` points at (archive_command: write_archive_command, on every start).
            echo "archive_mode = on"
            echo "archive_timeout = 60"
        } | as_pg_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null
    fi
    write_archive_command "$PG_DATA"
    # postmaster.pid is PostgreSQL's own record (removed when it stops cleanly).
    if [ -f "$PG_DATA/postmaster.pid" ]; then head -n1 "$PG_DATA/postmaster.pid" >"$PIDS/postgres.pid"; else rm -f "$PIDS/postgres.pid"; fi
    if needs_start postgres "$PIDS/postgres.pid"; then
        log "PostgreSQL already running (pid $(pid_of "$PIDS/postgres.pid"))"
        return
    fi
    # A dead or zombie postmaster leaves lock files naming its PID, which `kill -0` still finds.
    rm -f "$PG_DATA/postmaster.pid" "$PG_RUN/.s.PGSQL.$PG_PORT.lock" "$PG_RUN/.s.PGSQL.$PG_PORT"
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # The logging collector rotates its files by size; the log keeper deletes all but the newest.
    local options="-p $PG_PORT -c logging_collector=on -c log_directory='$PG_RUN/log'"
    options+=" -c log_filename='postgresql-%Y%m%d-%H%M%S.log' -c log_rotation_age=0"
    options+=" -c log_rotation_size=$((LOG_MAX_BYTES / 1024))kB"
    options+=" $(pg_workload_settings | sed -E 's/^([a-z_]+) = (.*)$/-c \1=\2/' | paste -sd' ')"
    ln -sfn "$PG_RUN/log" "$LOGS/postgresql"
    local attempt
    # Backends of a killed postmaster hold its shared memory until they notice and exit.
    for attempt in 1 2 3 4 5; do
        as_pg_owner "$(pg_bin pg_ctl)" -D "$PG_DATA" -l "$PG_RUN/postgres.log" -o "$options" -w -t 60 start >/dev/null && break
        [ "$attempt" = 5 ] && die "PostgreSQL did not start (see $LOGS/postgres.log)"
        sleep 2
    done
    pid_of "$PG_DATA/postmaster.pid" >"$PIDS/postgres.pid"
}

# The superuser on whichever node is the primary (libpq tries every node, keeps the read-write one).
psql_super() {
    PGPASSWORD="$PG_SUPERUSER_PASSWORD" PGHOST="$(node_host_list)" PGPORT="$(node_ports)" PGTARGETSESSIONATTRS=read-write \
        psql -X -q -v ON_ERROR_STOP=1 -U inventory "$@"
}

# Every node is listed: the primary URLs keep the read-write node (so a promotion is followed without
# a restart), the read URL a read-only one (a replica).
SUPER_URL() { echo "postgres://inventory:$PG_SUPERUSER_PASSWORD@$(node_hosts)/$1?target_session_attrs=read-write"; }
ROLE_URL() { local pw="PG_${1^^}_PASSWORD"; echo "postgres://inventory_$1:${!pw}@$(node_hosts)/inventory?target_session_attrs=read-write"; }
ROLE_READ_URL() { local pw="PG_${1^^}_PASSWORD"; echo "postgres://inventory_$1:${!pw}@$(node_hosts)/inventory?target_session_attrs=read-only"; }

migrate() {
    local db
    for db in inventory inventory_template; do
        if [ "$(psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
            psql_super -d postgres -c "CREATE DATABASE $db"
        fi
        [ "$db" = inventory_template ] && psql_super -d postgres -c "ALTER DATABASE inventory_template WITH ALLOW_CONNECTIONS true" >/dev/null
        log "migrating $db"
        DATABASE_URL="$(SUPER_URL "$db")" "$BIN_DIR/inventory-migrate" >>"$LOGS/migrate.log" 2>&1 \
            || die "migration of $db failed (see $LOGS/migrate.log)"
    done
    # Tests clone per-test databases from the template; mark it so.
    psql_super -d postgres -c "ALTER DATABASE inventory_template WITH IS_TEMPLATE true ALLOW_CONNECTIONS false" >/dev/null
    local svc pw
    for svc in auth catalog stock ledger; do
        pw="PG_${svc^^}_PASSWORD"
        psql_super -d postgres -c "ALTER ROLE inventory_$svc WITH LOGIN PASSWORD '${!pw}'" >/dev/null
    done
}

# --- Redis ------------------------------------------------------------------------------------
# Password-protected, its settings in a file readable by the owner only (not on the command line).
# maxmemory with volatile-lru evicts only keys that have a TTL (the cache), never the streams.
start_redis() {
    if needs_start redis "$PIDS/redis.pid"; then
        if [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" != PONG ]; then
            log "Redis already running (pid $(pid_of "$PIDS/redis.pid"))"
            return
        fi
        log "Redis runs without a password (started by an older stack.sh): restarting it"
        stop_pid redis "$(pid_of "$PIDS/redis.pid")"
    fi
    mkdir -p "$STATE_DIR/redis"
    (
        umask 077
        cat >"$STATE_DIR/redis/redis.conf" <<CONF
bind 127.0.0.1
port $REDIS_PORT
dir $STATE_DIR/redis
appendonly yes
appendfsync everysec
save ""
daemonize no
logfile ""
requirepass $REDIS_PASSWORD
maxmemory $REDIS_MAXMEMORY
maxmemory-policy volatile-lru
CONF
    )
    log "starting Redis on 127.0.0.1:$REDIS_PORT (AOF everysec, maxmemory $REDIS_MAXMEMORY, volatile-lru)"
    start_logged redis "$PIDS/redis.pid" redis-server "$STATE_DIR/redis/redis.conf"
    local i
    for i in $(seq 1 100); do
        answers redis && return
        sleep 0.1
    done
    die "Redis did not start (see $LOGS/redis.log)"
}

# --- keys -------------------------------------------------------------------------------------
ensure_keys() {
    (umask 077; mkdir -p "$KEYS")
    if [ ! -f "$KEYS/jwt-private.pem" ]; then
        log "generating the Ed25519 token-signing key pair"
        (
            umask 077
            openssl genpkey -algorithm ed25519 -out "$KEYS/jwt-private.pem"
            openssl pkey -in "$KEYS/jwt-private.pem" -pubout -out "$KEYS/jwt-public.pem"
        )
    fi
}

# --- services ---------------------------------------------------------------------------------
# Port of instance $2 (1-based) of service $1.
service_port() {
    local offset
    case "$1" in auth) offset=0 ;; catalog) offset=20 ;; stock) offset=40 ;; ledger) offset=60 ;; esac
    echo $((SERVICE_PORT_BASE + offset + $2))
}

instances_of() {
    case "$1" in auth) echo "$AUTH_INSTANCES" ;; catalog) echo "$CATALOG_INSTANCES" ;; stock) echo "$STOCK_INSTANCES" ;; ledger) echo "$LEDGER_INSTANCES" ;; esac
}

REDIS_URL() { echo "redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT"; }

# What the stack's own stack.env holds (a caller that sourced it, like the tests, passes it on): no
# service gets the superuser URL or another role's password; only auth the admin password and the
# signing key.
SCRUBBED_VARS="INVENTORY_PG_SUPER_URL INVENTORY_PG_AUTH_PASSWORD INVENTORY_PG_CATALOG_PASSWORD
    INVENTORY_PG_STOCK_PASSWORD INVENTORY_PG_LEDGER_PASSWORD INVENTORY_ADMIN_PASSWORD INVENTORY_JWT_PRIVATE_KEY_FILE"

start_service() {
    local svc="$1" n="$2" port name
    port="$(service_port "$svc" "$n")"
    name="$svc-$n"
    if needs_start "$name" "$PIDS/$name.pid"; then return; fi
    [ -x "$BIN_DIR/inventory-$svc" ] || die "$BIN_DIR/inventory-$svc is missing: build first (make build)"
    (
        # shellcheck disable=SC2086
        unset $SCRUBBED_VARS
        export INVENTORY_PORT="$port" INVENTORY_HOST=127.0.0.1
        export DATABASE_URL; DATABASE_URL="$(ROLE_URL "$svc")"
        if [ "$PG_REPLICAS" -gt 0 ] && [ "$svc" != ledger ]; then export INVENTORY_PG_READ_URL; INVENTORY_PG_READ_URL="$(ROLE_READ_URL "$svc")"; fi
        export REDIS_URL; REDIS_URL="$(REDIS_URL)"
        export INVENTORY_JWT_PUBLIC_KEY_FILES="$KEYS/jwt-public.pem"
        if [ "$svc" = auth ]; then
            export INVENTORY_JWT_PRIVATE_KEY_FILE="$KEYS/jwt-private.pem"
            export INVENTORY_ADMIN_USERNAME="$ADMIN_USERNAME" INVENTORY_ADMIN_PASSWORD="$ADMIN_PASSWORD"
        fi
        export INVENTORY_INSTANCE="$name"
        export RUST_LOG="${RUST_LOG:-info}"
        start_logged "$name" "$PIDS/$name.pid" "$BIN_DIR/inventory-$svc"
    )
    log "started $name on 127.0.0.1:$port (pid $(pid_of "$PIDS/$name.pid"))"
}

wait_ready() {
    local url="$1" name="$2" deadline=$((SECONDS + READY_TIMEOUT))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        [ $SECONDS -lt "$deadline" ] || die "$name is not ready at $url after ${READY_TIMEOUT}s (see $LOGS/$name.log)"
        sleep 0.2
    done
}

# --- gateway ----------------------------------------------------------------------------------
instance_list() {
    local svc="$1" n list=""
    for n in $(seq 1 "$(instances_of "$svc")"); do list="$list${list:+,}127.0.0.1:$(service_port "$svc" "$n")"; done
    echo "$list"
}

# Renders the gateway's config; returns 1 when it is the same as the one in place.
render_nginx() {
    mkdir -p "$NGINX_DIR/tmp" "$NGINX_DIR/conf"
    [ "$(id -u)" = 0 ] && chown -R nobody "$NGINX_DIR/tmp"
    local conf="$NGINX_DIR/conf/nginx.conf.new"
    python3 "$ROOT/deploy/nginx/render.py" --out "$conf" --listen "127.0.0.1:$GATEWAY_PORT" \
        --state "$NGINX_DIR" --logs "$LOGS" --docs "$NGINX_DIR/html" --rate "${GATEWAY_RATE:-200r/s}" --burst "${GATEWAY_BURST:-400}" \
        --auth-rate "${GATEWAY_AUTH_RATE:-10r/s}" --auth-burst "${GATEWAY_AUTH_BURST:-20}" \
        --upstream "auth=$(instance_list auth)" --upstream "catalog=$(instance_list catalog)" \
        --upstream "stock=$(instance_list stock)"
    "$(nginx_bin)" -t -q -p "$NGINX_DIR" -c "$conf" 2>>"$LOGS/nginx-error.log" || die "the gateway config is invalid (see $LOGS/nginx-error.log)"
    if cmp -s "$conf" "$NGINX_DIR/conf/nginx.conf"; then rm -f "$conf"; return 1; fi
    mv "$conf" "$NGINX_DIR/conf/nginx.conf"
}

# The gateway's /openapi.json merges the documents the services serve; /docs renders it.
publish_docs() {
    local html="$NGINX_DIR/html" sources=() svc url
    mkdir -p "$html"
    cp -R "$ROOT/deploy/nginx/docs/." "$html/"
    for svc in auth catalog stock; do
        url="http://127.0.0.1:$(service_port "$svc" 1)/openapi.json"
        if curl -fs -o /dev/null "$url"; then sources+=("$url"); else log "warning: $svc serves no OpenAPI document"; fi
    done
    python3 "$ROOT/deploy/nginx/merge_openapi.py" --out "$html/openapi.json" "${sources[@]}" || die "cannot merge the OpenAPI documents"
}

start_gateway() {
    # nginx's workers run as `nobody` when started as root: their files must be reachable by it.
    NGINX_DIR="$(reachable_dir nginx nobody)"
    publish_docs
    local changed=1
    render_nginx || changed=0
    if needs_start nginx "$PIDS/nginx.pid"; then
        local pid; pid="$(pid_of "$PIDS/nginx.pid")"
        # A reload closes every client's idle keep-alive connection: only when the config changed.
        if [ "$changed" = 1 ]; then kill -HUP "$pid"; log "gateway reloaded (pid $pid)"; else log "gateway already running (pid $pid)"; fi
        return
    fi
    free_port "$GATEWAY_PORT" nginx
    "$(nginx_bin)" -p "$NGINX_DIR" -c "$NGINX_DIR/conf/nginx.conf" -g "pid $PIDS/nginx.pid;" 2>>"$LOGS/nginx-error.log"
    log "gateway on http://127.0.0.1:$GATEWAY_PORT (pid $(pid_of "$PIDS/nginx.pid"))"
}

# nginx and PostgreSQL write their own log files: the log keeper rotates nginx's (then SIGUSR1 makes
# it reopen them) and deletes all but the newest of PostgreSQL's.
start_logkeeper() {
    if needs_start logkeeper "$PIDS/logkeeper.pid"; then return; fi
    (
        exec python3 "$ROOT/deploy/local/logs.py" watch --max-bytes "$LOG_MAX_BYTES" --keep "$LOG_KEEP" \
            --reopen "$PIDS/nginx.pid" "$LOGS/gateway-access.log" --reopen "$PIDS/nginx.pid" "$LOGS/gateway-error.log" \
            --prune "$PG_RUN/log" </dev/null >>"$LOGS/logkeeper.log" 2>&1
    ) &
    echo $! >"$PIDS/logkeeper.pid"
    log "started the log keeper (pid $!)"
}

write_env_file() {
    (umask 077; : >>"$ENV_FILE")
    chmod 600 "$ENV_FILE"
    {
        echo "GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT"
        echo "REDIS_URL=$(REDIS_URL)"
        echo "INVENTORY_LOG_MAX_BYTES=$LOG_MAX_BYTES"
        echo "INVENTORY_LOG_KEEP=$LOG_KEEP"
        echo "INVENTORY_REDIS_MAXMEMORY=$REDIS_MAXMEMORY"
        echo "INVENTORY_PG_SUPER_URL=$(SUPER_URL postgres)"
        echo "INVENTORY_PG_HOST=127.0.0.1"
        echo "INVENTORY_PG_PORT=$PG_PORT"
        echo "INVENTORY_PG_REPLICAS=$PG_REPLICAS"
        echo "INVENTORY_PG_SYNC_REPLICA=$PG_SYNC_REPLICA"
        for svc in auth catalog stock ledger; do
            local pw="PG_${svc^^}_PASSWORD"
            echo "INVENTORY_PG_${svc^^}_PASSWORD=${!pw}"
        done
        echo "INVENTORY_JWT_PUBLIC_KEY_FILES=$KEYS/jwt-public.pem"
        echo "INVENTORY_JWT_PRIVATE_KEY_FILE=$KEYS/jwt-private.pem"
        echo "INVENTORY_ADMIN_USERNAME=$ADMIN_USERNAME"
        echo "INVENTORY_ADMIN_PASSWORD=$ADMIN_PASSWORD"
        echo "INVENTORY_STATE_DIR=$STATE_DIR"
        echo "INVENTORY_BIN_DIR=$BIN_DIR"
        [ "$PROMETHEUS" = 1 ] && echo "PROMETHEUS_URL=http://127.0.0.1:$(prometheus_port)"
        for svc in auth catalog stock ledger; do
            local ports="" n
            for n in $(seq 1 "$(instances_of "$svc")"); do ports="$ports${ports:+,}$(service_port "$svc" "$n")"; done
            echo "INVENTORY_${svc^^}_PORTS=$ports"
        done
    } >"$ENV_FILE"
}

# --- monitoring (Prometheus and the Redis and PostgreSQL exporters) ---------------------------
# shellcheck source=deploy/local/monitoring.sh
. "$ROOT/deploy/local/monitoring.sh"

# --- replicas, failover, rejoin ---------------------------------------------------------------
# shellcheck source=deploy/local/replicas.sh
. "$ROOT/deploy/local/replicas.sh"

# --- commands ---------------------------------------------------------------------------------
cmd_up() {
    ensure_packages
    mkdir -p "$STATE_DIR" "$PIDS" "$LOGS"
    load_secrets
    ensure_keys
    start_postgres
    start_replicas
    start_redis
    migrate
    local svc n
    for svc in auth catalog stock ledger; do
        for n in $(seq 1 "$(instances_of "$svc")"); do start_service "$svc" "$n"; done
    done
    for svc in auth catalog stock ledger; do
        for n in $(seq 1 "$(instances_of "$svc")"); do
            wait_ready "http://127.0.0.1:$(service_port "$svc" "$n")/readyz" "$svc-$n"
        done
    done
    start_gateway
    wait_ready "http://127.0.0.1:$GATEWAY_PORT/auth/jwks.json" gateway
    start_monitoring
    wait_monitoring_ready
    start_logkeeper
    write_env_file
    cat >&2 <<MSG

  Inventory is up: http://127.0.0.1:$GATEWAY_PORT   (API docs: http://127.0.0.1:$GATEWAY_PORT/docs)
  Log in:  curl -s -X POST http://127.0.0.1:$GATEWAY_PORT/auth/login -H 'Content-Type: application/json' \\
             -d '{"username":"$ADMIN_USERNAME","password":"$ADMIN_PASSWORD"}'
  Logs:    $LOGS   (search: make logs Q=<request id>)   Stop: make down
  Metrics: $([ "$PROMETHEUS" = 1 ] && echo "Prometheus on http://127.0.0.1:$(prometheus_port) (alerts: /alerts)" || echo "PROMETHEUS=0: not started")

MSG
}

cmd_down() {
    [ -d "$PIDS" ] || { log "nothing to stop"; return 0; }
    local f name
    [ -f "$PIDS/nginx.pid" ] && stop_pid nginx "$(pid_of "$PIDS/nginx.pid")"
    for f in "$PIDS"/*.pid; do
        [ -e "$f" ] || continue
        name="$(basename "$f" .pid)"
        case "$name" in nginx|redis|postgres|replica-*) continue ;; esac
        stop_pid "$name" "$(pid_of "$f")" &
    done
    wait
    [ -f "$PIDS/redis.pid" ] && stop_pid redis "$(pid_of "$PIDS/redis.pid")"
    # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to leave).
    [ -f "$PIDS/postgres.pid" ] && stop_pid postgres "$(pid_of "$PIDS/postgres.pid")" INT
    for f in "$PIDS"/replica-*.pid; do
        [ -e "$f" ] && stop_pid "$(basename "$f" .pid)" "$(pid_of "$f")" INT
    done
    rm -f "$PIDS"/*.pid
}

cmd_clean() {
    cmd_down
    local link
    for link in "$STATE_DIR/pg" "$STATE_DIR/nginx" "$STATE_DIR/backups"; do
        if [ -L "$link" ]; then rm -rf "$(readlink -f "$link")"; fi
    done
    rm -rf "$STATE_DIR"
    log "removed $STATE_DIR"
}

# deploy/local/backup.sh sources this file for its functions.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    clean) cmd_clean ;;
    status) cmd_status ;;
    logs) shift; cmd_logs "$@" ;;
    failover) cmd_failover ;;
    rejoin) cmd_rejoin ;;
    *) echo "usage: $0 up|down|clean|status|logs|failover|rejoin" >&2; exit 2 ;;
esac
