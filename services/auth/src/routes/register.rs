use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use diesel_async::AsyncConnection;
use inventory_common::{
    ApiError,
    auth::{Caller, Role},
    db,
    web::{AuditIds, JsonBody},
};
use inventory_db::models::audit::{self, Actor, Change};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    config::Registration,
    domain::{Password, Username},
    models::users::{self, NewUser},
    state::AuthState,
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

/// Who registers: nobody yet (open registration), or the admin whose token came with the request
/// (`INVENTORY_REGISTRATION=admin`: 401 without a valid token, 403 for a non-admin). An extractor,
/// so that it is checked before the body is read.
pub struct Registrar(Option<Caller>);

impl FromRequest for Registrar {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::read(req))
    }
}

impl Registrar {
    fn read(req: &HttpRequest) -> Result<Self, ApiError> {
        let state = req
            .app_data::<web::Data<AuthState>>()
            .ok_or_else(|| ApiError::internal("AuthState is not registered as app data"))?;
        match state.config.registration {
            Registration::Open => Ok(Self(None)),
            Registration::Admin => {
                let caller = Caller::extract(req).into_inner()?;
                if !caller.is_admin() {
                    return Err(ApiError::Forbidden(
                        "registration is open to admins only (INVENTORY_REGISTRATION=admin)".into(),
                    ));
                }
                Ok(Self(Some(caller)))
            }
        }
    }
}

/// Register a user.
///
/// `POST /auth/register`: a new clerk with no stores.
#[utoipa::path(post, path = "/auth/register", operation_id = "auth_register", tag = "auth", security((), ("bearer" = [])), request_body = RegisterRequest,
    responses((status = 201, description = "Registered: a clerk without stores", body = crate::models::users::UserView),
              (status = 401, description = "`INVENTORY_REGISTRATION=admin` and no valid access token was given (open registration needs none)", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json"),
              (status = 403, description = "`INVENTORY_REGISTRATION=admin` and the token is not an admin's", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json"),
              (status = 409, description = "The username is taken", body = inventory_common::openapi::ProblemDoc, content_type = "application/problem+json")))]
/// Open to anyone by default; with `INVENTORY_REGISTRATION=admin`, only an admin's token may
/// register (the audit record then names the admin).
#[tracing::instrument(skip_all)]
pub async fn register(
    state: web::Data<AuthState>,
    registrar: Registrar,
    ids: AuditIds,
    body: JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let registrar = registrar.0;
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
            // A self-registration is the new user's own act, as a clerk.
            let actor = Actor {
                user_id: registrar.as_ref().map_or(user.id, |a| a.user_id),
                role: registrar.as_ref().map_or(Role::Clerk, |a| a.role).as_str(),
                request_id: &ids.request_id,
                trace_id: ids.trace_id(),
            };
            let view = user.view()?;
            let change = Change {
                action: "user.register",
                entity: "user",
                entity_id: user.id,
                before: None,
                after: Some(&view),
            };
            audit::write(conn, &actor, change).await?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Created().json(user.view()?))
}
