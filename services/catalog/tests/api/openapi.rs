//! The document at `/openapi.json` describes what the app really answers: each answer below is
//! checked against the schema its operation documents for that status.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, id_of};

/// Checks `value` against `schema` (the subset utoipa emits: `$ref`, `type` as a name or a list,
/// `required`, `properties`, `items`), naming the first mismatch. Stricter than JSON Schema on
/// purpose: a member the document does not name is a mismatch, except in a `Problem`, which says
/// that 409s add members.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let schema = &doc["components"]["schemas"][name];
        if name == "Problem" {
            return conforms(doc, schema, &documented_members(schema, value), at);
        }
        return conforms(doc, schema, value, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !allowed {
        return Err(format!("{at}: {kind} where the document says {types:?}"));
    }
    match value {
        Value::Object(members) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !members.contains_key(name) {
                    return Err(format!("{at}: `{name}` is required but missing"));
                }
            }
            for (name, member) in members {
                let property = &schema["properties"][name];
                if property.is_null() {
                    return Err(format!("{at}: `{name}` is not documented"));
                }
                conforms(doc, property, member, &format!("{at}.{name}"))?;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `value` without the members `schema` does not name.
fn documented_members(schema: &Value, value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(name, _)| !schema["properties"][name.as_str()].is_null())
                .map(|(name, member)| (name.clone(), member.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Checks that the documented operation `method path` lists the answer's status, and that a body
/// it documents matches (content type and schema); a status documented without content has no body.
async fn check(doc: &Value, method: &str, path: &str, res: Response) -> Value {
    let status = res.status().as_u16().to_string();
    let content_type = inventory_testkit::http::content_type(&res);
    let text = res.text().await.expect("body");
    let response = &doc["paths"][path][method]["responses"][&status];
    assert!(response.is_object(), "{method} {path} documents {status}");
    let Some(content) = response["content"].as_object() else {
        assert!(
            text.is_empty(),
            "{method} {path} {status} has no body: {text}"
        );
        return Value::Null;
    };
    let schema = &content
        .get(&content_type)
        .unwrap_or_else(|| panic!("{method} {path} {status} documents {content_type}"))["schema"];
    let body: Value = serde_json::from_str(&text).expect("a JSON body");
    if let Err(mismatch) = conforms(doc, schema, &body, "body") {
        panic!("{method} {path} {status}: {mismatch}\n{body}");
    }
    body
}

#[tokio::test]
async fn the_served_document_describes_the_answers() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/openapi.json", None)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200, "the document needs no token");
    let doc: Value = res.json().await.expect("JSON");
    assert_eq!(doc["info"]["title"], "Inventory: catalog");

    let body = json!({ "sku": "DOC-1", "name": "Documented", "description": null });
    let res = app
        .send_json(Method::POST, "/products", &app.admin, &body)
        .await;
    assert!(
        res.headers().get("location").is_some(),
        "201 names its Location"
    );
    let product = check(&doc, "post", "/products", res).await;
    let one = format!("/products/{}", id_of(&product));
    check(&doc, "get", "/products/{product_id}", app.get(&one).await).await;
    check(
        &doc,
        "get",
        "/products",
        app.get("/products?q=doc&limit=1").await,
    )
    .await;
    let taken = app
        .send_json(Method::POST, "/products", &app.admin, &body)
        .await;
    check(&doc, "post", "/products", taken).await;
    let replacement = json!({ "sku": "DOC-1", "name": "Renamed", "price_cents": 5 });
    let res = app
        .send_json(Method::PUT, &one, &app.admin, &replacement)
        .await;
    check(&doc, "put", "/products/{product_id}", res).await;
    let no_price = json!({ "sku": "DOC-1", "name": "Renamed" });
    let res = app
        .send_json(Method::PUT, &one, &app.admin, &no_price)
        .await;
    assert_eq!(
        res.status().as_u16(),
        400,
        "the documented replacement requires a price"
    );
    check(&doc, "put", "/products/{product_id}", res).await;
    check(
        &doc,
        "delete",
        "/products/{product_id}",
        app.delete(&one, &app.admin).await,
    )
    .await;
    check(&doc, "get", "/products/{product_id}", app.get(&one).await).await;

    let store = json!({ "code": "DOC-01", "name": "Documented store" });
    let res = app
        .send_json(Method::POST, "/stores", &app.admin, &store)
        .await;
    let created = check(&doc, "post", "/stores", res).await;
    let one = format!("/stores/{}", id_of(&created));
    check(&doc, "get", "/stores/{store_id}", app.get(&one).await).await;
    check(&doc, "get", "/stores", app.get("/stores?limit=1").await).await;
    let res = app.send_json(Method::PUT, &one, &app.clerk, &store).await;
    check(&doc, "put", "/stores/{store_id}", res).await;
    let bare = json!({ "name": "Without code or address" });
    let res = app.send_json(Method::PUT, &one, &app.admin, &bare).await;
    check(&doc, "put", "/stores/{store_id}", res).await;
    check(
        &doc,
        "delete",
        "/stores/{store_id}",
        app.delete(&one, &app.admin).await,
    )
    .await;
    let res = app
        .request(Method::GET, "/stores", None)
        .send()
        .await
        .expect("request");
    check(&doc, "get", "/stores", res).await;
}
