use actix_web::{HttpResponse, web};
use chrono::Utc;
use diesel_async::AsyncConnection;
use inventory_common::{ApiError, auth::Caller, db, web::JsonBody};
use serde::Deserialize;

use crate::{
    models::{refresh_tokens, users},
    state::AuthState,
    tokens,
    tokens::issue_pair,
};

/// A refresh token from login or a previous refresh.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

enum Outcome {
    Rotated(crate::tokens::TokenPair),
    Rejected(ApiError),
}

/// Rotate a refresh token for a new pair.
///
/// `POST /auth/refresh`: rotates the refresh token. A token works once; presenting an already
/// rotated token revokes its whole family (it was stolen, or the client is confused).
#[utoipa::path(post, path = "/auth/refresh", operation_id = "auth_refresh", tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 200, description = "A new pair; the presented refresh token is spent", body = crate::tokens::TokenPair),
              (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: web::Data<AuthState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = tokens::hash_refresh_token(&body.0.refresh_token);
    let mut conn = db::conn(&state.pg).await?;
    // Rejections that revoke must still commit, so they are returned as a value, not an error.
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let invalid = || Outcome::Rejected(ApiError::Unauthorized("invalid refresh token".into()));
            let Some(token) = refresh_tokens::find_for_update(conn, &hash).await? else {
                return Ok(invalid());
            };
            if token.revoked_at.is_some() || token.expires_at <= Utc::now() {
                return Ok(invalid());
            }
            if token.used_at.is_some() {
                let revoked = refresh_tokens::revoke_family(conn, token.family_id).await?;
                tracing::warn!(user_id = %token.user_id, family_id = %token.family_id, revoked, "refresh token reuse: family revoked");
                return Ok(Outcome::Rejected(ApiError::Unauthorized("refresh token was already used; the session is revoked".into())));
            }
            let user = match users::find(conn, token.user_id).await? {
                Some(user) if !user.disabled => user,
                _ => {
                    refresh_tokens::revoke_family(conn, token.family_id).await?;
                    return Ok(invalid());
                }
            };
            refresh_tokens::mark_used(conn, token.id).await?;
            Ok(Outcome::Rotated(issue_pair(conn, &state, &user, token.family_id).await?))
        })
        .await?;
    match outcome {
        Outcome::Rotated(pair) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(pair)),
        Outcome::Rejected(e) => Err(e),
    }
}

/// Log out: revoke a session.
///
/// `POST /auth/logout`: revokes the session (the refresh token's family). Idempotent: an unknown or
/// already revoked token is also 204.
#[utoipa::path(post, path = "/auth/logout", operation_id = "auth_logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "The session is revoked")))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn logout(
    state: web::Data<AuthState>,
    caller: Caller,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = tokens::hash_refresh_token(&body.0.refresh_token);
    let mut conn = db::conn(&state.pg).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some(token) = refresh_tokens::find_for_update(conn, &hash).await? {
            if token.user_id != caller.user_id {
                return Err(ApiError::Forbidden(
                    "that refresh token belongs to another user".into(),
                ));
            }
            refresh_tokens::revoke_family(conn, token.family_id).await?;
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
