use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, db, pagination::Page};
use serde::Deserialize;

use crate::{
    domain::SearchQuery, keys, models::products, routes::PageQuery, startup::CatalogState,
};

/// The query of `GET /products`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /products?q=&limit=&cursor=`: active products in creation order, a page at a time, optionally
/// those whose SKU or name contains `q` (any case).
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn list(
    caller: Caller,
    state: web::Data<CatalogState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page.parse()?;
    let search = SearchQuery::parse(query.q.as_deref()).map_err(|e| ApiError::fields(vec![e]))?;
    let field = keys::page_field(page.limit, page.after, search.as_ref().map(|s| s.text()));
    let rows = state
        .cache
        .get_or_load(keys::PRODUCTS_ALL, &field, || async {
            let mut conn = db::conn(&state.pg).await?;
            products::list(&mut conn, search.as_ref(), page.after, page.limit).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |p| p.id.to_string())))
}
