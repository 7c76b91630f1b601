#!/usr/bin/env bash
# Backups and point-in-time restores of the local stack's PostgreSQL, with PostgreSQL's own tools.
#
#   backup.sh backup          a base backup (pg_basebackup, checked with pg_verifybackup)
#   backup.sh restore [TIME]  the stack back to the latest state, or to TIME (or AT=TIME): stops the
#                             services, restores the newest fitting base backup, replays the WAL archive,
#                             empties what Redis derived from the undone state, rebuilds the ledger and
#                             starts everything again
#   backup.sh list            the base backups and the earliest time each one restores to
#
# PostgreSQL archives its WAL, compressed (zstd), all the time (stack.sh sets archive_mode) into <backups>/wal;
# base backups go to <backups>/base/<id> with <id>.info beside. <backups> is BACKUP_DIR, or the state
# folder's backups/. Settings: the stack's own (STACK, STATE_DIR, the ports and instance counts: the same as for
# `stack.sh up`), BACKUP_DIR, BACKUP_KEEP (base backups kept, default 7; older ones, and the WAL only
# they needed, are removed after each backup), RESTORE_TIMEOUT (seconds the WAL replay may take, 600).
set -euo pipefail
# shellcheck source=deploy/local/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

BACKUP_KEEP="${BACKUP_KEEP:-7}"
RESTORE_TIMEOUT="${RESTORE_TIMEOUT:-600}"
# Times are compared as text in this one format (UTC, microseconds).
UTC_NOW="to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"

log() { printf '[backup:%s] %s\n' "$STACK" "$*" >&2; }

sql() { psql_super -d postgres -tAc "$1"; }

pg_running() { alive "$(pid_of "$PG_DATA/postmaster.pid")"; }

# The folders and secrets of the stack, and one backup or restore of it at a time.
prepare() {
    [ -f "$SECRETS" ] || die "no $STACK stack in $STATE_DIR: start it first (make up)"
    [[ "$BACKUP_KEEP" =~ ^[1-9][0-9]*$ ]] || die "BACKUP_KEEP must be a whole number ≥ 1, not '$BACKUP_KEEP'"
    [[ "$RESTORE_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "RESTORE_TIMEOUT must be a number of seconds, not '$RESTORE_TIMEOUT'"
    mkdir -p "$PIDS" "$LOGS"
    load_secrets
    pg_home
    BACKUPS="$(backup_root)"
    BASE="$BACKUPS/base"
    WAL="$BACKUPS/wal"
    mkdir -p "$BASE" "$WAL"
    exec 9>"$STATE_DIR/backup.lock"
    flock -n 9 || die "another backup or restore of the $STACK stack is running"
}

# Runs "$@" without the lock's descriptor, so that the processes it starts do not hold the lock.
unlocked() { "$@" 9>&-; }

# The base backups, oldest first (ids are UTC times, so they sort by name).
backup_ids() {
    local f id
    for f in "$BASE"/*.info; do
        [ -e "$f" ] || continue
        id="$(basename "$f" .info)"
        [ -d "$BASE/$id" ] && echo "$id"
    done
}

# Field $2 of backup $1's info file.
info() { sed -n "s/^$2=//p" "$BASE/$1.info"; }

# Closes the current WAL segment and waits until the archive has it: afterwards the archive holds
# every commit made so far. Fails when archiving is off, goes elsewhere, or fails.
archive_current_wal() {
    [ "$(sql "SHOW archive_mode")" = on ] \
        || die "WAL archiving is off: this stack's PostgreSQL was initialised before stack.sh configured it (make clean && make up starts a new one)"
    [ "$(readlink -f "$PG_HOME/wal-archive")" = "$(readlink -f "$WAL")" ] \
        || die "PostgreSQL archives into $(readlink -f "$PG_HOME/wal-archive"), not $WAL: use the BACKUP_DIR it was started with (or restart it with this one)"
    local segment deadline=$((SECONDS + 120))
    segment="$(sql "SELECT pg_walfile_name(pg_switch_wal())")"
    until [ -f "$WAL/$segment.zst" ] || [ -f "$WAL/$segment.gz" ]; do
        [ $SECONDS -lt $deadline ] || die "WAL segment $segment did not reach $WAL in 120 s ($(sql \
            "SELECT failed_count || ' archiving failure(s), last of ' || coalesce(last_failed_wal, '-') FROM pg_stat_archiver"); see $LOGS/postgres.log)"
        sleep 0.2
    done
}

# Keeps the newest BACKUP_KEEP base backups, and the archived WAL from the oldest kept one's start on.
prune() {
    local ids i excess
    mapfile -t ids < <(backup_ids)
    excess=$((${#ids[@]} - BACKUP_KEEP))
    for ((i = 0; i < excess; i++)); do
        log "removing base backup ${ids[i]} (BACKUP_KEEP=$BACKUP_KEEP)"
        rm -rf "${BASE:?}/${ids[i]}" "$BASE/${ids[i]}.info"
    done
    [ "$excess" -gt 0 ] || return 0
    # One extension a pass: segments of earlier releases are gzipped.
    local ext
    for ext in .zst .gz; do
        "$(pg_bin pg_archivecleanup)" -x "$ext" "$WAL" "$(info "${ids[excess]}" start_wal)"
    done
}

cmd_backup() {
    prepare
    pg_running || die "PostgreSQL of the $STACK stack is not running (make up)"
    local id dir started restorable_from start_wal t0=$SECONDS
    id="$(date -u +%Y%m%dT%H%M%SZ)"
    dir="$BASE/$id"
    [ ! -e "$dir" ] || die "$dir exists already"
    log "base backup $id into $dir"
    started="$(sql "SELECT $UTC_NOW")"
    rm -rf "$dir.partial"
    PGPASSWORD="$PG_SUPERUSER_PASSWORD" "$(pg_bin pg_basebackup)" -h 127.0.0.1 -p "$PG_PORT" -U inventory \
        -D "$dir.partial" --format=plain --wal-method=stream --checkpoint=fast \
        --label="inventory $STACK $id" --manifest-checksums=CRC32C \
        || die "pg_basebackup failed (the incomplete copy is in $dir.partial)"
    # Every commit after this time is replayed on top of this backup by a restore.
    restorable_from="$(sql "SELECT $UTC_NOW")"
    "$(pg_bin pg_verifybackup)" --quiet "$dir.partial" \
        || die "pg_verifybackup found $dir.partial damaged (kept there for a look; it is not used)"
    start_wal="$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]*\))$/\1/p' "$dir.partial/backup_label")"
    [ -n "$start_wal" ] || die "no START WAL LOCATION in $dir.partial/backup_label"
    archive_current_wal
    mv "$dir.partial" "$dir"
    {
        echo "id=$id"
        echo "stack=$STACK"
        echo "label=inventory $STACK $id"
        echo "started_at=$started"
        echo "restorable_from=$restorable_from"
        echo "start_wal=$start_wal"
        echo "size=$(du -sh "$dir" | cut -f1)"
        echo "seconds=$((SECONDS - t0))"
        echo "verified=pg_verifybackup"
    } >"$BASE/$id.info"
    prune
    log "backup $id: $(info "$id" size) in $((SECONDS - t0)) s, verified; restores to any time from $restorable_from on"
}

cmd_list() {
    prepare
    local id
    printf '%-18s  %-32s  %s\n' backup 'restores to times from (UTC)' size
    for id in $(backup_ids); do
        printf '%-18s  %-32s  %s\n' "$id" "$(info "$id" restorable_from)" "$(info "$id" size)"
    done
    echo "WAL archive: $WAL ($(find "$WAL" -maxdepth 1 -type f | wc -l) files, $(du -sh "$WAL" | cut -f1))"
}

# Stops every instance of the services, by PID. The gateway stays up and answers 503 meanwhile.
stop_services() {
    local f
    for f in "$PIDS"/{auth,catalog,stock,ledger}-*.pid; do
        [ -e "$f" ] && stop_pid "$(basename "$f" .pid)" "$(pid_of "$f")" &
    done
    wait
    rm -f "$PIDS"/{auth,catalog,stock,ledger}-*.pid
}

# Stops every replica and deletes its data and any fence (the restored node 0 is the primary).
forget_replicas() {
    local n data
    for n in $(seq 1 "$PG_REPLICAS"); do
        data="$(node_data "$n")"
        [ -f "$data/postmaster.pid" ] && stop_pid "$(node_name "$n")" "$(pid_of "$data/postmaster.pid")" INT
        rm -rf "$data" "$(fence_file "$n")" "$PIDS/$(node_name "$n").pid"
    done
    rm -f "$(fence_file 0)"
}

redis_url() {
    local url=""
    [ -f "$ENV_FILE" ] && url="$(sed -n "s/^$1=//p" "$ENV_FILE")"
    echo "${url:-${2:-redis://127.0.0.1:$REDIS_PORT}}"
}

# redis-cli against URL $1 (redis://[user[:password]@]host:port); the password goes through
# REDISCLI_AUTH (redis-cli 7.0 refuses `-u redis://:password@...`, and no password on the command line).
rcli() {
    local rest="${1#redis://}" user="" pass="" host port
    shift
    if [[ "$rest" == *@* ]]; then
        user="${rest%%@*}"
        rest="${rest#*@}"
        [[ "$user" == *:* ]] && { pass="${user#*:}"; user="${user%%:*}"; }
    fi
    rest="${rest%%/*}"
    host="${rest%:*}"
    port="${rest##*:}"
    local args=(-h "$host" -p "$port")
    [ -z "$user" ] || args+=(--user "$user")
    if [ -n "$pass" ]; then REDISCLI_AUTH="$pass" redis-cli "${args[@]}" "$@"; else redis-cli "${args[@]}" "$@"; fi
}

# What Redis holds was derived from the state the restore undid: the cached reads, and the event
# stream with its consumer group (its events may name movements that no longer exist). The outbox
# republishes what the restored database has not published, and the ledger is rebuilt.
forget_derived_redis_state() {
    local cache stream prefix="${INVENTORY_REDIS_KEY_PREFIX:-}" pattern
    cache="$(redis_url REDIS_URL)"
    stream="$(redis_url REDIS_STREAM_URL "$cache")"
    local keys i
    for pattern in 'products:all*' 'product:*' 'stores:all*' 'store:*' 'stock:store:*'; do
        mapfile -t keys < <(rcli "$cache" --scan --pattern "$prefix$pattern")
        for ((i = 0; i < ${#keys[@]}; i += 500)); do
            [ "$(rcli "$cache" UNLINK "${keys[@]:i:500}")" -ge 0 ] 2>/dev/null \
                || die "cannot delete the cached reads from Redis"
        done
    done
    [ "$(rcli "$stream" DEL "${prefix}inventory.stock-events")" -ge 0 ] 2>/dev/null \
        || die "cannot delete the stream ${prefix}inventory.stock-events from Redis"
    log "removed the cached reads and the stream ${prefix}inventory.stock-events (with its group) from Redis"
}

rebuild_ledger() {
    log "rebuilding the ledger from stock_movements (inventory-ledger rebuild)"
    (
        export DATABASE_URL; DATABASE_URL="$(ROLE_URL ledger)"
        export REDIS_URL REDIS_STREAM_URL; REDIS_URL="$(redis_url REDIS_URL)"
        REDIS_STREAM_URL="$(redis_url REDIS_STREAM_URL "$REDIS_URL")"
        export INVENTORY_INSTANCE=ledger-rebuild
        exec "$BIN_DIR/inventory-ledger" rebuild
    ) >>"$LOGS/ledger-rebuild.log" 2>&1 || die "inventory-ledger rebuild failed (see $LOGS/ledger-rebuild.log)"
    log "$(tail -n 1 "$LOGS/ledger-rebuild.log")"
}

# Waits until PostgreSQL has replayed up to its target and promoted itself.
wait_promoted() {
    local deadline=$((SECONDS + RESTORE_TIMEOUT))
    until [ "$(sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; do
        pg_running || die "PostgreSQL stopped during the recovery"
        [ $SECONDS -lt $deadline ] || die "PostgreSQL was still recovering after ${RESTORE_TIMEOUT}s (RESTORE_TIMEOUT)"
        sleep 0.5
    done
}

RESTORE_ASIDE=""
restore_failed() {
    local code=$?
    [ "$code" = 0 ] && return
    local pg_log
    pg_log="$(ls -t "$PG_RUN"/log/*.log "$PG_RUN/postgres.log" 2>/dev/null | head -n1)"
    log "the restore failed; the last lines of PostgreSQL's log ($pg_log):"
    tail -n 12 "$pg_log" >&2 || true
    [ -n "$RESTORE_ASIDE" ] && log "the data from before the restore is untouched in $RESTORE_ASIDE:" \
        "to go back to it, stop PostgreSQL, move $PG_DATA away and $RESTORE_ASIDE to $PG_DATA, then stack.sh up"
    exit "$code"
}

cmd_restore() {
    local at="${1:-${AT:-}}" target="" id="" candidate end_of_wal="" archived_all=0
    if [ -n "$at" ]; then
        target="$(date -u -d "$at" '+%Y-%m-%d %H:%M:%S.%6N+00' 2>/dev/null)" \
            || die "AT='$at' is not a time (for example AT='2026-11-30 14:05:00+00')"
    fi
    prepare
    # The newest base backup from before the target.
    for candidate in $(backup_ids); do
        if [ -z "$target" ] || [[ ! "$(info "$candidate" restorable_from)" > "$target" ]]; then id="$candidate"; fi
    done
    [ -n "$id" ] || die "no base backup restores to ${target:-the latest state} (make backup; backup.sh list shows them)"
    log "restoring to ${target:-the latest state} from base backup $id"
    local t0=$SECONDS
    trap restore_failed EXIT
    stop_services
    # The replicas hold the history being undone: `up` makes each again from the restored primary.
    forget_replicas
    if ! pg_running && [ -f "$PG_DATA/PG_VERSION" ]; then
        log "starting PostgreSQL to archive its last WAL"
        (unlocked start_postgres) || log "warning: PostgreSQL does not start: restoring what the WAL archive holds"
    fi
    if pg_running; then
        # A last commit: every target before it has a commit after it to stop at.
        end_of_wal="$(sql "SELECT $UTC_NOW FROM pg_current_xact_id()")"
        archive_current_wal
        archived_all=1
        stop_pid postgres "$(pid_of "$PG_DATA/postmaster.pid")" INT
        ! pg_running || die "PostgreSQL did not stop"
        if [ -n "$target" ] && [[ ! "$target" < "$end_of_wal" ]]; then
            log "$target is not before the last commit ($end_of_wal): restoring the latest state"
            target=""
        fi
    fi

    if [ -e "$PG_DATA" ]; then
        RESTORE_ASIDE="$PG_DATA.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
        mv "$PG_DATA" "$RESTORE_ASIDE"
    fi
    log "copying base backup $id into $PG_DATA"
    mkdir -p "$PG_DATA"
    cp -a "$BASE/$id/." "$PG_DATA/"
    rm -f "$PG_DATA/backup_manifest"
    {
        echo "restore_command = '$(wal_restore_command "$WAL")'"
        echo "recovery_target_timeline = 'latest'"
        if [ -n "$target" ]; then
            echo "recovery_target_time = '$target'"
            echo "recovery_target_action = 'promote'"
        fi
    } >"$PG_DATA/restore.conf"
    grep -qx "include_if_exists = 'restore.conf'" "$PG_DATA/postgresql.conf" \
        || echo "include_if_exists = 'restore.conf'" >>"$PG_DATA/postgresql.conf"
    touch "$PG_DATA/recovery.signal"
    chmod 700 "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_DATA"
    log "replaying the WAL archive"
    unlocked start_postgres
    wait_promoted
    # Only read when recovering; gone so that nothing recovers from it by mistake later.
    rm -f "$PG_DATA/restore.conf"
    log "PostgreSQL is at ${target:-the latest state} ($((SECONDS - t0)) s so far)"

    unlocked start_redis
    forget_derived_redis_state
    rebuild_ledger
    unlocked cmd_up
    trap - EXIT
    if [ -n "$RESTORE_ASIDE" ]; then
        if [ "$archived_all" = 1 ]; then
            rm -rf "$RESTORE_ASIDE"
        else
            log "kept the data from before the restore in $RESTORE_ASIDE (it may hold WAL that never reached the archive): delete it when done"
        fi
    fi
    log "restored to ${target:-the latest state} from base backup $id in $((SECONDS - t0)) s"
}

case "${1:-}" in
    backup) cmd_backup ;;
    restore) cmd_restore "${2:-}" ;;
    list) cmd_list ;;
    *) echo "usage: $0 backup | restore [TIME] | list" >&2; exit 2 ;;
esac
