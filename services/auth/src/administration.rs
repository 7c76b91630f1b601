//! User administration: the rules of changing a user — assigned stores exist, the last active admin
//! stays one, disabling revokes the user's refresh tokens — each change one transaction with its
//! audit row.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use inventory_common::{ApiError, auth::Role};
use inventory_db::models::{
    audit::{self, Actor, Change},
    catalog,
};
use uuid::Uuid;

use crate::models::{
    refresh_tokens,
    users::{self, User, UserChangeset},
};

/// A valid change of a user: at least one of role, stores (sorted, without duplicates), disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChange {
    role: Option<Role>,
    store_ids: Option<Vec<Uuid>>,
    disabled: Option<bool>,
}

impl UserChange {
    /// Checks that something changes (400 naming `body` otherwise).
    pub fn new(
        role: Option<Role>,
        store_ids: Option<Vec<Uuid>>,
        disabled: Option<bool>,
    ) -> Result<Self, ApiError> {
        if role.is_none() && store_ids.is_none() && disabled.is_none() {
            return Err(ApiError::field(
                "body",
                "give at least one of role, store_ids, disabled",
            ));
        }
        let store_ids = store_ids.map(|mut ids| {
            ids.sort();
            ids.dedup();
            ids
        });
        Ok(Self {
            role,
            store_ids,
            disabled,
        })
    }
}

/// Applies `change` to user `id` on behalf of `actor`, audited as `user.update`: 404 when there is
/// no such user, 400 naming `store_ids` when a store does not exist, 409 when it would leave no
/// active admin. The user as changed.
#[tracing::instrument(skip_all, fields(target_user = %id))]
pub async fn update_user(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    id: Uuid,
    change: UserChange,
) -> Result<User, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = users::find_for_update(conn, id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))?;
        if let Some(ids) = &change.store_ids {
            let missing = catalog::missing_stores(conn, ids).await?;
            if let Some(first) = missing.first() {
                return Err(ApiError::field(
                    "store_ids",
                    format!("store {first} does not exist"),
                ));
            }
        }
        let changes = UserChangeset {
            role: change.role.map(|r| r.as_str().to_owned()),
            store_ids: change
                .store_ids
                .map(|ids| ids.into_iter().map(Some).collect()),
            disabled: change.disabled,
            updated_at: Some(Utc::now()),
        };
        let after = users::update(conn, id, &changes).await?;
        // Nobody can become admin except through an admin: the last one cannot step down.
        let was_active_admin = before.role()? == Role::Admin && !before.disabled;
        let is_active_admin = after.role()? == Role::Admin && !after.disabled;
        if was_active_admin && !is_active_admin && users::count_active_admins(conn).await? == 0 {
            return Err(ApiError::conflict(
                "last-admin",
                "this is the last active admin: make another user admin first",
            ));
        }
        if after.disabled && !before.disabled {
            refresh_tokens::revoke_user(conn, id).await?;
        }
        let (before_view, after_view) = (before.view()?, after.view()?);
        let audited = Change {
            action: "user.update",
            entity: "user",
            entity_id: id,
            before: Some(&before_view),
            after: Some(&after_view),
        };
        audit::write(conn, actor, audited).await?;
        Ok(after)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_changes_something_and_lists_each_store_once() {
        assert!(UserChange::new(None, None, None).is_err());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let change = UserChange::new(None, Some(vec![b, a, b]), None).ok();
        assert_eq!(
            change.and_then(|c| c.store_ids),
            Some(vec![a, b]),
            "sorted, without duplicates"
        );
    }
}
