//! What the stock service reads from the catalog's tables (it may only read them).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::schema::{products, stores};
use uuid::Uuid;

pub use inventory_db::models::catalog::missing_stores;

/// The ids among `ids` that are not active (existing and not archived) products.
pub async fn missing_products(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    let found: Vec<Uuid> = products::table
        .filter(products::id.eq_any(ids))
        .filter(products::archived_at.is_null())
        .select(products::id)
        .load(conn)
        .await?;
    Ok(ids
        .iter()
        .filter(|id| !found.contains(id))
        .copied()
        .collect())
}

/// Whether a store with this id was ever created (archived stores keep their readable history).
pub async fn store_exists(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(stores::table.filter(stores::id.eq(id))))
        .get_result(conn)
        .await
}
