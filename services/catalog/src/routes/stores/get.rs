use actix_web::{HttpRequest, HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, read::Freshness};
use uuid::Uuid;

use crate::{keys, models::stores::Stores, state::CatalogState};

/// Get a store.
///
/// `GET /stores/{store_id}`: one active store (404 once archived).
#[utoipa::path(get, operation_id = "stores_get", path = "/stores/{store_id}", tag = "stores", params(("store_id" = Uuid, Path, description = "The store")),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag`"),
              (status = 200, description = "The active store", body = crate::models::stores::StoreView)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %path))]
pub async fn get(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<CatalogState>,
    fresh: Freshness,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    super::super::get_active::<Stores>(&req, &state, &fresh, &keys::store(id), id).await
}
