//! The `audit_log` table: one row per catalog or user-administration mutation with the before and
//! after states, written in the same transaction as the change. (Every mutating request also gets one
//! structured `audit` log line, from the request middleware.)

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::audit_log;

/// One audited mutation.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditRecord<'a> {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<&'a str>,
    /// The service's trace id of the request (32 lower-case hex digits), when it has one.
    pub trace_id: Option<&'a str>,
}

/// Writes the record (call it inside the transaction of the change it describes).
pub async fn record(conn: &mut AsyncPgConnection, rec: NewAuditRecord<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(&rec)
        .execute(conn)
        .await
        .map(drop)
}
