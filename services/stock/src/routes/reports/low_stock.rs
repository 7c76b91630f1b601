//! `GET /reports/low-stock?store_id=`: levels at or under their reorder level.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use inventory_common::{ApiError, auth::Caller, db, pagination::Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::params;
use crate::{
    models::{
        catalog,
        reports::{self, LowStockLine},
    },
    startup::StockState,
};

/// The query string.
#[derive(Debug, Deserialize)]
pub struct LowStockQuery {
    store_id: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// The report, by store then product.
#[derive(Debug, Serialize)]
struct LowStockReport {
    store_id: Option<Uuid>,
    as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    page: Page<LowStockLine>,
}

/// Every store's, or `store_id`'s, low levels. Any valid token may read; 404 for a store that
/// never existed.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn low_stock(
    state: web::Data<StockState>,
    caller: Caller,
    q: web::Query<LowStockQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = params::uuid(q.store_id.as_deref(), "store_id")?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::cursor(
        q.cursor.as_deref(),
        params::cursor_uuid,
        params::cursor_uuid,
    )?;
    let mut conn = db::conn(&state.pg).await?;
    if let Some(id) = store_id
        && !catalog::store_exists(&mut conn, id).await?
    {
        return Err(ApiError::NotFound(format!("store {id} not found")));
    }
    let as_of = reports::as_of(&mut conn, store_id).await?;
    let rows = reports::low_stock(&mut conn, store_id, after, limit + 1).await?;
    let page = Page::from_rows(rows, limit, |l| format!("{}.{}", l.store_id, l.product_id));
    Ok(HttpResponse::Ok().json(LowStockReport {
        store_id,
        as_of,
        page,
    }))
}
