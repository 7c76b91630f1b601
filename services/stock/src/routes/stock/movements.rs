//! `POST /stock/movements`: one STOCK_IN, SALE or MANUAL_REMOVE.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::write::{self, WriteContext};
use crate::{
    domain::{CountedQuantity, MovementKind, Note, Quantity},
    ops::{Command, Line},
    startup::StockState,
};

/// One movement as posted (alone, or as a line of a batch).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MovementInput {
    pub store_id: Uuid,
    pub product_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub quantity: i64,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub expected_quantity: Option<i64>,
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

/// 201 `{movement, level}`; 409 `{..., available}` when a removal exceeds the stock.
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
        bad.reason = Some(" ".into());
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
