//! `POST /stock/transfers`: moves stock between two stores atomically.

use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, openapi::ProblemDoc, web::JsonBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::routes::write::{self, IdempotencyHeader, WriteContext};
use crate::{
    commands::{Command, Transfer, TransferRecorded},
    domain::{Note, Quantity},
    state::StockState,
};

/// Units moved from one store to another.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    from_store_id: Uuid,
    /// Must differ from `from_store_id`.
    to_store_id: Uuid,
    product_id: Uuid,
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 5)]
    quantity: i64,
    /// The client's reference: at most 500 characters on one line (trimmed; absent, `null` or blank:
    /// none).
    #[schema(max_length = 500, format = "text-line", example = "transfer-note-77")]
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

/// Transfer stock between stores.
///
/// 201 `{transfer_id, movements: [out, in], levels: [from, to]}`; admin or a member of both stores.
#[utoipa::path(post, operation_id = "stock_transfers_create", path = "/stock/transfers", tag = "transfers", params(IdempotencyHeader), request_body = TransferInput,
    responses((status = 201, description = "Moved: TRANSFER_OUT and TRANSFER_IN with one `transfer_id`", body = TransferRecorded, headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`"))),
              (status = 403, description = "The caller is not assigned to both stores", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 404, description = "A store or the product does not exist or is archived", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 409, description = "Nothing moved. `type` …/insufficient-stock: the source store holds less, with `available` and `requested`; or `type` …/request-in-progress: a request with the same `Idempotency-Key` is still in flight", body = ProblemDoc, content_type = "application/problem+json"),
              (status = 422, description = "The `Idempotency-Key` was already used with another body or endpoint", body = ProblemDoc, content_type = "application/problem+json")))]
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
