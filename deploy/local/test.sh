#!/usr/bin/env bash
# `make test`: builds everything, starts a fresh test stack (its own ports and state), checks the
# committed diesel schema against the migrations, runs every test, and tears the stack down whatever
# happens. Exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export STACK="${STACK:-test}"
STACK_SCRIPT="$ROOT/deploy/local/stack.sh"
# The test stack's ports (deploy/local/stacks.sh), exported for the stack and the tests.
# shellcheck source=deploy/local/stacks.sh
. "$ROOT/deploy/local/stacks.sh"
stack_defaults "$STACK"
export PG_PORT REDIS_PORT GATEWAY_PORT SERVICE_PORT_BASE PG_FAST INVENTORY_TEST_OTLP_PORT

# Cheap bcrypt for tests; production keeps the default cost of 12.
export INVENTORY_BCRYPT_COST="${INVENTORY_BCRYPT_COST:-4}"
export RUST_LOG="${RUST_LOG:-info,opentelemetry_sdk=off,opentelemetry_otlp=off}"
# Spans go to a receiver that the tracing end-to-end test runs on INVENTORY_TEST_OTLP_PORT.
# Small log files, so that tests/e2e/stack_logs.rs can write past the cap quickly.
export LOG_MAX_BYTES="${LOG_MAX_BYTES:-262144}" LOG_KEEP="${LOG_KEEP:-2}"
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$INVENTORY_TEST_OTLP_PORT"
export OTEL_BSP_SCHEDULE_DELAY=200
# The end-to-end tests create many users from one address: the auth limits are raised, not removed.
export INVENTORY_RATE_LIMIT_PER_SECOND="${INVENTORY_RATE_LIMIT_PER_SECOND:-2000}"
export INVENTORY_RATE_LIMIT_BURST="${INVENTORY_RATE_LIMIT_BURST:-4000}"
export INVENTORY_AUTH_RATE_LIMIT_PER_MINUTE="${INVENTORY_AUTH_RATE_LIMIT_PER_MINUTE:-100000}"
export INVENTORY_AUTH_RATE_LIMIT_BURST="${INVENTORY_AUTH_RATE_LIMIT_BURST:-2000}"
# Failed logins per (username, address): low enough that the wrong-password flood of
# tests/e2e/hostile_bounds.rs is limited (and must not lock the admin out from another address).
export INVENTORY_LOGIN_ATTEMPTS_PER_MINUTE="${INVENTORY_LOGIN_ATTEMPTS_PER_MINUTE:-60}"
export GATEWAY_RATE="${GATEWAY_RATE:-2000r/s}" GATEWAY_BURST="${GATEWAY_BURST:-4000}"
# Enough for the end-to-end suite's logins; tests/e2e/limits.rs floods past it on purpose.
export GATEWAY_AUTH_RATE="${GATEWAY_AUTH_RATE:-100r/s}" GATEWAY_AUTH_BURST="${GATEWAY_AUTH_BURST:-100}"

started=$(date +%s)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# The docs page is checked in a real headless browser.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "==> installing Debian's chromium and chromium-driver (for the API explorer test)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
# schemathesis (from PyPI) fuzzes the gateway against its OpenAPI document; kept in a reusable venv.
ST_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/inventory/schemathesis"
if [ ! -x "$ST_VENV/bin/schemathesis" ]; then
    echo "==> installing schemathesis into $ST_VENV"
    python3 -m venv "$ST_VENV" || {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$ST_VENV"
    }
    "$ST_VENV/bin/pip" install -q 'schemathesis>=4,<5'
fi
# openapi-python-client (from PyPI) generates a client from the gateway's document for a round trip.
OPC_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/inventory/openapi-client"
if [ ! -x "$OPC_VENV/bin/openapi-python-client" ]; then
    echo "==> installing openapi-python-client into $OPC_VENV"
    python3 -m venv "$OPC_VENV"
    "$OPC_VENV/bin/pip" install -q 'openapi-python-client>=0.26,<0.30'
fi
echo "==> building (services and tests)"
cargo build --workspace --bins
cargo test --workspace --no-run --lib --bins --tests

# Every runner's results, for the closing summary line.
RESULTS="$(mktemp)"

summary() {
    local code="$1" passed failed
    passed="$(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$RESULTS" | awk '{s+=$1} END {print s+0}')"
    failed="$(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$RESULTS" | awk '{s+=$1} END {print s+0}')"
    # A failure outside the test runners (build, stack, schemathesis) still counts as one.
    if [ "$code" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
    echo "tests: $passed passed, $failed failed"
    rm -f "$RESULTS"
}

cleanup() {
    local code=$?
    if [ "$code" != 0 ] && [ -d "$ROOT/.state/$STACK/logs" ]; then
        echo "==> the last lines of each log of the test stack"
        for f in "$ROOT/.state/$STACK/logs"/*.log; do echo "--- $f"; tail -n 25 "$f"; done
    fi
    echo "==> tearing down the test stack"
    "$STACK_SCRIPT" clean || true
    echo "==> make test finished in $(( $(date +%s) - started )) s with exit code $code"
    summary "$code"
    exit "$code"
}
trap cleanup EXIT

"$STACK_SCRIPT" clean >/dev/null 2>&1 || true
echo "==> starting the test stack"
"$STACK_SCRIPT" up

set -a
# shellcheck disable=SC1091
. "$ROOT/.state/$STACK/stack.env"
set +a

echo "==> checking the committed diesel schema against the migrations"
"$ROOT/deploy/local/schema.sh" check

echo "==> checking the alert rules (promtool) and the cluster's copy of them"
promtool check rules deploy/prometheus/rules.yml
promtool test rules deploy/prometheus/rules_test.yml
python3 deploy/prometheus/render_k8s.py --check
echo "==> checking that deploy/k8s/gateway.conf is rendered from the current gateway template"
python3 deploy/nginx/render.py --out "$RESULTS.gateway.conf" --listen 8080 --state /tmp/nginx --logs /var/log/inventory \
    --docs /etc/inventory/docs --upstream auth=auth:8080 --upstream catalog=catalog:8080 --upstream stock=stock:8080
diff -u deploy/k8s/gateway.conf "$RESULTS.gateway.conf" || { echo "deploy/k8s/gateway.conf is stale: render it (deploy/k8s/README.md)"; exit 1; }
rm -f "$RESULTS.gateway.conf"

echo "==> running the tests"
cargo test --workspace --no-fail-fast --lib --bins --tests -- --test-threads="${TEST_THREADS:-8}" 2>&1 | tee "$RESULTS"

echo "==> generating a Python client from /openapi.json (openapi-python-client) and using it"
CLIENT_DIR="$(mktemp -d)"
curl -fsS "$GATEWAY_URL/openapi.json" -o "$CLIENT_DIR/openapi.json"
printf 'post_hooks: []\n' >"$CLIENT_DIR/config.yml"
"$OPC_VENV/bin/openapi-python-client" generate --path "$CLIENT_DIR/openapi.json" --config "$CLIENT_DIR/config.yml" \
    --meta none --output-path "$CLIENT_DIR/inventory_client" >/dev/null
PYTHONPATH="$CLIENT_DIR" "$OPC_VENV/bin/python" tests/client/roundtrip.py "$GATEWAY_URL" \
    "$INVENTORY_ADMIN_USERNAME" "$INVENTORY_ADMIN_PASSWORD"
rm -rf "$CLIENT_DIR"

# Last, because it writes whatever its generator invents with an admin token. No stateful phase: it
# would reuse real ids (the admin's own) in PATCH /auth/users/{id}. Two checks are off: the
# unsupported-method one, because nginx itself answers TRACE with a 405 that has no Allow header (not
# configurable; the services answer other undeclared methods 405 with Allow); and positive-data acceptance, because the API deliberately refuses what JSON Schema
# cannot rule out: whole-number floats such as 2.0 for integer fields, and rules across two fields
# (a report's `from` after its `to`, a transfer to the same store). One worker: with two, CPython's
# AST parser, which hypothesis calls from both threads, failed now and then ("AST constructor recursion
# depth mismatch").
echo "==> fuzzing the gateway against its OpenAPI document (schemathesis)"
token="$(curl -fsS -X POST "$GATEWAY_URL/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$INVENTORY_ADMIN_USERNAME\",\"password\":\"$INVENTORY_ADMIN_PASSWORD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
"$ST_VENV/bin/schemathesis" run "$GATEWAY_URL/openapi.json" --url "$GATEWAY_URL" \
    -H "Authorization: Bearer $token" --checks all --exclude-checks unsupported_method,positive_data_acceptance \
    --phases examples,coverage,fuzzing --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" -w 1 --seed 1
