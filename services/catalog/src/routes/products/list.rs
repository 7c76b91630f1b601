use actix_web::{HttpRequest, HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Caller,
    pagination::{Page, PageParams},
    read::Freshness,
    web::conditional,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    domain::SearchQuery,
    keys,
    models::products::{self, ProductView},
    state::CatalogState,
};

/// The query of `GET /products`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only products whose SKU or name contains this text, any case (under three characters: starts
    /// with it). Trimmed; blank means no filter.
    #[param(max_length = 200, example = "tea", format = "text-line")]
    q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    page: PageParams,
}

/// List or search products.
///
/// `GET /products?q=&limit=&cursor=`: active products in creation order, a page at a time, optionally
/// those whose SKU or name contains `q` (any case).
#[utoipa::path(get, operation_id = "products_list", path = "/products", tag = "products", params(ListQuery, PageParams),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag`"),
              (status = 200, description = "A page of active products in creation order", body = Page<ProductView>)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn list(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<CatalogState>,
    fresh: Freshness,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page.parse()?;
    let search = SearchQuery::parse(query.q.as_deref()).map_err(|e| ApiError::fields(vec![e]))?;
    let text = search.as_ref().map(|s| s.text());
    let field = keys::page_field(page.limit, page.after, text);
    let rendered = state
        .cache
        .get_or_render_variant(keys::products_key(text), field.as_deref(), || async {
            let mut conn = state.db.read(&fresh).await?;
            let rows = products::list(&mut conn, search.as_ref(), page.after, page.limit).await?;
            Ok(Page::from_rows(rows, page.limit, |p| p.id.to_string()))
        })
        .await?;
    Ok(conditional::respond(&req, rendered))
}
