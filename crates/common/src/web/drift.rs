//! The router and the OpenAPI document describe one API: [`route_drift`] lists every place where
//! they disagree, for a unit test in each service, so that neither can change without the other.

use actix_web::{App, HttpResponse, http::Method, test, web};
use utoipa::openapi::OpenApi;

/// The methods an operation of this API may use.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Marks the answer of the fallback service: no resource matched the path.
const UNROUTED: &str = "x-unrouted";

/// A path parameter's stand-in (every path parameter of this API is a UUID).
const SOME_ID: &str = "01890000-0000-7000-8000-000000000000";

/// Every disagreement between the router that `routes` builds and `doc`: an operation documented
/// but not routed, and a method routed on a documented path but not documented. Each documented
/// path is requested with every method; the handlers run without their state and fail, but a
/// routed method never fails with "no such path" or 405.
pub async fn route_drift<F>(doc: &OpenApi, routes: F) -> Vec<String>
where
    F: FnOnce(&mut web::ServiceConfig) + 'static,
{
    let app = test::init_service(
        App::new()
            .configure(routes)
            .default_service(web::to(|| async {
                HttpResponse::NotFound()
                    .insert_header((UNROUTED, "1"))
                    .finish()
            })),
    )
    .await;
    let doc = serde_json::to_value(doc).unwrap_or_default();
    let Some(paths) = doc["paths"].as_object().filter(|p| !p.is_empty()) else {
        return vec!["the document lists no paths".into()];
    };
    let mut drift = Vec::new();
    for (path, operations) in paths {
        let uri = fill_parameters(path);
        for method in METHODS {
            let documented = operations
                .get(method.as_str().to_ascii_lowercase())
                .is_some();
            let request = test::TestRequest::default()
                .method(method.clone())
                .uri(&uri)
                .peer_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 40000)))
                .to_request();
            let routed = match test::try_call_service(&app, request).await {
                Ok(res) => res.status() != 405 && !res.headers().contains_key(UNROUTED),
                Err(e) => e.as_response_error().status_code() != 405,
            };
            match (documented, routed) {
                (true, false) => drift.push(format!("{method} {path} is documented, not routed")),
                (false, true) => drift.push(format!("{method} {path} is routed, not documented")),
                _ => {}
            }
        }
    }
    drift
}

/// `path` with every `{parameter}` replaced by [`SOME_ID`].
fn fill_parameters(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                SOME_ID
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::*;

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// A documented `GET /things/{thing_id}`.
    #[utoipa::path(get, path = "/things/{thing_id}", responses((status = 200)))]
    #[allow(dead_code)]
    async fn get_thing() {}

    #[derive(OpenApi)]
    #[openapi(paths(get_thing))]
    struct Doc;

    #[actix_web::test]
    async fn finds_what_is_routed_but_not_documented_and_the_reverse() {
        let agreeing = route_drift(&Doc::openapi(), |cfg| {
            cfg.route("/things/{thing_id}", web::get().to(ok));
        })
        .await;
        assert!(agreeing.is_empty(), "{agreeing:?}");

        let extra_method = route_drift(&Doc::openapi(), |cfg| {
            cfg.service(
                web::resource("/things/{thing_id}")
                    .route(web::get().to(ok))
                    .route(web::delete().to(ok)),
            );
        })
        .await;
        assert_eq!(
            extra_method,
            ["DELETE /things/{thing_id} is routed, not documented"]
        );

        let missing = route_drift(&Doc::openapi(), |cfg| {
            cfg.route("/other", web::get().to(ok));
        })
        .await;
        assert_eq!(
            missing,
            ["GET /things/{thing_id} is documented, not routed"]
        );
    }
}
