//! What the stock service reads from the catalog's tables (it may only read them).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::schema::stores;
use uuid::Uuid;

pub use inventory_db::models::catalog::{missing_products, missing_stores};

/// Whether a store with this id was ever created (archived stores keep their readable history).
pub async fn store_exists(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(stores::table.filter(stores::id.eq(id))))
        .get_result(conn)
        .await
}
