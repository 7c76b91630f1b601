use actix_web::{HttpRequest, HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, read::Freshness};
use uuid::Uuid;

use crate::{keys, models::products::Products, state::CatalogState};

/// Get a product.
///
/// `GET /products/{product_id}`: one active product (404 once archived).
#[utoipa::path(get, operation_id = "products_get", path = "/products/{product_id}", tag = "products", params(("product_id" = Uuid, Path, description = "The product")),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag`"),
              (status = 200, description = "The active product", body = crate::models::products::ProductView)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, product_id = %path))]
pub async fn get(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<CatalogState>,
    fresh: Freshness,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    super::super::get_active::<Products>(&req, &state, &fresh, &keys::product(id), id).await
}
