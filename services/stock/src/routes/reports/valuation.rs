//! `GET /reports/stores/{storeId}/valuation`: quantity × price per product, and the total.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use inventory_common::{ApiError, auth::Caller, db, openapi::ProblemDoc, pagination::Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::params;
use crate::{
    models::{
        catalog,
        reports::{self, ValuationLine},
    },
    state::StockState,
};

/// The query string. Values are read as text so that a bad one is a 400 naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValuationQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = i64, required = false, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page (absent: the first page).
    #[param(value_type = Uuid, required = false)]
    cursor: Option<String>,
}

/// The report: the total over every product in stock, and a page of the products.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ValuationReport {
    store_id: Uuid,
    /// The time of the newest event the ledger has applied for this scope (null before any).
    as_of: Option<DateTime<Utc>>,
    /// Products with stock (all pages).
    products: i64,
    /// Σ quantity × price_cents over all products with stock, at current catalog prices, computed
    /// exactly in NUMERIC (an integer that may exceed 64 bits).
    #[serde(serialize_with = "reports::exact_integer")]
    #[schema(schema_with = reports::exact_integer_schema)]
    total_value_cents: String,
    #[serde(flatten)]
    page: Page<ValuationLine>,
}

#[utoipa::path(get, operation_id = "reports_valuation", path = "/reports/stores/{store_id}/valuation", tag = "reports",
    params(("store_id" = Uuid, Path, description = "The store"), ValuationQuery),
    responses((status = 200, description = "The total and a page of products with stock, by product id (`items`, `next_cursor`)", body = ValuationReport),
              (status = 403, description = "The caller is neither admin nor assigned to the store", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "The store never existed", body = ProblemDoc, content_type = "application/problem+json")))]
/// Stock valuation of a store.
///
/// An admin or a member of the store may read (403 otherwise); 404 for a store that never
/// existed. Values are computed in NUMERIC and written as exact JSON integers (no 64-bit overflow).
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %path))]
pub async fn valuation(
    state: web::Data<StockState>,
    caller: Caller,
    path: web::Path<Uuid>,
    q: web::Query<ValuationQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = path.into_inner();
    caller.require_store(store_id)?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::uuid(q.cursor.as_deref(), "cursor")?;
    let mut conn = db::conn(&state.pg).await?;
    if !catalog::store_exists(&mut conn, store_id).await? {
        return Err(ApiError::NotFound(format!("store {store_id} not found")));
    }
    let as_of = reports::as_of(&mut conn, Some(&[store_id])).await?;
    let total = reports::valuation_total(&mut conn, store_id).await?;
    let rows = reports::valuation(&mut conn, store_id, after, limit + 1).await?;
    let page = Page::from_rows(rows, limit, |l| l.product_id.to_string());
    Ok(HttpResponse::Ok().json(ValuationReport {
        store_id,
        as_of,
        products: total.products,
        total_value_cents: total.total_value_cents,
        page,
    }))
}
