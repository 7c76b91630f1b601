//! Comparing the ledger's levels with the stock service's levels.

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Nullable, Uuid as SqlUuid},
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

const DIFFERENCES: &str = "FROM stock_levels s \
     FULL OUTER JOIN ledger_levels l ON l.store_id = s.store_id AND l.product_id = s.product_id \
     WHERE COALESCE(s.quantity, 0) <> COALESCE(l.quantity, 0)";

/// Up to `limit` differences, in (store, product) order.
#[tracing::instrument(skip_all)]
pub async fn differences(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<Difference>, diesel::result::Error> {
    diesel::sql_query(format!(
        "SELECT COALESCE(s.store_id, l.store_id) AS store_id, \
                COALESCE(s.product_id, l.product_id) AS product_id, \
                s.quantity AS stock_quantity, l.quantity AS ledger_quantity, \
                s.version AS stock_version, l.version AS ledger_version \
         {DIFFERENCES} ORDER BY 1, 2 LIMIT $1"
    ))
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
pub async fn count_differences(conn: &mut AsyncPgConnection) -> Result<i64, diesel::result::Error> {
    let row: Count = diesel::sql_query(format!("SELECT count(*) AS count {DIFFERENCES}"))
        .get_result(conn)
        .await?;
    Ok(row.count)
}
