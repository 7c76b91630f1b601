//! `/products`: the central catalog.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod replace;

use inventory_common::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::ProductDraft;

/// A product's fields: the body of `POST /products`, and of `PUT /products/{product_id}` where
/// `price_cents` is required (documented as `ProductReplacement`). Text is trimmed; control
/// characters are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// 1–64 characters on one line; unique among active products (409 when taken).
    #[schema(
        min_length = 1,
        max_length = 64,
        example = "TEA-GREEN-100",
        format = "text-line-required"
    )]
    sku: String,
    /// 1–200 characters on one line.
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Green tea, 100 g",
        format = "text-line-required"
    )]
    name: String,
    /// Up to 2,000 characters; line breaks and tabs allowed. Absent, `null` or blank: none.
    #[serde(default)]
    #[schema(
        max_length = 2000,
        example = "Loose-leaf sencha.",
        format = "text-lines"
    )]
    description: Option<String>,
    /// The price in minor units (cents), 0 or more; absent or `null` on create: 0.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 499)]
    price_cents: Option<i64>,
}

/// The body of `PUT /products/{product_id}`: every field is written, so `price_cents` is required and an
/// omitted `description` clears it. Read as [`ProductBody`]; this type only documents it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ProductReplacement {
    /// 1–64 characters on one line; unique among active products (409 when taken).
    #[schema(
        min_length = 1,
        max_length = 64,
        example = "TEA-GREEN-100",
        format = "text-line-required"
    )]
    sku: String,
    /// 1–200 characters on one line.
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Green tea, 100 g",
        format = "text-line-required"
    )]
    name: String,
    /// Up to 2,000 characters; line breaks and tabs allowed. Absent, `null` or blank: none.
    #[schema(
        max_length = 2000,
        example = "Loose-leaf sencha.",
        format = "text-lines"
    )]
    description: Option<String>,
    /// The price in minor units (cents), 0 or more.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 499)]
    price_cents: i64,
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
