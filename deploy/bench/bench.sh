#!/usr/bin/env bash
# `make bench`: a release build of the stack on its own ports, seeded with BENCH_STORES × BENCH_PRODUCTS
# stock levels, then fixed-duration load through the gateway with real tokens (wrk), and the same SQL
# straight against PostgreSQL (pgbench) for comparison. Prints one line per scenario.
#
# Settings: BENCH_STORES (500), BENCH_PRODUCTS (2000), BENCH_DURATION (20s), BENCH_CONNECTIONS (64),
# BENCH_PG_CLIENTS (16), BENCH_KEEP=1 to leave the bench stack running afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export BENCH_DIR="$ROOT/deploy/bench"
export STACK=bench PG_PORT=15632 REDIS_PORT=16579 GATEWAY_PORT=28080 SERVICE_PORT_BASE=28200
export BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
# Limits out of the way: this measures the system, not the limiter.
export INVENTORY_RATE_LIMIT_PER_SECOND=1000000 INVENTORY_RATE_LIMIT_BURST=1000000
export GATEWAY_RATE=1000000r/s GATEWAY_BURST=1000000
export RUST_LOG="${RUST_LOG:-warn}"
# Prometheus scraping would be load the benchmark measures; `PROMETHEUS=1 make bench` keeps it.
export PROMETHEUS="${PROMETHEUS:-0}"
STORES="${BENCH_STORES:-500}"
PRODUCTS="${BENCH_PRODUCTS:-2000}"
DURATION="${BENCH_DURATION:-20s}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
PG_CLIENTS="${BENCH_PG_CLIENTS:-16}"
STACK_SCRIPT="$ROOT/deploy/local/stack.sh"
STATE="$ROOT/.state/$STACK"

command -v wrk >/dev/null || { sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo; $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

echo "==> release build"
cargo build --release --bins --quiet
finish() {
    if [ "${BENCH_KEEP:-0}" != 1 ]; then "$STACK_SCRIPT" clean >/dev/null 2>&1 || true; fi
}
trap finish EXIT
"$STACK_SCRIPT" clean >/dev/null 2>&1 || true
"$STACK_SCRIPT" up 2>&1 | grep -E "error|gateway on" || true
set -a; . "$STATE/stack.env"; . "$STATE/secrets.env"; set +a
PSQL=(psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U inventory -d inventory)
export PGPASSWORD="$PG_SUPERUSER_PASSWORD"

echo "==> seeding $STORES stores × $PRODUCTS products ($((STORES * PRODUCTS)) stock levels)"
seed_started=$SECONDS
"${PSQL[@]}" -v stores="$STORES" -v products="$PRODUCTS" -f "$BENCH_DIR/seed.sql"
echo "    seeded in $((SECONDS - seed_started)) s"
work="$STATE/bench"; mkdir -p "$work"
"${PSQL[@]}" -tAc "SELECT id FROM stores WHERE code LIKE 'BENCH-%' ORDER BY code" >"$work/stores"
"${PSQL[@]}" -tAc "SELECT id FROM products WHERE sku LIKE 'BENCH-SKU-%' ORDER BY sku" >"$work/products"
sed 's|^\(.*\)$|/stock/\1?limit=100|' "$work/stores" >"$work/stock-pages"
sed 's|^\(.*\)$|/products/\1|' "$work/products" >"$work/product-items"
echo "/products?limit=100" >"$work/product-pages"
levels=$((STORES * PRODUCTS))

BENCH_TOKEN="$(curl -fsS -X POST "$GATEWAY_URL/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$INVENTORY_ADMIN_USERNAME\",\"password\":\"$INVENTORY_ADMIN_PASSWORD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
export BENCH_TOKEN BENCH_STORES="$work/stores" BENCH_PRODUCTS="$work/products"

declare -A results
run_wrk() {
    local name="$1"; shift
    echo "==> $name ($DURATION, $CONNECTIONS connections)"
    local line
    line="$("$@" | grep '^RESULT' | sed 's/^RESULT //')"
    echo "    $line"
    results[$name]="$line"
}
throughput_of() { sed -n 's/.*throughput=\([0-9]*\).*/\1/p' <<<"$1"; }

wrk_base=(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 5s)
run_wrk "a) SALE, random level" env BENCH_HOT=0 "${wrk_base[@]}" -s "$BENCH_DIR/sale.lua" "$GATEWAY_URL"
run_wrk "b) GET /stock/{store}?limit=100" env BENCH_PATHS="$work/stock-pages" "${wrk_base[@]}" -s "$BENCH_DIR/get.lua" "$GATEWAY_URL"
run_wrk "c) SALE, one hot level" env BENCH_HOT=1 "${wrk_base[@]}" -s "$BENCH_DIR/sale.lua" "$GATEWAY_URL"
run_wrk "d) GET /products/{id} (cached)" env BENCH_PATHS="$work/product-items" "${wrk_base[@]}" -s "$BENCH_DIR/get.lua" "$GATEWAY_URL"
run_wrk "e) GET /products?limit=100 (cached)" env BENCH_PATHS="$work/product-pages" "${wrk_base[@]}" -s "$BENCH_DIR/get.lua" "$GATEWAY_URL"

echo "==> ledger after the load (lag = entries not yet delivered, pending = delivered, not acknowledged)"
for i in $(seq 1 30); do
    info="$(redis-cli --no-auth-warning -u "$REDIS_URL" XINFO GROUPS inventory.stock-events | paste - - | awk '{printf "%s=%s ", $1, $2}')"
    echo "    t+${i}s: $info" | tr -s ' '
    grep -q "lag=0 " <<<"$info " && grep -q "pending=0 " <<<"$info " && break
    sleep 1
done

pg_secs="${DURATION%s}"
pgbench_tps() {
    "$@" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}
echo "==> the same SQL straight against PostgreSQL (pgbench, $PG_CLIENTS clients, ${pg_secs}s)"
pg_random="$(pgbench_tps pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U inventory -c "$PG_CLIENTS" -j 2 -T "$pg_secs" -D levels="$levels" -D hot=0 -f "$BENCH_DIR/sale.pgbench" inventory)"
pg_hot="$(pgbench_tps pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U inventory -c "$PG_CLIENTS" -j 2 -T "$pg_secs" -D levels="$levels" -D hot=1 -f "$BENCH_DIR/sale.pgbench" inventory)"
echo "    random level: ${pg_random} tx/s    hot level: ${pg_hot} tx/s"

a="$(throughput_of "${results["a) SALE, random level"]}")"
c="$(throughput_of "${results["c) SALE, one hot level"]}")"
echo
echo "==> summary"
for name in "${!results[@]}"; do echo "$name: ${results[$name]}"; done | sort
python3 - "$a" "$pg_random" "$c" "$pg_hot" <<'PY'
import sys
a, pa, c, pc = (float(x or 0) for x in sys.argv[1:])
ratio = lambda x, y: f"{x / y:.2f}" if y else "n/a"
print(f"API/raw SQL ratio: random SALE {ratio(a, pa)} ({a:.0f} vs {pa:.0f} tx/s); hot SALE {ratio(c, pc)} ({c:.0f} vs {pc:.0f} tx/s)")
PY
