//! Input parsed at the edge into types that cannot hold invalid values. Each parser takes the name
//! (or path, `movements[3].quantity`) of the field it reads, so a 400 names what the client sent.

mod headers;
mod movement;
pub mod movement_id;
mod quantity;

pub use headers::{IDEMPOTENCY_KEY_HEADER, IdempotencyKey, TraceContext};
pub use movement::{MovementKind, Note};
pub use quantity::{CountedQuantity, MAX_QUANTITY, Quantity};
