//! Applying a batch of events to `ledger_entries`, `ledger_daily`, `ledger_levels` and
//! `low_stock_alerts`, in one transaction.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Date, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use inventory_db::fixed::fixed;
use uuid::Uuid;

use crate::{
    event::LedgerEvent,
    projection::{LevelState, Overflow, project},
};

/// Why a batch could not be applied (the transaction rolled back).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// A low-stock alert that this batch opened or closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    pub alert_id: Uuid,
    pub opened: bool,
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub quantity: i64,
    pub reorder_level: i64,
    pub at: DateTime<Utc>,
}

/// What one committed batch did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Events seen for the first time (the others were duplicates and changed nothing).
    pub new_events: HashSet<Uuid>,
    pub alerts: Vec<AlertChange>,
}

#[derive(QueryableByName)]
struct EventId {
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
}

#[derive(QueryableByName)]
struct ChangedLevel {
    #[diesel(sql_type = SqlUuid)]
    store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    product_id: Uuid,
}

#[derive(QueryableByName)]
struct AlertRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    product_id: Uuid,
    #[diesel(sql_type = BigInt)]
    quantity: i64,
    #[diesel(sql_type = BigInt)]
    reorder_level: i64,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
}

impl AlertRow {
    fn change(self, opened: bool) -> AlertChange {
        AlertChange {
            alert_id: self.id,
            opened,
            store_id: self.store_id,
            product_id: self.product_id,
            quantity: self.quantity,
            reorder_level: self.reorder_level,
            at: self.at,
        }
    }
}

/// Applies `events` in one transaction: entries keyed by event id and by movement id (an event
/// seen before, or a movement already backfilled from `stock_movements`, changes nothing), and
/// only the newly inserted ones update the daily rows, the levels (latest by version) and the alerts.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn apply(
    conn: &mut AsyncPgConnection,
    events: &[LedgerEvent],
) -> Result<Applied, ApplyError> {
    let mut sorted: Vec<&LedgerEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.event_id);
    sorted.dedup_by_key(|e| e.event_id);
    conn.transaction::<_, ApplyError, _>(async |conn| {
        lock_shared(conn).await?;
        let new_events = insert_entries(conn, &sorted).await?;
        let alerts = project_new(
            conn,
            sorted
                .iter()
                .copied()
                .filter(|e| new_events.contains(&e.event_id)),
        )
        .await?;
        Ok(Applied { new_events, alerts })
    })
    .await
}

/// The advisory lock that orders applying (shared: any number of batches at once) against
/// `rebuild` and `reconcile --repair` (exclusive: they rewrite projections from scratch).
pub const PROJECTION_LOCK: i64 = 0x4C45_4447; // "LEDG"

/// Takes the projection lock in shared mode until the end of the transaction.
pub async fn lock_shared(conn: &mut AsyncPgConnection) -> Result<(), diesel::result::Error> {
    fixed("SELECT pg_advisory_xact_lock_shared($1)")
        .bind::<BigInt, _>(PROJECTION_LOCK)
        .execute(conn)
        .await
        .map(drop)
}

/// Takes the projection lock exclusively until the end of the transaction (waits for the batches
/// being applied; new ones wait for this transaction).
pub async fn lock_exclusive(conn: &mut AsyncPgConnection) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(PROJECTION_LOCK)
        .execute(conn)
        .await
        .map(drop)
}

/// Adds events whose entries were just inserted (each exactly once) to the daily rows, the levels
/// (latest by version) and the alerts. Runs inside the caller's transaction.
pub async fn project_new<'a>(
    conn: &mut AsyncPgConnection,
    events: impl IntoIterator<Item = &'a LedgerEvent>,
) -> Result<Vec<AlertChange>, ApplyError> {
    let projection = project(events)?;
    upsert_daily(conn, &projection.daily).await?;
    let changed = upsert_levels(conn, &projection.levels).await?;
    let changed: Vec<&LevelState> = projection
        .levels
        .iter()
        .filter(|l| changed.contains(&(l.store_id, l.product_id)))
        .collect();
    Ok(update_alerts(conn, &changed).await?)
}

async fn insert_entries(
    conn: &mut AsyncPgConnection,
    events: &[&LedgerEvent],
) -> Result<HashSet<Uuid>, diesel::result::Error> {
    if events.is_empty() {
        return Ok(HashSet::new());
    }
    let column = |f: fn(&LedgerEvent) -> Uuid| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let rows: Vec<EventId> = fixed(
        "INSERT INTO ledger_entries (event_id, movement_id, store_id, product_id, movement_type, \
             delta, quantity_after, level_version, user_id, occurred_at) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], \
             $6::int8[], $7::int8[], $8::int8[], $9::uuid[], $10::timestamptz[]) \
             AS u(event_id, movement_id, store_id, product_id, movement_type, delta, \
                  quantity_after, level_version, user_id, occurred_at) \
         ORDER BY event_id \
         ON CONFLICT DO NOTHING \
         RETURNING event_id",
    )
    .bind::<Array<SqlUuid>, _>(column(|e| e.event_id))
    .bind::<Array<SqlUuid>, _>(column(|e| e.movement_id))
    .bind::<Array<SqlUuid>, _>(column(|e| e.store_id))
    .bind::<Array<SqlUuid>, _>(column(|e| e.product_id))
    .bind::<Array<Text>, _>(
        events
            .iter()
            .map(|e| e.movement_type.api_name())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<BigInt>, _>(events.iter().map(|e| e.delta).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(events.iter().map(|e| e.quantity_after).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(events.iter().map(|e| e.level_version).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(column(|e| e.user_id))
    .bind::<Array<Timestamptz>, _>(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.event_id).collect())
}

async fn upsert_daily(
    conn: &mut AsyncPgConnection,
    rows: &[crate::projection::DailyDelta],
) -> Result<(), diesel::result::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    fixed(
        "INSERT INTO ledger_daily (store_id, day, product_id, qty_in, qty_out, closing, closing_version) \
         SELECT * FROM UNNEST($1::uuid[], $2::date[], $3::uuid[], $4::int8[], $5::int8[], \
             $6::int8[], $7::int8[]) \
             AS u(store_id, day, product_id, qty_in, qty_out, closing, closing_version) \
         ORDER BY store_id, day, product_id \
         ON CONFLICT (store_id, day, product_id) DO UPDATE SET \
             qty_in = ledger_daily.qty_in + EXCLUDED.qty_in, \
             qty_out = ledger_daily.qty_out + EXCLUDED.qty_out, \
             closing = CASE WHEN EXCLUDED.closing_version > ledger_daily.closing_version \
                 THEN EXCLUDED.closing ELSE ledger_daily.closing END, \
             closing_version = GREATEST(ledger_daily.closing_version, EXCLUDED.closing_version)",
    )
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.store_id).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(rows.iter().map(|r| r.day).collect::<Vec<NaiveDate>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.product_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.qty_in).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.qty_out).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.closing).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.closing_version).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map(drop)
}

/// Writes the levels whose version is newer than the stored one; returns which ones changed.
async fn upsert_levels(
    conn: &mut AsyncPgConnection,
    levels: &[LevelState],
) -> Result<HashSet<(Uuid, Uuid)>, diesel::result::Error> {
    if levels.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<ChangedLevel> = fixed(
        "INSERT INTO ledger_levels (store_id, product_id, quantity, reorder_level, version, last_event_at) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::int8[], \
             $6::timestamptz[]) \
             AS u(store_id, product_id, quantity, reorder_level, version, last_event_at) \
         ORDER BY store_id, product_id \
         ON CONFLICT (store_id, product_id) DO UPDATE SET \
             quantity = EXCLUDED.quantity, reorder_level = EXCLUDED.reorder_level, \
             version = EXCLUDED.version, last_event_at = EXCLUDED.last_event_at \
         WHERE EXCLUDED.version > ledger_levels.version \
         RETURNING store_id, product_id",
    )
    .bind::<Array<SqlUuid>, _>(levels.iter().map(|l| l.store_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(levels.iter().map(|l| l.product_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(levels.iter().map(|l| l.quantity).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(levels.iter().map(|l| l.reorder_level).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(levels.iter().map(|l| l.version).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(levels.iter().map(|l| l.at).collect::<Vec<_>>())
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.store_id, r.product_id))
        .collect())
}

/// Opens an alert for each changed level that is now low (or refreshes the open one) and closes the
/// open alert of each changed level that is not. The level rows locked by [`upsert_levels`] keep two
/// transactions from racing on the alerts of one level.
async fn update_alerts(
    conn: &mut AsyncPgConnection,
    changed: &[&LevelState],
) -> Result<Vec<AlertChange>, diesel::result::Error> {
    let (low, high): (Vec<&LevelState>, Vec<&LevelState>) =
        changed.iter().copied().partition(|l| l.is_low());
    let mut changes = Vec::new();
    if !high.is_empty() {
        let closed: Vec<AlertRow> = fixed(
            "UPDATE low_stock_alerts a SET closed_at = u.at, quantity = u.quantity, \
                 reorder_level = u.reorder_level \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::timestamptz[]) \
                 AS u(store_id, product_id, quantity, reorder_level, at) \
             WHERE a.store_id = u.store_id AND a.product_id = u.product_id AND a.closed_at IS NULL \
             RETURNING a.id, a.store_id, a.product_id, a.quantity, a.reorder_level, a.closed_at AS at",
        )
        .bind::<Array<SqlUuid>, _>(high.iter().map(|l| l.store_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(high.iter().map(|l| l.product_id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(high.iter().map(|l| l.quantity).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(high.iter().map(|l| l.reorder_level).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(high.iter().map(|l| l.at).collect::<Vec<_>>())
        .load(conn)
        .await?;
        changes.extend(closed.into_iter().map(|r| r.change(false)));
    }
    if low.is_empty() {
        return Ok(changes);
    }
    let refreshed: Vec<ChangedLevel> = fixed(
        "UPDATE low_stock_alerts a SET quantity = u.quantity, reorder_level = u.reorder_level \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[]) \
             AS u(store_id, product_id, quantity, reorder_level) \
         WHERE a.store_id = u.store_id AND a.product_id = u.product_id AND a.closed_at IS NULL \
         RETURNING a.store_id, a.product_id",
    )
    .bind::<Array<SqlUuid>, _>(low.iter().map(|l| l.store_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(low.iter().map(|l| l.product_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(low.iter().map(|l| l.quantity).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(low.iter().map(|l| l.reorder_level).collect::<Vec<_>>())
    .load(conn)
    .await?;
    let already_open: HashSet<(Uuid, Uuid)> = refreshed
        .into_iter()
        .map(|r| (r.store_id, r.product_id))
        .collect();
    let to_open: Vec<&LevelState> = low
        .into_iter()
        .filter(|l| !already_open.contains(&(l.store_id, l.product_id)))
        .collect();
    if to_open.is_empty() {
        return Ok(changes);
    }
    let opened: Vec<AlertRow> = fixed(
        "INSERT INTO low_stock_alerts (id, store_id, product_id, quantity, reorder_level, opened_at) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::int8[], \
             $6::timestamptz[]) \
         RETURNING id, store_id, product_id, quantity, reorder_level, opened_at AS at",
    )
    .bind::<Array<SqlUuid>, _>(to_open.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(to_open.iter().map(|l| l.store_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(to_open.iter().map(|l| l.product_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(to_open.iter().map(|l| l.quantity).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(to_open.iter().map(|l| l.reorder_level).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(to_open.iter().map(|l| l.at).collect::<Vec<_>>())
    .load(conn)
    .await?;
    changes.extend(opened.into_iter().map(|r| r.change(true)));
    Ok(changes)
}
