use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Admin, web::AuditIds};
use uuid::Uuid;

use crate::{models::products::Products, routes::write, state::CatalogState};

/// Archive a product (admin).
///
/// `DELETE /products/{product_id}` (admin): archives the product (204); 404 when it is not active.
#[utoipa::path(delete, operation_id = "products_delete", path = "/products/{product_id}", tag = "products", params(("product_id" = Uuid, Path, description = "The product")),
    responses((status = 204, description = "Archived: gone from reads and lists; its SKU is free again")))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id, product_id = %path))]
pub async fn delete(
    admin: Admin,
    state: web::Data<CatalogState>,
    ids: AuditIds,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let done = write::archive::<Products>(&state, &admin, &ids, id).await?;
    Ok(done.respond(HttpResponse::NoContent().finish()))
}
