//! Applies movement lines (one, a batch, or the two halves of a transfer) in one transaction.
//!
//! Lines are applied in `(store_id, product_id)` order (stable, so lines of one level keep their
//! order): every transaction takes its row locks in the same global order, so batches and transfers
//! cannot deadlock each other. A line with `expected_quantity` takes its level's row lock at its
//! place in that order before checking, creating the level empty when missing
//! ([`levels::lock_quantity`]), so no writer of that level can slip between check and change.
//!
//! Every line is applied by one statement ([`one_step`]): the checks, the change, the movement and
//! the event, one round trip per line (a line with `expected_quantity` first locks its level: one
//! more). When a line is refused, all the request's stores, then all its products, are checked
//! before answering, so a missing one wins over a shortage and the 404 names the first in request
//! order (a request with an `expected_quantity` checks them first). One line without
//! `expected_quantity` (a movement or stock-in of one level) is that statement alone, committing on
//! its own.

use std::collections::BTreeSet;

use diesel_async::AsyncPgConnection;
use inventory_common::ApiError;
use uuid::Uuid;

use super::{
    Actor, TxError,
    record::{step_event, step_movement},
};
use crate::{
    domain::{CountedQuantity, MovementKind, Note, Quantity},
    models::{
        catalog,
        levels::{self, StockLevel},
        movements::Movement,
        one_step::{self, OneStep, Stepped},
    },
};

/// One requested movement, parsed.
#[derive(Debug, Clone)]
pub struct Line {
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub kind: MovementKind,
    pub quantity: Quantity,
    pub reason: Option<Note>,
    pub reference: Option<Note>,
    /// When given, the level must hold exactly this much before the line applies.
    pub expected_quantity: Option<CountedQuantity>,
    pub transfer_id: Option<Uuid>,
}

/// A line as applied: its movement and the level right after it.
#[derive(Debug, Clone)]
pub struct Applied {
    pub movement: Movement,
    pub level: StockLevel,
}

/// How errors name a line: not at all (a single movement), or by its index in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Batch,
}

impl Lines {
    fn prefix(self, index: usize) -> String {
        match self {
            Lines::Single => String::new(),
            Lines::Batch => format!("movements[{index}]: "),
        }
    }

    /// 404 for line `index`'s store or product (`what`) `id`.
    fn not_found(self, index: usize, what: &str, id: Uuid) -> TxError {
        ApiError::NotFound(format!("{}{what} {id} not found", self.prefix(index))).into()
    }

    fn conflict(self, index: usize, error: ApiError) -> ApiError {
        match self {
            Lines::Single => error,
            Lines::Batch => error.with("index", index),
        }
    }
}

/// Applies every line or none: the stores and products must be active, removals must find enough
/// stock, and expected quantities must match. Results are in request order.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    lines: &[Line],
    naming: Lines,
) -> Result<Vec<Applied>, TxError> {
    if let [line] = lines
        && is_one_statement(line)
    {
        return Ok(vec![
            apply_one_statement(conn, actor, line, 0, naming).await?,
        ]);
    }
    // A line with `expected_quantity` locks its level first, creating it when missing: only for
    // a store and product known to be active. Other lines find out in their own statement.
    let checked = lines.iter().any(|l| l.expected_quantity.is_some());
    if checked {
        check_references(conn, lines, naming).await?;
    }
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| (lines[i].store_id, lines[i].product_id));
    let mut applied: Vec<Option<Applied>> = vec![None; lines.len()];
    for i in order {
        match apply_line(conn, actor, &lines[i], i, naming).await {
            Ok(line) => applied[i] = Some(line),
            // A line refused (404, 409): the references are checked before answering, so a
            // missing store, then product, is named first and in request order, whichever line
            // ran into trouble first in level order — the answer the up-front check gives.
            Err(e @ TxError::Api(_)) if !checked => {
                check_references(conn, lines, naming).await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(applied.into_iter().flatten().collect())
}

async fn apply_line(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    line: &Line,
    index: usize,
    naming: Lines,
) -> Result<Applied, TxError> {
    if let Some(expected) = line.expected_quantity {
        let current = levels::lock_quantity(conn, line.store_id, line.product_id).await?;
        if current != expected.get() {
            let error = ApiError::conflict(
                "quantity-mismatch",
                format!(
                    "{}the level holds {current}, not the expected {}",
                    naming.prefix(index),
                    expected.get()
                ),
            )
            .with("current_quantity", current);
            return Err(naming.conflict(index, error).into());
        }
    }
    apply_one_statement(conn, actor, line, index, naming).await
}

/// Whether `line` alone takes the one-statement path.
pub fn is_one_statement(line: &Line) -> bool {
    line.expected_quantity.is_none()
}

/// One line in one statement ([`one_step`]); errors name the line as `naming` says.
async fn apply_one_statement(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    line: &Line,
    index: usize,
    naming: Lines,
) -> Result<Applied, TxError> {
    let (movement_id, created_at) = crate::domain::movement_id::new_movement_id();
    let event_id = Uuid::now_v7();
    let step = OneStep {
        store_id: line.store_id,
        product_id: line.product_id,
        movement_type: line.kind.as_str(),
        inbound: line.kind.is_inbound(),
        quantity: line.quantity.get(),
        delta: line.kind.delta(line.quantity.get()),
        reason: line.reason.as_ref().map(Note::as_str),
        reference: line.reference.as_ref().map(Note::as_str),
        transfer_id: line.transfer_id,
        user_id: actor.user_id,
        request_id: &actor.request_id,
        movement_id,
        created_at,
        new_level_id: Uuid::now_v7(),
        event_id,
        event_head: Vec::new(),
        traceparent: actor.trace.traceparent.as_deref(),
    };
    let step = OneStep {
        event_head: step_event(event_id, &step, actor, line.kind).to_bytes(),
        ..step
    };
    match one_step::apply(conn, &step).await? {
        Stepped::Applied(level) => Ok(Applied {
            movement: step_movement(&step, &level),
            level,
        }),
        Stepped::NoStore => Err(naming.not_found(index, "store", line.store_id)),
        Stepped::NoProduct => Err(naming.not_found(index, "product", line.product_id)),
        Stepped::Insufficient => Err(insufficient(conn, line, index, naming).await),
    }
}

/// 409 for a removal larger than the stock, with what is available now.
async fn insufficient(
    conn: &mut AsyncPgConnection,
    line: &Line,
    index: usize,
    naming: Lines,
) -> TxError {
    let n = line.quantity.get();
    let available = match levels::quantity_of(conn, line.store_id, line.product_id).await {
        Ok(available) => available,
        Err(e) => return e.into(),
    };
    let error = ApiError::conflict(
        "insufficient-stock",
        format!(
            "{}only {available} in stock, {n} requested",
            naming.prefix(index)
        ),
    )
    .with("available", available)
    .with("requested", n);
    naming.conflict(index, error).into()
}

/// 404 for the first line whose store or product is missing or archived.
async fn check_references(
    conn: &mut AsyncPgConnection,
    lines: &[Line],
    naming: Lines,
) -> Result<(), TxError> {
    let stores: Vec<Uuid> = lines
        .iter()
        .map(|l| l.store_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let missing = catalog::missing_stores(conn, &stores).await?;
    if let Some((i, line)) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| missing.contains(&l.store_id))
    {
        return Err(naming.not_found(i, "store", line.store_id));
    }
    let products: Vec<Uuid> = lines
        .iter()
        .map(|l| l.product_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let missing = catalog::missing_products(conn, &products).await?;
    if let Some((i, line)) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| missing.contains(&l.product_id))
    {
        return Err(naming.not_found(i, "product", line.product_id));
    }
    Ok(())
}
