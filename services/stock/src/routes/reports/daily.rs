//! `GET /reports/stores/{storeId}/daily?from&to`: per product per day, in, out, net and closing.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use inventory_common::{ApiError, auth::Caller, db, openapi::ProblemDoc, pagination::Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::params::{self, DateRange};
use crate::{
    models::{
        catalog,
        reports::{self, DailyLine},
    },
    state::StockState,
};

/// The query string. Values are read as text so that a bad one is a 400 naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DailyQuery {
    /// The first day (YYYY-MM-DD, UTC; default 29 days before `to`); not after `to`.
    #[param(value_type = NaiveDate, required = false)]
    from: Option<String>,
    /// The last day, inclusive (YYYY-MM-DD, UTC; default today); at most 366 days after `from`.
    #[param(value_type = NaiveDate, required = false)]
    to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = i64, required = false, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page, `YYYY-MM-DD.<product id>` (absent or blank: the
    /// first page).
    #[param(
        required = false,
        pattern = "^\\s*([1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])\\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?\\s*$"
    )]
    cursor: Option<String>,
}

/// The report: one line per product and day with movements, by day then product.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DailyReport {
    store_id: Uuid,
    /// The first day covered.
    from: NaiveDate,
    /// The last day covered.
    to: NaiveDate,
    /// The time of the newest event the ledger has applied for this scope (null before any).
    as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    page: Page<DailyLine>,
}

#[utoipa::path(get, operation_id = "reports_daily", path = "/reports/stores/{store_id}/daily", tag = "reports",
    params(("store_id" = Uuid, Path, description = "The store"), DailyQuery),
    responses((status = 200, description = "The days' lines, by day then product (`items`, `next_cursor`)", body = DailyReport),
              (status = 400, description = "A bad date (field `from` or `to`), `from` after `to`, more than 366 days, or a bad `limit`/`cursor`", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 403, description = "The caller is neither admin nor assigned to the store", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "The store never existed", body = ProblemDoc, content_type = "application/problem+json")))]
/// Daily in, out, net and closing per product.
///
/// An admin or a member of the store may read (403 otherwise); 404 for a store that never
/// existed; 400 naming `from`/`to` for bad dates (YYYY-MM-DD, `from` ≤ `to`, at most 366 days).
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %path))]
pub async fn daily(
    state: web::Data<StockState>,
    caller: Caller,
    path: web::Path<Uuid>,
    q: web::Query<DailyQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = path.into_inner();
    caller.require_store(store_id)?;
    let range = DateRange::parse(q.from.as_deref(), q.to.as_deref(), Utc::now().date_naive())?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::cursor(q.cursor.as_deref(), params::cursor_day, params::cursor_uuid)?;
    let mut conn = db::conn(&state.pg).await?;
    if !catalog::store_exists(&mut conn, store_id).await? {
        return Err(ApiError::NotFound(format!("store {store_id} not found")));
    }
    let as_of = reports::as_of(&mut conn, Some(&[store_id])).await?;
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
