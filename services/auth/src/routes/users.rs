//! `/auth/users`: user administration (admin only). The rules of a change live in
//! [`crate::administration`].

use actix_web::{HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::{Admin, Role},
    db,
    pagination::{Page, PageParams},
    web::{AuditIds, JsonBody},
};
use inventory_db::models::audit::Actor;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    administration::{self, UserChange},
    models::users::{self, UserView},
    state::AuthState,
};

/// List users (admin).
///
/// `GET /auth/users` (admin): users in creation order, paginated.
#[utoipa::path(get, path = "/auth/users", operation_id = "users_list", tag = "users", params(inventory_common::pagination::PageParams),
    responses((status = 200, description = "A page of users in creation order", body = inventory_common::pagination::Page<UserView>)))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id))]
pub async fn list(
    admin: Admin,
    state: web::Data<AuthState>,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let mut conn = db::conn(&state.pg).await?;
    let rows = users::list(&mut conn, page.after, page.limit).await?;
    let views: Vec<UserView> = rows.iter().map(|u| u.view()).collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(Page::from_rows(views, page.limit, |u| u.id.to_string())))
}

/// The changes; at least one field.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    role: Option<Role>,
    store_ids: Option<Vec<Uuid>>,
    disabled: Option<bool>,
}

/// Change a user's role, stores or disabled state (admin).
///
/// `PATCH /auth/users/{user_id}` (admin): role, store assignments, disabled. Assigned stores must exist.
/// Disabling revokes the user's refresh tokens; access tokens already issued expire on their own.
#[utoipa::path(patch, path = "/auth/users/{user_id}", operation_id = "users_update", tag = "users", params(("user_id" = Uuid, Path, description = "The user")),
    request_body = UpdateUser, responses((status = 200, description = "The user as changed", body = UserView),
        (status = 409, description = "The change would leave no active admin", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id = %admin.0.user_id, target_user))]
pub async fn update(
    admin: Admin,
    state: web::Data<AuthState>,
    ids: AuditIds,
    path: web::Path<Uuid>,
    body: JsonBody<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let UpdateUser {
        role,
        store_ids,
        disabled,
    } = body.0;
    let change = UserChange::new(role, store_ids, disabled)?;
    let actor = Actor {
        user_id: admin.0.user_id,
        role: admin.0.role.as_str(),
        request_id: &ids.request_id,
        trace_id: ids.trace_id(),
    };
    let mut conn = db::conn(&state.pg).await?;
    let user = administration::update_user(&mut conn, &actor, id, change).await?;
    Ok(HttpResponse::Ok().json(user.view()?))
}
