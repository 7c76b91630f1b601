//! The catalog's writes, as the admin routes make them. Each runs its audited transaction
//! ([`CatalogTable`]) and then — after the commit, with the connection back in the pool — drops the
//! cache keys the write made stale ([`Written`]): the one place the catalog invalidates its cache,
//! as stock does in `StockState::committed`.

use inventory_common::{ApiError, auth::Admin, db, read::Lsn, web::AuditIds};
use uuid::Uuid;

use super::actor;
use crate::{keys::Written, models::CatalogTable, state::CatalogState};

/// Creates a row (409 when its unique field is taken).
pub(crate) async fn create<T: CatalogTable + Written>(
    state: &CatalogState,
    admin: &Admin,
    ids: &AuditIds,
    draft: &T::Draft,
) -> Result<T::View, ApiError> {
    let (created, position) = {
        let mut conn = db::conn(&state.pg).await?;
        let written = T::create(&mut conn, draft, &actor(admin, ids)).await?;
        (written, state.db.position_after(&mut conn).await)
    };
    committed::<T>(state, T::id(&created), position).await;
    Ok(created)
}

/// Replaces every field of the active row `id` (404 when there is none).
pub(crate) async fn replace<T: CatalogTable + Written>(
    state: &CatalogState,
    admin: &Admin,
    ids: &AuditIds,
    id: Uuid,
    draft: &T::Draft,
) -> Result<T::View, ApiError> {
    let (replaced, position) = {
        let mut conn = db::conn(&state.pg).await?;
        let written = T::replace(&mut conn, id, draft, &actor(admin, ids)).await?;
        (written, state.db.position_after(&mut conn).await)
    };
    committed::<T>(state, id, position).await;
    Ok(replaced)
}

/// Archives the active row `id` (404 when there is none).
pub(crate) async fn archive<T: CatalogTable + Written>(
    state: &CatalogState,
    admin: &Admin,
    ids: &AuditIds,
    id: Uuid,
) -> Result<(), ApiError> {
    let position = {
        let mut conn = db::conn(&state.pg).await?;
        T::archive(&mut conn, id, &actor(admin, ids)).await?;
        state.db.position_after(&mut conn).await
    };
    committed::<T>(state, id, position).await;
    Ok(())
}

/// After the commit of a write of row `id` (at `position`, with a replica): drops what it made
/// stale.
async fn committed<T: Written>(state: &CatalogState, id: Uuid, position: Option<Lsn>) {
    state.cache.invalidate(&T::stale(id), position, None).await;
}
