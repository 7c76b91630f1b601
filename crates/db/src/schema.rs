// @generated automatically by Diesel CLI.

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        actor_id -> Nullable<Uuid>,
        actor_role -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Uuid>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
        trace_id -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Uuid,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Int2,
        response_body -> Jsonb,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_checks (id) {
        id -> Bool,
        in_sync_before -> Nullable<Timestamptz>,
        full_started_at -> Nullable<Timestamptz>,
        full_in_sync_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    ledger_daily (store_id, day, product_id) {
        store_id -> Uuid,
        product_id -> Uuid,
        day -> Date,
        qty_in -> Int8,
        qty_out -> Int8,
        closing -> Int8,
        closing_version -> Int8,
    }
}

diesel::table! {
    ledger_entries (event_id) {
        event_id -> Uuid,
        movement_id -> Uuid,
        store_id -> Uuid,
        product_id -> Uuid,
        movement_type -> Text,
        delta -> Int8,
        quantity_after -> Int8,
        level_version -> Int8,
        user_id -> Uuid,
        occurred_at -> Timestamptz,
        applied_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_levels (store_id, product_id) {
        store_id -> Uuid,
        product_id -> Uuid,
        quantity -> Int8,
        reorder_level -> Int8,
        version -> Int8,
        last_event_at -> Timestamptz,
    }
}

diesel::table! {
    low_stock_alerts (id) {
        id -> Uuid,
        store_id -> Uuid,
        product_id -> Uuid,
        quantity -> Int8,
        reorder_level -> Int8,
        opened_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbox (seq) {
        seq -> Int8,
        event_id -> Uuid,
        event_type -> Text,
        payload -> Nullable<Bytea>,
        traceparent -> Nullable<Text>,
        created_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        payload_head -> Nullable<Bytea>,
        level_id -> Nullable<Uuid>,
        quantity_after -> Nullable<Int8>,
        level_version -> Nullable<Int8>,
        reorder_level -> Nullable<Int8>,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        sku -> Text,
        name -> Text,
        description -> Nullable<Text>,
        price_cents -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    stock_levels (id) {
        id -> Uuid,
        store_id -> Uuid,
        product_id -> Uuid,
        quantity -> Int8,
        reorder_level -> Int8,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    stock_movements (id) {
        id -> Uuid,
        store_id -> Uuid,
        product_id -> Uuid,
        level_id -> Uuid,
        movement_type -> Text,
        quantity -> Int8,
        delta -> Int8,
        quantity_after -> Int8,
        level_version -> Int8,
        reason -> Nullable<Text>,
        reference -> Nullable<Text>,
        transfer_id -> Nullable<Uuid>,
        user_id -> Uuid,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    stores (id) {
        id -> Uuid,
        code -> Nullable<Text>,
        name -> Text,
        address -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        store_ids -> Array<Nullable<Uuid>>,
        disabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(stock_levels -> products (product_id));
diesel::joinable!(stock_levels -> stores (store_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    idempotency_keys,
    ledger_checks,
    ledger_daily,
    ledger_entries,
    ledger_levels,
    low_stock_alerts,
    outbox,
    products,
    refresh_tokens,
    stock_levels,
    stock_movements,
    stores,
    users,
);
