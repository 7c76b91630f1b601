//! The bodies of the write endpoints' successful responses. They are stored as JSON with the
//! idempotency key, so a replay answers exactly what the first request did.

use serde::Serialize;
use uuid::Uuid;

use crate::models::{levels::LevelView, movements::MovementView};

/// `POST /stock/movements`: the movement and the level after it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MovementRecorded {
    pub movement: MovementView,
    pub level: LevelView,
}

/// `POST /stock/movements/batch`: every movement in the order posted, and each level touched, once,
/// as it stands after the whole batch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchRecorded {
    pub movements: Vec<MovementView>,
    pub levels: Vec<LevelView>,
}

/// `POST /stock/transfers`: the TRANSFER_OUT and TRANSFER_IN movements (sharing `transfer_id`) and
/// the two levels after them, source first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransferRecorded {
    pub transfer_id: Uuid,
    #[schema(min_items = 2, max_items = 2)]
    pub movements: Vec<MovementView>,
    #[schema(min_items = 2, max_items = 2)]
    pub levels: Vec<LevelView>,
}
