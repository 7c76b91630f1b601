# Every local stack's ports and per-stack settings, in one place (sourced by stack.sh, test.sh and
# deploy/bench/bench.sh; the README's port table describes it). `stack_defaults NAME` sets what the
# environment did not: a variable already set wins, so any one can be overridden.
#
#   dev    `make up`      the stack a newcomer uses, behind the gateway on :8080
#   test   `make test`    fresh for every run, without fsync (PG_FAST), traces to a test receiver
#   bench  `make bench`   durable like a deployment, plus the bench's own limit processes
#
# Every port lies below Linux's ephemeral range (32768-60999), so no client socket can hold one while
# a stack (re)starts. Derived ports: replica n of PostgreSQL on PG_PORT + n; instance n of auth,
# catalog, stock and the ledger on SERVICE_PORT_BASE + 0/20/40/60 + n; Prometheus and its Redis and
# PostgreSQL exporters on SERVICE_PORT_BASE + 90, 91, 92. Another stack name gets dev's ports.
# shellcheck shell=bash

stack_defaults() {
    local pg redis gateway services fast otlp="" limit_pg="" proxy=""
    case "$1" in
        test) pg=15532 redis=16479 gateway=18080 services=28100 fast=1 otlp=28199 ;;
        bench) pg=15632 redis=16579 gateway=28080 services=28200 fast=0 limit_pg=15690 proxy=28090 ;;
        *) pg=15432 redis=16379 gateway=8080 services=18100 fast=0 ;;
    esac
    PG_PORT="${PG_PORT:-$pg}"
    REDIS_PORT="${REDIS_PORT:-$redis}"
    GATEWAY_PORT="${GATEWAY_PORT:-$gateway}"
    SERVICE_PORT_BASE="${SERVICE_PORT_BASE:-$services}"
    PG_FAST="${PG_FAST:-$fast}"
    # The test stack's OTLP receiver (run by tests/e2e/tracing.rs while the services export to it).
    INVENTORY_TEST_OTLP_PORT="${INVENTORY_TEST_OTLP_PORT:-$otlp}"
    # The bench's private PostgreSQL for the lean-SALE limit, and its proxy-hop nginx (+1: upstream).
    BENCH_LIMIT_PG_PORT="${BENCH_LIMIT_PG_PORT:-$limit_pg}"
    BENCH_PROXY_PORT="${BENCH_PROXY_PORT:-$proxy}"
}
