//! The stock service's side of a history: the stores, products, levels and movement rows that the
//! events of a [`History`](crate::helpers::History) describe, as the stock service commits them.

use std::collections::BTreeMap;

use diesel_async::AsyncPgConnection;
use inventory_events::{MovementType, StockEvent};
use uuid::Uuid;

/// Writes the rows behind `events`: every store and product, each level in its final state (the
/// event with the highest version), and one `stock_movements` row per movement event (its id is
/// the event's `movement_id`, its time the event's).
pub async fn record(conn: &mut AsyncPgConnection, events: &[StockEvent]) {
    let mut levels: BTreeMap<(String, String), &StockEvent> = BTreeMap::new();
    for e in events {
        let key = (e.store_id.clone(), e.product_id.clone());
        let newer = levels
            .get(&key)
            .is_none_or(|cur| e.level_version > cur.level_version);
        if newer {
            levels.insert(key, e);
        }
    }
    let mut level_ids = BTreeMap::new();
    for ((store, product), last) in &levels {
        let id = Uuid::now_v7();
        level_ids.insert((store.clone(), product.clone()), id);
        run(
            conn,
            format!(
                "INSERT INTO stores (id, name) VALUES ('{store}', 'S') ON CONFLICT DO NOTHING; \
                 INSERT INTO products (id, sku, name, price_cents) \
                     VALUES ('{product}', 'SKU-{product}', 'P', 100) ON CONFLICT DO NOTHING; \
                 INSERT INTO stock_levels (id, store_id, product_id, quantity, reorder_level, \
                     version, updated_at) \
                 VALUES ('{id}', '{store}', '{product}', {}, {}, {}, to_timestamp({} / 1e6))",
                last.quantity_after,
                last.reorder_level,
                last.level_version,
                last.occurred_at_micros
            ),
        )
        .await;
    }
    let rows: Vec<String> = events
        .iter()
        .filter(|e| e.movement_type() != MovementType::ReorderLevelSet)
        .map(|e| {
            let level = level_ids[&(e.store_id.clone(), e.product_id.clone())];
            format!(
                "('{}', '{}', '{}', '{level}', '{}', {}, {}, {}, {}, '{}', to_timestamp({} / 1e6))",
                e.movement_id,
                e.store_id,
                e.product_id,
                e.movement_type().api_name(),
                e.delta.abs(),
                e.delta,
                e.quantity_after,
                e.level_version,
                e.user_id,
                e.occurred_at_micros
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        run(
            conn,
            format!(
                "INSERT INTO stock_movements (id, store_id, product_id, level_id, movement_type, \
                     quantity, delta, quantity_after, level_version, user_id, created_at) \
                 VALUES {}",
                chunk.join(", ")
            ),
        )
        .await;
    }
}

/// Runs statements (several separated by `;` are allowed: no bind parameters).
pub async fn run(conn: &mut AsyncPgConnection, sql: String) {
    diesel_async::SimpleAsyncConnection::batch_execute(conn, &sql)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// How many movements have other than exactly one entry.
pub async fn movements_without_exactly_one_entry(conn: &mut AsyncPgConnection) -> i64 {
    crate::helpers::count(
        conn,
        "SELECT count(*) AS n FROM stock_movements m \
         WHERE (SELECT count(*) FROM ledger_entries e WHERE e.movement_id = m.id) <> 1",
    )
    .await
}
