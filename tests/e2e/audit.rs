//! Every mutating request leaves one structured audit record (the `audit` log target) with the
//! user, role, action, entity, request id and outcome; catalog mutations also land in `audit_log`.

use std::time::Duration;

use inventory_e2e::{Api, expect_json};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// The audit records carrying `request_id` in the logs of `service`'s instances.
fn audit_records(service: &str, request_id: &str) -> Vec<Value> {
    let logs =
        std::path::Path::new(&std::env::var("INVENTORY_STATE_DIR").expect("INVENTORY_STATE_DIR"))
            .join("logs");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(&logs).expect("logs folder").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&format!("{service}-")) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        records.extend(
            text.lines()
                .filter(|line| line.contains(request_id))
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|v| {
                    v["target"] == "audit"
                        && v["request_id"] == request_id
                        && v["action"].is_string()
                }),
        );
    }
    records
}

async fn wait_for_record(service: &str, request_id: &str) -> Value {
    for _ in 0..50 {
        let records = audit_records(service, request_id);
        if !records.is_empty() {
            assert_eq!(
                records.len(),
                1,
                "one audit record per request: {records:?}"
            );
            return records[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no audit record for request {request_id} in the {service} logs");
}

#[tokio::test]
async fn mutations_are_audited_with_user_action_entity_and_outcome() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let me = expect_json(api.get("/auth/me", &admin).await, 200).await;

    let request_id = format!("audit-{}", Uuid::now_v7().simple());
    let res = api
        .request(Method::POST, "/stores", Some(&admin))
        .header("X-Request-Id", &request_id)
        .json(&json!({ "name": "Audited store" }))
        .send()
        .await
        .expect("request");
    let store = expect_json(res, 201).await;
    let record = wait_for_record("catalog", &request_id).await;
    assert_eq!(record["user_id"], me["id"]);
    assert_eq!(record["role"], "admin");
    assert_eq!(record["action"], "POST /stores");
    assert_eq!(record["outcome"], "success");

    let request_id = format!("audit-{}", Uuid::now_v7().simple());
    let res = api
        .request(
            Method::DELETE,
            &format!("/stores/{}", store["id"].as_str().expect("id")),
            Some(&admin),
        )
        .header("X-Request-Id", &request_id)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success());
    let record = wait_for_record("catalog", &request_id).await;
    assert_eq!(record["action"], "DELETE /stores/{store_id}");
    assert_eq!(record["entity_id"], store["id"]);

    // A refused mutation is audited too, as denied.
    let clerk = api.user("clerk", &[]).await;
    let request_id = format!("audit-{}", Uuid::now_v7().simple());
    let res = api
        .request(Method::POST, "/products", Some(&clerk.token))
        .header("X-Request-Id", &request_id)
        .json(&json!({ "sku": "NOPE-1", "name": "Nope", "price_cents": 1 }))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 403);
    let record = wait_for_record("catalog", &request_id).await;
    assert_eq!(record["user_id"], clerk.id.to_string());
    assert_eq!(record["role"], "clerk");
    assert_eq!(record["outcome"], "denied");
}
