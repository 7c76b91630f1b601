//! `GET /stock/{storeId}`: a store's stock levels, cached per page and filter. Access is checked
//! before the cache is read: a cached page holds one store's levels, the same for every caller
//! allowed to read that store, and nothing caller-specific.

use actix_web::{HttpRequest, HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Caller,
    openapi::ProblemDoc,
    pagination::{Page, PageParams},
    read::Freshness,
    web::conditional,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::routes::query;
use crate::{
    models::{
        catalog,
        levels::{self, LevelFilter, LevelView},
    },
    state::StockState,
};

/// The query string. Values are read as text so that a bad one is a 400 naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LevelQuery {
    #[serde(flatten)]
    #[param(ignore)]
    page: PageParams,
    /// Only levels at or under their reorder level (default false).
    #[param(value_type = bool, required = false)]
    low_stock: Option<String>,
    /// Only this product's level.
    #[param(value_type = Uuid, required = false)]
    product_id: Option<String>,
}

#[utoipa::path(get, operation_id = "stock_levels_list", path = "/stock/{id}", tag = "stock",
    params(("id" = Uuid, Path, description = "The store (the same path with PUT counts a stock level)"), LevelQuery, PageParams),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag`"),
              (status = 200, description = "A page of the store's levels in product id order", body = Page<LevelView>),
              (status = 403, description = "The caller is neither admin nor assigned to the store", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "The store never existed (an archived store's levels stay readable)", body = ProblemDoc, content_type = "application/problem+json")))]
/// A store's stock levels.
///
/// Levels in product id order; `?low_stock=true` keeps those at or under their reorder level,
/// `?product_id=` one product. An admin or a member of the store may read (403 otherwise); 404
/// for a store that never existed.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %path))]
pub async fn list(
    state: web::Data<StockState>,
    fresh: Freshness,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    q: web::Query<LevelQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = path.into_inner();
    caller.require_store(store_id)?;
    let page = q.page.parse()?;
    let filter = LevelFilter {
        low_stock: query::flag(q.low_stock.as_deref(), "low_stock")?,
        product_id: query::uuid(q.product_id.as_deref(), "product_id")?,
    };
    // First pages only: a client can invent any number of cursors (the cache caps the rest).
    let field = page.after.is_none().then(|| {
        format!(
            "low={}&product={}&limit={}",
            filter.low_stock,
            filter.product_id.map(|p| p.to_string()).unwrap_or_default(),
            page.limit,
        )
    });
    let rendered = state
        .cache
        .get_or_render_variant(
            &StockState::store_key(store_id),
            field.as_deref(),
            || async {
                let mut conn = state.db.read(&fresh).await?;
                if !catalog::store_exists(&mut conn, store_id).await? {
                    return Err(ApiError::NotFound(format!("store {store_id} not found")));
                }
                let rows =
                    levels::list_for_store(&mut conn, store_id, filter, page.after, page.limit)
                        .await?;
                let views: Vec<LevelView> = rows.iter().map(|l| l.view()).collect();
                Ok(Page::from_rows(views, page.limit, |l| {
                    l.product_id.to_string()
                }))
            },
        )
        .await?;
    Ok(conditional::respond(&req, rendered))
}
