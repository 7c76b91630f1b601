//! Store-scoped reads: an admin reads every store; a manager or clerk only their assigned stores —
//! another store named explicitly is a 403, and lists without a store hold only theirs (nothing for
//! a user without stores). Access is checked before the cache.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, expect_json, movement};

/// Two stores with one level and one movement each, and the ledger's view of both (as the ledger
/// worker writes it), with a low level in each.
async fn two_stores(app: &TestApp) -> (Uuid, Uuid) {
    let (a, b, p) = (app.store().await, app.store().await, app.product().await);
    for store in [a, b] {
        app.stock_in(store, p, 3).await;
        app.exec(&format!(
            "INSERT INTO ledger_levels (store_id, product_id, quantity, reorder_level, version, last_event_at) \
             VALUES ('{store}', '{p}', 3, 5, 1, now())"
        ))
        .await;
        app.exec(&format!(
            "INSERT INTO ledger_daily (store_id, product_id, day, qty_in, qty_out, closing, closing_version) \
             VALUES ('{store}', '{p}', current_date, 3, 0, 3, 1)"
        ))
        .await;
    }
    (a, b)
}

/// The stores of a list's items.
fn stores_of(page: &Value) -> Vec<String> {
    let mut stores: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["store_id"].as_str().expect("store_id").to_owned())
        .collect();
    stores.sort();
    stores.dedup();
    stores
}

/// Every read of one store's stock data.
fn reads_of(store: Uuid) -> [String; 5] {
    [
        format!("/stock/{store}"),
        format!("/stock/movements?store_id={store}"),
        format!("/reports/stores/{store}/daily"),
        format!("/reports/stores/{store}/valuation"),
        format!("/reports/low-stock?store_id={store}"),
    ]
}

#[tokio::test]
async fn a_clerk_reads_only_the_assigned_stores() {
    let app = TestApp::spawn().await;
    let (a, b) = two_stores(&app).await;
    let clerk = app.clerk(&[a]);

    for path in reads_of(b) {
        let problem = expect_json(app.get(&path, &clerk).await, 403).await;
        assert_eq!(problem["status"], 403, "{path}");
        assert_eq!(
            problem["type"], "https://inventory.dev/problems/forbidden",
            "{path}"
        );
    }
    for path in reads_of(a) {
        expect_json(app.get(&path, &clerk).await, 200).await;
    }

    // Without a store: only A's rows, never B's.
    let history = expect_json(app.get("/stock/movements?limit=500", &clerk).await, 200).await;
    assert_eq!(stores_of(&history), vec![a.to_string()]);
    let low = expect_json(app.get("/reports/low-stock", &clerk).await, 200).await;
    assert_eq!(stores_of(&low), vec![a.to_string()]);

    // A manager of both sees both; the admin sees both.
    let manager = inventory_testkit::token(inventory_common::auth::Role::Manager, &[a, b]);
    for token in [&manager, &app.admin] {
        let history = expect_json(app.get("/stock/movements?limit=500", token).await, 200).await;
        let mut both = vec![a.to_string(), b.to_string()];
        both.sort();
        assert_eq!(stores_of(&history), both);
        let low = expect_json(app.get("/reports/low-stock", token).await, 200).await;
        assert_eq!(stores_of(&low), both);
    }
}

#[tokio::test]
async fn a_user_without_stores_sees_no_stock_data() {
    let app = TestApp::spawn().await;
    let (a, b) = two_stores(&app).await;
    let newcomer = app.clerk(&[]);
    for store in [a, b] {
        for path in reads_of(store) {
            expect_json(app.get(&path, &newcomer).await, 403).await;
        }
    }
    for path in ["/stock/movements", "/reports/low-stock"] {
        let page = expect_json(app.get(path, &newcomer).await, 200).await;
        assert_eq!(page["items"], serde_json::json!([]), "{path}: {page}");
        assert_eq!(page["next_cursor"], Value::Null);
    }
    // A store that does not exist is a 403 too for them: no probing which stores exist.
    expect_json(
        app.get(&format!("/stock/{}", Uuid::now_v7()), &newcomer)
            .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn a_cached_page_is_never_served_to_a_caller_without_access() {
    let app = TestApp::spawn().await;
    let (a, b) = two_stores(&app).await;
    let path = format!("/stock/{b}");
    // The admin's read fills the cache of B's first page.
    let page = expect_json(app.get(&path, &app.admin).await, 200).await;
    assert_eq!(stores_of(&page), vec![b.to_string()]);
    // A clerk of A asking for the same page is refused, cache or not.
    expect_json(app.get(&path, &app.clerk(&[a])).await, 403).await;
    // And a member of B gets the cached page, which is the same for every member.
    let member = expect_json(app.get(&path, &app.clerk(&[b])).await, 200).await;
    assert_eq!(member, page);
}

#[tokio::test]
async fn writes_into_another_store_stay_forbidden_and_leave_no_trace_in_reads() {
    let app = TestApp::spawn().await;
    let (a, b) = two_stores(&app).await;
    let clerk = app.clerk(&[a]);
    let product = app.product().await;
    app.stock_in(b, product, 5).await;
    expect_json(
        app.post("/stock/movements", &clerk, &movement(b, product, "SALE", 1))
            .await,
        403,
    )
    .await;
    assert_eq!(app.quantity(b, product).await, 5);
    let history = expect_json(
        app.get(&format!("/stock/movements?product_id={product}"), &clerk)
            .await,
        200,
    )
    .await;
    assert_eq!(
        history["items"],
        serde_json::json!([]),
        "B's movements stay hidden"
    );
}
