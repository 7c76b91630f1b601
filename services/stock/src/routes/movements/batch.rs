//! `POST /stock/movements/batch`: up to 500 movements, all applied or none.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, openapi::ProblemDoc, web::JsonBody};
use serde::{Deserialize, Serialize};

use super::create::MovementInput;
use crate::routes::write::{self, IdempotencyHeader, WriteContext};
use crate::{
    commands::{BatchRecorded, Command, Line},
    state::StockState,
};

/// The most lines one batch may have.
pub const MAX_LINES: usize = 500;

/// Movements applied together: all of them, or none.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// 1 to 500 lines, applied in order (later lines see earlier lines' effect).
    #[schema(min_items = 1, max_items = 500)]
    movements: Vec<MovementInput>,
}

impl BatchInput {
    fn parse(&self) -> Result<Vec<Line>, ApiError> {
        if self.movements.is_empty() || self.movements.len() > MAX_LINES {
            return Err(ApiError::field(
                "movements",
                format!("must have between 1 and {MAX_LINES} lines"),
            ));
        }
        self.movements
            .iter()
            .enumerate()
            .map(|(i, m)| m.parse(&format!("movements[{i}].")))
            .collect()
    }
}

#[utoipa::path(post, operation_id = "stock_movements_batch", path = "/stock/movements/batch", tag = "movements", params(IdempotencyHeader), request_body = BatchInput,
    responses((status = 201, description = "Every line recorded", body = BatchRecorded, headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`"))),
              (status = 400, description = "A line is invalid; `errors` names it, e.g. `movements[3].quantity`", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 403, description = "The caller is not assigned to a line's store (the detail names the line)", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "A line's store or product does not exist or is archived (the detail names the line)", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 409, description = "Nothing applied. A line's insufficient-stock or quantity-mismatch, with `index` (0-based) and `available`/`requested` or `current_quantity`; or `type` …/request-in-progress: a request with the same `Idempotency-Key` is still in flight", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, description = "The `Idempotency-Key` was already used with another body or endpoint", body = ProblemDoc, content_type = "application/problem+json")))]
/// Record a batch of movements, all or nothing.
///
/// 201 `{movements, levels}`; when any line fails, its error names the line (`movements[3]...`,
/// and an `index` member on 409s) and nothing is applied.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, lines = body.0.movements.len()))]
pub async fn create(
    state: web::Data<StockState>,
    caller: Caller,
    ctx: WriteContext,
    body: JsonBody<BatchInput>,
) -> Result<HttpResponse, ApiError> {
    let lines = body.0.parse()?;
    for (i, line) in lines.iter().enumerate() {
        if !caller.can_manage_store(line.store_id) {
            return Err(ApiError::Forbidden(format!(
                "movements[{i}]: you are not assigned to store {}",
                line.store_id
            )));
        }
    }
    write::perform(&state, &caller, ctx, &body.0, Command::Batch(lines)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: i64) -> MovementInput {
        MovementInput {
            store_id: uuid::Uuid::nil(),
            product_id: uuid::Uuid::nil(),
            kind: "STOCK_IN".into(),
            quantity,
            reason: None,
            reference: None,
            expected_quantity: None,
        }
    }

    #[test]
    fn sizes() {
        assert!(BatchInput { movements: vec![] }.parse().is_err());
        assert!(
            BatchInput {
                movements: vec![line(1); MAX_LINES + 1]
            }
            .parse()
            .is_err()
        );
        assert!(
            BatchInput {
                movements: vec![line(1); MAX_LINES]
            }
            .parse()
            .is_ok()
        );
    }

    #[test]
    fn the_failing_line_is_named() {
        let batch = BatchInput {
            movements: vec![line(1), line(1), line(1), line(0)],
        };
        match batch.parse() {
            Err(ApiError::BadRequest { errors, .. }) => {
                assert_eq!(errors[0].field, "movements[3].quantity")
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }
}
