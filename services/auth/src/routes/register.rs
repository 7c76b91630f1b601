use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection;
use inventory_common::{
    ApiError,
    auth::Role,
    db,
    web::{JsonBody, RequestId},
};
use inventory_db::models::audit::{self, NewAuditRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    domain::{Password, Username},
    models::users::{self, NewUser},
    startup::AuthState,
};

/// A new account.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–64 of `A-Z a-z 0-9 . _ -`; unique regardless of case.
    #[schema(example = "jane.doe")]
    username: String,
    /// 8–72 bytes.
    #[schema(example = "correct horse battery")]
    password: String,
}

fn taken() -> ApiError {
    ApiError::conflict("username-taken", "that username is taken")
}

/// `POST /auth/register`: a new clerk with no stores.
#[utoipa::path(post, path = "/auth/register", operation_id = "auth_register", tag = "auth", security(()), request_body = RegisterRequest,
    responses((status = 201, description = "Registered: a clerk without stores", body = crate::models::users::UserView),
              (status = 409, description = "The username is taken", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all)]
pub async fn register(
    state: web::Data<AuthState>,
    request_id: RequestId,
    body: JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let username = Username::parse(&body.username)?;
    // The configured admin's name is reserved even before that admin exists (a start while the
    // database was down), so nobody can take it and leave the service without its admin.
    if username
        .as_str()
        .eq_ignore_ascii_case(&state.config.admin_username)
    {
        return Err(taken());
    }
    let password = Password::parse(body.password)?;
    let hash =
        crate::password::hash(password.expose().to_owned(), state.config.bcrypt_cost).await?;
    let mut conn = db::conn(&state.pg).await?;
    let user = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let new = NewUser {
                id: Uuid::now_v7(),
                username: username.as_str(),
                password_hash: &hash,
                role: Role::Clerk.as_str(),
            };
            let user = users::insert(conn, &new)
                .await
                .map_err(|e| match ApiError::from(e) {
                    ApiError::Conflict { .. } => taken(),
                    other => other,
                })?;
            audit::record(
                conn,
                NewAuditRecord {
                    id: Uuid::now_v7(),
                    actor_id: Some(user.id),
                    actor_role: Some(Role::Clerk.as_str()),
                    action: "user.register",
                    entity: "user",
                    entity_id: Some(user.id),
                    before: None,
                    after: serde_json::to_value(user.view()).ok(),
                    request_id: Some(&request_id.0),
                },
            )
            .await?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Created().json(user.view()))
}
