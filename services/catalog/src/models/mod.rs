//! The catalog's queries: the only place in this service that writes SQL. Each mutation runs in one
//! transaction together with its audit row.

pub mod products;
pub mod stores;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use inventory_common::ApiError;
pub use inventory_db::models::audit::Actor;
use inventory_db::models::audit::{self, Change};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// A catalog table whose rows are archived, never deleted, and whose every write is audited. An impl
/// holds the table's SQL (`find`, `lock`, `insert`, `update`, `set_archived`); the provided `create`,
/// `replace` and `archive` wrap it the same way for every table: one transaction, the row locked
/// before it changes, and an audit row `<ENTITY>.create|update|delete` with the entity before and
/// after.
pub(crate) trait CatalogTable {
    /// The audited entity: `product` or `store`.
    const ENTITY: &'static str;
    /// A row as the API shows it (and as the cache holds it).
    type View: Serialize + DeserializeOwned + Send + Sync;
    /// A valid set of fields, as a create or a replace writes it.
    type Draft: Sync;

    /// The id of a row.
    fn id(view: &Self::View) -> Uuid;

    /// The active row `id` (404 when there is none).
    fn find(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> impl Future<Output = Result<Self::View, ApiError>> + Send;

    /// Locks the active row `id` for the rest of the transaction and returns it (404 when there is
    /// none).
    fn lock(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> impl Future<Output = Result<Self::View, ApiError>> + Send;

    /// Inserts a new row (409 when its unique field is taken).
    fn insert(
        conn: &mut AsyncPgConnection,
        draft: &Self::Draft,
    ) -> impl Future<Output = Result<Self::View, ApiError>> + Send;

    /// Writes every field of row `id` (409 when its unique field is taken).
    fn update(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        draft: &Self::Draft,
    ) -> impl Future<Output = Result<Self::View, ApiError>> + Send;

    /// Marks row `id` archived.
    fn set_archived(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Creates a row, audited.
    async fn create(
        conn: &mut AsyncPgConnection,
        draft: &Self::Draft,
        actor: &Actor<'_>,
    ) -> Result<Self::View, ApiError> {
        conn.transaction::<_, ApiError, _>(async |conn| {
            let created = Self::insert(conn, draft).await?;
            audit::<Self>(
                conn,
                actor,
                "create",
                Self::id(&created),
                None,
                Some(&created),
            )
            .await?;
            Ok(created)
        })
        .await
    }

    /// Replaces every field of the active row `id`, audited (404 when there is none).
    async fn replace(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        draft: &Self::Draft,
        actor: &Actor<'_>,
    ) -> Result<Self::View, ApiError> {
        conn.transaction::<_, ApiError, _>(async |conn| {
            let before = Self::lock(conn, id).await?;
            let after = Self::update(conn, id, draft).await?;
            audit::<Self>(conn, actor, "update", id, Some(&before), Some(&after)).await?;
            Ok(after)
        })
        .await
    }

    /// Archives the active row `id`, audited (404 when there is none): it leaves lists and reads and
    /// its unique field is free again.
    async fn archive(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        actor: &Actor<'_>,
    ) -> Result<(), ApiError> {
        conn.transaction::<_, ApiError, _>(async |conn| {
            let before = Self::lock(conn, id).await?;
            Self::set_archived(conn, id).await?;
            audit::<Self>(conn, actor, "delete", id, Some(&before), None).await
        })
        .await
    }
}

/// Writes the audit row `<entity>.<verb>` of a change of row `id` (inside the change's transaction).
async fn audit<E: CatalogTable + ?Sized>(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    verb: &str,
    id: Uuid,
    before: Option<&E::View>,
    after: Option<&E::View>,
) -> Result<(), ApiError> {
    let action = format!("{}.{verb}", E::ENTITY);
    let change = Change {
        action: &action,
        entity: E::ENTITY,
        entity_id: id,
        before,
        after,
    };
    audit::write(conn, actor, change)
        .await
        .map_err(ApiError::from)
}

/// Maps a violation of the unique index `constraint` to a 409 naming `field`; any other error goes
/// through the central mapping.
fn unique_violation(
    e: DieselError,
    constraint: &str,
    field: &'static str,
    detail: impl FnOnce() -> String,
) -> ApiError {
    match &e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint) =>
        {
            ApiError::conflict("already-exists", detail()).with("field", field)
        }
        _ => ApiError::from(e),
    }
}
