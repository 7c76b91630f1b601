use actix_web::{HttpRequest, HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Caller,
    pagination::{Page, PageParams},
    read::Freshness,
    web::conditional,
};

use crate::{keys, models::stores, state::CatalogState};

/// List stores.
///
/// `GET /stores?limit=&cursor=`: active stores in creation order, a page at a time.
#[utoipa::path(get, operation_id = "stores_list", path = "/stores", tag = "stores", params(PageParams),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag`"),
              (status = 200, description = "A page of active stores in creation order", body = Page<crate::models::stores::StoreView>)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn list(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<CatalogState>,
    fresh: Freshness,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let field = keys::page_field(page.limit, page.after, None);
    let rendered = state
        .cache
        .get_or_render_variant(keys::STORES_ALL, field.as_deref(), || async {
            let mut conn = state.db.read(&fresh).await?;
            let rows = stores::list(&mut conn, page.after, page.limit).await?;
            Ok(Page::from_rows(rows, page.limit, |s| s.id.to_string()))
        })
        .await?;
    Ok(conditional::respond(&req, rendered))
}
