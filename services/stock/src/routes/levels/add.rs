//! `POST /stock`: adds stock (a STOCK_IN), creating the level when missing.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, openapi::ProblemDoc, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::routes::write::{self, IdempotencyHeader, WriteContext};
use crate::{
    commands::{Command, Line},
    domain::{MovementKind, Quantity},
    models::levels::LevelView,
    state::StockState,
};

/// Units received into a store (a STOCK_IN).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStock {
    store_id: Uuid,
    product_id: Uuid,
    /// Units to add.
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 24)]
    quantity: i64,
}

impl AddStock {
    fn parse(&self) -> Result<Line, ApiError> {
        Ok(Line {
            store_id: self.store_id,
            product_id: self.product_id,
            kind: MovementKind::StockIn,
            quantity: Quantity::parse(self.quantity, "quantity")?,
            reason: None,
            reference: None,
            expected_quantity: None,
            transfer_id: None,
        })
    }
}

/// Add stock to a level (STOCK_IN).
///
/// 201 with the level when it was created, 200 when it existed.
#[utoipa::path(post, operation_id = "stock_add", path = "/stock", tag = "stock", params(IdempotencyHeader), request_body = AddStock,
    responses((status = 201, description = "The level was created with this quantity", body = LevelView, headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`"))),
              (status = 200, description = "The level existed; the quantity was added", body = LevelView, headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`"))),
              (status = 403, description = "The caller is neither admin nor assigned to the store", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "The store or product does not exist or is archived", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 409, description = "The `Idempotency-Key` belongs to a request still in flight (`type` …/request-in-progress); retry later", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, description = "The `Idempotency-Key` was already used with another body or endpoint", body = ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %body.0.store_id, product_id = %body.0.product_id))]
pub async fn add(
    state: web::Data<StockState>,
    caller: Caller,
    ctx: WriteContext,
    body: JsonBody<AddStock>,
) -> Result<HttpResponse, ApiError> {
    let line = body.0.parse()?;
    caller.require_store(line.store_id)?;
    write::perform(&state, &caller, ctx, &body.0, Command::AddStock(line)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_must_be_positive() {
        let body = |quantity| AddStock {
            store_id: Uuid::nil(),
            product_id: Uuid::nil(),
            quantity,
        };
        assert!(body(0).parse().is_err());
        assert!(body(-3).parse().is_err());
        assert!(body(5).parse().is_ok());
    }
}
