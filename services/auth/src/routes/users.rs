use actix_web::{HttpResponse, web};
use chrono::Utc;
use diesel_async::AsyncConnection;
use inventory_common::{
    ApiError,
    auth::{Caller, Role},
    db,
    pagination::{Page, PageParams},
    web::{AuditIds, JsonBody},
};
use inventory_db::models::{
    audit::{self, NewAuditRecord},
    catalog,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    models::{
        refresh_tokens,
        users::{self, UserChangeset, UserView},
    },
    state::AuthState,
};

/// List users (admin).
///
/// `GET /auth/users` (admin): users in creation order, paginated.
#[utoipa::path(get, path = "/auth/users", operation_id = "users_list", tag = "users", params(inventory_common::pagination::PageParams),
    responses((status = 200, description = "A page of users in creation order", body = inventory_common::pagination::Page<UserView>)))]
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
pub async fn list(
    state: web::Data<AuthState>,
    caller: Caller,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
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
#[tracing::instrument(skip_all, fields(user_id = %caller.user_id, target_user))]
pub async fn update(
    state: web::Data<AuthState>,
    caller: Caller,
    ids: AuditIds,
    path: web::Path<Uuid>,
    body: JsonBody<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let id = path.into_inner();
    let body = body.0;
    if body.role.is_none() && body.store_ids.is_none() && body.disabled.is_none() {
        return Err(ApiError::field(
            "body",
            "give at least one of role, store_ids, disabled",
        ));
    }
    let mut store_ids = body.store_ids;
    if let Some(ids) = store_ids.as_mut() {
        ids.sort();
        ids.dedup();
    }
    let mut conn = db::conn(&state.pg).await?;
    let user = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = users::find_for_update(conn, id)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))?;
            if let Some(ids) = &store_ids {
                let missing = catalog::missing_stores(conn, ids).await?;
                if let Some(first) = missing.first() {
                    return Err(ApiError::field(
                        "store_ids",
                        format!("store {first} does not exist"),
                    ));
                }
            }
            let changes = UserChangeset {
                role: body.role.map(|r| r.as_str().to_owned()),
                store_ids: store_ids.map(|ids| ids.into_iter().map(Some).collect()),
                disabled: body.disabled,
                updated_at: Some(Utc::now()),
            };
            let after = users::update(conn, id, &changes).await?;
            // Nobody can become admin except through an admin: the last one cannot step down.
            let was_active_admin = before.role()? == Role::Admin && !before.disabled;
            let is_active_admin = after.role()? == Role::Admin && !after.disabled;
            if was_active_admin && !is_active_admin && users::count_active_admins(conn).await? == 0
            {
                return Err(ApiError::conflict(
                    "last-admin",
                    "this is the last active admin: make another user admin first",
                ));
            }
            if after.disabled && !before.disabled {
                refresh_tokens::revoke_user(conn, id).await?;
            }
            audit::record(
                conn,
                NewAuditRecord {
                    id: Uuid::now_v7(),
                    actor_id: Some(caller.user_id),
                    actor_role: Some(caller.role.as_str()),
                    action: "user.update",
                    entity: "user",
                    entity_id: Some(id),
                    before: serde_json::to_value(before.view()?).ok(),
                    after: serde_json::to_value(after.view()?).ok(),
                    request_id: Some(&ids.request_id),
                    trace_id: ids.trace_id(),
                },
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user.view()?))
}
