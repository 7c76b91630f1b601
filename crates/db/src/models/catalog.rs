//! Products and stores as the other services see them: only active (not archived) rows exist.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::schema::{products, stores};

/// A catalog product.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub price_cents: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// A store.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = stores, check_for_backend(diesel::pg::Pg))]
pub struct Store {
    pub id: Uuid,
    pub code: Option<String>,
    pub name: String,
    pub address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// Whether an active (not archived) store has this id.
pub async fn store_is_active(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        stores::table
            .filter(stores::id.eq(id))
            .filter(stores::archived_at.is_null()),
    ))
    .get_result(conn)
    .await
}

/// Whether an active (not archived) product has this id.
pub async fn product_is_active(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        products::table
            .filter(products::id.eq(id))
            .filter(products::archived_at.is_null()),
    ))
    .get_result(conn)
    .await
}

/// The ids among `ids` that are not active stores.
pub async fn missing_stores(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    let found: Vec<Uuid> = stores::table
        .filter(stores::id.eq_any(ids))
        .filter(stores::archived_at.is_null())
        .select(stores::id)
        .load(conn)
        .await?;
    Ok(ids
        .iter()
        .filter(|id| !found.contains(id))
        .copied()
        .collect())
}
