//! `POST /stock/movements`: one STOCK_IN, SALE or MANUAL_REMOVE.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, openapi::ProblemDoc, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::routes::write::{self, IdempotencyHeader, WriteContext};
use crate::{
    commands::{Command, Line, MovementRecorded},
    domain::{CountedQuantity, MovementKind, Note, Quantity},
    state::StockState,
};

/// One movement as posted (alone, or as a line of a batch).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementInput {
    pub store_id: Uuid,
    pub product_id: Uuid,
    /// Transfers have their own endpoint, `POST /stock/transfers`.
    #[serde(rename = "type")]
    #[schema(value_type = PostedMovementType)]
    pub kind: String,
    /// Units asked for: added by STOCK_IN, removed by SALE and MANUAL_REMOVE.
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 3)]
    pub quantity: i64,
    /// Why: at most 500 characters on one line (trimmed; absent, `null` or blank: none).
    #[schema(max_length = 500, format = "text-line", example = "damaged")]
    pub reason: Option<String>,
    /// The client's reference, e.g. a receipt number; at most 500 characters like `reason`.
    #[schema(max_length = 500, format = "text-line", example = "receipt-1182")]
    pub reference: Option<String>,
    /// When given, the movement applies only if the level holds exactly this many units now
    /// (a missing level holds 0); otherwise 409 with `current_quantity`.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub expected_quantity: Option<i64>,
}

/// The movement types a client may post (the transfer types come from `POST /stock/transfers`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
pub enum PostedMovementType {
    StockIn,
    Sale,
    ManualRemove,
}

impl MovementInput {
    /// Parses the line; `prefix` (`""` or `movements[3].`) goes before field names in errors.
    pub fn parse(&self, prefix: &str) -> Result<Line, ApiError> {
        let field = |name: &str| format!("{prefix}{name}");
        Ok(Line {
            store_id: self.store_id,
            product_id: self.product_id,
            kind: MovementKind::parse_direct(&self.kind, &field("type"))?,
            quantity: Quantity::parse(self.quantity, &field("quantity"))?,
            reason: Note::parse_opt(self.reason.as_deref(), &field("reason"))?,
            reference: Note::parse_opt(self.reference.as_deref(), &field("reference"))?,
            expected_quantity: CountedQuantity::parse_opt(
                self.expected_quantity,
                &field("expected_quantity"),
            )?,
            transfer_id: None,
        })
    }
}

/// Record a movement.
///
/// 201 `{movement, level}`; 409 `{..., available}` when a removal exceeds the stock.
#[utoipa::path(post, operation_id = "stock_movements_create", path = "/stock/movements", tag = "movements", params(IdempotencyHeader), request_body = MovementInput,
    responses((status = 201, description = "Recorded: the movement and the level after it", body = MovementRecorded, headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`"))),
              (status = 403, description = "The caller is neither admin nor assigned to the store", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "The store or product does not exist or is archived", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 409, description = "Nothing changed. `type` …/insufficient-stock: a SALE or MANUAL_REMOVE larger than the stock, with `available` and `requested`; …/quantity-mismatch: `expected_quantity` differs, with `current_quantity`; `type` …/request-in-progress: a request with the same `Idempotency-Key` is still in flight", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, description = "The `Idempotency-Key` was already used with another body or endpoint", body = ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, store_id = %body.0.store_id, product_id = %body.0.product_id))]
pub async fn create(
    state: web::Data<StockState>,
    caller: Caller,
    ctx: WriteContext,
    body: JsonBody<MovementInput>,
) -> Result<HttpResponse, ApiError> {
    let line = body.0.parse("")?;
    caller.require_store(line.store_id)?;
    write::perform(&state, &caller, ctx, &body.0, Command::Move(line)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MovementInput {
        MovementInput {
            store_id: Uuid::nil(),
            product_id: Uuid::nil(),
            kind: "SALE".into(),
            quantity: 1,
            reason: None,
            reference: None,
            expected_quantity: None,
        }
    }

    fn field_of(result: Result<Line, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest { errors, .. }) => errors[0].field.clone(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn each_bad_field_is_named_with_its_prefix() {
        let mut bad = input();
        bad.kind = "REFUND".into();
        assert_eq!(field_of(bad.parse("movements[2].")), "movements[2].type");
        let mut bad = input();
        bad.quantity = 0;
        assert_eq!(field_of(bad.parse("")), "quantity");
        let mut bad = input();
        bad.reason = Some("damaged\n".into());
        assert_eq!(field_of(bad.parse("")), "reason");
        let mut bad = input();
        bad.reference = Some("r".repeat(501));
        assert_eq!(field_of(bad.parse("")), "reference");
        let mut bad = input();
        bad.expected_quantity = Some(-1);
        assert_eq!(field_of(bad.parse("")), "expected_quantity");
        let mut bad = input();
        bad.kind = "TRANSFER_IN".into();
        assert_eq!(field_of(bad.parse("")), "type");
    }

    #[test]
    fn a_good_line_parses() {
        let line = input().parse("").ok();
        assert_eq!(line.map(|l| l.kind), Some(MovementKind::Sale));
    }
}
