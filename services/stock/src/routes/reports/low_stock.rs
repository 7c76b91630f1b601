//! `GET /reports/low-stock?store_id=`: levels at or under their reorder level.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use inventory_common::{ApiError, auth::Caller, db, openapi::ProblemDoc, pagination::Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::params;
use crate::{
    models::{
        catalog,
        reports::{self, LowStockLine},
    },
    state::StockState,
};

/// The query string. Values are read as text so that a bad one is a 400 naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LowStockQuery {
    /// Only this store, one the caller may read (default: every store the caller may read).
    #[param(value_type = Uuid, required = false)]
    store_id: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = i64, required = false, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page, `<store id>.<product id>` (absent or blank: the
    /// first page).
    #[param(
        required = false,
        pattern = "^\\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?\\s*$"
    )]
    cursor: Option<String>,
}

/// The report, by store then product.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LowStockReport {
    /// The store asked for (null: every store the caller may read).
    store_id: Option<Uuid>,
    /// The time of the newest event the ledger has applied for this scope (null before any).
    as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    page: Page<LowStockLine>,
}

#[utoipa::path(get, operation_id = "reports_low_stock", path = "/reports/low-stock", tag = "reports", params(LowStockQuery),
    responses((status = 200, description = "Levels at or under their reorder level (`items`, `next_cursor`)", body = LowStockReport),
              (status = 403, description = "`store_id` names a store the caller is not assigned to (and the caller is not admin)", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "`store_id` names a store that never existed", body = ProblemDoc, content_type = "application/problem+json")))]
/// Levels at or under their reorder level.
///
/// `store_id`'s low levels, or without it those of every store the caller may read: every store
/// for an admin, the assigned ones for a manager or clerk (none for a user without stores). A
/// `store_id` the caller is not assigned to is a 403; 404 for a store that never existed.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn low_stock(
    state: web::Data<StockState>,
    caller: Caller,
    q: web::Query<LowStockQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = params::uuid(q.store_id.as_deref(), "store_id")?;
    let scope = caller.read_scope(store_id)?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::cursor(
        q.cursor.as_deref(),
        params::cursor_uuid,
        params::cursor_uuid,
    )?;
    if scope.is_empty() {
        return Ok(HttpResponse::Ok().json(LowStockReport {
            store_id,
            as_of: None,
            page: Page::from_rows(Vec::new(), limit, |l: &LowStockLine| l.store_id.to_string()),
        }));
    }
    let mut conn = db::conn(&state.pg).await?;
    if let Some(id) = store_id
        && !catalog::store_exists(&mut conn, id).await?
    {
        return Err(ApiError::NotFound(format!("store {id} not found")));
    }
    let as_of = reports::as_of(&mut conn, scope.store_ids()).await?;
    let rows = reports::low_stock(&mut conn, scope.store_ids(), after, limit + 1).await?;
    let page = Page::from_rows(rows, limit, |l| format!("{}.{}", l.store_id, l.product_id));
    Ok(HttpResponse::Ok().json(LowStockReport {
        store_id,
        as_of,
        page,
    }))
}
