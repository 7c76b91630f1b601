//! `GET /stock/movements`: the movement history, newest first.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, db, pagination::Page};
use serde::Deserialize;

use super::query;
use crate::startup::StockState;
use crate::{
    domain::MovementKind,
    models::movements::{self, MovementFilter, MovementView},
};

/// The query string.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    limit: Option<String>,
    cursor: Option<String>,
    store_id: Option<String>,
    product_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl HistoryQuery {
    fn filter(&self) -> Result<MovementFilter, ApiError> {
        let filter = MovementFilter {
            store_id: query::uuid(self.store_id.as_deref(), "store_id")?,
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

/// Movements filtered by store, product, type and time range (`from` inclusive, `to` exclusive),
/// newest first, cursor-paginated. Any valid token may read.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn list(
    state: web::Data<StockState>,
    caller: Caller,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query::page(q.limit.as_deref(), q.cursor.as_deref())?;
    let filter = q.filter()?;
    let mut conn = db::conn(&state.pg).await?;
    let rows = movements::list(&mut conn, &filter, page.after, page.limit).await?;
    let views: Vec<MovementView> = rows.iter().map(|m| m.view()).collect();
    Ok(HttpResponse::Ok().json(Page::from_rows(views, page.limit, |m| m.id.to_string())))
}
