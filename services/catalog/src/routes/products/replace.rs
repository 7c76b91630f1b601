use actix_web::{HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Admin,
    web::{AuditIds, JsonBody},
};
use uuid::Uuid;

use super::ProductBody;
use crate::{models::products::Products, routes::write, state::CatalogState};

/// Replace a product (admin).
///
/// `PUT /products/{product_id}` (admin): replaces the product's fields; 404 when it is not active, 409 naming
/// `sku` when another active product has the new SKU.
#[utoipa::path(put, operation_id = "products_replace", path = "/products/{product_id}", tag = "products", params(("product_id" = Uuid, Path, description = "The product")),
    request_body = super::ProductReplacement,
    responses((status = 200, description = "The product as replaced", body = crate::models::products::ProductView),
              (status = 409, description = "Another active product has this SKU (`field`: `sku`)", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id, product_id = %path))]
pub async fn replace(
    admin: Admin,
    state: web::Data<CatalogState>,
    ids: AuditIds,
    path: web::Path<Uuid>,
    body: JsonBody<ProductBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let draft = body.0.into_replacement()?;
    let done = write::replace::<Products>(&state, &admin, &ids, id, &draft).await?;
    let res = HttpResponse::Ok().json(&done.value);
    Ok(done.respond(res))
}
