//! `GET /stock/{storeId}`: a store's stock levels, cached per page and filter.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, db, pagination::Page};
use serde::Deserialize;
use uuid::Uuid;

use super::query;
use crate::{
    models::{
        catalog,
        levels::{self, LevelFilter, LevelView},
    },
    startup::StockState,
};

/// The query string.
#[derive(Debug, Deserialize)]
pub struct LevelQuery {
    limit: Option<String>,
    cursor: Option<String>,
    low_stock: Option<String>,
    product_id: Option<String>,
}

/// Levels in product id order; `?low_stock=true` keeps those at or under their reorder level,
/// `?product_id=` one product. Any valid token may read. 404 for a store that never existed.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %path))]
pub async fn list(
    state: web::Data<StockState>,
    caller: Caller,
    path: web::Path<Uuid>,
    q: web::Query<LevelQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = path.into_inner();
    let page = query::page(q.limit.as_deref(), q.cursor.as_deref())?;
    let filter = LevelFilter {
        low_stock: query::flag(q.low_stock.as_deref(), "low_stock")?,
        product_id: query::uuid(q.product_id.as_deref(), "product_id")?,
    };
    let field = format!(
        "low={}&product={}&limit={}&after={}",
        filter.low_stock,
        filter.product_id.map(|p| p.to_string()).unwrap_or_default(),
        page.limit,
        page.after.map(|a| a.to_string()).unwrap_or_default(),
    );
    let rows: Vec<LevelView> = state
        .cache
        .get_or_load(&StockState::store_key(store_id), &field, || async {
            let mut conn = db::conn(&state.pg).await?;
            if !catalog::store_exists(&mut conn, store_id).await? {
                return Err(ApiError::NotFound(format!("store {store_id} not found")));
            }
            let rows =
                levels::list_for_store(&mut conn, store_id, filter, page.after, page.limit).await?;
            Ok(rows.iter().map(|l| l.view()).collect())
        })
        .await?;
    Ok(
        HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |l| {
            l.product_id.to_string()
        })),
    )
}
