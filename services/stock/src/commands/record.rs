//! Writes the movement row and its outbox event for a level that was just changed.

use diesel_async::AsyncPgConnection;
use inventory_events::{MovementType, StockEvent};
use uuid::Uuid;

use super::{Actor, TxError};
use crate::{
    domain::{MovementKind, Note, movement_id},
    models::{
        levels::StockLevel,
        movements::{self, Movement, NewMovement},
        one_step::OneStep,
        outbox::{self, NewOutboxRow},
    },
};

/// One change of one level, as recorded.
pub struct Change<'a> {
    pub kind: MovementKind,
    /// Units asked for (> 0).
    pub quantity: i64,
    pub reason: Option<&'a Note>,
    pub reference: Option<&'a Note>,
    pub transfer_id: Option<Uuid>,
}

/// Records `change` of `level` (already updated, so `level.quantity` is the quantity after):
/// the movement row and the outbox row carrying its event.
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    level: &StockLevel,
    change: &Change<'_>,
) -> Result<Movement, TxError> {
    let (id, created_at) = movement_id::new_movement_id();
    let movement = movements::insert(
        conn,
        &NewMovement {
            id,
            store_id: level.store_id,
            product_id: level.product_id,
            level_id: level.id,
            movement_type: change.kind.as_str(),
            quantity: change.quantity,
            delta: change.kind.delta(change.quantity),
            quantity_after: level.quantity,
            level_version: level.version,
            reason: change.reason.map(Note::as_str),
            reference: change.reference.map(Note::as_str),
            transfer_id: change.transfer_id,
            user_id: actor.user_id,
            request_id: Some(&actor.request_id),
            created_at,
        },
    )
    .await?;
    let event_id = Uuid::now_v7();
    let event = event(event_id, &movement, level, actor, change.kind);
    outbox::insert(
        conn,
        NewOutboxRow {
            event_id,
            event_type: change.kind.as_str(),
            payload: event.to_bytes(),
            traceparent: actor.trace.traceparent.as_deref(),
        },
    )
    .await?;
    Ok(movement)
}

/// Records that `level`'s reorder threshold changed without a movement: only an outbox event
/// (`REORDER_LEVEL_SET`, delta 0), so the ledger's low-stock state follows the new threshold.
pub async fn record_reorder_level(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    level: &StockLevel,
) -> Result<(), TxError> {
    let event_id = Uuid::now_v7();
    let event = StockEvent {
        event_id: event_id.to_string(),
        store_id: level.store_id.to_string(),
        product_id: level.product_id.to_string(),
        level_id: level.id.to_string(),
        movement_type: MovementType::ReorderLevelSet as i32,
        quantity_after: level.quantity,
        level_version: level.version,
        reorder_level: level.reorder_level,
        user_id: actor.user_id.to_string(),
        request_id: actor.request_id.clone(),
        occurred_at_micros: level.updated_at.timestamp_micros(),
        traceparent: actor.trace.traceparent.clone().unwrap_or_default(),
        tracestate: actor.trace.tracestate.clone().unwrap_or_default(),
        ..StockEvent::default()
    };
    outbox::insert(
        conn,
        NewOutboxRow {
            event_id,
            event_type: MovementType::ReorderLevelSet.api_name(),
            payload: event.to_bytes(),
            traceparent: actor.trace.traceparent.as_deref(),
        },
    )
    .await?;
    Ok(())
}

/// The movement row a one-statement step wrote for `level` (the level after it).
pub fn step_movement(step: &OneStep<'_>, level: &StockLevel) -> Movement {
    Movement {
        id: step.movement_id,
        store_id: level.store_id,
        product_id: level.product_id,
        level_id: level.id,
        movement_type: step.movement_type.to_owned(),
        quantity: step.quantity,
        delta: step.delta,
        quantity_after: level.quantity,
        level_version: level.version,
        reason: step.reason.map(str::to_owned),
        reference: step.reference.map(str::to_owned),
        transfer_id: step.transfer_id,
        user_id: step.user_id,
        request_id: Some(step.request_id.to_owned()),
        created_at: step.created_at,
    }
}

/// The event of a one-statement step without the fields the level gives (level id, quantity after,
/// version, reorder level: left at their defaults, which protobuf does not encode), for the relay
/// to append ([`crate::models::outbox::OutboxRow::payload`]).
pub fn step_event(
    event_id: Uuid,
    step: &OneStep<'_>,
    actor: &Actor,
    kind: MovementKind,
) -> StockEvent {
    let placeholder = StockLevel {
        id: Uuid::nil(),
        store_id: step.store_id,
        product_id: step.product_id,
        quantity: 0,
        reorder_level: 0,
        version: 0,
        created_at: step.created_at,
        updated_at: step.created_at,
    };
    let mut event = event(
        event_id,
        &step_movement(step, &placeholder),
        &placeholder,
        actor,
        kind,
    );
    event.level_id.clear();
    event
}

/// The event of the contract (`proto/inventory/v1/stock_event.proto`) for a recorded movement.
fn event(
    event_id: Uuid,
    movement: &Movement,
    level: &StockLevel,
    actor: &Actor,
    kind: MovementKind,
) -> StockEvent {
    StockEvent {
        event_id: event_id.to_string(),
        movement_id: movement.id.to_string(),
        store_id: movement.store_id.to_string(),
        product_id: movement.product_id.to_string(),
        level_id: movement.level_id.to_string(),
        movement_type: kind.event_type() as i32,
        quantity: movement.quantity,
        delta: movement.delta,
        quantity_after: movement.quantity_after,
        level_version: movement.level_version,
        reorder_level: level.reorder_level,
        user_id: movement.user_id.to_string(),
        request_id: movement.request_id.clone().unwrap_or_default(),
        occurred_at_micros: movement.created_at.timestamp_micros(),
        transfer_id: movement
            .transfer_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        reason: movement.reason.clone().unwrap_or_default(),
        reference: movement.reference.clone().unwrap_or_default(),
        traceparent: actor.trace.traceparent.clone().unwrap_or_default(),
        tracestate: actor.trace.tracestate.clone().unwrap_or_default(),
    }
}
