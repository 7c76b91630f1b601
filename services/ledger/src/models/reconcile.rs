//! Comparing the ledger with the stock service's tables: current levels, movement counts, and the
//! in/out/net of every store, product and day.
//!
//! `cut` leaves out what may still be on its way through the stream: levels changed, and
//! (store, product, day) groups with a movement, at or after it. The command passes "now".

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Date, Nullable, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

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
}

/// Levels that never changed (version 0: created with no movement, e.g. loaded by SQL) have no
/// events, so the ledger has no row for them; the comparison, like the repair, leaves them out
/// (it used to count them as missing forever, and the healer "repaired" them every run).
const DIFFERENCES: &str = "FROM (SELECT * FROM stock_levels WHERE version > 0) s \
     FULL OUTER JOIN ledger_levels l ON l.store_id = s.store_id AND l.product_id = s.product_id \
     WHERE (COALESCE(s.quantity, 0) <> COALESCE(l.quantity, 0) \
            OR COALESCE(s.reorder_level, 0) <> COALESCE(l.reorder_level, 0)) \
       AND (s.updated_at IS NULL OR s.updated_at < $1)";

/// Up to `limit` level differences, in (store, product) order.
#[tracing::instrument(skip_all)]
pub async fn differences(
    conn: &mut AsyncPgConnection,
    cut: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Difference>, diesel::result::Error> {
    diesel::sql_query(format!(
        "SELECT COALESCE(s.store_id, l.store_id) AS store_id, \
                COALESCE(s.product_id, l.product_id) AS product_id, \
                s.quantity AS stock_quantity, l.quantity AS ledger_quantity, \
                s.version AS stock_version, l.version AS ledger_version \
         {DIFFERENCES} ORDER BY 1, 2 LIMIT $2"
    ))
    .bind::<Timestamptz, _>(cut)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many levels differ.
#[tracing::instrument(skip_all)]
pub async fn count_differences(
    conn: &mut AsyncPgConnection,
    cut: DateTime<Utc>,
) -> Result<i64, diesel::result::Error> {
    let row: Count = diesel::sql_query(format!("SELECT count(*) AS count {DIFFERENCES}"))
        .bind::<Timestamptz, _>(cut)
        .get_result(conn)
        .await?;
    Ok(row.count)
}

/// Movements against entries (reorder-level entries have no movement and are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName, Serialize)]
pub struct MovementCounts {
    /// Movements created before the cut.
    #[diesel(sql_type = BigInt)]
    pub movements: i64,
    /// Entries of movements, however they arrived.
    #[diesel(sql_type = BigInt)]
    pub entries: i64,
    /// Movements created before the cut without an entry.
    #[diesel(sql_type = BigInt)]
    pub missing: i64,
    /// Movement entries whose movement does not exist.
    #[diesel(sql_type = BigInt)]
    pub orphaned: i64,
}

/// Counts movements, entries, and the two ways they can disagree.
#[tracing::instrument(skip_all)]
pub async fn movement_counts(
    conn: &mut AsyncPgConnection,
    cut: DateTime<Utc>,
) -> Result<MovementCounts, diesel::result::Error> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM stock_movements WHERE created_at < $1) AS movements, \
                (SELECT count(*) FROM ledger_entries \
                    WHERE movement_type <> 'REORDER_LEVEL_SET') AS entries, \
                (SELECT count(*) FROM stock_movements m WHERE m.created_at < $1 \
                    AND NOT EXISTS (SELECT 1 FROM ledger_entries e \
                        WHERE e.movement_id = m.id)) AS missing, \
                (SELECT count(*) FROM ledger_entries e \
                    WHERE e.movement_type <> 'REORDER_LEVEL_SET' \
                    AND NOT EXISTS (SELECT 1 FROM stock_movements m \
                        WHERE m.id = e.movement_id)) AS orphaned",
    )
    .bind::<Timestamptz, _>(cut)
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

/// Up to `limit` days whose in, out or net differ, with the number of all of them (one scan).
#[tracing::instrument(skip_all)]
pub async fn day_differences(
    conn: &mut AsyncPgConnection,
    cut: DateTime<Utc>,
    limit: i64,
) -> Result<(i64, Vec<DayDifference>), diesel::result::Error> {
    let rows: Vec<DayDifference> = diesel::sql_query(
        "WITH mv AS ( \
             SELECT store_id, product_id, (created_at AT TIME ZONE 'UTC')::date AS day, \
                 sum(GREATEST(delta, 0))::int8 AS qty_in, sum(GREATEST(-delta, 0))::int8 AS qty_out, \
                 max(created_at) AS latest \
             FROM stock_movements GROUP BY 1, 2, 3), \
         diff AS ( \
             SELECT COALESCE(mv.store_id, d.store_id) AS store_id, \
                 COALESCE(mv.product_id, d.product_id) AS product_id, \
                 COALESCE(mv.day, d.day) AS day, \
                 COALESCE(mv.qty_in, 0) AS movements_in, COALESCE(mv.qty_out, 0) AS movements_out, \
                 COALESCE(d.qty_in, 0) AS ledger_in, COALESCE(d.qty_out, 0) AS ledger_out \
             FROM mv FULL OUTER JOIN ledger_daily d \
                 ON d.store_id = mv.store_id AND d.product_id = mv.product_id AND d.day = mv.day \
             WHERE (mv.latest IS NULL OR mv.latest < $1) \
               AND (COALESCE(mv.qty_in, 0) <> COALESCE(d.qty_in, 0) \
                    OR COALESCE(mv.qty_out, 0) <> COALESCE(d.qty_out, 0))) \
         SELECT store_id, product_id, day, movements_in, movements_out, \
             movements_in - movements_out AS movements_net, ledger_in, ledger_out, \
             ledger_in - ledger_out AS ledger_net, count(*) OVER () AS total \
         FROM diff ORDER BY store_id, product_id, day LIMIT $2",
    )
    .bind::<Timestamptz, _>(cut)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let total = <[DayDifference]>::first(&rows).map_or(0, |r| r.total);
    Ok((total, rows))
}
