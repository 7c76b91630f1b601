# Streaming replicas of the local stack's PostgreSQL, failover and rejoin; sourced by stack.sh (uses
# its helpers and settings).
#
# Nodes: node 0 is the stack's first PostgreSQL ($PG_DATA on PG_PORT, pid file postgres.pid); node N
# (1..PG_REPLICAS) is `replica-N` ($PG_HOME/replica-N on PG_PORT + N). Either may be the primary: after
# `failover` a replica is, and `rejoin` makes the old primary follow it. Each replica is made with
# `pg_basebackup -R` from whichever node is the primary, streams from it through its own replication
# slot (`node_N`, so the primary keeps the WAL it has not received yet) as role inventory_replication,
# and has application_name `node_N` (what synchronous_standby_names names).
#
# Fencing: `failover` writes $STATE_DIR/fenced-<node> for the primary it replaced, and `up` never
# starts a fenced node (it would come back as a second primary); `rejoin` turns it into a replica of
# the new primary and removes the fence.
#
# Services reach PostgreSQL with every node listed: the primary pool with target_session_attrs=
# read-write (it follows a promotion by itself), the read pool with read-only (a replica).

REPLICATION_ROLE=inventory_replication

node_name() { if [ "$1" = 0 ]; then echo postgres; else echo "replica-$1"; fi; }
node_port() { echo $((PG_PORT + $1)); }
node_data() { if [ "$1" = 0 ]; then echo "$PG_DATA"; else echo "$PG_HOME/replica-$1"; fi; }
node_slot() { echo "node_$1"; }
pg_nodes() { seq 0 "$PG_REPLICAS"; }
fence_file() { echo "$STATE_DIR/fenced-$(node_name "$1")"; }
is_fenced() { [ -f "$(fence_file "$1")" ]; }

# "127.0.0.1:P0,127.0.0.1:P1,..." and "P0,P1,...": every node, for URLs and libpq's PGPORT.
node_hosts() { local n out=""; for n in $(pg_nodes); do out="$out${out:+,}127.0.0.1:$(node_port "$n")"; done; echo "$out"; }
node_ports() { local n out=""; for n in $(pg_nodes); do out="$out${out:+,}$(node_port "$n")"; done; echo "$out"; }
node_host_list() { local n out=""; for n in $(pg_nodes); do out="$out${out:+,}127.0.0.1"; done; echo "$out"; }

# psql as the superuser on node $1 only (psql_super reaches whichever node is the primary).
psql_node() {
    local port; port="$(node_port "$1")"; shift
    PGPASSWORD="$PG_SUPERUSER_PASSWORD" PGTARGETSESSIONATTRS=any PGCONNECT_TIMEOUT=3 \
        psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U inventory -d postgres "$@"
}

# What node $1 is right now: primary, standby, or down.
node_role() {
    local answer
    answer="$(psql_node "$1" -tAc "SELECT pg_is_in_recovery()" 2>/dev/null)" || { echo down; return; }
    case "$answer" in f) echo primary ;; t) echo standby ;; *) echo down ;; esac
}

# The node that is the primary (fails when none runs).
primary_node() {
    local n
    for n in $(pg_nodes); do [ "$(node_role "$n")" = primary ] && { echo "$n"; return 0; }; done
    return 1
}

# The role replicas connect as; its password is in secrets.env (added to an older state folder).
ensure_replication_role() {
    grep -q '^PG_REPLICATION_PASSWORD=' "$SECRETS" || (umask 077; echo "PG_REPLICATION_PASSWORD=$(random_secret)" >>"$SECRETS")
    # shellcheck disable=SC1090
    . "$SECRETS"
    psql_super -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$REPLICATION_ROLE') THEN
        CREATE ROLE $REPLICATION_ROLE WITH REPLICATION LOGIN;
    END IF;
END \$\$;
ALTER ROLE $REPLICATION_ROLE WITH REPLICATION LOGIN PASSWORD '$PG_REPLICATION_PASSWORD';
SQL
}

# Points the data folder $1 (a standby) at primary node $2 through slot $3 as application $3.
write_standby_settings() {
    local data="$1" primary="$2" slot="$3" auto="$1/postgresql.auto.conf"
    as_pg_owner touch "$data/standby.signal"
    # Later lines win, but ALTER SYSTEM keeps only one of each: drop the old ones first.
    as_pg_owner sed -i '/^primary_conninfo\|^primary_slot_name\|^recovery_min_apply_delay/d' "$auto"
    {
        echo "primary_conninfo = 'host=127.0.0.1 port=$(node_port "$primary") user=$REPLICATION_ROLE password=$PG_REPLICATION_PASSWORD application_name=$slot'"
        echo "primary_slot_name = '$slot'"
    } | as_pg_owner tee -a "$auto" >/dev/null
}

# Creates replication slot $2 on node $1 unless it exists.
ensure_slot() {
    psql_node "$1" -tAc "SELECT pg_create_physical_replication_slot('$2') WHERE NOT EXISTS
        (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$2')" >/dev/null
}

# Starts the PostgreSQL of node $1 from its data folder (standby or primary, as the folder says).
start_pg_node() {
    local n="$1" name data port run_log
    name="$(node_name "$n")"; data="$(node_data "$n")"; port="$(node_port "$n")"
    run_log="$PG_RUN/$name.log"
    if [ -f "$data/postmaster.pid" ]; then head -n1 "$data/postmaster.pid" >"$PIDS/$name.pid"; else rm -f "$PIDS/$name.pid"; fi
    if needs_start "$name" "$PIDS/$name.pid"; then
        log "$name already running (pid $(pid_of "$PIDS/$name.pid"))"
        return
    fi
    rm -f "$data/postmaster.pid" "$PG_RUN/.s.PGSQL.$port.lock" "$PG_RUN/.s.PGSQL.$port"
    local options="-p $port -c logging_collector=on -c log_directory='$PG_RUN/log-$name'"
    options+=" -c log_filename='postgresql-%Y%m%d-%H%M%S.log' -c log_rotation_age=0"
    options+=" -c log_rotation_size=$((LOG_MAX_BYTES / 1024))kB"
    # The primary's workload settings: a replica may be promoted in its place.
    options+=" $(pg_workload_settings | sed -E 's/^([a-z_]+) = (.*)$/-c \1=\2/' | paste -sd' ')"
    write_archive_command "$data"
    ln -sfn "$run_log" "$LOGS/$name.log"
    ln -sfn "$PG_RUN/log-$name" "$LOGS/postgresql-$name"
    log "starting $name on 127.0.0.1:$port"
    local attempt
    for attempt in 1 2 3; do
        as_pg_owner "$(pg_bin pg_ctl)" -D "$data" -l "$run_log" -o "$options" -w -t 60 start >/dev/null && break
        [ "$attempt" = 3 ] && die "$name did not start (see $run_log)"
        sleep 2
    done
    pid_of "$data/postmaster.pid" >"$PIDS/$name.pid"
}

# Makes node $1's data folder a fresh copy of primary node $2 (pg_basebackup -R through a new slot).
base_backup_node() {
    local n="$1" primary="$2" data slot
    data="$(node_data "$n")"; slot="$(node_slot "$n")"
    log "copying the primary ($(node_name "$primary")) into $(node_name "$n") with pg_basebackup"
    psql_node "$primary" -tAc "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots
        WHERE slot_name = '$slot' AND NOT active" >/dev/null
    ensure_slot "$primary" "$slot"
    rm -rf "$data"
    mkdir -p "$data"
    chmod 700 "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$data"
    PGPASSWORD="$PG_REPLICATION_PASSWORD" as_pg_owner env PGPASSWORD="$PG_REPLICATION_PASSWORD" \
        "$(pg_bin pg_basebackup)" -h 127.0.0.1 -p "$(node_port "$primary")" -U "$REPLICATION_ROLE" \
        -D "$data" -R -S "$slot" -X stream -c fast >>"$LOGS/replicas.log" 2>&1 \
        || die "pg_basebackup of $(node_name "$n") failed (see $LOGS/replicas.log)"
    write_standby_settings "$data" "$primary" "$slot"
}

# Starts every replica, making those that do not exist yet from the primary.
start_replicas() {
    [ "$PG_REPLICAS" -gt 0 ] 2>/dev/null || return 0
    local primary n
    mkdir -p "$PG_RUN"
    # Existing nodes first: after a failover the primary may be one of them.
    for n in $(seq 1 "$PG_REPLICAS"); do
        if is_fenced "$n"; then log "$(node_name "$n") is fenced (a replaced primary): make rejoin"; continue; fi
        [ -f "$(node_data "$n")/PG_VERSION" ] && start_pg_node "$n"
    done
    primary="$(primary_node)" || die "no PostgreSQL node is a primary (make status; make failover promotes a replica)"
    ensure_replication_role
    for n in $(seq 1 "$PG_REPLICAS"); do
        is_fenced "$n" || [ -f "$(node_data "$n")/PG_VERSION" ] && continue
        base_backup_node "$n" "$primary"
        start_pg_node "$n"
    done
    apply_sync_setting "$primary"
}

# PG_SYNC_REPLICA=1: a commit waits until the first replica has flushed it (no acknowledged write is
# lost by a failover to it); otherwise asynchronous. Also undoes PG_FAST's synchronous_commit=off,
# which would skip the wait.
# With no replica running (right after a failover) commits would wait forever: asynchronous until
# one rejoins ($2 = none).
apply_sync_setting() {
    local primary="$1" standbys="" n
    for n in $(pg_nodes); do [ "$n" = "$primary" ] || standbys="$standbys${standbys:+, }$(node_slot "$n")"; done
    if [ "$PG_SYNC_REPLICA" = 1 ] && [ -n "$standbys" ] && [ "${2:-}" != none ]; then
        psql_node "$primary" -c "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 ($standbys)'" \
            -c "ALTER SYSTEM SET synchronous_commit = 'on'" -c "SELECT pg_reload_conf()" >/dev/null
        log "synchronous replication on (commits wait for a replica)"
    else
        psql_node "$primary" -c "ALTER SYSTEM RESET synchronous_standby_names" \
            -c "ALTER SYSTEM RESET synchronous_commit" -c "SELECT pg_reload_conf()" >/dev/null
    fi
}

# For `status`: each node's role and, for a standby, how far behind it replays.
replication_status() {
    local n role lag
    for n in $(pg_nodes); do
        role="$(node_role "$n")"
        if is_fenced "$n"; then role="$role, fenced (make rejoin)"; fi
        if [ "$role" = standby ]; then
            lag="$(psql_node "$n" -tAc "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000) END" 2>/dev/null)" || lag=""
            printf 'postgres node  %-12s port %s: standby, replay lag %s ms\n' "$(node_name "$n")" "$(node_port "$n")" "${lag:-?}"
        else
            printf 'postgres node  %-12s port %s: %s\n' "$(node_name "$n")" "$(node_port "$n")" "$role"
        fi
    done
    local primary
    primary="$(primary_node)" || return 0
    psql_node "$primary" -tAc "SELECT format('replication   %-12s %s, %s, %s bytes behind, replay lag %s',
        application_name, state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
        coalesce(replay_lag::text, '0')) FROM pg_stat_replication ORDER BY application_name" 2>/dev/null || true
}

# Promotes a standby. The old primary is stopped first if it still runs (a switchover) and fenced so
# that `up` does not start it again as a second primary; the other replicas follow the new primary.
cmd_failover() {
    load_secrets
    pg_home
    [ "$PG_REPLICAS" -gt 0 ] 2>/dev/null || die "no replicas (PG_REPLICAS=0): nothing to fail over to"
    local n old="" target="" t0=$SECONDS
    for n in $(pg_nodes); do
        case "$(node_role "$n")" in
            primary) old="$n" ;;
            standby) [ -n "$target" ] || target="$n" ;;
        esac
    done
    [ -n "$target" ] || die "no replica is running to promote (make status)"
    if [ -z "$old" ]; then
        # The primary is gone; the fence goes on whichever node is not running and not fenced yet.
        for n in $(pg_nodes); do
            [ "$n" = "$target" ] && continue
            [ "$(node_role "$n")" = down ] && ! is_fenced "$n" && { old="$n"; break; }
        done
    else
        log "stopping the primary ($(node_name "$old")) first"
        stop_pid "$(node_name "$old")" "$(pid_of "$(node_data "$old")/postmaster.pid")" INT
    fi
    [ -n "$old" ] && touch "$(fence_file "$old")"
    log "promoting $(node_name "$target")"
    as_pg_owner "$(pg_bin pg_ctl)" -D "$(node_data "$target")" -w -t 60 promote >/dev/null \
        || die "$(node_name "$target") did not promote (see $PG_RUN/$(node_name "$target").log)"
    for n in $(pg_nodes); do
        [ "$n" = "$target" ] && continue
        [ "$(node_role "$n")" = standby ] || continue
        log "$(node_name "$n") now follows $(node_name "$target")"
        ensure_slot "$target" "$(node_slot "$n")"
        psql_node "$n" -c "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=$(node_port "$target") user=$REPLICATION_ROLE password=$PG_REPLICATION_PASSWORD application_name=$(node_slot "$n")'" \
            -c "SELECT pg_reload_conf()" >/dev/null
    done
    local followers=none
    for n in $(pg_nodes); do [ "$n" != "$target" ] && [ "$(node_role "$n")" = standby ] && followers=some; done
    apply_sync_setting "$target" "$followers"
    [ "$PG_SYNC_REPLICA" = 1 ] && [ "$followers" = none ] && log "no replica left: commits do not wait for one until make rejoin"
    log "$(node_name "$target") (port $(node_port "$target")) is the primary after $((SECONDS - t0)) s; services follow it by themselves"
    [ -n "$old" ] && log "$(node_name "$old") is fenced: make rejoin makes it a replica again"
    return 0
}

# pg_rewind of the data folder $1 onto node $2. It reads the folder's own WAL from the last
# checkpoint both share; segments the node archived and recycled since then come back from the WAL
# archive: --restore-target-wal, with a restore_command given to the folder for the rewind only (a
# standby streams from its slot; a point-in-time restore sets its own).
rewind_node() {
    local data="$1" primary="$2" auto="$1/postgresql.auto.conf" rc=0
    as_pg_owner touch "$auto"
    as_pg_owner sed -i '/^restore_command/d' "$auto"
    echo "restore_command = '$(wal_restore_command "$PG_HOME/wal-archive")'" | as_pg_owner tee -a "$auto" >/dev/null
    # A just-promoted primary names its new timeline in its control file only at its next
    # checkpoint, and pg_rewind reads it there: without one it may find "no rewind required" for a
    # node that wrote past the fork, which then cannot start as a replica.
    if psql_node "$primary" -c CHECKPOINT >>"$LOGS/replicas.log" 2>&1; then
        as_pg_owner env PGPASSWORD="$PG_SUPERUSER_PASSWORD" "$(pg_bin pg_rewind)" --restore-target-wal \
            --target-pgdata="$data" --source-server="host=127.0.0.1 port=$(node_port "$primary") user=inventory dbname=postgres" \
            >>"$LOGS/replicas.log" 2>&1 || rc=$?
    else
        rc=1
    fi
    as_pg_owner sed -i '/^restore_command/d' "$auto"
    return "$rc"
}

# Turns every fenced node into a replica of the current primary: pg_rewind when its history can be
# rewound, otherwise a fresh base backup; then starts it and removes the fence.
cmd_rejoin() {
    load_secrets
    pg_home
    ensure_replication_role
    local primary n data rejoined=0
    primary="$(primary_node)" || die "no PostgreSQL node is a primary (make status)"
    for n in $(pg_nodes); do
        is_fenced "$n" || continue
        data="$(node_data "$n")"
        [ "$(node_role "$n")" = down ] || stop_pid "$(node_name "$n")" "$(pid_of "$data/postmaster.pid")" INT
        rm -f "$data/postmaster.pid"
        ensure_slot "$primary" "$(node_slot "$n")"
        log "rewinding $(node_name "$n") onto $(node_name "$primary") (pg_rewind)"
        if [ -f "$data/PG_VERSION" ] && rewind_node "$data" "$primary"; then
            write_standby_settings "$data" "$primary" "$(node_slot "$n")"
        else
            log "pg_rewind could not rewind it (see $LOGS/replicas.log): a fresh base backup instead"
            base_backup_node "$n" "$primary"
        fi
        rm -f "$(fence_file "$n")"
        start_pg_node "$n"
        rejoined=$((rejoined + 1))
    done
    [ "$rejoined" -gt 0 ] || log "no fenced node: nothing to rejoin"
    apply_sync_setting "$primary"
}
