use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Admin, web::AuditIds};
use uuid::Uuid;

use crate::{models::stores::Stores, routes::write, state::CatalogState};

/// Archive a store (admin).
///
/// `DELETE /stores/{store_id}` (admin): archives the store (204); 404 when it is not active.
#[utoipa::path(delete, operation_id = "stores_delete", path = "/stores/{store_id}", tag = "stores", params(("store_id" = Uuid, Path, description = "The store")),
    responses((status = 204, description = "Archived: gone from reads and lists, accepts no new stock; its code is free again")))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id, store_id = %path))]
pub async fn delete(
    admin: Admin,
    state: web::Data<CatalogState>,
    ids: AuditIds,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let done = write::archive::<Stores>(&state, &admin, &ids, id).await?;
    Ok(done.respond(HttpResponse::NoContent().finish()))
}
