//! OpenAPI documents (utoipa): the shared pieces every service's document uses — the problem+json
//! schema, the bearer security scheme, the error responses every operation can give, and the patterns
//! of text fields (see [`crate::text`]) — and the route that serves a service's document at
//! `/openapi.json` (the gateway merges them).

use actix_web::{HttpResponse, web};
use utoipa::{
    Modify, PartialSchema, ToSchema,
    openapi::{
        Content, OpenApi, RefOr, Required, ResponseBuilder,
        header::HeaderBuilder,
        path::{Operation, ParameterBuilder, ParameterIn},
        schema::{ArrayItems, Schema, SchemaFormat},
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    },
};

use crate::{FieldError, text::TextKind};

/// An `application/problem+json` body (RFC 9457). 409s add members such as `available`,
/// `current_quantity` or, in a batch, `index`.
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// A URI naming the kind of problem.
    #[schema(rename = "type", example = "https://inventory.dev/problems/validation")]
    kind: String,
    #[schema(example = "Invalid request")]
    title: String,
    #[schema(example = 400)]
    status: u16,
    #[schema(example = "quantity: must be between 1 and 1000000000")]
    detail: String,
    /// For 400s: each invalid field.
    errors: Option<Vec<FieldError>>,
}

const PROBLEM: &str = "application/problem+json";

/// Adds the bearer scheme (required unless an operation says `security(())`), the `Problem` schema,
/// the `X-Request-Id` header, and the error responses any operation can give; replaces each text
/// field's `format` marker (`format = "text-line"`, …) with the pattern of its [`TextKind`].
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components
            .schemas
            .insert("Problem".into(), ProblemDoc::schema());
        components
            .schemas
            .insert("FieldError".into(), FieldError::schema());
        doc.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        for schema in components.schemas.values_mut() {
            text_patterns(schema);
        }
        for item in doc.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter
                        && let Some(schema) = parameter.schema.as_mut()
                    {
                        text_patterns(schema);
                    }
                }
                add_conventions(operation);
            }
        }
    }
}

/// Replaces every text `format` marker in `schema` (and the schemas inside it) with its pattern.
fn text_patterns(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(object) => {
            let kind = match &object.format {
                Some(SchemaFormat::Custom(marker)) => TextKind::from_marker(marker),
                _ => None,
            };
            if let Some(kind) = kind {
                object.format = None;
                object.pattern = Some(kind.pattern().to_owned());
            }
            object.properties.values_mut().for_each(text_patterns);
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                text_patterns(items);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(text_patterns),
        Schema::AllOf(all) => all.items.iter_mut().for_each(text_patterns),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(text_patterns),
        _ => {}
    }
}

fn add_conventions(operation: &mut Operation) {
    let public = operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| r == &SecurityRequirement::default()));
    let has_body = operation.request_body.is_some();
    let mut errors: Vec<(&str, &str)> = vec![
        ("400", "Invalid input; `errors` names each field"),
        ("404", "Not found"),
        ("429", "Rate limited; see `Retry-After`"),
        ("500", "Unexpected fault (no details are given)"),
        (
            "503",
            "A dependency is unavailable; retry after `Retry-After`",
        ),
    ];
    if !public {
        errors.push(("401", "Missing or invalid access token"));
        errors.push(("403", "Not allowed for this caller"));
    }
    if has_body {
        errors.push(("413", "Body larger than 1 MiB"));
        errors.push(("415", "Body is not JSON"));
    }
    for (status, description) in errors {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(description)));
    }
    let conditional = operation.responses.responses.contains_key("304");
    if conditional {
        entity_tags(operation);
    }
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    if conditional {
        parameters.push(
            ParameterBuilder::new()
                .name("If-None-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The `ETag` of an earlier answer: `304 Not Modified` (no body) while it is \
                     still current",
                ))
                .schema(Some(String::schema()))
                .build()
                .into(),
        );
    }
    parameters.push(
        ParameterBuilder::new()
            .name("X-Request-Id")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Correlates the request in logs; echoed on the response (generated when absent)",
            ))
            .schema(Some(String::schema()))
            .build()
            .into(),
    );
}

/// Documents the `ETag` header on the 200 and 304 answers of a read that answers conditional GETs
/// (every operation documenting a 304 does, through `web::conditional`).
fn entity_tags(operation: &mut Operation) {
    for status in ["200", "304"] {
        if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) {
            response.headers.insert(
                "ETag".into(),
                HeaderBuilder::new()
                    .schema(Some(String::schema()))
                    .description(Some(
                        "Tags this representation; send it back in `If-None-Match` to revalidate",
                    ))
                    .build()
                    .into(),
            );
        }
    }
}

/// A problem+json response with `description`.
pub fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM,
            Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "Problem",
            )))),
        )
        .build()
}

/// Serves `doc` at `GET /openapi.json`.
pub fn route(cfg: &mut web::ServiceConfig, doc: &OpenApi) {
    let json = doc
        .to_json()
        .unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#));
    cfg.app_data(web::Data::new(Document(json)))
        .route("/openapi.json", web::get().to(document));
}

struct Document(String);

async fn document(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

#[cfg(test)]
mod tests {
    use utoipa::{IntoParams, OpenApi, ToSchema};

    use super::Conventions;
    use crate::text::TextKind;

    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct Body {
        #[schema(max_length = 9, format = "text-line-required")]
        name: String,
        #[schema(format = "text-lines")]
        notes: Option<String>,
        lines: Vec<Line>,
    }

    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct Line {
        #[schema(format = "text-line")]
        reason: Option<String>,
    }

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    #[allow(dead_code)]
    struct Query {
        #[param(format = "text-line")]
        q: Option<String>,
    }

    #[utoipa::path(post, path = "/things", params(Query), request_body = Body, responses((status = 204)))]
    #[allow(dead_code)]
    fn things() {}

    #[utoipa::path(get, path = "/things/{id}", params(("id" = String, Path)),
        responses((status = 304, description = "Not modified"), (status = 200, description = "The thing")))]
    #[allow(dead_code)]
    fn thing() {}

    #[derive(OpenApi)]
    #[openapi(paths(things, thing), components(schemas(Body, Line)), modifiers(&Conventions))]
    struct Doc;

    #[test]
    fn conditional_reads_document_if_none_match_and_etag() {
        let doc = serde_json::to_value(Doc::openapi()).unwrap_or_default();
        let header_names = |op: &serde_json::Value| -> Vec<String> {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        };
        let get = &doc["paths"]["/things/{id}"]["get"];
        assert!(
            header_names(get).contains(&"If-None-Match".to_owned()),
            "{get}"
        );
        for status in ["200", "304"] {
            assert!(
                get["responses"][status]["headers"]["ETag"].is_object(),
                "{status}: {get}"
            );
        }
        let post = &doc["paths"]["/things"]["post"];
        assert!(
            !header_names(post).contains(&"If-None-Match".to_owned()),
            "{post}"
        );
        assert!(post["responses"]["204"]["headers"].get("ETag").is_none());
    }

    #[test]
    fn text_markers_become_the_shared_patterns() {
        let doc = serde_json::to_value(Doc::openapi()).unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        let cases = [
            (
                &schemas["Body"]["properties"]["name"],
                TextKind::LineRequired,
            ),
            (&schemas["Body"]["properties"]["notes"], TextKind::Lines),
            (&schemas["Line"]["properties"]["reason"], TextKind::Line),
            (
                &doc["paths"]["/things"]["post"]["parameters"][0]["schema"],
                TextKind::Line,
            ),
        ];
        for (schema, kind) in cases {
            assert_eq!(schema["pattern"], kind.pattern(), "{schema}");
            assert!(
                schema.get("format").is_none(),
                "the marker is gone: {schema}"
            );
        }
        assert_eq!(schemas["Body"]["properties"]["name"]["maxLength"], 9);
        assert!(
            !doc.to_string().contains("text-line"),
            "no marker is left anywhere"
        );
    }
}
