//! The reports' reads over the ledger worker's projections (`ledger_daily`, `ledger_levels`,
//! `low_stock_alerts`), which this service may only read, joined with the catalog's products.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::fixed::fixed;
use serde::{Serialize, Serializer};
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
    /// quantity × price_cents, computed in NUMERIC: an exact integer that may exceed 64 bits.
    #[diesel(sql_type = Text)]
    #[serde(serialize_with = "exact_integer")]
    #[schema(schema_with = exact_integer_schema)]
    pub value_cents: String,
}

/// A store's total stock value.
#[derive(Debug, Clone, QueryableByName)]
pub struct ValuationTotal {
    #[diesel(sql_type = BigInt)]
    pub products: i64,
    /// Σ quantity × price_cents in NUMERIC, as its decimal digits.
    #[diesel(sql_type = Text)]
    pub total_value_cents: String,
}

/// Writes the digits of a NUMERIC integer (PostgreSQL's text form) as a JSON number, exactly: no
/// 64-bit overflow and no rounding through a float. (I-JSON readers that hold numbers as doubles
/// see values beyond 2^53 rounded; cent values of real stock stay far below that.)
pub fn exact_integer<S: Serializer>(digits: &str, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::Error;
    let plain = !digits.is_empty()
        && digits
            .strip_prefix('-')
            .unwrap_or(digits)
            .bytes()
            .all(|b| b.is_ascii_digit());
    if !plain {
        return Err(S::Error::custom(format!("not an integer: {digits}")));
    }
    serde_json::value::RawValue::from_string(digits.to_owned())
        .map_err(S::Error::custom)?
        .serialize(serializer)
}

/// The OpenAPI schema of [`exact_integer`]: an integer without a 64-bit format.
pub fn exact_integer_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .minimum(Some(0))
        .description(Some(
            "Cents, computed exactly in NUMERIC; may exceed 64 bits",
        ))
        .build()
}

#[derive(QueryableByName)]
struct AsOf {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    as_of: Option<DateTime<Utc>>,
}

/// The reports' statements. Each has a fixed text, so each connection parses and plans it once
/// ([`inventory_db::fixed`]) instead of on every request. A connection keeps a statement's generic
/// plan once it is no dearer than the custom ones, so an optional filter (a cursor, a set of stores)
/// is a text of its own: `$n IS NULL OR …` cannot be an index condition in a generic plan, which
/// would then read a store's whole range for every later page.
pub mod sql {
    /// When the newest applied event of the stores in `$1` happened.
    pub const AS_OF: &str =
        "SELECT max(last_event_at) AS as_of FROM ledger_levels WHERE store_id = ANY($1)";
    /// The same over every store.
    pub const AS_OF_ALL: &str = "SELECT max(last_event_at) AS as_of FROM ledger_levels";

    macro_rules! daily {
        ($cursor:literal, $limit:literal) => {
            concat!(
                "SELECT d.day, d.product_id, p.sku, p.name, d.qty_in, d.qty_out, \
                        d.qty_in - d.qty_out AS net, d.closing \
                 FROM ledger_daily d JOIN products p ON p.id = d.product_id \
                 WHERE d.store_id = $1 AND d.day BETWEEN $2 AND $3",
                $cursor,
                " ORDER BY d.day, d.product_id LIMIT ",
                $limit
            )
        };
    }
    /// The first page of store `$1`'s daily lines from day `$2` to `$3`.
    pub const DAILY: &str = daily!("", "$4");
    /// A later page: after day `$4` and product `$5`.
    pub const DAILY_AFTER: &str = daily!(" AND (d.day, d.product_id) > ($4, $5)", "$6");

    macro_rules! low_stock {
        ($filter:literal, $limit:literal) => {
            concat!(
                "SELECT l.store_id, l.product_id, p.sku, p.name, l.quantity, l.reorder_level, \
                        a.opened_at AS alert_opened_at \
                 FROM ledger_levels l JOIN products p ON p.id = l.product_id \
                 LEFT JOIN low_stock_alerts a ON a.store_id = l.store_id \
                      AND a.product_id = l.product_id AND a.closed_at IS NULL \
                 WHERE l.reorder_level > 0 AND l.quantity <= l.reorder_level",
                $filter,
                " ORDER BY l.store_id, l.product_id LIMIT ",
                $limit
            )
        };
    }
    /// The first page of the stores in `$1`.
    pub const LOW_STOCK: &str = low_stock!(" AND l.store_id = ANY($1)", "$2");
    /// A later page of the stores in `$1`: after store `$2` and product `$3`.
    pub const LOW_STOCK_AFTER: &str = low_stock!(
        " AND l.store_id = ANY($1) AND (l.store_id, l.product_id) > ($2, $3)",
        "$4"
    );
    /// The first page over every store.
    pub const LOW_STOCK_ALL: &str = low_stock!("", "$1");
    /// A later page over every store: after store `$1` and product `$2`.
    pub const LOW_STOCK_ALL_AFTER: &str =
        low_stock!(" AND (l.store_id, l.product_id) > ($1, $2)", "$3");

    macro_rules! valuation {
        ($cursor:literal, $limit:literal) => {
            concat!(
                "SELECT l.product_id, p.sku, p.name, l.quantity, p.price_cents, \
                        (l.quantity::numeric * p.price_cents)::text AS value_cents \
                 FROM ledger_levels l JOIN products p ON p.id = l.product_id \
                 WHERE l.store_id = $1 AND l.quantity > 0",
                $cursor,
                " ORDER BY l.product_id LIMIT ",
                $limit
            )
        };
    }
    /// The first page of store `$1`'s products with stock.
    pub const VALUATION: &str = valuation!("", "$2");
    /// A later page: after product `$2`.
    pub const VALUATION_AFTER: &str = valuation!(" AND l.product_id > $2", "$3");
    /// Store `$1`'s number of products with stock and their total value.
    pub const VALUATION_TOTAL: &str = "SELECT count(*) AS products, \
                COALESCE(sum(l.quantity::numeric * p.price_cents), 0)::text AS total_value_cents \
         FROM ledger_levels l JOIN products p ON p.id = l.product_id \
         WHERE l.store_id = $1 AND l.quantity > 0";
}

/// When the newest event applied to the ledger (for `stores`, or any store when `None`) happened;
/// `None` when the ledger has seen nothing yet.
#[tracing::instrument(skip_all)]
pub async fn as_of(
    conn: &mut AsyncPgConnection,
    stores: Option<&[Uuid]>,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    let statement = match stores {
        Some(stores) => fixed(sql::AS_OF).bind::<Array<SqlUuid>, _>(stores.to_vec()),
        None => fixed(sql::AS_OF_ALL),
    };
    let row: AsOf = statement.get_result(conn).await?;
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
    let range = |sql| {
        fixed(sql)
            .bind::<SqlUuid, _>(store)
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
    };
    let statement = match after {
        None => range(sql::DAILY),
        Some((day, product)) => range(sql::DAILY_AFTER)
            .bind::<Date, _>(day)
            .bind::<SqlUuid, _>(product),
    };
    statement.bind::<BigInt, _>(limit).load(conn).await
}

/// Up to `limit` levels at or under their (positive) reorder level of `stores` (every store when
/// `None`), by store then product.
#[tracing::instrument(skip_all)]
pub async fn low_stock(
    conn: &mut AsyncPgConnection,
    stores: Option<&[Uuid]>,
    after: Option<(Uuid, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<LowStockLine>> {
    let statement = match (stores, after) {
        (Some(stores), None) => fixed(sql::LOW_STOCK).bind::<Array<SqlUuid>, _>(stores.to_vec()),
        (Some(stores), Some((store, product))) => fixed(sql::LOW_STOCK_AFTER)
            .bind::<Array<SqlUuid>, _>(stores.to_vec())
            .bind::<SqlUuid, _>(store)
            .bind::<SqlUuid, _>(product),
        (None, None) => fixed(sql::LOW_STOCK_ALL),
        (None, Some((store, product))) => fixed(sql::LOW_STOCK_ALL_AFTER)
            .bind::<SqlUuid, _>(store)
            .bind::<SqlUuid, _>(product),
    };
    statement.bind::<BigInt, _>(limit).load(conn).await
}

/// Up to `limit` products of `store` with stock, valued at their current price, by product id.
#[tracing::instrument(skip_all, fields(%store))]
pub async fn valuation(
    conn: &mut AsyncPgConnection,
    store: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<ValuationLine>> {
    let statement = match after {
        None => fixed(sql::VALUATION).bind::<SqlUuid, _>(store),
        Some(product) => fixed(sql::VALUATION_AFTER)
            .bind::<SqlUuid, _>(store)
            .bind::<SqlUuid, _>(product),
    };
    statement.bind::<BigInt, _>(limit).load(conn).await
}

/// The value of all of `store`'s stock, in NUMERIC (no 64-bit overflow).
#[tracing::instrument(skip_all, fields(%store))]
pub async fn valuation_total(
    conn: &mut AsyncPgConnection,
    store: Uuid,
) -> diesel::QueryResult<ValuationTotal> {
    fixed(sql::VALUATION_TOTAL)
        .bind::<SqlUuid, _>(store)
        .get_result(conn)
        .await
}
