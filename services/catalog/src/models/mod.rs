//! The catalog's queries: the only place in this service that writes SQL. Each mutation runs in one
//! transaction together with its audit row.

pub mod products;
pub mod stores;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncPgConnection;
use inventory_common::{ApiError, auth::Caller};
use inventory_db::models::audit::{self, NewAuditRecord};
use serde::Serialize;
use uuid::Uuid;

/// Who makes a change, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub caller: &'a Caller,
    pub request_id: &'a str,
}

/// One audited change of an entity (`product` or `store`).
struct Change<'a, T: Serialize> {
    action: &'static str,
    entity: &'static str,
    id: Uuid,
    before: Option<&'a T>,
    after: Option<&'a T>,
}

/// Writes the audit row of `change` (call it inside the change's transaction).
async fn audit<T: Serialize>(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    change: Change<'_, T>,
) -> Result<(), ApiError> {
    let json = |v: Option<&T>| v.and_then(|v| serde_json::to_value(v).ok());
    audit::record(
        conn,
        NewAuditRecord {
            id: Uuid::now_v7(),
            actor_id: Some(actor.caller.user_id),
            actor_role: Some(actor.caller.role.as_str()),
            action: change.action,
            entity: change.entity,
            entity_id: Some(change.id),
            before: json(change.before),
            after: json(change.after),
            request_id: Some(actor.request_id),
        },
    )
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
