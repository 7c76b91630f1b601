//! `GET /stock/movements`: the movement history, newest first.

use actix_web::{HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Caller,
    openapi::ProblemDoc,
    pagination::{Page, PageParams},
    read::Freshness,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::routes::query;
use crate::state::StockState;
use crate::{
    domain::MovementKind,
    models::movements::{self, MovementFilter, MovementView},
};

/// The query string. Values are read as text so that a bad one is a 400 naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    #[serde(flatten)]
    #[param(ignore)]
    page: PageParams,
    /// Only this store's movements (one the caller may read; absent: every store the caller may
    /// read).
    #[param(value_type = Uuid, required = false)]
    store_id: Option<String>,
    /// Only this product's movements.
    #[param(value_type = Uuid, required = false)]
    product_id: Option<String>,
    /// Only movements of this type.
    #[serde(rename = "type")]
    #[param(value_type = MovementKind, required = false)]
    kind: Option<String>,
    /// Movements at or after this time (RFC 3339, e.g. `2026-11-25T10:00:00Z`).
    #[param(value_type = chrono::DateTime<chrono::Utc>, required = false)]
    from: Option<String>,
    /// Movements before this time (RFC 3339); not before `from`.
    #[param(value_type = chrono::DateTime<chrono::Utc>, required = false)]
    to: Option<String>,
}

impl HistoryQuery {
    /// The filter, scoped to what `caller` may read: an explicit `store_id` must be one of theirs
    /// (403 otherwise); without one, an admin reads every store and anyone else their own.
    fn filter(&self, caller: &Caller) -> Result<MovementFilter, ApiError> {
        let store_id = query::uuid(self.store_id.as_deref(), "store_id")?;
        let filter = MovementFilter {
            stores: caller
                .read_scope(store_id)?
                .store_ids()
                .map(<[Uuid]>::to_vec),
            product_id: query::uuid(self.product_id.as_deref(), "product_id")?,
            kind: self
                .kind
                .as_deref()
                .map(|k| MovementKind::parse(k.trim(), "type").map(MovementKind::as_str))
                .transpose()?,
            from: query::time(self.from.as_deref(), "from")?,
            to: query::time(self.to.as_deref(), "to")?,
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && to < from
        {
            return Err(ApiError::field("to", "must not be before from"));
        }
        Ok(filter)
    }
}

#[utoipa::path(get, operation_id = "stock_movements_list", path = "/stock/movements", tag = "movements", params(HistoryQuery, PageParams),
    responses((status = 200, description = "A page of movements, newest first; without `store_id`, only the stores the caller may read (every store for an admin, none for a user without stores)", body = Page<MovementView>),
              (status = 403, description = "`store_id` names a store the caller is not assigned to (and the caller is not admin)", body = ProblemDoc, content_type = "application/problem+json")))]
/// Movement history.
///
/// Movements filtered by store, product, type and time range (`from` inclusive, `to` exclusive),
/// newest first, cursor-paginated. An admin reads every store; a manager or clerk only their
/// assigned stores: another `store_id` is a 403, and without `store_id` the list holds only
/// their stores' movements (none for a user without stores).
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn list(
    state: web::Data<StockState>,
    fresh: Freshness,
    caller: Caller,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = q.page.parse()?;
    let filter = q.filter(&caller)?;
    if filter.stores.as_ref().is_some_and(Vec::is_empty) {
        return Ok(HttpResponse::Ok().json(Page::<MovementView>::from_rows(
            Vec::new(),
            page.limit,
            |m| m.id.to_string(),
        )));
    }
    let mut conn = state.db.read(&fresh).await?;
    let rows = movements::list(&mut conn, &filter, page.after, page.limit).await?;
    let views: Vec<MovementView> = rows.iter().map(|m| m.view()).collect();
    Ok(HttpResponse::Ok().json(Page::from_rows(views, page.limit, |m| m.id.to_string())))
}
