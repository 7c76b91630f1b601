//! `ledger_checks`: what the workers have compared, shared by all of them (one row), so a check of
//! recent changes starts where the last one that found the ledger in sync ended, whichever worker
//! ran it, and everything is compared by one worker per interval, not by each.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Bool, Double, Nullable, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The shared mark, read with the database's clock.
#[derive(Debug, QueryableByName)]
pub struct Marks {
    /// Every change made before this was found in sync (or repaired); `None` before the first
    /// check.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub in_sync_before: Option<DateTime<Utc>>,
    /// The database's `now()`.
    #[diesel(sql_type = Timestamptz)]
    pub now: DateTime<Utc>,
}

/// Reads the mark and the database's clock.
pub async fn marks(conn: &mut AsyncPgConnection) -> Result<Marks, diesel::result::Error> {
    diesel::sql_query(
        "SELECT (SELECT in_sync_before FROM ledger_checks WHERE id) AS in_sync_before, now() AS now",
    )
    .get_result(conn)
    .await
}

/// Records that everything changed before `cut` is in sync (never moving backwards); `everything`
/// when a comparison (or repair) of everything says so.
pub async fn mark_in_sync(
    conn: &mut AsyncPgConnection,
    cut: DateTime<Utc>,
    everything: bool,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query(
        "UPDATE ledger_checks SET in_sync_before = GREATEST(in_sync_before, $1), \
             full_in_sync_at = CASE WHEN $2 THEN now() ELSE full_in_sync_at END \
         WHERE id",
    )
    .bind::<Timestamptz, _>(cut)
    .bind::<Bool, _>(everything)
    .execute(conn)
    .await
    .map(drop)
}

/// Takes the turn to compare everything when nobody took it within `every` (one worker of all gets
/// it; a worker that dies during its turn leaves the next one to the next interval).
pub async fn take_full_turn(
    conn: &mut AsyncPgConnection,
    every: Duration,
) -> Result<bool, diesel::result::Error> {
    let taken = diesel::sql_query(
        "UPDATE ledger_checks SET full_started_at = now() \
         WHERE id AND (full_started_at IS NULL \
                       OR full_started_at <= now() - make_interval(secs => $1))",
    )
    .bind::<Double, _>(every.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(taken == 1)
}
