CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL CHECK (char_length(username) BETWEEN 3 AND 64),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'clerk' CHECK (role IN ('admin', 'manager', 'clerk')),
    store_ids     uuid[] NOT NULL DEFAULT '{}',
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Usernames are compared case-insensitively.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Every token issued from one login shares a family; reuse of a rotated token revokes the family.
    family_id   uuid NOT NULL,
    token_hash  text NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON users, refresh_tokens TO inventory_auth;
