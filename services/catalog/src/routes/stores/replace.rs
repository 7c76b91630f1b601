use actix_web::{HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Admin,
    web::{AuditIds, JsonBody},
};
use uuid::Uuid;

use super::StoreBody;
use crate::{domain::StoreDraft, models::stores::Stores, routes::write, state::CatalogState};

/// Replace a store (admin).
///
/// `PUT /stores/{store_id}` (admin): replaces the store's fields; 404 when it is not active, 409 naming
/// `code` when another active store has the new code.
#[utoipa::path(put, operation_id = "stores_replace", path = "/stores/{store_id}", tag = "stores", params(("store_id" = Uuid, Path, description = "The store")),
    request_body = StoreBody,
    responses((status = 200, description = "The store as replaced", body = crate::models::stores::StoreView),
              (status = 409, description = "Another active store has this code (`field`: `code`)", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id, store_id = %path))]
pub async fn replace(
    admin: Admin,
    state: web::Data<CatalogState>,
    ids: AuditIds,
    path: web::Path<Uuid>,
    body: JsonBody<StoreBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let draft = StoreDraft::try_from(body.0)?;
    let done = write::replace::<Stores>(&state, &admin, &ids, id, &draft).await?;
    let res = HttpResponse::Ok().json(&done.value);
    Ok(done.respond(res))
}
