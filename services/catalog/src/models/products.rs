//! Queries on `products`. Only active (not archived) products are visible; archiving frees the SKU.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_common::ApiError;
use inventory_db::{models::catalog::Product, schema::products};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CatalogTable, unique_violation};
use crate::domain::{ProductDraft, SearchQuery};

use inventory_db::sql::lower;

/// A product as the API shows it (and as the cache holds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductView {
    pub id: Uuid,
    /// Unique among active products.
    #[schema(example = "TEA-GREEN-100")]
    pub sku: String,
    #[schema(example = "Green tea, 100 g")]
    pub name: String,
    /// `null` when the product has none.
    #[schema(required = true, example = "Loose-leaf sencha.")]
    pub description: Option<String>,
    /// The price in minor units (cents).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 499)]
    pub price_cents: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            price_cents: p.price_cents,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// The columns a create or a replace writes; `None` writes NULL.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
struct ProductColumns<'a> {
    sku: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    price_cents: i64,
}

impl<'a> From<&'a ProductDraft> for ProductColumns<'a> {
    fn from(d: &'a ProductDraft) -> Self {
        Self {
            sku: d.sku.as_str(),
            name: d.name.as_str(),
            description: d.description.as_ref().map(|d| d.as_str()),
            price_cents: d.price_cents.get(),
        }
    }
}

const SKU_KEY: &str = "products_sku_active_key";

fn sku_taken(e: diesel::result::Error, draft: &ProductDraft) -> ApiError {
    unique_violation(e, SKU_KEY, "sku", || {
        format!("a product with sku `{}` already exists", draft.sku.as_str())
    })
}

fn missing(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("product {id} not found"))
}

/// Up to `limit + 1` active products after `after` in id (creation) order, filtered by `search` on
/// SKU or name; the extra row tells the caller that there is a next page. The filter is
/// `lower(col) LIKE '%q%'` (served by the trigram indexes on `lower(sku)` and `lower(name)`), or
/// `lower(col) LIKE 'q%'` for a query under three characters (served by the prefix indexes).
#[tracing::instrument(skip_all, fields(limit = limit))]
pub async fn list(
    conn: &mut AsyncPgConnection,
    search: Option<&SearchQuery>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ProductView>, ApiError> {
    let mut query = products::table
        .filter(products::archived_at.is_null())
        .select(Product::as_select())
        .order(products::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(products::id.gt(after));
    }
    if let Some(search) = search {
        let pattern = search.like_pattern();
        query = query.filter(
            lower(products::sku)
                .like(pattern.clone())
                .or(lower(products::name).like(pattern)),
        );
    }
    let rows = query.load(conn).await?;
    Ok(rows.into_iter().map(ProductView::from).collect())
}

/// The `products` table; its create, replace and archive are `CatalogTable`'s. Archiving a product
/// frees its SKU, and its stock history keeps pointing at it.
pub struct Products;

impl CatalogTable for Products {
    const ENTITY: &'static str = "product";
    type View = ProductView;
    type Draft = ProductDraft;

    fn id(view: &ProductView) -> Uuid {
        view.id
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> Result<ProductView, ApiError> {
        products::table
            .find(id)
            .filter(products::archived_at.is_null())
            .select(Product::as_select())
            .first(conn)
            .await
            .optional()?
            .map(ProductView::from)
            .ok_or_else(|| missing(id))
    }

    async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> Result<ProductView, ApiError> {
        products::table
            .find(id)
            .filter(products::archived_at.is_null())
            .select(Product::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .map(ProductView::from)
            .ok_or_else(|| missing(id))
    }

    #[tracing::instrument(skip_all)]
    async fn insert(
        conn: &mut AsyncPgConnection,
        draft: &ProductDraft,
    ) -> Result<ProductView, ApiError> {
        diesel::insert_into(products::table)
            .values((products::id.eq(Uuid::now_v7()), ProductColumns::from(draft)))
            .returning(Product::as_returning())
            .get_result(conn)
            .await
            .map(ProductView::from)
            .map_err(|e| sku_taken(e, draft))
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn update(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        draft: &ProductDraft,
    ) -> Result<ProductView, ApiError> {
        diesel::update(products::table.find(id))
            .set((ProductColumns::from(draft), products::updated_at.eq(now)))
            .returning(Product::as_returning())
            .get_result(conn)
            .await
            .map(ProductView::from)
            .map_err(|e| sku_taken(e, draft))
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn set_archived(conn: &mut AsyncPgConnection, id: Uuid) -> Result<(), ApiError> {
        diesel::update(products::table.find(id))
            .set((products::archived_at.eq(now), products::updated_at.eq(now)))
            .execute(conn)
            .await?;
        Ok(())
    }
}
