//! `/products`: the central catalog.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod replace;

use inventory_common::ApiError;
use serde::Deserialize;

use crate::domain::ProductDraft;

/// The body of `POST /products` and `PUT /products/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    sku: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    price_cents: Option<i64>,
}

impl ProductBody {
    /// A new product: `price_cents` defaults to 0.
    fn into_new(self) -> Result<ProductDraft, ApiError> {
        let price = self.price_cents.unwrap_or(0);
        ProductDraft::parse(&self.sku, &self.name, self.description.as_deref(), price)
    }

    /// A replacement: every field is written, so `price_cents` must be given (an omitted
    /// `description` clears it).
    fn into_replacement(self) -> Result<ProductDraft, ApiError> {
        let price = self.price_cents.ok_or_else(|| {
            ApiError::field("price_cents", "is required when replacing a product")
        })?;
        ProductDraft::parse(&self.sku, &self.name, self.description.as_deref(), price)
    }
}
