//! The strict JSON body extractor: an object, `application/json`, at most [`MAX_BODY_BYTES`], every
//! error a 400 naming the field.

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    dev::Payload,
    http::{StatusCode, header},
    web,
};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::{ApiError, FieldError};

/// The largest JSON body accepted (bytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body, parsed strictly: `Content-Type: application/json`, at most
/// [`MAX_BODY_BYTES`], and every deserialization error reported as a 400 naming the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req.mime_type().ok().flatten().is_some_and(|m| {
            m.subtype() == mime_json() || m.suffix().is_some_and(|s| s == mime_json())
        });
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            if declared_len.is_some_and(|len| len > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::field("body", "the body could not be read")
                }
            })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

fn mime_json() -> &'static str {
    "json"
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!("the body is larger than {MAX_BODY_BYTES} bytes"))
}

/// Parses a JSON object into `T`, naming the failing field in the error. Every request body of this
/// API is an object: serde would also accept an array for a struct, which is refused here.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => {
            return Err(ApiError::field(
                "body",
                "the body is empty; expected a JSON object",
            ));
        }
        Some(_) => return Err(ApiError::field("body", "expected a JSON object")),
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        json_error(&path, err.into_inner())
    })?;
    de.end().map_err(|e| json_error(".", e))?;
    Ok(value)
}

fn json_error(path: &str, err: serde_json::Error) -> ApiError {
    if err.is_syntax() || err.is_eof() {
        return ApiError::field("body", format!("malformed JSON: {err}"));
    }
    let text = err.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    // serde names missing and unknown fields in the message, relative to `path`.
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"));
    let field = match (path, named) {
        (".", Some(name)) => name.to_owned(),
        // For an unknown field the path already ends with it; for a missing one it is the parent.
        (p, Some(name)) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        (p, Some(name)) => format!("{p}.{name}"),
        (".", None) => "body".to_owned(),
        (p, None) => p.to_owned(),
    };
    ApiError::fields(vec![FieldError::new(field, message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        quantity: i64,
        note: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Batch {
        movements: Vec<Line>,
    }

    fn field_of(body: &str) -> String {
        match parse_json::<Batch>(body.as_bytes()) {
            Err(ApiError::BadRequest { errors, .. }) => errors[0].field.clone(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn names_the_nested_field_of_a_wrong_type() {
        assert_eq!(
            field_of(r#"{"movements":[{"quantity":1},{"quantity":"2"}]}"#),
            "movements[1].quantity"
        );
    }

    #[test]
    fn names_missing_and_unknown_fields() {
        assert_eq!(field_of(r#"{}"#), "movements");
        assert_eq!(field_of(r#"{"movements":[{}]}"#), "movements[0].quantity");
        assert_eq!(field_of(r#"{"movements":[],"admin":true}"#), "admin");
    }

    #[test]
    fn only_objects_are_bodies() {
        assert_eq!(field_of(r#"[[{"quantity":1,"note":null}]]"#), "body");
        assert_eq!(field_of("  "), "body");
        assert_eq!(field_of("42"), "body");
    }

    #[test]
    fn malformed_json_names_the_body() {
        assert_eq!(field_of(r#"{"movements":"#), "body");
        assert_eq!(field_of(r#"{"movements":[]} trailing"#), "body");
    }
}
