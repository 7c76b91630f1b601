//! The catalog's writes, as the admin routes make them. Each runs its audited transaction
//! ([`CatalogTable`]) and then — after the commit, with the connection back in the pool — drops the
//! cache keys the write made stale ([`Written`]) and, with a replica, remembers the admin's
//! position in the same round trip (`Cache::written`, as stock's `StockState::committed`). The
//! answer carries that position for the response ([`with_committed`]).

use diesel_async::AsyncPgConnection;
use inventory_common::{
    ApiError,
    auth::Admin,
    db,
    read::Committed,
    web::{AuditIds, with_committed},
};
use uuid::Uuid;

use super::actor;
use crate::{keys::Written, models::CatalogTable, state::CatalogState};

/// A committed write's result, and its position for the response.
pub(crate) struct Done<R> {
    pub value: R,
    committed: Option<Committed>,
}

impl<R> Done<R> {
    /// `res` with the write's position for the consistency middleware.
    pub fn respond(self, res: actix_web::HttpResponse) -> actix_web::HttpResponse {
        with_committed(res, self.committed)
    }
}

/// Creates a row (409 when its unique field is taken).
pub(crate) async fn create<T: CatalogTable + Written>(
    state: &CatalogState,
    admin: &Admin,
    ids: &AuditIds,
    draft: &T::Draft,
) -> Result<Done<T::View>, ApiError> {
    write::<T, _>(state, admin, T::id, async |conn| {
        T::create(conn, draft, &actor(admin, ids)).await
    })
    .await
}

/// Replaces every field of the active row `id` (404 when there is none).
pub(crate) async fn replace<T: CatalogTable + Written>(
    state: &CatalogState,
    admin: &Admin,
    ids: &AuditIds,
    id: Uuid,
    draft: &T::Draft,
) -> Result<Done<T::View>, ApiError> {
    write::<T, _>(
        state,
        admin,
        |_| id,
        async |conn| T::replace(conn, id, draft, &actor(admin, ids)).await,
    )
    .await
}

/// Archives the active row `id` (404 when there is none).
pub(crate) async fn archive<T: CatalogTable + Written>(
    state: &CatalogState,
    admin: &Admin,
    ids: &AuditIds,
    id: Uuid,
) -> Result<Done<()>, ApiError> {
    write::<T, _>(
        state,
        admin,
        |_| id,
        async |conn| T::archive(conn, id, &actor(admin, ids)).await,
    )
    .await
}

/// Runs `work` on a primary connection, reads the commit's position there, then drops what the
/// write of row `id_of(result)` made stale.
async fn write<T: Written, R>(
    state: &CatalogState,
    admin: &Admin,
    id_of: impl FnOnce(&R) -> Uuid,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> Result<R, ApiError>,
) -> Result<Done<R>, ApiError> {
    let (value, position) = {
        let mut conn = db::conn(&state.pg).await?;
        let value = work(&mut conn).await?;
        (value, state.db.position_after(&mut conn).await)
    };
    let committed = state
        .cache
        .written(&T::stale(id_of(&value)), admin.0.user_id, position)
        .await;
    Ok(Done { value, committed })
}
