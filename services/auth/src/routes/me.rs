use actix_web::{HttpResponse, web};
use inventory_common::{ApiError, auth::Caller, db};

use crate::{models::users, state::AuthState};

/// The caller.
///
/// `GET /auth/me`: the caller, as stored now.
#[utoipa::path(get, path = "/auth/me", operation_id = "auth_me", tag = "auth", responses((status = 200, description = "The caller", body = crate::models::users::UserView)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn me(state: web::Data<AuthState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let mut conn = db::conn(&state.pg).await?;
    let user = users::find(&mut conn, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("user not found".into()))?;
    Ok(HttpResponse::Ok().json(user.view()?))
}
