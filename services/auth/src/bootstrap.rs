//! The first admin, from configuration: created when missing, never modified afterwards.

use std::time::Duration;

use inventory_common::{
    auth::Role,
    db::PgPool,
    retry::{self, Backoff},
};
use uuid::Uuid;

use crate::{
    config::Config,
    domain::{Password, Username},
    models::users::{self, NewUser},
};

/// Creates the configured admin if no user has that name. Safe when several instances start at once.
/// A database that is down at start is retried in the background until it answers.
pub async fn ensure_admin(pool: &PgPool, config: &Config) {
    let Some(raw_password) = config.admin_password.clone() else {
        tracing::warn!("INVENTORY_ADMIN_PASSWORD is not set: no admin is created");
        return;
    };
    let (username, password) = match (
        Username::parse(&config.admin_username),
        Password::parse(raw_password),
    ) {
        (Ok(u), Ok(p)) => (u, p),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "the configured admin is invalid; none is created");
            return;
        }
    };
    let hash = match crate::password::hash(password.expose().to_owned(), config.bcrypt_cost).await {
        Ok(hash) => hash,
        Err(e) => {
            tracing::error!(error = %e, "cannot hash the admin password");
            return;
        }
    };
    let pool = pool.clone();
    let task = async move {
        let (pool_ref, username_ref, hash_ref) = (&pool, &username, &hash);
        let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        let created = retry::until_ok(backoff, "cannot create the admin yet", move || async move {
            let mut conn = pool_ref.get().await.map_err(|e| e.to_string())?;
            let new = NewUser {
                id: Uuid::now_v7(),
                username: username_ref.as_str(),
                password_hash: hash_ref,
                role: Role::Admin.as_str(),
            };
            users::insert_if_missing(&mut conn, &new)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
        match created {
            Some(user) => {
                tracing::info!(user_id = %user.id, username = %user.username, "created the first admin");
            }
            None => report_existing(&pool, &username).await,
        }
    };
    // Wait briefly so a healthy start has its admin before serving; keep trying otherwise.
    let handle = tokio::spawn(task);
    let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
}

/// The configured name exists: normally that is the admin created by an earlier start. Anything
/// else leaves the service without an admin, which an operator must hear about.
async fn report_existing(pool: &PgPool, username: &Username) {
    let existing = match pool.get().await {
        Ok(mut conn) => users::find_by_username(&mut conn, username.as_str()).await,
        Err(e) => return tracing::warn!(error = %e, "cannot check the existing admin"),
    };
    match existing {
        Ok(Some(user)) if user.role().is_ok_and(|role| role == Role::Admin) => {
            tracing::info!(username = username.as_str(), "admin user already exists");
        }
        Ok(Some(user)) => tracing::error!(
            user_id = %user.id,
            username = username.as_str(),
            role = user.role.as_str(),
            "the configured admin username belongs to a user who is not an admin; no admin was created"
        ),
        Ok(None) => tracing::warn!(username = username.as_str(), "the admin user vanished"),
        Err(e) => tracing::warn!(error = %e, "cannot check the existing admin"),
    }
}
