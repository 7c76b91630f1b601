//! Queries on `stores`. Only active (not archived) stores are visible; archiving frees the code.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use inventory_common::ApiError;
use inventory_db::{models::catalog::Store, schema::stores};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, Change, audit, unique_violation};
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

/// The active store `id`.
#[tracing::instrument(skip_all, fields(store_id = %id))]
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> Result<StoreView, ApiError> {
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

/// Creates a store (409 naming `code` when an active store has it).
#[tracing::instrument(skip_all)]
pub async fn create(
    conn: &mut AsyncPgConnection,
    draft: &StoreDraft,
    actor: &Actor<'_>,
) -> Result<StoreView, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let created: StoreView = diesel::insert_into(stores::table)
            .values((stores::id.eq(Uuid::now_v7()), StoreColumns::from(draft)))
            .returning(Store::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| code_taken(e, draft))?
            .into();
        let change = Change {
            action: "store.create",
            entity: "store",
            id: created.id,
            before: None,
            after: Some(&created),
        };
        audit(conn, actor, change).await?;
        Ok(created)
    })
    .await
}

/// Replaces every field of the active store `id` (404 when there is none, 409 on a taken code).
#[tracing::instrument(skip_all, fields(store_id = %id))]
pub async fn replace(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    draft: &StoreDraft,
    actor: &Actor<'_>,
) -> Result<StoreView, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = lock(conn, id).await?;
        let after: StoreView = diesel::update(stores::table.find(id))
            .set((StoreColumns::from(draft), stores::updated_at.eq(now)))
            .returning(Store::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| code_taken(e, draft))?
            .into();
        let change = Change {
            action: "store.update",
            entity: "store",
            id,
            before: Some(&before),
            after: Some(&after),
        };
        audit(conn, actor, change).await?;
        Ok(after)
    })
    .await
}

/// Archives the active store `id` (404 when there is none): it leaves lists and reads, its code is
/// free again, it accepts no new stock, and its history stays readable.
#[tracing::instrument(skip_all, fields(store_id = %id))]
pub async fn archive(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    actor: &Actor<'_>,
) -> Result<(), ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = lock(conn, id).await?;
        diesel::update(stores::table.find(id))
            .set((stores::archived_at.eq(now), stores::updated_at.eq(now)))
            .execute(conn)
            .await?;
        let change = Change {
            action: "store.delete",
            entity: "store",
            id,
            before: Some(&before),
            after: None,
        };
        audit(conn, actor, change).await
    })
    .await
}

/// Locks the active store `id` for the rest of the transaction and returns it.
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
