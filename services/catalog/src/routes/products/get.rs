use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, db};
use uuid::Uuid;

use crate::{keys, models::products, startup::CatalogState};

/// `GET /products/{id}`: one active product (404 once archived).
#[utoipa::path(get, operation_id = "products_get", path = "/products/{id}", tag = "products", params(("id" = Uuid, Path, description = "The product")),
    responses((status = 200, description = "The active product", body = crate::models::products::ProductView)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, product_id = %path))]
pub async fn get(
    caller: Caller,
    state: web::Data<CatalogState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let product = state
        .cache
        .get_or_load(&keys::product(id), keys::ITEM, || async {
            let mut conn = db::conn(&state.pg).await?;
            products::find(&mut conn, id).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(product))
}
