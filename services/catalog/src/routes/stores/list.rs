use actix_web::{HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Caller,
    db,
    pagination::{Page, PageParams},
};

use crate::{keys, models::stores, state::CatalogState};

/// List stores.
///
/// `GET /stores?limit=&cursor=`: active stores in creation order, a page at a time.
#[utoipa::path(get, operation_id = "stores_list", path = "/stores", tag = "stores", params(PageParams),
    responses((status = 200, description = "A page of active stores in creation order", body = Page<crate::models::stores::StoreView>)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn list(
    caller: Caller,
    state: web::Data<CatalogState>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let field = keys::page_field(page.limit, page.after, None);
    let rows = state
        .cache
        .get_or_load_variant(keys::STORES_ALL, field.as_deref(), || async {
            let mut conn = db::conn(&state.pg).await?;
            stores::list(&mut conn, page.after, page.limit).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |s| s.id.to_string())))
}
