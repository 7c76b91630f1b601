//! `PUT /stock/{stockId}`: a counted quantity and/or a new reorder level.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, openapi::ProblemDoc, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::routes::write::{self, IdempotencyHeader, WriteContext};
use crate::{
    commands::{Command, Count},
    domain::CountedQuantity,
    models::levels::LevelView,
    state::StockState,
};

/// A counted quantity and/or a new reorder level (at least one of the two).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountInput {
    /// The counted units; a difference is recorded as STOCK_IN or MANUAL_REMOVE with reason `count`.
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 40)]
    quantity: Option<i64>,
    /// The new low-stock threshold.
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 10)]
    reorder_level: Option<i64>,
    /// When given, the change applies only if the level holds exactly this many units now;
    /// otherwise 409 with `current_quantity`.
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 42)]
    expected_quantity: Option<i64>,
}

impl CountInput {
    fn parse(&self, stock_id: Uuid) -> Result<Count, ApiError> {
        if self.quantity.is_none() && self.reorder_level.is_none() {
            return Err(ApiError::field(
                "body",
                "give quantity and/or reorder_level",
            ));
        }
        Ok(Count {
            stock_id,
            quantity: CountedQuantity::parse_opt(self.quantity, "quantity")?,
            reorder_level: CountedQuantity::parse_opt(self.reorder_level, "reorder_level")?,
            expected_quantity: CountedQuantity::parse_opt(
                self.expected_quantity,
                "expected_quantity",
            )?,
        })
    }
}

#[utoipa::path(put, operation_id = "stock_count", path = "/stock/{id}", tag = "stock",
    params(("id" = Uuid, Path, description = "The stock level (its `id`; the same path with GET lists a store)"), IdempotencyHeader), request_body = CountInput,
    responses((status = 200, description = "The level after the change", body = LevelView, headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`"))),
              (status = 400, description = "Neither `quantity` nor `reorder_level` given (field `body`), or a field out of range", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 403, description = "The caller is neither admin nor assigned to the level's store", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "No such stock level, or its store or product is archived", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 409, description = "Nothing changed. `type` …/quantity-mismatch: `expected_quantity` differs, with `current_quantity`; or `type` …/request-in-progress: a request with the same `Idempotency-Key` is still in flight", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, description = "The `Idempotency-Key` was already used with another body or endpoint", body = ProblemDoc, content_type = "application/problem+json")))]
/// Set a counted quantity or the reorder level.
///
/// 200 with the level. A changed quantity is recorded as STOCK_IN or MANUAL_REMOVE with reason
/// `count`; a wrong `expected_quantity` is a 409 with `current_quantity`.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, stock_id = %path))]
pub async fn count(
    state: web::Data<StockState>,
    caller: Caller,
    ctx: WriteContext,
    path: web::Path<Uuid>,
    body: JsonBody<CountInput>,
) -> Result<HttpResponse, ApiError> {
    let count = body.0.parse(path.into_inner())?;
    // The level's store is known only inside the transaction, which checks the caller.
    write::perform(&state, &caller, ctx, &body.0, Command::Count(count)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(q: Option<i64>, r: Option<i64>, e: Option<i64>) -> CountInput {
        CountInput {
            quantity: q,
            reorder_level: r,
            expected_quantity: e,
        }
    }

    #[test]
    fn counts() {
        let id = Uuid::nil();
        assert!(input(None, None, None).parse(id).is_err());
        assert!(input(None, None, Some(3)).parse(id).is_err());
        assert!(input(Some(-1), None, None).parse(id).is_err());
        assert!(input(None, Some(-1), None).parse(id).is_err());
        assert!(input(Some(0), None, None).parse(id).is_ok());
        assert!(input(None, Some(10), Some(4)).parse(id).is_ok());
    }
}
