//! Answers of cached reads: the stored JSON sent as it is, with its entity tag, and conditional
//! GETs (`If-None-Match` naming the current tag → `304 Not Modified`, no body).

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderValue},
};

use crate::cache::Rendered;

/// `200` with `rendered`'s body and `ETag`, or `304` with the `ETag` alone when the request's
/// `If-None-Match` names it (or is `*`).
pub fn respond(req: &HttpRequest, rendered: Rendered) -> HttpResponse {
    let etag = HeaderValue::from_str(&rendered.etag).ok();
    if etag.is_some() && none_match_fails(req, &rendered.etag) {
        let mut res = HttpResponse::NotModified();
        if let Some(etag) = etag {
            res.insert_header((header::ETAG, etag));
        }
        return res.finish();
    }
    let mut res = HttpResponse::Ok();
    res.content_type(mime_json());
    if let Some(etag) = etag {
        res.insert_header((header::ETAG, etag));
    }
    res.body(rendered.body)
}

fn mime_json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

/// Whether `If-None-Match` matches `etag` (RFC 9110 §13.1.2: weak comparison, `*` matches any).
fn none_match_fails(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || opaque(tag) == opaque(etag))
}

/// An entity tag without its weakness indicator (weak comparison).
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests: failing loudly is the point
mod tests {
    use actix_web::{body::MessageBody, http::StatusCode, test::TestRequest};

    use super::*;

    fn rendered() -> Rendered {
        Rendered::of(&serde_json::json!({"items": [], "next_cursor": null})).expect("renders")
    }

    #[test]
    fn a_matching_tag_is_not_modified() {
        let r = rendered();
        for header in [
            r.etag.clone(),
            format!("W/{}", r.etag),
            format!("\"other\", {}", r.etag),
            "*".to_owned(),
        ] {
            let req = TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, header.as_str()))
                .to_http_request();
            let res = respond(&req, r.clone());
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{header}");
            assert_eq!(
                res.headers().get(header::ETAG).map(|v| v.as_bytes()),
                Some(r.etag.as_bytes())
            );
            assert_eq!(res.into_body().size(), actix_web::body::BodySize::Sized(0));
        }
    }

    #[test]
    fn otherwise_the_stored_body_is_sent_with_its_tag() {
        let r = rendered();
        for header in [None, Some("\"other\""), Some("W/\"other\"")] {
            let mut req = TestRequest::default();
            if let Some(h) = header {
                req = req.insert_header((header::IF_NONE_MATCH, h));
            }
            let res = respond(&req.to_http_request(), r.clone());
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(
                res.headers().get(header::ETAG).map(|v| v.as_bytes()),
                Some(r.etag.as_bytes())
            );
            let body = res.into_body().try_into_bytes().expect("bytes");
            assert_eq!(&body[..], &r.body[..]);
        }
    }
}
