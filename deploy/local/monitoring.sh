# Prometheus for the local stack, sourced by stack.sh (uses its helpers and settings).
#
# Prometheus (Debian's package) scrapes every instance of every service and the ledger worker, plus
# Redis and PostgreSQL through their exporters (Debian's prometheus-redis-exporter and
# prometheus-postgres-exporter). Targets are files under $STATE_DIR/prometheus/targets/, rewritten
# by every `stack.sh up`, so a change of instance counts reaches Prometheus without a restart
# (file-based discovery). The alert rules are deploy/prometheus/rules.yml. Everything listens on
# 127.0.0.1; the TSDB is capped by PROMETHEUS_RETENTION_SIZE. PROMETHEUS=0 skips all of it.

PROMETHEUS="${PROMETHEUS:-1}"
PROMETHEUS_RETENTION_SIZE="${PROMETHEUS_RETENTION_SIZE:-256MB}"
PROM_DIR="$STATE_DIR/prometheus"

prometheus_port() { echo $((SERVICE_PORT_BASE + 90)); }
redis_exporter_port() { echo $((SERVICE_PORT_BASE + 91)); }
pg_exporter_port() { echo $((SERVICE_PORT_BASE + 92)); }

# Debian's packages start their daemon (on every interface) when installed; a policy-rc.d that
# refuses keeps the install from starting anything: the stack starts its own private copies.
ensure_monitoring_packages() {
    local missing=()
    command -v prometheus >/dev/null || missing+=(prometheus)
    command -v prometheus-redis-exporter >/dev/null || missing+=(prometheus-redis-exporter)
    command -v prometheus-postgres-exporter >/dev/null || missing+=(prometheus-postgres-exporter)
    [ ${#missing[@]} -gt 0 ] || return 0
    log "installing ${missing[*]} from the system packages (no daemon is started by the install)"
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        created=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ "$created" = 1 ] && as_root rm -f "$policy"
    return 0
}

# One file_sd file per job, listing every instance's health/metrics port.
write_prometheus_targets() {
    mkdir -p "$PROM_DIR/targets"
    local svc n list tmp
    for svc in auth catalog stock ledger; do
        list=""
        for n in $(seq 1 "$(instances_of "$svc")"); do
            list="$list${list:+, }\"127.0.0.1:$(service_port "$svc" "$n")\""
        done
        tmp="$PROM_DIR/targets/.$svc.json"
        printf '[{"targets": [%s], "labels": {"job": "%s", "stack": "%s"}}]\n' "$list" "$svc" "$STACK" >"$tmp"
        mv "$tmp" "$PROM_DIR/targets/$svc.json"
    done
    printf '[{"targets": ["127.0.0.1:%s"], "labels": {"job": "redis", "stack": "%s"}}]\n' "$(redis_exporter_port)" "$STACK" >"$PROM_DIR/targets/redis.json"
    printf '[{"targets": ["127.0.0.1:%s"], "labels": {"job": "postgres", "stack": "%s"}}]\n' "$(pg_exporter_port)" "$STACK" >"$PROM_DIR/targets/postgres.json"
}

write_prometheus_config() {
    cat >"$PROM_DIR/prometheus.yml" <<YML
# Written by deploy/local/stack.sh; edit deploy/local/monitoring.sh instead.
global:
  scrape_interval: 5s
  evaluation_interval: 15s
rule_files:
  - $ROOT/deploy/prometheus/rules.yml
scrape_configs:
  - job_name: inventory
    file_sd_configs:
      - files: ['$PROM_DIR/targets/*.json']
        refresh_interval: 10s
YML
}

# Starts monitoring process $1 (command "${@:2}") unless it runs and answers (procs.sh), its output
# through the rotating log writer like every other process of the stack.
start_monitored() {
    local name="$1"
    shift
    needs_start "$name" "$PIDS/$name.pid" && return 0
    start_logged "$name" "$PIDS/$name.pid" "$@"
    log "started $name (pid $(pid_of "$PIDS/$name.pid"))"
}

start_monitoring() {
    [ "$PROMETHEUS" = 1 ] || return 0
    ensure_monitoring_packages
    mkdir -p "$PROM_DIR/data"
    write_prometheus_targets
    write_prometheus_config
    REDIS_ADDR="redis://127.0.0.1:$REDIS_PORT" REDIS_PASSWORD="${REDIS_PASSWORD:-}" \
        start_monitored redis-exporter prometheus-redis-exporter \
        --web.listen-address="127.0.0.1:$(redis_exporter_port)"
    DATA_SOURCE_NAME="postgresql://inventory:$PG_SUPERUSER_PASSWORD@127.0.0.1:$PG_PORT/inventory?sslmode=disable" \
        start_monitored pg-exporter prometheus-postgres-exporter \
        --web.listen-address="127.0.0.1:$(pg_exporter_port)"
    if needs_start prometheus "$PIDS/prometheus.pid"; then
        # Picks up a changed rule file; targets are re-read by themselves.
        curl -fsS -X POST "http://127.0.0.1:$(prometheus_port)/-/reload" >/dev/null 2>&1 || true
        return
    fi
    start_monitored prometheus prometheus --config.file="$PROM_DIR/prometheus.yml" \
        --storage.tsdb.path="$PROM_DIR/data" --storage.tsdb.retention.size="$PROMETHEUS_RETENTION_SIZE" \
        --web.listen-address="127.0.0.1:$(prometheus_port)" --web.enable-lifecycle
}

wait_monitoring_ready() {
    [ "$PROMETHEUS" = 1 ] || return 0
    wait_ready "http://127.0.0.1:$(prometheus_port)/-/ready" prometheus
}
