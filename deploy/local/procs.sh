# Liveness of the local stack's processes, by what they do and not by their PID alone; sourced by
# stack.sh (which sets PIDS, LOGS, the ports and REDIS_PASSWORD).
#
# A process counts as running only when its PID names a live process of the expected program (not a
# zombie: `kill -0` succeeds on a process that exited but was not reaped, as happens to daemons whose
# parent is an init that does not reap) and it answers: PostgreSQL `pg_isready`, Redis `PING` with
# the password, a service its /healthz, nginx its port.

# The state of process $1 from /proc/$1/stat: `running`, `zombie` (exited, not reaped) or `gone`.
proc_state() {
    local stat
    if [ -z "${1:-}" ] || ! stat="$(cat "/proc/$1/stat" 2>/dev/null)"; then echo gone; return; fi
    stat="${stat##*) }" # the command name may contain spaces and parentheses
    case "${stat%% *}" in Z | X | x) echo zombie ;; *) echo running ;; esac
}

# Whether process $1 runs (not a zombie). Every PID check of the stack goes through this.
alive() { [ "$(proc_state "${1:-}")" = running ]; }

# Whether process $1 runs and its command line matches the regular expression $2.
# (Read whole first: `grep -q` leaving a pipe early would fail the pipeline under pipefail.)
runs() {
    local cmdline
    alive "$1" && cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" && grep -q -- "$2" <<<"$cmdline"
}

pid_of() { [ -f "$1" ] && head -n1 "$1" | tr -dc '0-9' || true; }

# What the command line of this stack's process $1 looks like (other stacks run the same programs).
program_of() {
    case "$1" in
        postgres) echo "postgres.* -p $PG_PORT" ;;
        replica-*) echo "postgres.* -p $(node_port "${1#replica-}")" ;;
        redis) echo "redis-server .*:$REDIS_PORT" ;;
        nginx) echo "nginx.*$PIDS/nginx.pid" ;;
        logkeeper) echo "logs.py watch .*$PIDS/nginx.pid" ;;
        prometheus) echo "prometheus --config.file=$PROM_DIR/prometheus.yml" ;;
        redis-exporter) echo "prometheus-redis-exporter --web.listen-address=127.0.0.1:$(redis_exporter_port)" ;;
        pg-exporter) echo "prometheus-postgres-exporter --web.listen-address=127.0.0.1:$(pg_exporter_port)" ;;
        *) echo "$BIN_DIR/inventory-${1%-*}" ;;
    esac
}

# The program of process $1 in any stack (what `down` checks before it signals a recorded PID).
base_program_of() {
    case "$1" in
        postgres | replica-*) echo postgres ;; redis) echo redis-server ;; nginx) echo nginx ;; logkeeper) echo logs.py ;;
        prometheus) echo prometheus ;; redis-exporter) echo prometheus-redis-exporter ;;
        pg-exporter) echo prometheus-postgres-exporter ;;
        *) echo "inventory-${1%-*}" ;;
    esac
}

# Whether PID $2 is this stack's process $1, and not another process that got its PID since; a
# service instance is told apart from the same binary of another stack by its port.
owns() {
    local name="$1" pid="$2"
    runs "$pid" "$(program_of "$name")" || return 1
    case "$name" in postgres | replica-* | redis | nginx | logkeeper | prometheus | redis-exporter | pg-exporter) return 0 ;; esac
    local environ
    environ="$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null)" || return 1
    grep -qx "INVENTORY_PORT=$(service_port "${name%-*}" "${name##*-}")" <<<"$environ"
}

answers() {
    case "$1" in
        # 0: accepting connections; 1: rejecting them while it starts or recovers — it answers.
        postgres) local rc=0; "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 || rc=$?; [ "$rc" -le 1 ] ;;
        replica-*) local rc=0; "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$(node_port "${1#replica-}")" -t 2 || rc=$?; [ "$rc" -le 1 ] ;;
        redis) [ "$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] ;;
        nginx) [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$GATEWAY_PORT/" 2>/dev/null)" != 000 ] ;;
        logkeeper) true ;; # nothing to ask: running is all it does
        prometheus) curl -fsS -o /dev/null -m 2 "http://127.0.0.1:$(prometheus_port)/-/healthy" 2>/dev/null ;;
        redis-exporter) curl -fsS -o /dev/null -m 2 "http://127.0.0.1:$(redis_exporter_port)/metrics" 2>/dev/null ;;
        pg-exporter) curl -fsS -o /dev/null -m 2 "http://127.0.0.1:$(pg_exporter_port)/metrics" 2>/dev/null ;;
        *) curl -fsS -o /dev/null -m 2 "http://127.0.0.1:$(service_port "${1%-*}" "${1##*-}")/healthz" 2>/dev/null ;;
    esac
}

# What the stack's process $1 (with PID $2) is doing: running, starting (alive, not answering yet),
# zombie, gone, or stopped (no PID recorded).
health_of() {
    local name="$1" pid="$2" state
    [ -n "$pid" ] || { echo stopped; return; }
    state="$(proc_state "$pid")"
    if [ "$state" = running ] && ! owns "$name" "$pid"; then
        # The same program with other settings (the state folder's process from before a port
        # changed) must not get a twin on the same data: a PID reused by anything else is stale.
        runs "$pid" "$(base_program_of "$name")" && state=foreign || state=gone
    fi
    if [ "$state" = running ] && ! answers "$name"; then state=unresponsive; fi
    echo "$state"
}

# Decides whether `up` must (re)start process $1 recorded in pid file $2: returns 0 when it runs and
# answers (within PROBE_GRACE seconds); otherwise cleans up what is left of it (a zombie or dead PID;
# a live one that does not answer is stopped) and returns 1.
needs_start() {
    local name="$1" pidfile="$2" pid state deadline=$((SECONDS + PROBE_GRACE))
    pid="$(pid_of "$pidfile")"
    [ -n "$pid" ] || return 1
    while :; do
        state="$(health_of "$name" "$pid")"
        [ "$state" = running ] && return 0
        [ "$state" = unresponsive ] && [ $SECONDS -lt "$deadline" ] || break
        sleep 0.5
    done
    case "$state" in
        foreign) die "$name: pid $pid in $pidfile runs $(tr '\0' ' ' <"/proc/$pid/cmdline"), not with this stack's settings; stop it first (stack.sh down) or remove $pidfile" ;;
        zombie) log "$name (pid $pid) has exited but was not reaped (a zombie): starting it again" ;;
        gone) log "$name (pid $pid) is not running: starting it again" ;;
        unresponsive)
            log "$name (pid $pid) runs but does not answer after ${PROBE_GRACE}s: stopping it"
            stop_pid "$name" "$pid" TERM 10
            ;;
    esac
    rm -f "$pidfile"
    return 1
}

# Stops process $2 (named $1) with signal $3 (TERM by default), waiting up to $4 s (30) before KILL.
stop_pid() {
    local name="$1" pid="$2" signal="${3:-TERM}" wait="${4:-30}" i
    runs "$pid" "$(base_program_of "$name")" || return 0
    kill "-$signal" "$pid" 2>/dev/null || true
    for i in $(seq 1 $((wait * 5))); do alive "$pid" || { log "stopped $name (pid $pid)"; return 0; }; sleep 0.2; done
    log "$name (pid $pid) did not stop in $wait s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# Processes still listening on port $1 whose command line names $2 (nginx workers outlive a killed
# master and keep the gateway's port): stopped, so that a new master can bind it.
free_port() {
    local port="$1" program="$2" pid
    command -v ss >/dev/null || return 0
    for pid in $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
        runs "$pid" "$program" || continue # the port is this stack's: so is an nginx holding it
        log "stopping $program (pid $pid), left over on port $port"
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# Runs command "$@" in the background with its output through the rotating writer into $LOGS/$1.log
# (the first argument names the log) and records its PID in file $2.
start_logged() {
    local name="$1" pidfile="$2"
    shift 2
    (
        exec "$@" </dev/null > >(exec python3 "$ROOT/deploy/local/logs.py" rotate --max-bytes "$LOG_MAX_BYTES" \
            --keep "$LOG_KEEP" "$LOGS/$name.log" >/dev/null 2>&1) 2>&1
    ) &
    echo $! >"$pidfile"
}

cmd_status() {
    [ -d "$PIDS" ] || { log "not started"; return 3; }
    load_secrets
    local f name pid state code=0
    for f in "$PIDS"/*.pid; do
        [ -e "$f" ] || continue
        name="$(basename "$f" .pid)"
        pid="$(pid_of "$f")"
        state="$(health_of "$name" "$pid")"
        case "$state" in
            running) printf 'running       %-12s pid %s\n' "$name" "$pid" ;;
            unresponsive) printf 'not answering %-12s pid %s\n' "$name" "$pid"; code=3 ;;
            foreign) printf 'other settings %-11s pid %s: %s\n' "$name" "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline")"; code=3 ;;
            zombie) printf 'dead (zombie) %-12s pid %s, exited but not reaped\n' "$name" "$pid"; code=3 ;;
            *) printf 'dead          %-12s pid %s\n' "$name" "$pid"; code=3 ;;
        esac
    done
    # Which PostgreSQL node is the primary, and how far behind each replica replays.
    replication_status
    return "$code"
}

# logs [--follow] [QUERY]: without arguments, where the logs are; otherwise search them (and follow).
cmd_logs() {
    if [ $# -eq 0 ]; then
        echo "Logs of the $STACK stack are in $LOGS (each capped at $LOG_MAX_BYTES bytes, $LOG_KEEP older files kept):"
        ls -1 "$LOGS" 2>/dev/null | sed 's/^/  /'
        echo "Search them all: make logs Q=<request id, trace id or text>    Follow: make logs FOLLOW=1 [Q=...]"
        return 0
    fi
    [ -d "$LOGS" ] || die "no logs in $LOGS"
    local follow=() query=()
    while [ $# -gt 0 ]; do
        case "$1" in --follow) follow=(--follow) ;; *) query=("$1") ;; esac
        shift
    done
    exec python3 "$ROOT/deploy/local/logs.py" search "$LOGS" "${query[@]}" "${follow[@]}"
}
