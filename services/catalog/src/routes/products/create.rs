use actix_web::{HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Admin,
    web::{AuditIds, JsonBody},
};

use super::ProductBody;
use crate::{
    models::products::Products,
    routes::{location, write},
    state::CatalogState,
};

/// Create a product (admin).
///
/// `POST /products` (admin): 201 with the product; 409 naming `sku` when an active product has it.
#[utoipa::path(post, operation_id = "products_create", path = "/products", tag = "products", request_body = ProductBody,
    responses((status = 201, description = "Created", body = crate::models::products::ProductView,
                headers(("Location" = String, description = "The product's URL, `/products/{product_id}`"))),
              (status = 409, description = "An active product has this SKU (`field`: `sku`)", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id, product_id))]
pub async fn create(
    admin: Admin,
    state: web::Data<CatalogState>,
    ids: AuditIds,
    body: JsonBody<ProductBody>,
) -> Result<HttpResponse, ApiError> {
    let draft = body.0.into_new()?;
    let done = write::create::<Products>(&state, &admin, &ids, &draft).await?;
    let id = done.value.id;
    tracing::Span::current().record("product_id", tracing::field::display(id));
    let res = HttpResponse::Created()
        .insert_header(location("products", id))
        .json(&done.value);
    Ok(done.respond(res))
}
