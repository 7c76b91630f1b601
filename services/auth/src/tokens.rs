//! The token pair a login or a refresh hands out: a signed access token, and a refresh token —
//! random, shown to the client once, stored only as a SHA-256 hash.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use inventory_common::ApiError;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    models::{
        refresh_tokens::{self, NewRefreshToken},
        users::User,
    },
    state::AuthState,
};

/// An access token and the refresh token that renews it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
}

/// A new random refresh token (256 bits).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Signs an access token for `user` and stores a new refresh token in `family_id`.
pub async fn issue_pair(
    conn: &mut AsyncPgConnection,
    state: &AuthState,
    user: &User,
    family_id: Uuid,
) -> Result<TokenPair, ApiError> {
    let access_token = state
        .signer
        .sign(&user.caller()?, state.config.access_ttl_secs)?;
    let refresh_token = new_refresh_token();
    let hash = hash_refresh_token(&refresh_token);
    refresh_tokens::insert(
        conn,
        &NewRefreshToken {
            id: Uuid::now_v7(),
            user_id: user.id,
            family_id,
            token_hash: &hash,
            expires_at: Utc::now() + chrono::Duration::seconds(state.config.refresh_ttl_secs),
        },
    )
    .await?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.config.access_ttl_secs,
        refresh_token,
    })
}
