use actix_web::{HttpRequest, HttpResponse, web};
use inventory_common::{ApiError, db, rate_limit, web::JsonBody};
use serde::Deserialize;
use uuid::Uuid;

use crate::{domain::Username, models::users, state::AuthState, tokens::issue_pair};

/// Credentials.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("invalid username or password".into())
}

/// Log in: get an access token and a refresh token.
///
/// `POST /auth/login`. An unknown user and a wrong password get the same answer in the same time:
/// an unknown user is checked against a dummy hash. A username that no account can have (not 3–64
/// of `[A-Za-z0-9._-]`) gets that same answer at once, before it is used as a key. Failed logins are
/// limited per (username, client address): a flood of wrong passwords from one address never
/// keeps the user out from another (the per-address limit of the route bounds the flood itself).
#[utoipa::path(post, path = "/auth/login", operation_id = "auth_login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, description = "Logged in", body = crate::tokens::TokenPair),
              (status = 401, description = "Unknown user or wrong password (indistinguishable)", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json"),
              (status = 403, description = "The account is disabled", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json"),
              (status = 429, description = "Too many failed logins for this username from this address", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AuthState>,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let Ok(username) = Username::parse(&body.username) else {
        return Err(bad_credentials());
    };
    let failures_key = format!(
        "{}|{}",
        username.as_str().to_lowercase(),
        rate_limit::client_key(&req, &state.config.service.trusted_proxies)
    );
    state.login_failures.check(&failures_key)?;
    let user = {
        let mut conn = db::conn(&state.pg).await?;
        users::find_by_username(&mut conn, username.as_str()).await?
    };
    // No pooled connection is held while bcrypt runs.
    let hash = user
        .as_ref()
        .map_or_else(|| state.dummy_hash.clone(), |u| u.password_hash.clone());
    let matches = crate::password::verify(body.password, hash).await?;
    let user = match user {
        Some(user) if matches => user,
        _ => {
            state.login_failures.failed(&failures_key);
            return Err(bad_credentials());
        }
    };
    if user.disabled {
        return Err(ApiError::Forbidden("this account is disabled".into()));
    }
    let mut conn = db::conn(&state.pg).await?;
    let pair = issue_pair(&mut conn, &state, &user, Uuid::now_v7()).await?;
    tracing::info!(user_id = %user.id, "logged in");
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(pair))
}
