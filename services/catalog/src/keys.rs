//! The Redis cache keys of the catalog (the cache adds `INVENTORY_REDIS_KEY_PREFIX`). Each key is a
//! hash with one field per variant, so invalidating a key drops every page and filter of it.

use uuid::Uuid;

/// Every page and search of the product list.
pub const PRODUCTS_ALL: &str = "products:all";
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
pub fn product_written(id: Uuid) -> [String; 2] {
    [product(id), PRODUCTS_ALL.to_owned()]
}

/// What a write of store `id` makes stale, including the stock service's cached levels of the store
/// (an archived store must disappear there too).
pub fn store_written(id: Uuid) -> [String; 3] {
    [
        store(id),
        STORES_ALL.to_owned(),
        format!("stock:store:{id}"),
    ]
}

/// The field of one page of a list: the size, the cursor and the filter (last, so that no search
/// text can make two different pages share a field).
pub fn page_field(limit: i64, after: Option<Uuid>, q: Option<&str>) -> String {
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    format!("limit={limit}&after={after}&q={}", q.unwrap_or_default())
}
