#!/usr/bin/env bash
# `make bench`: measures the machine's limits, then the system against them, in one run.
#
# 1. Limits, on this machine and in this run:
#    - the lean SALE (deploy/bench/lean-sale.pgbench: guarded UPDATE, movement INSERT, outbox INSERT on
#      lean.sql's minimal integer-keyed schema) with pgbench -M prepared on a private PostgreSQL (fsync
#      and synchronous_commit on, the stack's workload settings) started and stopped by PID under the
#      state folder: a random level of as many as the stack is seeded with, and one hot level;
#    - an nginx keepalive proxy hop to a trivial upstream (deploy/bench/proxy.conf.template).
# 2. A release build of the stack on its own ports (rate limits out of the way), seeded with
#    BENCH_STORES × BENCH_PRODUCTS stock levels, and each scenario through the gateway with a real
#    token (wrk), with the ledger's lag sampled during the load and measured after it.
# 3. A table (each scenario's 2xx throughput and its ratio to its limit, p50/p99/p99.9, non-2xx
#    answers, ledger lag; transfers and batches have no limit of their own), a second one of where
#    the machine's CPU went per answer, by component, for the limits and the scenarios (cpu.py), and
#    the same as JSON in target/bench/bench-<time>.json (and latest.json).
#
# Settings: BENCH_STORES (500), BENCH_PRODUCTS (2000), BENCH_DURATION (20s; each scenario after a
# BENCH_WARMUP of 3s that is not measured), BENCH_CONNECTIONS (64,
# reads), BENCH_SALE_CONNECTIONS (32), BENCH_PG_CLIENTS (8), BENCH_ONLY (scenario letters, e.g. "a c";
# default all), BENCH_BIN_DIR (prebuilt binaries instead of a release build), BENCH_PROFILE=1 (perf record -a -g during the write scenarios; top entries into
# target/bench/), BENCH_KEEP=1 (leave the bench stack running afterwards).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export BENCH_DIR="$ROOT/deploy/bench"
# The bench stack's ports, and those of the limit processes, are in deploy/local/stacks.sh.
export STACK=bench
# Durable like a real deployment (a test-stack shell may have PG_FAST=1), no trace collector.
export PG_FAST=0
unset OTEL_EXPORTER_OTLP_ENDPOINT
# BENCH_BIN_DIR: binaries built before (e.g. a copy of target/release from another commit, to
# compare two builds back to back); otherwise a release build of this tree.
export BIN_DIR="${BENCH_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/release}"
# Limits out of the way: this measures the system, not the limiter.
export INVENTORY_RATE_LIMIT_PER_SECOND=1000000 INVENTORY_RATE_LIMIT_BURST=1000000
export GATEWAY_RATE=1000000r/s GATEWAY_BURST=1000000
export RUST_LOG="${RUST_LOG:-warn}"
# Prometheus scraping would be load the benchmark measures; `PROMETHEUS=1 make bench` keeps it.
export PROMETHEUS="${PROMETHEUS:-0}"
STORES="${BENCH_STORES:-500}"
PRODUCTS="${BENCH_PRODUCTS:-2000}"
DURATION="${BENCH_DURATION:-20s}"
WARMUP="${BENCH_WARMUP:-3s}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
SALE_CONNECTIONS="${BENCH_SALE_CONNECTIONS:-32}"
PG_CLIENTS="${BENCH_PG_CLIENTS:-8}"
ONLY="${BENCH_ONLY:-a b c d e f g h i j}"
SECS="${DURATION%s}"
OUT="${CARGO_TARGET_DIR:-$ROOT/target}/bench"
STACK_SCRIPT="$ROOT/deploy/local/stack.sh"
# The stack's helpers (as_pg_owner, pg_bin, reachable_dir, stop_pid, nginx_bin, the PostgreSQL settings).
# shellcheck source=deploy/local/stack.sh
. "$STACK_SCRIPT"
# Clear of the bench stack (PG_PORT) and its replicas (PG_PORT + 1, + 2, ...).
LIMIT_PG_PORT="$BENCH_LIMIT_PG_PORT" PROXY_PORT="$BENCH_PROXY_PORT" PROXY_UPSTREAM_PORT=$((BENCH_PROXY_PORT + 1))
say() { printf '%s\n' "$*" >&2; }
wanted() { [[ " $ONLY " == *" $1 "* ]]; }

# The limits run PostgreSQL and nginx before the stack (which would install them) is up.
ensure_packages
for tool in wrk linux-perf; do
    case "$tool" in
        wrk) command -v wrk >/dev/null && continue ;;
        linux-perf) { [ "${BENCH_PROFILE:-0}" = 1 ] && ! command -v perf >/dev/null; } || continue ;;
    esac
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
done

work="$STATE_DIR/bench"
LIMIT_PG="" PROXY_DIR=""
finish() {
    [ -n "$LIMIT_PG" ] && [ -f "$LIMIT_PG/postmaster.pid" ] && stop_pid postgres "$(pid_of "$LIMIT_PG/postmaster.pid")" INT
    [ -n "$PROXY_DIR" ] && [ -f "$PROXY_DIR/nginx.pid" ] && stop_pid nginx "$(pid_of "$PROXY_DIR/nginx.pid")"
    if [ "${BENCH_KEEP:-0}" != 1 ]; then "$STACK_SCRIPT" clean >/dev/null 2>&1 || true; fi
}
trap finish EXIT

if [ -z "${BENCH_BIN_DIR:-}" ]; then
    say "==> release build"
    cargo build --release --bins --quiet
fi
"$STACK_SCRIPT" clean >/dev/null 2>&1 || true
mkdir -p "$work" "$OUT"
results="$work/results.jsonl"
: >"$results"
levels=$((STORES * PRODUCTS))
wrk_json() { grep '^RESULT ' | sed 's/^RESULT //'; }
# One JSON line into the results: $1 = a JSON object (text).
record() { printf '%s\n' "$1" >>"$results"; }
# Where the machine's CPU went while a measured load ran (deploy/bench/cpu.py): cpu_snap NAME takes a
# snapshot; cpu_split BEFORE AFTER COUNT ROOT... prints {busy_pct, us: {component: CPU µs per
# answer}}. The load generator (wrk, pgbench) runs as a child of this shell, whose reaped children's
# time is counted as "load".
cpu_snap() { python3 "$BENCH_DIR/cpu.py" snap "$work/cpu-$1"; }
cpu_split() {
    local before="$1" after="$2" count="$3"; shift 3
    python3 "$BENCH_DIR/cpu.py" split "$work/cpu-$before" "$work/cpu-$after" --count "$count" --root "load=$$" "$@"
}
# The stack's processes as cpu.py roots: one component per service (its instances together), the
# gateway, Redis, the primary and the replicas (each with the children they start).
stack_roots() {
    local f name
    for f in "$STATE_DIR"/pids/*.pid; do
        name="$(basename "$f" .pid)"
        name="${name%-[0-9]*}"
        [ "$name" = nginx ] && name=gateway
        printf -- '--root\n%s=%s\n' "$name" "$(pid_of "$f")"
    done
}
# The good answers (2xx, or the one status expected) of wrk's result $1.
answers() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ok"])' "$1"; }
# Adds cpu_split's answer under "cpu" to the JSON object $1.
with_cpu() { python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["cpu"]=json.loads(sys.argv[2]); print(json.dumps(r))' "$1" "$2"; }
# Where a run's CPU went: the components in order of their share, then any component's detail.
cpu_line() {
    python3 -c '
import json, sys
c = json.loads(sys.argv[1])
def top(us):
    return ", ".join("%s %.0f" % (k, v) for k, v in sorted(us.items(), key=lambda kv: -kv[1]) if v >= 0.5)
print("    CPU per answer: %s µs (%.0f %% of the cores busy)" % (top(c["us"]), c["busy_pct"]))
for name, parts in c.get("detail", {}).items():
    print("      %s by process: %s µs" % (name, top(parts)))
' "$1" >&2
}

# --- limits -----------------------------------------------------------------------------------
# The lean SALE on a private PostgreSQL: initdb'd fresh, configured like the stack's (workload
# settings, fsync and synchronous_commit on), started and stopped by PID.
limit_sql() {
    LIMIT_PG="$(reachable_dir limit-pg postgres)/data"
    [ "$(id -u)" = 0 ] && chown postgres "$(dirname "$LIMIT_PG")"
    local password pwfile
    password="$(random_secret)"
    pwfile="$(dirname "$LIMIT_PG")/.pw"
    (umask 077; printf '%s\n' "$password" >"$pwfile")
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    as_pg_owner "$(pg_bin initdb)" -D "$LIMIT_PG" -U bench --pwfile="$pwfile" --auth=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$work/limit-initdb.log" 2>&1 || die "initdb of the limit PostgreSQL failed (see $work/limit-initdb.log)"
    rm -f "$pwfile"
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$(dirname "$LIMIT_PG")'"
        echo "max_connections = 100"
        pg_workload_settings
    } | as_pg_owner tee -a "$LIMIT_PG/postgresql.conf" >/dev/null
    as_pg_owner "$(pg_bin pg_ctl)" -D "$LIMIT_PG" -l "$(dirname "$LIMIT_PG")/postgres.log" -o "-p $LIMIT_PG_PORT" -w -t 60 start >/dev/null \
        || die "the limit PostgreSQL did not start (see $(dirname "$LIMIT_PG")/postgres.log)"
    export PGPASSWORD="$password"
    local conn=(-h 127.0.0.1 -p "$LIMIT_PG_PORT" -U bench)
    psql -X -q "${conn[@]}" -d postgres -v levels="$levels" -f "$BENCH_DIR/lean.sql"
    local hot out tps count cpu
    for hot in 0 1; do
        cpu_snap limit-before
        out="$(pgbench -n -M prepared "${conn[@]}" -c "$PG_CLIENTS" -j 2 -T "$SECS" -D levels="$levels" -D hot="$hot" \
            -f "$BENCH_DIR/lean-sale.pgbench" postgres 2>>"$work/pgbench.log")"
        cpu_snap limit-after
        tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")"
        count="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")"
        [ -n "$tps" ] && [ -n "$count" ] || die "pgbench failed (see $work/pgbench.log)"
        cpu="$(cpu_split limit-before limit-after "$count" --root "postgres=$(pid_of "$LIMIT_PG/postmaster.pid")")"
        local name; name="$([ "$hot" = 1 ] && echo sale-hot || echo sale-random)"
        say "    lean SALE, $([ "$hot" = 1 ] && echo "one hot level" || echo "random level of $levels"), $PG_CLIENTS clients: $tps tx/s"
        cpu_line "$cpu"
        record "$(with_cpu "{\"kind\":\"limit\",\"name\":\"$name\",\"per_second\":$tps,\"what\":\"lean SALE (guarded UPDATE, movement INSERT, outbox INSERT), pgbench -M prepared, $PG_CLIENTS clients, $([ "$hot" = 1 ] && echo "one hot level" || echo "random level of $levels")\"}" "$cpu")"
    done
    unset PGPASSWORD
    stop_pid postgres "$(pid_of "$LIMIT_PG/postmaster.pid")" INT
    rm -rf "$(dirname "$LIMIT_PG")"
    LIMIT_PG=""
}

# An nginx keepalive proxy hop to a trivial upstream (the same nginx), loaded like the gateway.
limit_proxy() {
    PROXY_DIR="$(reachable_dir limit-nginx nobody)"
    mkdir -p "$PROXY_DIR/tmp"
    [ "$(id -u)" = 0 ] && chown -R nobody "$PROXY_DIR/tmp"
    sed -e "s|{{DIR}}|$PROXY_DIR|g" -e "s|{{PORT}}|$PROXY_PORT|g" -e "s|{{UPSTREAM_PORT}}|$PROXY_UPSTREAM_PORT|g" \
        "$BENCH_DIR/proxy.conf.template" >"$PROXY_DIR/nginx.conf"
    "$(nginx_bin)" -p "$PROXY_DIR" -c "$PROXY_DIR/nginx.conf" -g "pid $PROXY_DIR/nginx.pid;" 2>>"$work/limit-nginx.log" \
        || die "the proxy-hop nginx did not start (see $work/limit-nginx.log)"
    local i
    for i in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PROXY_PORT/" 2>/dev/null && break; sleep 0.1; done
    echo "/" >"$work/proxy-paths"
    local json
    cpu_snap limit-before
    json="$(BENCH_TOKEN=none BENCH_PATHS="$work/proxy-paths" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 5s \
        -s "$BENCH_DIR/get.lua" "http://127.0.0.1:$PROXY_PORT" | wrk_json)"
    cpu_snap limit-after
    local rate cpu
    rate="$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(round(r["ok"]/r["seconds"]))' "$json")"
    cpu="$(cpu_split limit-before limit-after "$(answers "$json")" \
        --root "gateway=$(pid_of "$PROXY_DIR/nginx.pid")")"
    say "    nginx keepalive proxy hop, $CONNECTIONS connections: $rate req/s"
    cpu_line "$cpu"
    record "$(with_cpu "{\"kind\":\"limit\",\"name\":\"proxy-hop\",\"per_second\":$rate,\"what\":\"nginx keepalive proxy hop to a trivial upstream, $CONNECTIONS connections\"}" "$cpu")"
    stop_pid nginx "$(pid_of "$PROXY_DIR/nginx.pid")"
    PROXY_DIR=""
}

say "==> limits on this machine ($SECS s each)"
limit_sql
limit_proxy

# --- the stack --------------------------------------------------------------------------------
"$STACK_SCRIPT" up 2>&1 | grep -E "error|gateway on" || true
set -a; . "$STATE_DIR/stack.env"; . "$STATE_DIR/secrets.env"; set +a
# psql itself rather than Debian's wrapper script: starting Perl for each of the lag sampler's
# queries (two a second) took 2 % of the machine's time during the scenarios.
PSQL=("$(pg_bin psql)" -X -q -h 127.0.0.1 -p "$PG_PORT" -U inventory -d inventory)
export PGPASSWORD="$PG_SUPERUSER_PASSWORD"
# Where PostgreSQL's time goes, per scenario (the library is loaded by the stack's settings).
"${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null

say "==> seeding $STORES stores × $PRODUCTS products ($levels stock levels)"
seed_started=$SECONDS
"${PSQL[@]}" -v stores="$STORES" -v products="$PRODUCTS" -f "$BENCH_DIR/seed.sql"
# Every replica replays the seed (and its vacuum) before a scenario starts, not during one; the
# line says so when one had not after two minutes (the scenarios then measure its catching up).
for _ in $(seq 1 600); do
    behind="$("${PSQL[@]}" -tAc "SELECT count(*) FROM pg_stat_replication WHERE replay_lsn IS DISTINCT FROM pg_current_wal_flush_lsn()")"
    [ "$behind" = 0 ] && break
    sleep 0.2
done
caught_up="replicas caught up"
[ "$behind" = 0 ] || caught_up="$behind replica(s) still replaying after 120 s"
say "    seeded in $((SECONDS - seed_started)) s (vacuumed, checkpointed, $caught_up)"
"${PSQL[@]}" -tAc "SELECT id FROM stores WHERE code LIKE 'BENCH-%' ORDER BY code" >"$work/stores"
"${PSQL[@]}" -tAc "SELECT id FROM products WHERE sku LIKE 'BENCH-SKU-%' ORDER BY sku" >"$work/products"
sed 's|^\(.*\)$|/stock/\1?limit=100|' "$work/stores" >"$work/stock-pages"
sed 's|^\(.*\)$|/products/\1|' "$work/products" >"$work/product-items"
echo "/products?limit=100" >"$work/product-pages"
sed 's|^\(.*\)$|/reports/stores/\1/daily|' "$work/stores" >"$work/daily-reports"

BENCH_TOKEN="$(curl -fsS -X POST "$GATEWAY_URL/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$INVENTORY_ADMIN_USERNAME\",\"password\":\"$INVENTORY_ADMIN_PASSWORD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
export BENCH_TOKEN BENCH_STORES="$work/stores" BENCH_PRODUCTS="$work/products"

# The ledger's lag: {undelivered, pending, age of the oldest unapplied entry in ms} of group `ledger`,
# plus the outbox (events committed, not yet on the stream) and the age of its oldest row.
STREAM="${INVENTORY_REDIS_KEY_PREFIX:-}inventory.stock-events"
LAG_SCRIPT="$(cat "$BENCH_DIR/lag.lua")"
lag_sample() {
    local stream outbox
    stream="$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" EVAL "$LAG_SCRIPT" 1 "$STREAM" ledger | paste -sd' ')"
    # The first 1,000 waiting rows by key (a capped count; the oldest is among them but for a
    # transaction that ran long): counting the whole queue read its heap, bloated by the relay's
    # deletes, twice a second (12-26 ms a sample under batches; this reads the key, 2-11 ms).
    local query="count(*), coalesce((extract(epoch FROM now() - min(created_at)) * 1000)::bigint, 0) FROM (SELECT created_at FROM outbox ORDER BY seq LIMIT 1000) o"
    outbox=""
    if [ -n "${OUTBOX_PSQL_PID:-}" ]; then
        # Each answer carries its query's number: one that came too late for its sample is skipped.
        OUTBOX_ASKED=$((${OUTBOX_ASKED:-0} + 1))
        printf 'SELECT %d, %s;\n' "$OUTBOX_ASKED" "$query" >&"${OUTBOX_PSQL[1]}"
        local number answer
        while read -r -t 5 number answer <&"${OUTBOX_PSQL[0]}"; do
            [ "$number" = "$OUTBOX_ASKED" ] && { outbox="$answer"; break; }
        done
    else
        outbox="$("${PSQL[@]}" -tA -F' ' -c "SELECT $query")"
    fi
    echo "$stream $outbox"
}
# Samples the lag every half second into $1 until killed.
# Its queries go to one psql session: a connection per sample, twice a second, cost a psql process
# and a SCRAM handshake on the client's side (56 µs of CPU per sale in the CPU table's "sampler",
# now 18-26) and a new backend on the server's (under postgres). The session ends with the sampler.
lag_sampler() {
    coproc OUTBOX_PSQL { "${PSQL[@]}" -tA -F' ' 2>/dev/null; }
    while :; do lag_sample >>"$1" 2>/dev/null || true; sleep 0.5; done
}
# Max lag (ms, stream and outbox together) over the samples of file $1.
lag_max_ms() { awk '{a = $3 > $5 ? $3 : $5; if (a > m) m = a} END {print m + 0}' "$1"; }
# Seconds from now until nothing is left to apply (-1: not within 30 s, or the lag cannot be read).
lag_drain_secs() {
    local started deadline=$((SECONDS + 30)) undelivered pending backlog
    started="$(date +%s.%N)"
    while [ $SECONDS -lt $deadline ]; do
        read -r undelivered pending _ backlog _ <<<"$(lag_sample)" || true
        [ -n "$backlog" ] || break
        if [ "$undelivered" = 0 ] && [ "$pending" = 0 ] && [ "$backlog" = 0 ]; then
            python3 -c "import sys,time; print(round(time.time() - float(sys.argv[1]), 1))" "$started"
            return
        fi
        sleep 0.1
    done
    echo -1
}

# The statements that took PostgreSQL's time during scenario $1 (pg_stat_statements, reset before it):
# calls, total and mean execution time, share of the total, the statement's start.
statements_report() {
    "${PSQL[@]}" -c "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
            round((total_exec_time / calls)::numeric, 3) AS mean_ms,
            round((100 * total_exec_time / sum(total_exec_time) OVER ())::numeric, 1) AS pct,
            left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
        FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC LIMIT 15" \
        >"$OUT/statements-$1.txt" 2>&1 || true
}

# Rows written per table so far: name, inserts, updates, HOT updates.
table_writes() {
    "${PSQL[@]}" -tAF' ' -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables" 2>/dev/null || true
}

# Appends to scenario $1's statements file each table's inserts and updates during it (against the
# table_writes taken before it) and the share of updates that were HOT: the new row version on the
# same page, no index entry. A level's or a ledger row's update ought to be HOT (no column a movement
# changes is indexed); a low share says its pages ran out of room (see migration 000014).
tables_report() {
    table_writes | python3 -c '
import sys
before = {f[0]: [int(x) for x in f[1:]] for f in (l.split() for l in open(sys.argv[1])) if len(f) == 4}
print("\ntable rows written (inserted, updated, HOT share of the updates)")
for f in (l.split() for l in sys.stdin):
    if len(f) != 4:
        continue
    ins, upd, hot = (int(x) - y for x, y in zip(f[1:], before.get(f[0], [0, 0, 0])))
    if ins or upd:
        print("  %-24s %9d %9d %s" % (f[0], ins, upd, "%.0f %%" % (100 * hot / upd) if upd else "-"))
' "$work/tables-$1" >>"$OUT/statements-$1.txt" 2>&1 || true
}

# run_scenario LETTER NAME LIMIT CONNECTIONS ENV... -- wrk arguments
run_scenario() {
    local letter="$1" name="$2" limit="$3" conns="$4"; shift 4
    wanted "$letter" || return 0
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    say "==> $letter) $name ($DURATION, $conns connections)"
    # Warm-up, not measured: connections opened, caches filled, the seed's vacuum and the replica's
    # catching up out of the way.
    env "${envs[@]}" wrk -t2 -c"$conns" -d"$WARMUP" --timeout 5s "$@" "$GATEWAY_URL" >/dev/null 2>&1 || true
    local samples="$work/lag-$letter"
    : >"$samples"
    lag_sampler "$samples" &
    local sampler=$!
    # Statement statistics of this scenario alone (see statements_report).
    "${PSQL[@]}" -tAc "SELECT pg_stat_statements_reset()" >/dev/null
    table_writes >"$work/tables-$letter"
    local profiler=""
    if [ "${BENCH_PROFILE:-0}" = 1 ] && [ "$limit" != proxy-hop ]; then
        perf record -a -g -F 499 -o "$work/perf-$letter.data" -- sleep $((SECS * 3 / 4)) >/dev/null 2>&1 &
        profiler=$!
    fi
    local json roots cpu
    mapfile -t roots < <(stack_roots)
    cpu_snap "$letter-before"
    json="$(env "${envs[@]}" wrk -t2 -c"$conns" -d"$DURATION" --timeout 5s "$@" "$GATEWAY_URL" | wrk_json)"
    # Before the sampler is reaped: its queries are its own component, not the load's.
    cpu_snap "$letter-after"
    [ -n "$profiler" ] && roots+=(--root "profiler=$profiler")
    cpu="$(cpu_split "$letter-before" "$letter-after" "$(answers "$json")" \
        "${roots[@]}" --root "sampler=$sampler" --detail postgres)"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local during drain
    during="$(lag_max_ms "$samples")"
    drain="$(lag_drain_secs)"
    if [ -n "$profiler" ]; then
        wait "$profiler" || true
        perf report -i "$work/perf-$letter.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -25 >"$OUT/profile-$letter-comm.txt" || true
        perf report -i "$work/perf-$letter.data" --no-children --sort sym --stdio -g none 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -40 >"$OUT/profile-$letter-sym.txt" || true
        say "    profile: $OUT/profile-$letter-comm.txt, $OUT/profile-$letter-sym.txt"
    fi
    statements_report "$letter"
    tables_report "$letter"
    record "$(with_cpu "$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(kind="scenario", letter=sys.argv[2], name=sys.argv[3], limit=sys.argv[4], connections=int(sys.argv[5]), lag_max_ms=int(sys.argv[6]), lag_drained_s=float(sys.argv[7])); print(json.dumps(r))' \
        "$json" "$letter" "$name" "$limit" "$conns" "$during" "$drain")" "$cpu")"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("    %.0f/s 2xx, p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, non-2xx %d, socket errors %d; ledger lag max %s ms, drained %s s after" % (r["ok"]/r["seconds"], r["p50_ms"], r["p99_ms"], r["p999_ms"], r["non_2xx"], r["socket_errors"], sys.argv[2], sys.argv[3]))' \
        "$json" "$during" "$drain" >&2
    cpu_line "$cpu"
}

# An ETag the gateway hands out for one product (the conditional-GET scenario revalidates it).
product_etag() {
    curl -fsS -D - -o /dev/null -H "Authorization: Bearer $BENCH_TOKEN" "$GATEWAY_URL/products/$(head -1 "$work/products")" |
        tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'
}

run_scenario a "POST /stock/movements SALE, random level of $levels" sale-random "$SALE_CONNECTIONS" BENCH_HOT=0 -- -s "$BENCH_DIR/sale.lua"
run_scenario b "GET /stock/{store}?limit=100, random store (cached)" proxy-hop "$CONNECTIONS" BENCH_PATHS="$work/stock-pages" -- -s "$BENCH_DIR/get.lua"
run_scenario c "POST /stock/movements SALE, one hot level" sale-hot "$SALE_CONNECTIONS" BENCH_HOT=1 -- -s "$BENCH_DIR/sale.lua"
run_scenario d "GET /products/{id}, random product (cached)" proxy-hop "$CONNECTIONS" BENCH_PATHS="$work/product-items" -- -s "$BENCH_DIR/get.lua"
run_scenario e "GET /products?limit=100 (cached)" proxy-hop "$CONNECTIONS" BENCH_PATHS="$work/product-pages" -- -s "$BENCH_DIR/get.lua"
if wanted f; then
    echo "/products/$(head -1 "$work/products")" >"$work/product-one"
    etag="$(product_etag)"
    if [ -n "$etag" ]; then
        run_scenario f "GET /products/{id} with If-None-Match (304)" proxy-hop "$CONNECTIONS" BENCH_PATHS="$work/product-one" BENCH_ETAG="$etag" BENCH_OK_STATUS=304 -- -s "$BENCH_DIR/get.lua"
    else
        say "==> f) skipped: the gateway hands out no ETag for products"
    fi
fi
run_scenario g "GET /reports/stores/{store}/daily, random store (uncached: the replica when there is one)" proxy-hop "$CONNECTIONS" BENCH_PATHS="$work/daily-reports" -- -s "$BENCH_DIR/get.lua"
# Writes of several levels per request; no limit of their own (ratio n/a): compare them run to run.
run_scenario h "POST /stock/transfers of 1 unit, random product and stores (2 levels)" none "$SALE_CONNECTIONS" BENCH_LINES=transfer -- -s "$BENCH_DIR/lines.lua"
run_scenario i "POST /stock/movements/batch of 10 SALEs, random levels" none "$SALE_CONNECTIONS" BENCH_LINES=10 -- -s "$BENCH_DIR/lines.lua"
# What a point-of-sale client that may retry sends: each sale with an Idempotency-Key of its own
# (the key's lock, its lookup and the stored response join the sale's transaction).
run_scenario j "POST /stock/movements SALE with an Idempotency-Key, random level of $levels" sale-random "$SALE_CONNECTIONS" BENCH_HOT=0 BENCH_IDEMPOTENT=1 -- -s "$BENCH_DIR/sale.lua"

# --- report -----------------------------------------------------------------------------------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
python3 "$BENCH_DIR/report.py" --results "$results" --json "$OUT/bench-$stamp.json" \
    --meta "stores=$STORES" "products=$PRODUCTS" "duration_s=$SECS" "pg_clients=$PG_CLIENTS" \
    "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "bin_dir=$BIN_DIR" "cores=$(nproc)" "replicas=${PG_REPLICAS:-1}" "sync_replica=${PG_SYNC_REPLICA:-0}" "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
cp "$OUT/bench-$stamp.json" "$OUT/latest.json"
say "JSON: $OUT/bench-$stamp.json (and latest.json)"
