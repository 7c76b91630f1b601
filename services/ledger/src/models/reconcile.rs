//! Comparing the ledger with the stock service's tables: current levels, movement counts, and the
//! in/out/net of every store, product and day.
//!
//! `cut` leaves out what may still be on its way through the stream: levels changed, and
//! (store, product, day) groups with a movement, at or after it. The command passes "now".
//! [`Scope`] says whether everything is compared or only what changed recently.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Date, Nullable, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::models::heal::v7_floor;

/// A level whose quantity differs between `stock_levels` and `ledger_levels` (a level missing on
/// one side counts as quantity 0 there). The versions say which side is behind.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, Serialize)]
pub struct Difference {
    #[diesel(sql_type = SqlUuid)]
    pub store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub stock_quantity: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub ledger_quantity: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub stock_version: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub ledger_version: Option<i64>,
    /// How many differ in all (the same on every row).
    #[diesel(sql_type = BigInt)]
    #[serde(skip)]
    pub total: i64,
}

/// What a comparison covers: everything, or what changed since a time.
///
/// A check of recent changes (`since`) reads the movements and entries with an id at or after
/// `since` (movement ids are UUIDv7, so that is a range of their keys) and looks up by key the
/// levels and (store, product, day) groups of those movements: its cost follows the rate of
/// changes, not the history or the number of levels. A day's movement totals are then summed from
/// its ledger entries: the same check (or an earlier one) compared each of those with its movement
/// (`movements.differing`), and a movement with no entry is counted in `movements.missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub since: Option<DateTime<Utc>>,
    pub cut: DateTime<Utc>,
}

impl Scope {
    /// Everything changed before `cut`.
    pub fn everything(cut: DateTime<Utc>) -> Self {
        Self { since: None, cut }
    }

    /// The smallest movement id in scope.
    fn floor(&self) -> Uuid {
        self.since.map_or(Uuid::nil(), v7_floor)
    }
}

/// Levels that never changed (version 0: created with no movement, e.g. loaded by SQL) have no
/// events, so the ledger has no row for them; the comparison, like the repair, leaves them out
/// (it used to count them as missing forever, and the healer "repaired" them every run).
/// `$2` is the cut, `$3` the limit; a check of recent changes (`$1` floor) looks up, by key, only
/// the levels of its movements (a lost reorder-level change of a level with no movement since is
/// left to a comparison of everything).
fn level_differences_sql(scope: &Scope) -> String {
    let from = match scope.since {
        None => {
            "FROM (SELECT * FROM stock_levels WHERE version > 0) s \
             FULL OUTER JOIN ledger_levels l \
                 ON l.store_id = s.store_id AND l.product_id = s.product_id"
        }
        // Lookups by key (LIMIT keeps the planner from scanning both tables whole to merge them).
        Some(_) => {
            "FROM (SELECT DISTINCT store_id, product_id FROM stock_movements \
                   WHERE id >= $1 AND created_at < $2) t \
             LEFT JOIN LATERAL (SELECT * FROM stock_levels s WHERE s.store_id = t.store_id \
                 AND s.product_id = t.product_id AND s.version > 0 LIMIT 1) s ON true \
             LEFT JOIN LATERAL (SELECT * FROM ledger_levels l WHERE l.store_id = t.store_id \
                 AND l.product_id = t.product_id LIMIT 1) l ON true"
        }
    };
    format!(
        "SELECT COALESCE(s.store_id, l.store_id) AS store_id, \
                COALESCE(s.product_id, l.product_id) AS product_id, \
                s.quantity AS stock_quantity, l.quantity AS ledger_quantity, \
                s.version AS stock_version, l.version AS ledger_version, \
                count(*) OVER () AS total \
         {from} \
         WHERE (COALESCE(s.quantity, 0) <> COALESCE(l.quantity, 0) \
                OR COALESCE(s.reorder_level, 0) <> COALESCE(l.reorder_level, 0)) \
           AND (s.updated_at IS NULL OR s.updated_at < $2) \
         ORDER BY 1, 2 LIMIT $3"
    )
}

/// Up to `limit` level differences in (store, product) order, with the number of all of them.
#[tracing::instrument(skip_all)]
pub async fn level_differences(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    limit: i64,
) -> Result<(i64, Vec<Difference>), diesel::result::Error> {
    let rows: Vec<Difference> = diesel::sql_query(level_differences_sql(scope))
        .bind::<SqlUuid, _>(scope.floor())
        .bind::<Timestamptz, _>(scope.cut)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
    Ok((<[Difference]>::first(&rows).map_or(0, |r| r.total), rows))
}

/// Movements against entries (reorder-level entries have no movement and are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName, Serialize)]
pub struct MovementCounts {
    /// Movements in scope (created before the cut).
    #[diesel(sql_type = BigInt)]
    pub movements: i64,
    /// Entries of movements in scope (occurred before the cut), however they arrived.
    #[diesel(sql_type = BigInt)]
    pub entries: i64,
    /// Movements without an entry.
    #[diesel(sql_type = BigInt)]
    pub missing: i64,
    /// Movement entries whose movement does not exist.
    #[diesel(sql_type = BigInt)]
    pub orphaned: i64,
    /// Entries that say something else than their movement (store, product, type, delta, quantity
    /// after, version, user or time).
    #[diesel(sql_type = BigInt)]
    pub differing: i64,
}

/// Counts movements, entries, and the three ways they can disagree, in one pass over both.
#[tracing::instrument(skip_all)]
pub async fn movement_counts(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
) -> Result<MovementCounts, diesel::result::Error> {
    diesel::sql_query(
        "SELECT count(m.id) AS movements, count(e.movement_id) AS entries, \
                count(*) FILTER (WHERE e.movement_id IS NULL) AS missing, \
                count(*) FILTER (WHERE m.id IS NULL) AS orphaned, \
                count(*) FILTER (WHERE m.id IS NOT NULL AND e.movement_id IS NOT NULL \
                    AND (e.store_id, e.product_id, e.movement_type, e.delta, e.quantity_after, \
                         e.level_version, e.user_id, e.occurred_at) \
                    IS DISTINCT FROM (m.store_id, m.product_id, m.movement_type, m.delta, \
                         m.quantity_after, m.level_version, m.user_id, m.created_at)) AS differing \
         FROM (SELECT * FROM stock_movements WHERE id >= $1 AND created_at < $2) m \
         FULL OUTER JOIN (SELECT * FROM ledger_entries WHERE movement_id >= $1 \
                 AND movement_type <> 'REORDER_LEVEL_SET' AND occurred_at < $2) e \
             ON e.movement_id = m.id",
    )
    .bind::<SqlUuid, _>(scope.floor())
    .bind::<Timestamptz, _>(scope.cut)
    .get_result(conn)
    .await
}

/// A (store, product, day) whose totals differ between `stock_movements` and `ledger_daily`.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, Serialize)]
pub struct DayDifference {
    #[diesel(sql_type = SqlUuid)]
    pub store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub movements_in: i64,
    #[diesel(sql_type = BigInt)]
    pub movements_out: i64,
    #[diesel(sql_type = BigInt)]
    pub movements_net: i64,
    #[diesel(sql_type = BigInt)]
    pub ledger_in: i64,
    #[diesel(sql_type = BigInt)]
    pub ledger_out: i64,
    #[diesel(sql_type = BigInt)]
    pub ledger_net: i64,
    /// How many differ in all (the same on every row).
    #[diesel(sql_type = BigInt)]
    #[serde(skip)]
    pub total: i64,
}

/// The movement side of the daily comparison: `(store_id, product_id, day, qty_in, qty_out,
/// latest)` for every group in scope.
fn day_totals_sql(scope: &Scope) -> String {
    const TOTALS: &str = "sum(GREATEST(delta, 0))::int8 AS qty_in, \
         sum(GREATEST(-delta, 0))::int8 AS qty_out";
    match scope.since {
        None => format!(
            "SELECT store_id, product_id, (created_at AT TIME ZONE 'UTC')::date AS day, {TOTALS}, \
                 max(created_at) AS latest \
             FROM stock_movements GROUP BY 1, 2, 3"
        ),
        // Only the groups of movements in scope, each summed from its entries.
        Some(_) => format!(
            "SELECT t.store_id, t.product_id, t.day, s.qty_in, s.qty_out, s.latest \
             FROM (SELECT DISTINCT store_id, product_id, (created_at AT TIME ZONE 'UTC')::date \
                   FROM stock_movements WHERE id >= $1 AND created_at < $2) \
                 t (store_id, product_id, day) \
             CROSS JOIN LATERAL ( \
                 SELECT {TOTALS}, max(occurred_at) AS latest \
                 FROM ledger_entries e \
                 WHERE e.store_id = t.store_id AND e.product_id = t.product_id \
                   AND e.occurred_at >= t.day::timestamp AT TIME ZONE 'UTC' \
                   AND e.occurred_at < (t.day + 1)::timestamp AT TIME ZONE 'UTC' \
                   AND e.movement_type <> 'REORDER_LEVEL_SET') s"
        ),
    }
}

/// Up to `limit` days whose in, out or net differ, with the number of all of them (one scan).
#[tracing::instrument(skip_all)]
pub async fn day_differences(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    limit: i64,
) -> Result<(i64, Vec<DayDifference>), diesel::result::Error> {
    // Everything: ledger rows without movements differ too. Recent changes: the groups in scope,
    // looked up by key.
    let daily = if scope.since.is_none() {
        "FULL OUTER JOIN ledger_daily d \
             ON d.store_id = mv.store_id AND d.product_id = mv.product_id AND d.day = mv.day"
    } else {
        "LEFT JOIN LATERAL (SELECT * FROM ledger_daily d WHERE d.store_id = mv.store_id \
             AND d.day = mv.day AND d.product_id = mv.product_id LIMIT 1) d ON true"
    };
    let rows: Vec<DayDifference> = diesel::sql_query(format!(
        "WITH mv AS ({}), \
         diff AS ( \
             SELECT COALESCE(mv.store_id, d.store_id) AS store_id, \
                 COALESCE(mv.product_id, d.product_id) AS product_id, \
                 COALESCE(mv.day, d.day) AS day, \
                 COALESCE(mv.qty_in, 0) AS movements_in, COALESCE(mv.qty_out, 0) AS movements_out, \
                 COALESCE(d.qty_in, 0) AS ledger_in, COALESCE(d.qty_out, 0) AS ledger_out \
             FROM mv {daily} \
             WHERE (mv.latest IS NULL OR mv.latest < $2) \
               AND (COALESCE(mv.qty_in, 0) <> COALESCE(d.qty_in, 0) \
                    OR COALESCE(mv.qty_out, 0) <> COALESCE(d.qty_out, 0))) \
         SELECT store_id, product_id, day, movements_in, movements_out, \
             movements_in - movements_out AS movements_net, ledger_in, ledger_out, \
             ledger_in - ledger_out AS ledger_net, count(*) OVER () AS total \
         FROM diff ORDER BY store_id, product_id, day LIMIT $3",
        day_totals_sql(scope)
    ))
    .bind::<SqlUuid, _>(scope.floor())
    .bind::<Timestamptz, _>(scope.cut)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok((<[DayDifference]>::first(&rows).map_or(0, |r| r.total), rows))
}
