//! The write path: each [`Command`] (a stock change a route asks for) runs as one PostgreSQL
//! transaction that takes the idempotency key, applies the change (levels, movements, outbox events)
//! and stores the response for replays. A deadlock or serialization failure re-runs the whole
//! transaction a few times instead of failing the request.

mod apply;
mod count;
mod error;
mod record;
mod replies;
mod turns;

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use inventory_common::{
    ApiError,
    auth::Caller,
    db,
    read::{Db, Lsn},
};
use serde_json::{Value, json};
use uuid::Uuid;

pub use apply::{Applied, Line, Lines};
pub use count::Count;
pub use error::TxError;
pub use replies::{BatchRecorded, MovementRecorded, TransferRecorded};
pub use turns::Turns;

use crate::{
    domain::{IdempotencyKey, MovementKind, Note, Quantity, TraceContext},
    models::{
        idempotency::{self, NewIdempotencyRecord},
        levels::LevelView,
    },
};

/// Who makes a change, and the request it comes from (recorded on movements and events).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub request_id: String,
    pub trace: TraceContext,
}

/// A parsed transfer between two stores.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub from_store_id: Uuid,
    pub to_store_id: Uuid,
    pub product_id: Uuid,
    pub quantity: Quantity,
    pub reference: Option<Note>,
}

/// A write the stock service performs.
#[derive(Debug, Clone)]
pub enum Command {
    /// `POST /stock`: a STOCK_IN that creates the level when missing.
    AddStock(Line),
    /// `POST /stock/movements`.
    Move(Line),
    /// `POST /stock/movements/batch`: all lines or none.
    Batch(Vec<Line>),
    /// `POST /stock/transfers`.
    Transfer(Transfer),
    /// `PUT /stock/{stockId}`.
    Count(Count),
}

impl Command {
    /// Whether the command is one statement (the one-line path of `apply`): a movement or stock-in of
    /// one level without `expected_quantity`.
    pub fn is_one_statement(&self) -> bool {
        self.single_line().is_some_and(apply::is_one_statement)
    }

    /// The line of a command that changes one level by store and product (a movement or a
    /// stock-in); `None` for batches, transfers and counts.
    fn single_line(&self) -> Option<&Line> {
        match self {
            Command::AddStock(line) | Command::Move(line) => Some(line),
            Command::Batch(_) | Command::Transfer(_) | Command::Count(_) => None,
        }
    }
}

/// A response to send (and to store for replays), with the stores whose cached reads it outdated
/// and the types of the movements it recorded (counted once committed; a replay records none).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub stores: Vec<Uuid>,
    pub recorded: Vec<MovementKind>,
}

/// A fresh result, or the stored response of an earlier request with the same key.
#[derive(Debug)]
pub enum Outcome {
    Fresh(Reply),
    Replayed(Reply),
}

/// What [`run`] did, and — with a read replica, for a fresh change — the primary's WAL position
/// after its commit, read on the same connection (see `inventory_common::read::Committed`).
#[derive(Debug)]
pub struct Ran {
    pub outcome: Outcome,
    pub position: Option<Lsn>,
}

/// The idempotency of a request: the client's key and the fingerprint of what it asked.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub fingerprint: String,
    /// How long the stored response is replayed.
    pub ttl: Duration,
}

/// Creates the `stock_movements_total{type}` series at zero, one per movement type, so a rate of
/// sales reads 0 rather than "no data" before the first sale.
pub fn register_metrics() {
    for kind in MovementKind::ALL {
        metrics::counter!("stock_movements_total", "type" => kind.as_str()).increment(0);
    }
}

/// How many times a transaction runs before a deadlock or serialization failure is given up on.
const ATTEMPTS: u32 = 5;

/// Runs `command` in one transaction, retried on deadlock or serialization failure. A command that
/// is a single statement without an idempotency key ([`Command::is_one_statement`]) runs without
/// `BEGIN`/`COMMIT` around it: the statement commits on its own, in one round trip. A change of
/// one level first waits for a turn of the level in this instance ([`Turns`]), before it takes a
/// connection.
pub async fn run(
    db: &Db,
    turns: &Turns,
    caller: &Caller,
    actor: &Actor,
    idempotency: Option<&Idempotency>,
    command: &Command,
) -> Result<Ran, ApiError> {
    let _turn = match command.single_line() {
        Some(line) => Some(turns.of_level(line.store_id, line.product_id).await?),
        None => None,
    };
    let mut conn = db::conn(db.primary()).await?;
    let mut attempt = 1;
    loop {
        let result = if idempotency.is_none() && command.is_one_statement() {
            execute(&mut conn, caller, actor, command)
                .await
                .map(Outcome::Fresh)
        } else {
            conn.transaction::<_, TxError, _>(async |conn| {
                if let Some(idem) = idempotency
                    && let Some(replay) = begin_idempotent(conn, actor, idem).await?
                {
                    return Ok(Outcome::Replayed(replay));
                }
                let reply = execute(conn, caller, actor, command).await?;
                if let Some(idem) = idempotency {
                    store_reply(conn, actor, idem, &reply).await?;
                }
                Ok(Outcome::Fresh(reply))
            })
            .await
        };
        match result {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                metrics::counter!("stock_transaction_retries_total").increment(1);
                tracing::warn!(attempt, error = ?e, "stock transaction conflicted; retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => {
                let outcome = other.map_err(ApiError::from)?;
                let position = match &outcome {
                    Outcome::Fresh(reply) => {
                        for kind in &reply.recorded {
                            metrics::counter!("stock_movements_total", "type" => kind.as_str())
                                .increment(1);
                        }
                        db.position_after(&mut conn).await
                    }
                    Outcome::Replayed(_) => None,
                };
                return Ok(Ran { outcome, position });
            }
        }
    }
}

/// A few milliseconds, doubling, with jitter so that retried transactions do not collide again.
fn backoff(attempt: u32) -> Duration {
    let jitter = (Uuid::new_v4().as_u128() % 5) as u64;
    Duration::from_millis((2_u64 << attempt) + jitter)
}

/// Takes the key's lock and returns the stored response when there is one. 409 while the first
/// request holds the lock; 422 when the key was used for a different request.
async fn begin_idempotent(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    idem: &Idempotency,
) -> Result<Option<Reply>, TxError> {
    let key = idem.key.as_str();
    if !idempotency::try_lock(conn, actor.user_id, key).await? {
        return Err(ApiError::conflict(
            "request-in-progress",
            "a request with this Idempotency-Key is still being processed; retry later",
        )
        .into());
    }
    let Some(stored) = idempotency::find(conn, actor.user_id, key).await? else {
        return Ok(None);
    };
    if stored.request_hash != idem.fingerprint {
        return Err(ApiError::Unprocessable(
            "this Idempotency-Key was already used for a different request".into(),
        )
        .into());
    }
    Ok(Some(Reply {
        status: u16::try_from(stored.response_status).unwrap_or(200),
        body: stored.response_body,
        stores: Vec::new(),
        recorded: Vec::new(),
    }))
}

async fn store_reply(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    idem: &Idempotency,
    reply: &Reply,
) -> Result<(), TxError> {
    let now = chrono::Utc::now();
    let ttl = chrono::Duration::from_std(idem.ttl).unwrap_or(chrono::Duration::hours(24));
    idempotency::save(
        conn,
        &NewIdempotencyRecord {
            user_id: actor.user_id,
            idempotency_key: idem.key.as_str(),
            request_hash: &idem.fingerprint,
            response_status: i16::try_from(reply.status).unwrap_or(200),
            response_body: &reply.body,
            created_at: now,
            expires_at: now + ttl,
        },
    )
    .await?;
    Ok(())
}

async fn execute(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    actor: &Actor,
    command: &Command,
) -> Result<Reply, TxError> {
    match command {
        Command::AddStock(line) => {
            let applied = single(
                apply::apply(conn, actor, std::slice::from_ref(line), Lines::Single).await?,
            )?;
            let status = if applied.level.was_created() {
                201
            } else {
                200
            };
            Ok(Reply {
                status,
                body: json!(applied.level.view()),
                stores: vec![line.store_id],
                recorded: vec![line.kind],
            })
        }
        Command::Move(line) => {
            let applied = single(
                apply::apply(conn, actor, std::slice::from_ref(line), Lines::Single).await?,
            )?;
            Ok(Reply {
                status: 201,
                body: json!(MovementRecorded {
                    movement: applied.movement.view(),
                    level: applied.level.view(),
                }),
                stores: vec![line.store_id],
                recorded: vec![line.kind],
            })
        }
        Command::Batch(lines) => {
            let applied = apply::apply(conn, actor, lines, Lines::Batch).await?;
            Ok(Reply {
                status: 201,
                body: json!(BatchRecorded {
                    movements: applied.iter().map(|a| a.movement.view()).collect(),
                    levels: final_levels(&applied),
                }),
                stores: lines.iter().map(|l| l.store_id).collect(),
                recorded: lines.iter().map(|l| l.kind).collect(),
            })
        }
        Command::Transfer(transfer) => {
            let transfer_id = Uuid::now_v7();
            let applied = apply::apply(
                conn,
                actor,
                &transfer_lines(transfer, transfer_id),
                Lines::Single,
            )
            .await?;
            Ok(Reply {
                status: 201,
                body: json!(TransferRecorded {
                    transfer_id,
                    movements: applied.iter().map(|a| a.movement.view()).collect(),
                    levels: applied.iter().map(|a| a.level.view()).collect(),
                }),
                stores: vec![transfer.from_store_id, transfer.to_store_id],
                recorded: vec![MovementKind::TransferOut, MovementKind::TransferIn],
            })
        }
        Command::Count(c) => {
            let (level, recorded) = count::count(conn, caller, actor, c).await?;
            Ok(Reply {
                status: 200,
                body: json!(level.view()),
                stores: vec![level.store_id],
                recorded: recorded.into_iter().collect(),
            })
        }
    }
}

fn single(applied: Vec<Applied>) -> Result<Applied, TxError> {
    applied
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("a movement was not applied").into())
}

/// The two halves of a transfer, sharing one transfer id.
fn transfer_lines(t: &Transfer, transfer_id: Uuid) -> [Line; 2] {
    let line = |store_id, kind| Line {
        store_id,
        product_id: t.product_id,
        kind,
        quantity: t.quantity,
        reason: None,
        reference: t.reference.clone(),
        expected_quantity: None,
        transfer_id: Some(transfer_id),
    };
    [
        line(t.from_store_id, MovementKind::TransferOut),
        line(t.to_store_id, MovementKind::TransferIn),
    ]
}

/// Each level a batch touched, once, in order of first appearance, as it stands after the batch.
fn final_levels(applied: &[Applied]) -> Vec<LevelView> {
    let mut order: Vec<Uuid> = Vec::new();
    for a in applied {
        if !order.contains(&a.level.id) {
            order.push(a.level.id);
        }
    }
    order
        .iter()
        .filter_map(|id| {
            applied
                .iter()
                .filter(|a| a.level.id == *id)
                .max_by_key(|a| a.level.version)
                .map(|a| a.level.view())
        })
        .collect()
}
