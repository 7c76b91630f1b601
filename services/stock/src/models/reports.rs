//! The reports' reads over the ledger worker's projections (`ledger_daily`, `ledger_levels`,
//! `low_stock_alerts`), which this service may only read, joined with the catalog's products.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

/// One product's movements on one day.
#[derive(Debug, Clone, QueryableByName, Serialize, utoipa::ToSchema)]
pub struct DailyLine {
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = Text)]
    pub sku: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Units that came in that day (stock in, transfers in, upward counts).
    #[serde(rename = "in")]
    #[diesel(sql_type = BigInt)]
    pub qty_in: i64,
    /// Units that went out that day (sales, removals, transfers out, downward counts).
    #[serde(rename = "out")]
    #[diesel(sql_type = BigInt)]
    pub qty_out: i64,
    #[diesel(sql_type = BigInt)]
    pub net: i64,
    /// The level's quantity after the day's last movement.
    #[diesel(sql_type = BigInt)]
    pub closing: i64,
}

/// A level at or under its reorder level.
#[derive(Debug, Clone, QueryableByName, Serialize, utoipa::ToSchema)]
pub struct LowStockLine {
    #[diesel(sql_type = SqlUuid)]
    pub store_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = Text)]
    pub sku: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub quantity: i64,
    #[diesel(sql_type = BigInt)]
    pub reorder_level: i64,
    /// When the open low-stock alert of this level was raised.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub alert_opened_at: Option<DateTime<Utc>>,
}

/// One product's stock value in a store.
#[derive(Debug, Clone, QueryableByName, Serialize, utoipa::ToSchema)]
pub struct ValuationLine {
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = Text)]
    pub sku: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub quantity: i64,
    #[diesel(sql_type = BigInt)]
    pub price_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub value_cents: i64,
}

/// A store's total stock value.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct ValuationTotal {
    #[diesel(sql_type = BigInt)]
    pub products: i64,
    #[diesel(sql_type = BigInt)]
    pub total_value_cents: i64,
}

#[derive(QueryableByName)]
struct AsOf {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    as_of: Option<DateTime<Utc>>,
}

/// When the newest event applied to the ledger (for `store`, or any store) happened; `None` when
/// the ledger has seen nothing yet.
#[tracing::instrument(skip_all)]
pub async fn as_of(
    conn: &mut AsyncPgConnection,
    store: Option<Uuid>,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    let row: AsOf = diesel::sql_query(
        "SELECT max(last_event_at) AS as_of FROM ledger_levels \
         WHERE $1::uuid IS NULL OR store_id = $1",
    )
    .bind::<Nullable<SqlUuid>, _>(store)
    .get_result(conn)
    .await?;
    Ok(row.as_of)
}

/// Up to `limit` daily lines of `store` between `from` and `to` (inclusive), by day then product,
/// after the keyset `after`.
#[tracing::instrument(skip_all, fields(%store, %from, %to))]
pub async fn daily(
    conn: &mut AsyncPgConnection,
    store: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<DailyLine>> {
    diesel::sql_query(
        "SELECT d.day, d.product_id, p.sku, p.name, d.qty_in, d.qty_out, \
                d.qty_in - d.qty_out AS net, d.closing \
         FROM ledger_daily d JOIN products p ON p.id = d.product_id \
         WHERE d.store_id = $1 AND d.day BETWEEN $2 AND $3 \
           AND ($4::date IS NULL OR (d.day, d.product_id) > ($4, $5)) \
         ORDER BY d.day, d.product_id LIMIT $6",
    )
    .bind::<SqlUuid, _>(store)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<Date>, _>(after.map(|a| a.0))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.1))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Up to `limit` levels at or under their (positive) reorder level, by store then product.
#[tracing::instrument(skip_all)]
pub async fn low_stock(
    conn: &mut AsyncPgConnection,
    store: Option<Uuid>,
    after: Option<(Uuid, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<LowStockLine>> {
    diesel::sql_query(
        "SELECT l.store_id, l.product_id, p.sku, p.name, l.quantity, l.reorder_level, \
                a.opened_at AS alert_opened_at \
         FROM ledger_levels l JOIN products p ON p.id = l.product_id \
         LEFT JOIN low_stock_alerts a ON a.store_id = l.store_id \
              AND a.product_id = l.product_id AND a.closed_at IS NULL \
         WHERE l.reorder_level > 0 AND l.quantity <= l.reorder_level \
           AND ($1::uuid IS NULL OR l.store_id = $1) \
           AND ($2::uuid IS NULL OR (l.store_id, l.product_id) > ($2, $3)) \
         ORDER BY l.store_id, l.product_id LIMIT $4",
    )
    .bind::<Nullable<SqlUuid>, _>(store)
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.0))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.1))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Up to `limit` products of `store` with stock, valued at their current price, by product id.
#[tracing::instrument(skip_all, fields(%store))]
pub async fn valuation(
    conn: &mut AsyncPgConnection,
    store: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<ValuationLine>> {
    diesel::sql_query(
        "SELECT l.product_id, p.sku, p.name, l.quantity, p.price_cents, \
                l.quantity * p.price_cents AS value_cents \
         FROM ledger_levels l JOIN products p ON p.id = l.product_id \
         WHERE l.store_id = $1 AND l.quantity > 0 \
           AND ($2::uuid IS NULL OR l.product_id > $2) \
         ORDER BY l.product_id LIMIT $3",
    )
    .bind::<SqlUuid, _>(store)
    .bind::<Nullable<SqlUuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The value of all of `store`'s stock.
#[tracing::instrument(skip_all, fields(%store))]
pub async fn valuation_total(
    conn: &mut AsyncPgConnection,
    store: Uuid,
) -> diesel::QueryResult<ValuationTotal> {
    diesel::sql_query(
        "SELECT count(*) AS products, \
                COALESCE(sum(l.quantity * p.price_cents), 0)::bigint AS total_value_cents \
         FROM ledger_levels l JOIN products p ON p.id = l.product_id \
         WHERE l.store_id = $1 AND l.quantity > 0",
    )
    .bind::<SqlUuid, _>(store)
    .get_result(conn)
    .await
}
