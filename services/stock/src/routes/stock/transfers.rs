//! `POST /stock/transfers`: moves stock between two stores atomically.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::write::{self, WriteContext};
use crate::{
    domain::{Note, Quantity},
    ops::{Command, Transfer},
    startup::StockState,
};

/// The body.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    from_store_id: Uuid,
    to_store_id: Uuid,
    product_id: Uuid,
    quantity: i64,
    reference: Option<String>,
}

impl TransferInput {
    fn parse(&self) -> Result<Transfer, ApiError> {
        if self.from_store_id == self.to_store_id {
            return Err(ApiError::field(
                "to_store_id",
                "must differ from from_store_id",
            ));
        }
        Ok(Transfer {
            from_store_id: self.from_store_id,
            to_store_id: self.to_store_id,
            product_id: self.product_id,
            quantity: Quantity::parse(self.quantity, "quantity")?,
            reference: Note::parse_opt(self.reference.as_deref(), "reference")?,
        })
    }
}

/// 201 `{transfer_id, movements: [out, in], levels: [from, to]}`; admin or a member of both stores.
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, from_store_id = %body.0.from_store_id, to_store_id = %body.0.to_store_id))]
pub async fn create(
    state: web::Data<StockState>,
    caller: Caller,
    ctx: WriteContext,
    body: JsonBody<TransferInput>,
) -> Result<HttpResponse, ApiError> {
    let transfer = body.0.parse()?;
    caller.require_store(transfer.from_store_id)?;
    caller.require_store(transfer.to_store_id)?;
    write::perform(&state, &caller, ctx, &body.0, Command::Transfer(transfer)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_transfers() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let input = |from, to, quantity| TransferInput {
            from_store_id: from,
            to_store_id: to,
            product_id: Uuid::nil(),
            quantity,
            reference: None,
        };
        assert!(input(a, a, 1).parse().is_err());
        assert!(input(a, b, 0).parse().is_err());
        assert!(input(a, b, 1).parse().is_ok());
    }
}
