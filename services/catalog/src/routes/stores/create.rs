use actix_web::{HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Admin,
    web::{AuditIds, JsonBody},
};

use super::StoreBody;
use crate::{
    domain::StoreDraft,
    models::stores::Stores,
    routes::{location, write},
    state::CatalogState,
};

/// Create a store (admin).
///
/// `POST /stores` (admin): 201 with the store; 409 naming `code` when an active store has it.
#[utoipa::path(post, operation_id = "stores_create", path = "/stores", tag = "stores", request_body = StoreBody,
    responses((status = 201, description = "Created", body = crate::models::stores::StoreView,
                headers(("Location" = String, description = "The store's URL, `/stores/{store_id}`"))),
              (status = 409, description = "An active store has this code (`field`: `code`)", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id, store_id))]
pub async fn create(
    admin: Admin,
    state: web::Data<CatalogState>,
    ids: AuditIds,
    body: JsonBody<StoreBody>,
) -> Result<HttpResponse, ApiError> {
    let draft = StoreDraft::try_from(body.0)?;
    let done = write::create::<Stores>(&state, &admin, &ids, &draft).await?;
    let id = done.value.id;
    tracing::Span::current().record("store_id", tracing::field::display(id));
    let res = HttpResponse::Created()
        .insert_header(location("stores", id))
        .json(&done.value);
    Ok(done.respond(res))
}
