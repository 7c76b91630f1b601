//! A store's stock levels: `GET /stock/{store_id}` lists them, `POST /stock` adds stock (creating the
//! level), `PUT /stock/{stock_id}` records a count or a new reorder level.

pub(crate) mod add;
pub(crate) mod count;
pub(crate) mod list;
