//! The SQL that heals the projections from the source of truth: movements missing from
//! `ledger_entries` are taken from `stock_movements`; `rebuild` re-derives every projection.
//!
//! A backfilled entry is keyed by its movement id (its `event_id` is the movement id too, as the
//! event's own id is not stored anywhere once the outbox row is gone). The unique index on
//! `ledger_entries.movement_id` makes the stream's copy of the same movement change nothing.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Nullable, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_events::MovementType;
use uuid::Uuid;

use crate::event::LedgerEvent;

/// The smallest UUIDv7 of the millisecond `at`: movement ids at or after `at` are `>=` it (movement
/// ids are UUIDv7, so a time range of movements is an index range of their primary key).
pub fn v7_floor(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0_u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}

/// Movements without an entry among those with an id `>= since`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct Gaps {
    /// All of them, including movements most likely still on their way through the stream.
    #[diesel(sql_type = BigInt)]
    pub missing: i64,
    /// Those committed before the backfill cut-off: a gap the stream will not close.
    #[diesel(sql_type = BigInt)]
    pub overdue: i64,
    /// When the oldest of them was committed.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub oldest: Option<DateTime<Utc>>,
}

/// Counts the movements with an id `>= since` that have no entry (`overdue`: created before `cut`).
#[tracing::instrument(skip_all)]
pub async fn gaps(
    conn: &mut AsyncPgConnection,
    since: Uuid,
    cut: DateTime<Utc>,
) -> Result<Gaps, diesel::result::Error> {
    diesel::sql_query(
        "SELECT count(*) AS missing, count(*) FILTER (WHERE m.created_at < $2) AS overdue, \
                min(m.created_at) AS oldest \
         FROM stock_movements m \
         WHERE m.id >= $1 \
           AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.movement_id = m.id)",
    )
    .bind::<SqlUuid, _>(since)
    .bind::<Timestamptz, _>(cut)
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct Backfilled {
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    product_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    movement_type: String,
    #[diesel(sql_type = BigInt)]
    delta: i64,
    #[diesel(sql_type = BigInt)]
    quantity_after: i64,
    #[diesel(sql_type = BigInt)]
    level_version: i64,
    #[diesel(sql_type = BigInt)]
    reorder_level: i64,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    occurred_at: DateTime<Utc>,
}

/// Inserts the entries of up to `limit` movements (id `>= since`, created before `cut`) that have
/// none, in id order, and returns them as events for the projections (the reorder level is the
/// level's current one: a movement row does not carry it). Runs in the caller's transaction.
#[tracing::instrument(skip_all, fields(limit))]
pub async fn backfill(
    conn: &mut AsyncPgConnection,
    since: Uuid,
    cut: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<LedgerEvent>, diesel::result::Error> {
    let rows: Vec<Backfilled> = diesel::sql_query(
        "WITH inserted AS ( \
             INSERT INTO ledger_entries (event_id, movement_id, store_id, product_id, \
                 movement_type, delta, quantity_after, level_version, user_id, occurred_at) \
             SELECT m.id, m.id, m.store_id, m.product_id, m.movement_type, m.delta, \
                 m.quantity_after, m.level_version, m.user_id, m.created_at \
             FROM stock_movements m \
             WHERE m.id >= $1 AND m.created_at < $2 \
               AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.movement_id = m.id) \
             ORDER BY m.id LIMIT $3 \
             ON CONFLICT DO NOTHING \
             RETURNING event_id, store_id, product_id, movement_type, delta, quantity_after, \
                 level_version, user_id, occurred_at) \
         SELECT i.*, COALESCE(s.reorder_level, 0) AS reorder_level \
         FROM inserted i \
         LEFT JOIN stock_levels s ON s.store_id = i.store_id AND s.product_id = i.product_id",
    )
    .bind::<SqlUuid, _>(since)
    .bind::<Timestamptz, _>(cut)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LedgerEvent {
            event_id: r.event_id,
            movement_id: r.event_id,
            store_id: r.store_id,
            product_id: r.product_id,
            // The table's CHECK admits only movement types; anything else would be a schema change.
            movement_type: MovementType::from_api_name(&r.movement_type)
                .unwrap_or(MovementType::Unspecified),
            delta: r.delta,
            quantity_after: r.quantity_after,
            level_version: r.level_version,
            reorder_level: r.reorder_level,
            user_id: r.user_id,
            occurred_at: r.occurred_at,
            traceparent: String::new(),
        })
        .collect())
}

/// What a full repair changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repaired {
    pub backfilled: usize,
    pub orphans_deleted: usize,
    pub entries_corrected: usize,
    pub daily_rows: usize,
    pub levels: usize,
    pub alerts: usize,
}

impl Repaired {
    /// Whether anything changed.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// Re-derives every projection from `stock_movements` (and `stock_levels` for quantities, reorder
/// levels and versions), changing only rows that differ. The caller holds the exclusive projection
/// lock and the transaction.
#[tracing::instrument(skip_all)]
pub async fn repair_all(
    conn: &mut AsyncPgConnection,
    cut: DateTime<Utc>,
) -> Result<Repaired, diesel::result::Error> {
    let mut repaired = Repaired::default();
    loop {
        let batch = backfill(conn, Uuid::nil(), cut, 50_000).await?;
        repaired.backfilled += batch.len();
        if batch.len() < 50_000 {
            break;
        }
    }
    repaired.orphans_deleted = execute(
        conn,
        // Entries of movements that do not exist (a database restored to an earlier point), and
        // reorder-level entries newer than their level.
        "DELETE FROM ledger_entries e \
         WHERE (e.movement_type <> 'REORDER_LEVEL_SET' \
                AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.id = e.movement_id)) \
            OR (e.movement_type = 'REORDER_LEVEL_SET' \
                AND NOT EXISTS (SELECT 1 FROM stock_levels s WHERE s.store_id = e.store_id \
                    AND s.product_id = e.product_id AND s.version >= e.level_version))",
    )
    .await?;
    repaired.entries_corrected = execute(
        conn,
        "UPDATE ledger_entries e SET store_id = m.store_id, product_id = m.product_id, \
             movement_type = m.movement_type, delta = m.delta, quantity_after = m.quantity_after, \
             level_version = m.level_version, user_id = m.user_id, occurred_at = m.created_at \
         FROM stock_movements m \
         WHERE m.id = e.movement_id \
           AND (e.store_id, e.product_id, e.movement_type, e.delta, e.quantity_after, \
                e.level_version, e.user_id, e.occurred_at) \
               IS DISTINCT FROM (m.store_id, m.product_id, m.movement_type, m.delta, \
                m.quantity_after, m.level_version, m.user_id, m.created_at)",
    )
    .await?;
    repaired.daily_rows = execute(
        conn,
        "WITH fresh AS ( \
             SELECT store_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, product_id, \
                 sum(GREATEST(delta, 0))::int8 AS qty_in, sum(GREATEST(-delta, 0))::int8 AS qty_out, \
                 (array_agg(quantity_after ORDER BY level_version DESC))[1] AS closing, \
                 max(level_version) AS closing_version \
             FROM ledger_entries WHERE movement_type <> 'REORDER_LEVEL_SET' \
             GROUP BY 1, 2, 3) \
         INSERT INTO ledger_daily (store_id, day, product_id, qty_in, qty_out, closing, closing_version) \
         SELECT * FROM fresh ORDER BY store_id, day, product_id \
         ON CONFLICT (store_id, day, product_id) DO UPDATE SET \
             qty_in = EXCLUDED.qty_in, qty_out = EXCLUDED.qty_out, closing = EXCLUDED.closing, \
             closing_version = EXCLUDED.closing_version \
         WHERE (ledger_daily.qty_in, ledger_daily.qty_out, ledger_daily.closing, \
                ledger_daily.closing_version) \
             IS DISTINCT FROM (EXCLUDED.qty_in, EXCLUDED.qty_out, EXCLUDED.closing, \
                EXCLUDED.closing_version)",
    )
    .await?
        + execute(
            conn,
            "DELETE FROM ledger_daily d WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e \
                 WHERE e.store_id = d.store_id AND e.product_id = d.product_id \
                   AND e.movement_type <> 'REORDER_LEVEL_SET' \
                   AND (e.occurred_at AT TIME ZONE 'UTC')::date = d.day)",
        )
        .await?;
    repaired.levels = execute(
        conn,
        "INSERT INTO ledger_levels (store_id, product_id, quantity, reorder_level, version, last_event_at) \
         SELECT store_id, product_id, quantity, reorder_level, version, updated_at \
         FROM stock_levels WHERE version > 0 ORDER BY store_id, product_id \
         ON CONFLICT (store_id, product_id) DO UPDATE SET \
             quantity = EXCLUDED.quantity, reorder_level = EXCLUDED.reorder_level, \
             version = EXCLUDED.version, last_event_at = EXCLUDED.last_event_at \
         WHERE (ledger_levels.quantity, ledger_levels.reorder_level, ledger_levels.version) \
             IS DISTINCT FROM (EXCLUDED.quantity, EXCLUDED.reorder_level, EXCLUDED.version)",
    )
    .await?
        + execute(
            conn,
            "DELETE FROM ledger_levels l WHERE NOT EXISTS (SELECT 1 FROM stock_levels s \
                 WHERE s.store_id = l.store_id AND s.product_id = l.product_id AND s.version > 0)",
        )
        .await?;
    repaired.alerts = repair_alerts(conn).await?;
    Ok(repaired)
}

/// Closes open alerts of levels that are not low, refreshes the open ones, and opens one for each
/// low level without one (the history of closed alerts stays).
async fn repair_alerts(conn: &mut AsyncPgConnection) -> Result<usize, diesel::result::Error> {
    const LOW: &str = "l.reorder_level > 0 AND l.quantity <= l.reorder_level";
    let closed = execute(
        conn,
        &format!(
            "UPDATE low_stock_alerts a SET closed_at = GREATEST(l.last_event_at, a.opened_at), \
                 quantity = l.quantity, reorder_level = l.reorder_level \
             FROM ledger_levels l \
             WHERE a.store_id = l.store_id AND a.product_id = l.product_id \
               AND a.closed_at IS NULL AND NOT ({LOW})"
        ),
    )
    .await?
        + execute(
            conn,
            "UPDATE low_stock_alerts a SET closed_at = GREATEST(now(), a.opened_at) \
             WHERE a.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM ledger_levels l \
                 WHERE l.store_id = a.store_id AND l.product_id = a.product_id)",
        )
        .await?;
    let refreshed = execute(
        conn,
        &format!(
            "UPDATE low_stock_alerts a SET quantity = l.quantity, reorder_level = l.reorder_level \
             FROM ledger_levels l \
             WHERE a.store_id = l.store_id AND a.product_id = l.product_id \
               AND a.closed_at IS NULL AND {LOW} \
               AND (a.quantity, a.reorder_level) IS DISTINCT FROM (l.quantity, l.reorder_level)"
        ),
    )
    .await?;
    let opened = execute(
        conn,
        &format!(
            "INSERT INTO low_stock_alerts (id, store_id, product_id, quantity, reorder_level, opened_at) \
             SELECT gen_random_uuid(), l.store_id, l.product_id, l.quantity, l.reorder_level, \
                 l.last_event_at \
             FROM ledger_levels l \
             WHERE {LOW} AND NOT EXISTS (SELECT 1 FROM low_stock_alerts a \
                 WHERE a.store_id = l.store_id AND a.product_id = l.product_id \
                   AND a.closed_at IS NULL)"
        ),
    )
    .await?;
    Ok(closed + refreshed + opened)
}

async fn execute(conn: &mut AsyncPgConnection, sql: &str) -> Result<usize, diesel::result::Error> {
    diesel::sql_query(sql).execute(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_floor_orders_before_every_id_of_its_millisecond() {
        let at = DateTime::from_timestamp_millis(1_795_564_800_123).unwrap_or_default();
        let floor = v7_floor(at);
        assert_eq!(floor.get_version_num(), 7);
        let same_ms = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            1_795_564_800,
            123_000_000,
        ));
        assert!(floor <= same_ms);
        let earlier = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            1_795_564_800,
            122_000_000,
        ));
        assert!(earlier < floor);
    }
}
