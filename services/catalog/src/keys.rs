//! The Redis cache keys of the catalog (the cache adds `INVENTORY_REDIS_KEY_PREFIX`). Each key is a
//! hash with one field per variant, so invalidating a key drops every page and filter of it.
//! Only first pages are cached (a page after a cursor is read from the database), searches in a key
//! of their own so that invented searches cannot crowd out the plain list, and the cache caps the
//! variants of each key (see `inventory_common::cache`).

use uuid::Uuid;

use crate::models::{products::Products, stores::Stores};

/// The first pages of the product list.
pub const PRODUCTS_ALL: &str = "products:all";
/// The first pages of product searches.
pub const PRODUCT_SEARCHES: &str = "products:search";
/// Every page of the store list.
pub const STORES_ALL: &str = "stores:all";
/// The field of a single-entity key.
pub const ITEM: &str = "item";

/// One product.
pub fn product(id: Uuid) -> String {
    format!("product:{id}")
}

/// One store.
pub fn store(id: Uuid) -> String {
    format!("store:{id}")
}

/// What a write of product `id` makes stale.
pub fn product_written(id: Uuid) -> [String; 3] {
    [
        product(id),
        PRODUCTS_ALL.to_owned(),
        PRODUCT_SEARCHES.to_owned(),
    ]
}

/// What a write of store `id` makes stale, including the stock service's cached levels of the store
/// (an archived store must disappear there too).
pub fn store_written(id: Uuid) -> [String; 3] {
    [
        store(id),
        STORES_ALL.to_owned(),
        inventory_common::cache::stock_store_key(id),
    ]
}

/// A table whose committed writes make cache keys stale.
pub(crate) trait Written {
    /// What a committed write of row `id` makes stale.
    fn stale(id: Uuid) -> [String; 3];
}

impl Written for Products {
    fn stale(id: Uuid) -> [String; 3] {
        product_written(id)
    }
}

impl Written for Stores {
    fn stale(id: Uuid) -> [String; 3] {
        store_written(id)
    }
}

/// The key of a product list page: searches apart from the plain list.
pub fn products_key(q: Option<&str>) -> &'static str {
    if q.is_some() {
        PRODUCT_SEARCHES
    } else {
        PRODUCTS_ALL
    }
}

/// The field of one page of a list — the size and the filter (last, so that no search text can make
/// two different pages share a field) — or `None` for a page after a cursor, which is not cached:
/// a client can invent any number of cursors.
pub fn page_field(limit: i64, after: Option<Uuid>, q: Option<&str>) -> Option<String> {
    after
        .is_none()
        .then(|| format!("limit={limit}&q={}", q.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_first_pages_have_a_cache_field() {
        assert_eq!(page_field(50, None, None).as_deref(), Some("limit=50&q="));
        assert_eq!(
            page_field(50, None, Some("tea")).as_deref(),
            Some("limit=50&q=tea")
        );
        assert_eq!(page_field(50, Some(Uuid::now_v7()), None), None);
        assert_eq!(page_field(50, Some(Uuid::now_v7()), Some("tea")), None);
    }

    #[test]
    fn searches_have_a_key_of_their_own_and_every_product_write_drops_both() {
        assert_eq!(products_key(None), PRODUCTS_ALL);
        assert_eq!(products_key(Some("tea")), PRODUCT_SEARCHES);
        let stale = product_written(Uuid::now_v7());
        assert!(stale.contains(&PRODUCTS_ALL.to_owned()));
        assert!(stale.contains(&PRODUCT_SEARCHES.to_owned()));
    }
}
