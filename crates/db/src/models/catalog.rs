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

/// The ids among `ids` that are not active products.
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
