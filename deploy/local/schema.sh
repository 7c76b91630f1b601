#!/usr/bin/env bash
# Prints the schema of a freshly migrated database with `diesel print-schema` and compares it with
# crates/db/src/schema.rs (`check`), or overwrites that file (`write`). Installs diesel_cli (PostgreSQL
# only) when it is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="${STACK:-dev}"
STATE_DIR="${STATE_DIR:-$ROOT/.state/$STACK}"
mode="${1:-check}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v diesel >/dev/null; then
    if [ ! -e /usr/include/postgresql/libpq-fe.h ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpq-dev >/dev/null
    fi
    echo "installing diesel_cli (PostgreSQL only)"
    cargo install diesel_cli --version '^2.3' --no-default-features --features postgres --locked --quiet
fi
export PATH="$HOME/.cargo/bin:$PATH"

# shellcheck disable=SC1091
. "$STATE_DIR/secrets.env"
. "$STATE_DIR/stack.env"
db="schema_check_$$"
url_base="postgres://inventory:$PG_SUPERUSER_PASSWORD@127.0.0.1:$INVENTORY_PG_PORT"
PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -q -h 127.0.0.1 -p "$INVENTORY_PG_PORT" -U inventory -d postgres -c "CREATE DATABASE $db"
trap 'PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -q -h 127.0.0.1 -p "$INVENTORY_PG_PORT" -U inventory -d postgres -c "DROP DATABASE IF EXISTS $db"' EXIT
DATABASE_URL="$url_base/$db" "$INVENTORY_BIN_DIR/inventory-migrate" >/dev/null
printed="$(mktemp)"
(cd "$ROOT/crates/db" && diesel print-schema --database-url "$url_base/$db") >"$printed"
if [ "$mode" = write ]; then
    cp "$printed" "$ROOT/crates/db/src/schema.rs"
    echo "wrote crates/db/src/schema.rs"
elif diff -u "$ROOT/crates/db/src/schema.rs" "$printed"; then
    echo "schema.rs matches the migrations"
else
    echo "crates/db/src/schema.rs differs from the migrated database: run 'make schema'" >&2
    exit 1
fi
