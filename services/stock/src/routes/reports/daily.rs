//! `GET /reports/stores/{storeId}/daily?from&to`: per product per day, in, out, net and closing.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use inventory_common::{ApiError, auth::Caller, db, pagination::Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::params::{self, DateRange};
use crate::{
    models::{
        catalog,
        reports::{self, DailyLine},
    },
    startup::StockState,
};

/// The query string.
#[derive(Debug, Deserialize)]
pub struct DailyQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// The report: one line per product and day with movements, by day then product.
#[derive(Debug, Serialize)]
struct DailyReport {
    store_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    page: Page<DailyLine>,
}

/// Any valid token may read; 404 for a store that never existed; 400 naming `from`/`to` for bad
/// dates (YYYY-MM-DD, `from` ≤ `to`, at most 366 days).
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %path))]
pub async fn daily(
    state: web::Data<StockState>,
    caller: Caller,
    path: web::Path<Uuid>,
    q: web::Query<DailyQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = path.into_inner();
    let range = DateRange::parse(q.from.as_deref(), q.to.as_deref(), Utc::now().date_naive())?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::cursor(q.cursor.as_deref(), params::cursor_day, params::cursor_uuid)?;
    let mut conn = db::conn(&state.pg).await?;
    if !catalog::store_exists(&mut conn, store_id).await? {
        return Err(ApiError::NotFound(format!("store {store_id} not found")));
    }
    let as_of = reports::as_of(&mut conn, Some(store_id)).await?;
    let rows = reports::daily(&mut conn, store_id, range.from, range.to, after, limit + 1).await?;
    let page = Page::from_rows(rows, limit, |l| format!("{}.{}", l.day, l.product_id));
    Ok(HttpResponse::Ok().json(DailyReport {
        store_id,
        from: range.from,
        to: range.to,
        as_of,
        page,
    }))
}
