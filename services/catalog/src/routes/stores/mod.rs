//! `/stores`: the stores that hold stock.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod replace;

use inventory_common::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::StoreDraft;

/// The body of `POST /stores` and `PUT /stores/{store_id}`. A replacement writes every field: an omitted
/// `code` or `address` clears it. Text is trimmed; control characters are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    /// 1–64 letters, digits, `.`, `_` and `-`; unique among active stores (409 when taken).
    /// Absent, `null` or blank: none.
    #[serde(default)]
    #[schema(max_length = 64, example = "NYC-01", pattern = r"^\s*[\w.-]*\s*$")]
    code: Option<String>,
    /// 1–200 characters on one line.
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Manhattan, 5th Avenue",
        format = "text-line-required"
    )]
    name: String,
    /// Up to 500 characters; line breaks and tabs allowed. Absent, `null` or blank: none.
    #[serde(default)]
    #[schema(
        max_length = 500,
        example = "700 5th Ave, New York, NY 10019",
        format = "text-lines"
    )]
    address: Option<String>,
}

impl TryFrom<StoreBody> for StoreDraft {
    type Error = ApiError;

    fn try_from(body: StoreBody) -> Result<Self, ApiError> {
        StoreDraft::parse(body.code.as_deref(), &body.name, body.address.as_deref())
    }
}
