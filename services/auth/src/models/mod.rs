//! The auth service's tables: `users` and `refresh_tokens`.

pub mod refresh_tokens;
pub mod users;
