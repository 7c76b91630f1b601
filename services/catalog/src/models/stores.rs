//! Queries on `stores`. Only active (not archived) stores are visible; archiving frees the code.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_common::ApiError;
use inventory_db::{models::catalog::Store, schema::stores};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CatalogTable, unique_violation};
use crate::domain::StoreDraft;

/// A store as the API shows it (and as the cache holds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoreView {
    pub id: Uuid,
    /// A short code, unique among active stores; `null` when the store has none.
    #[schema(required = true, example = "NYC-01")]
    pub code: Option<String>,
    #[schema(example = "Manhattan, 5th Avenue")]
    pub name: String,
    /// `null` when the store has none.
    #[schema(required = true, example = "700 5th Ave, New York, NY 10019")]
    pub address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Store> for StoreView {
    fn from(s: Store) -> Self {
        Self {
            id: s.id,
            code: s.code,
            name: s.name,
            address: s.address,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// The columns a create or a replace writes; `None` writes NULL.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = stores, treat_none_as_null = true)]
struct StoreColumns<'a> {
    code: Option<&'a str>,
    name: &'a str,
    address: Option<&'a str>,
}

impl<'a> From<&'a StoreDraft> for StoreColumns<'a> {
    fn from(d: &'a StoreDraft) -> Self {
        Self {
            code: d.code.as_ref().map(|c| c.as_str()),
            name: d.name.as_str(),
            address: d.address.as_ref().map(|a| a.as_str()),
        }
    }
}

const CODE_KEY: &str = "stores_code_active_key";

fn code_taken(e: diesel::result::Error, draft: &StoreDraft) -> ApiError {
    unique_violation(e, CODE_KEY, "code", || {
        format!(
            "a store with code `{}` already exists",
            draft.code.as_ref().map(|c| c.as_str()).unwrap_or_default()
        )
    })
}

fn missing(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("store {id} not found"))
}

/// Up to `limit + 1` active stores after `after` in id (creation) order; the extra row tells the
/// caller that there is a next page.
#[tracing::instrument(skip_all, fields(limit = limit))]
pub async fn list(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<StoreView>, ApiError> {
    let mut query = stores::table
        .filter(stores::archived_at.is_null())
        .select(Store::as_select())
        .order(stores::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(stores::id.gt(after));
    }
    let rows = query.load(conn).await?;
    Ok(rows.into_iter().map(StoreView::from).collect())
}

/// The `stores` table; its create, replace and archive are `CatalogTable`'s. Archiving a store frees
/// its code; it accepts no new stock, and its history stays readable.
pub struct Stores;

impl CatalogTable for Stores {
    const ENTITY: &'static str = "store";
    type View = StoreView;
    type Draft = StoreDraft;

    fn id(view: &StoreView) -> Uuid {
        view.id
    }

    #[tracing::instrument(skip_all, fields(store_id = %id))]
    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> Result<StoreView, ApiError> {
        stores::table
            .find(id)
            .filter(stores::archived_at.is_null())
            .select(Store::as_select())
            .first(conn)
            .await
            .optional()?
            .map(StoreView::from)
            .ok_or_else(|| missing(id))
    }

    async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> Result<StoreView, ApiError> {
        stores::table
            .find(id)
            .filter(stores::archived_at.is_null())
            .select(Store::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .map(StoreView::from)
            .ok_or_else(|| missing(id))
    }

    #[tracing::instrument(skip_all)]
    async fn insert(
        conn: &mut AsyncPgConnection,
        draft: &StoreDraft,
    ) -> Result<StoreView, ApiError> {
        diesel::insert_into(stores::table)
            .values((stores::id.eq(Uuid::now_v7()), StoreColumns::from(draft)))
            .returning(Store::as_returning())
            .get_result(conn)
            .await
            .map(StoreView::from)
            .map_err(|e| code_taken(e, draft))
    }

    #[tracing::instrument(skip_all, fields(store_id = %id))]
    async fn update(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        draft: &StoreDraft,
    ) -> Result<StoreView, ApiError> {
        diesel::update(stores::table.find(id))
            .set((StoreColumns::from(draft), stores::updated_at.eq(now)))
            .returning(Store::as_returning())
            .get_result(conn)
            .await
            .map(StoreView::from)
            .map_err(|e| code_taken(e, draft))
    }

    #[tracing::instrument(skip_all, fields(store_id = %id))]
    async fn set_archived(conn: &mut AsyncPgConnection, id: Uuid) -> Result<(), ApiError> {
        diesel::update(stores::table.find(id))
            .set((stores::archived_at.eq(now), stores::updated_at.eq(now)))
            .execute(conn)
            .await?;
        Ok(())
    }
}
