//! `/stores`: the stores that hold stock.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod replace;

use inventory_common::ApiError;
use serde::Deserialize;

use crate::domain::StoreDraft;

/// The body of `POST /stores` and `PUT /stores/{id}`. A replacement writes every field: an omitted
/// `code` or `address` clears it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    #[serde(default)]
    code: Option<String>,
    name: String,
    #[serde(default)]
    address: Option<String>,
}

impl TryFrom<StoreBody> for StoreDraft {
    type Error = ApiError;

    fn try_from(body: StoreBody) -> Result<Self, ApiError> {
        StoreDraft::parse(body.code.as_deref(), &body.name, body.address.as_deref())
    }
}
