//! Users.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_common::{
    ApiError,
    auth::{Caller, Role},
};
use inventory_db::schema::users;
use serde::Serialize;
use uuid::Uuid;

use inventory_db::sql::lower;

/// A user row (the hash never leaves this module's callers as JSON: see [`UserView`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub store_ids: Vec<Option<Uuid>>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// The stored role. One the API does not know (a corrupt row) is an error answered 500, never
    /// quietly taken for some other role.
    pub fn role(&self) -> Result<Role, ApiError> {
        self.role.parse().map_err(|_| {
            ApiError::internal(format!(
                "user {} has the unknown stored role {:?}",
                self.id, self.role
            ))
        })
    }

    pub fn stores(&self) -> Vec<Uuid> {
        self.store_ids.iter().flatten().copied().collect()
    }

    pub fn caller(&self) -> Result<Caller, ApiError> {
        Ok(Caller {
            user_id: self.id,
            role: self.role()?,
            store_ids: self.stores(),
        })
    }

    pub fn view(&self) -> Result<UserView, ApiError> {
        Ok(UserView {
            id: self.id,
            username: self.username.clone(),
            role: self.role()?,
            store_ids: self.stores(),
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub store_ids: Vec<Uuid>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
}

/// The fields an admin may change.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChangeset {
    pub role: Option<String>,
    pub store_ids: Option<Vec<Option<Uuid>>>,
    pub disabled: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Inserts a user; a taken username (any case) is a unique violation.
pub async fn insert(conn: &mut AsyncPgConnection, user: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Inserts a user unless the username exists; `None` when it did.
pub async fn insert_if_missing(
    conn: &mut AsyncPgConnection,
    user: &NewUser<'_>,
) -> QueryResult<Option<User>> {
    diesel::insert_into(users::table)
        .values(user)
        .on_conflict_do_nothing()
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Finds a user by username, case-insensitively.
pub async fn find_by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> QueryResult<Option<User>> {
    users::table
        .filter(lower(users::username).eq(username.to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the row for an update in the current transaction.
pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A page of users in id (creation) order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .select(User::as_select())
        .order(users::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    query.load(conn).await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &UserChangeset,
) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// How many admins are not disabled (locks them, so two concurrent demotions cannot both pass).
pub async fn count_active_admins(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let ids: Vec<Uuid> = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(ids.len())
}
