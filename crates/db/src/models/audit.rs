//! The `audit_log` table: one row per catalog or user-administration mutation with the before and
//! after states, written in the same transaction as the change. (Every mutating request also gets one
//! structured `audit` log line, from the request middleware.) Every service writes its rows through
//! [`write()`], the one place that builds them.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::schema::audit_log;

/// Who made an audited change, and the request that carried it.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user_id: Uuid,
    /// The role the actor acted in (`admin`, `clerk`, …).
    pub role: &'a str,
    pub request_id: &'a str,
    /// The service's trace id of the request (32 lower-case hex digits), when it has one.
    pub trace_id: Option<&'a str>,
}

/// One audited change of an entity: its state before and after (absent for a creation and a
/// deletion), as the API shows it.
#[derive(Debug)]
pub struct Change<'a, T: Serialize> {
    /// `<entity>.<verb>`, e.g. `product.update`, `user.register`.
    pub action: &'a str,
    /// `product`, `store`, `user`.
    pub entity: &'a str,
    pub entity_id: Uuid,
    pub before: Option<&'a T>,
    pub after: Option<&'a T>,
}

/// One row as stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditRecord<'a> {
    id: Uuid,
    actor_id: Option<Uuid>,
    actor_role: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<Uuid>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    request_id: Option<&'a str>,
    trace_id: Option<&'a str>,
}

/// Writes the audit row of `change` by `actor` (call it inside the transaction of the change, so
/// that both commit or neither does). A state that cannot be serialised fails the change rather than
/// leaving a row without it.
pub async fn write<T: Serialize>(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    change: Change<'_, T>,
) -> QueryResult<()> {
    let json = |state: Option<&T>| {
        state
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
    };
    let row = NewAuditRecord {
        id: Uuid::now_v7(),
        actor_id: Some(actor.user_id),
        actor_role: Some(actor.role),
        action: change.action,
        entity: change.entity,
        entity_id: Some(change.entity_id),
        before: json(change.before)?,
        after: json(change.after)?,
        request_id: Some(actor.request_id),
        trace_id: actor.trace_id,
    };
    diesel::insert_into(audit_log::table)
        .values(&row)
        .execute(conn)
        .await
        .map(drop)
}
