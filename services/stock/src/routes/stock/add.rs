//! `POST /stock`: adds stock (a STOCK_IN), creating the level when missing.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::write::{self, WriteContext};
use crate::{
    domain::{MovementKind, Quantity},
    ops::{Command, Line},
    startup::StockState,
};

/// The body.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddStock {
    store_id: Uuid,
    product_id: Uuid,
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

/// 201 with the level when it was created, 200 when it existed.
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
