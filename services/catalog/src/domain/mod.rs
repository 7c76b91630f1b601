//! Input parsed at the edge into types that cannot hold invalid values. Each field parser returns a
//! [`FieldError`] so that a request with several bad fields is answered with all of them at once.

mod product;
mod search;
mod store;
mod text;

pub use product::{Description, PriceCents, ProductDraft, Sku};
pub use search::SearchQuery;
pub use store::{Address, StoreCode, StoreDraft};
pub use text::Name;

use inventory_common::FieldError;

/// The value of a field that parsed, or `None` after recording its error.
fn keep<T>(parsed: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    parsed.map_err(|e| errors.push(e)).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use inventory_common::FieldError;

    /// The field a parser's error names (a test helper for every field parser).
    pub fn field(result: Result<impl std::fmt::Debug, FieldError>) -> String {
        match result {
            Err(e) => e.field,
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }
}
