//! `POST /stock/movements/batch`: up to 500 movements, all applied or none.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, web::JsonBody};
use serde::{Deserialize, Serialize};

use super::{
    movements::MovementInput,
    write::{self, WriteContext},
};
use crate::{
    ops::{Command, Line},
    startup::StockState,
};

/// The most lines one batch may have.
pub const MAX_LINES: usize = 500;

/// The body.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
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
