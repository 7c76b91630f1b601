//! `PUT /stock/{stockId}`: a counted quantity and/or a new reorder level.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::write::{self, WriteContext};
use crate::{
    domain::CountedQuantity,
    ops::{Command, Count},
    startup::StockState,
};

/// The body.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CountInput {
    quantity: Option<i64>,
    reorder_level: Option<i64>,
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
