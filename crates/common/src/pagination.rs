//! Keyset pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a client may ask for.
pub const MAX_LIMIT: i64 = 500;

/// A page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The page's schema, written by hand: utoipa's derive copies the item's whole schema into every
/// `Page_*` component, so a generated client would get an anonymous copy of the item type per page
/// type. Here the items refer to the item's own component.
#[cfg(feature = "web")]
impl<T: utoipa::ToSchema> utoipa::__dev::ComposeSchema for Page<T> {
    fn compose(
        _generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{
            Ref, Type,
            schema::{ArrayBuilder, ObjectBuilder, SchemaType},
        };
        ObjectBuilder::new()
            .description(Some("A page of a list."))
            .property(
                "items",
                ArrayBuilder::new().items(Ref::from_schema_name(T::name())),
            )
            .required("items")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some(
                        "Pass as `cursor` to get the next page; null on the last page.",
                    )),
            )
            .into()
    }
}

#[cfg(feature = "web")]
impl<T: utoipa::ToSchema> utoipa::ToSchema for Page<T> {
    // `name()` stays the default, `Page`: utoipa's macros name a use `Page_<Item>` themselves.

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says that there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_cursor = if has_more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// Validated `limit` and `cursor` query parameters.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Uuid>,
}

/// Checks `limit` as the client sent it (text, so that a non-integer is a 400 naming `limit`
/// rather than an unreadable query string): 1..=500, default 50.
pub fn parse_limit(raw: Option<&str>) -> Result<i64, ApiError> {
    let limit = match raw {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::field("limit", "must be an integer"))?,
    };
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

impl PageRequest {
    /// Checks `limit` ([`parse_limit`]) and a cursor that must be one this API handed out.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = parse_limit(limit)?;
        let after =
            match cursor.map(str::trim).filter(|c| !c.is_empty()) {
                None => None,
                Some(c) => Some(Uuid::parse_str(c).map_err(|_| {
                    ApiError::field("cursor", "is not a cursor returned by this API")
                })?),
            };
        Ok(Self { limit, after })
    }
}

/// The raw query parameters, for `web::Query`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "web", into_params(parameter_in = Query))]
pub struct PageParams {
    /// Page size, 1 to 500 (default 50).
    #[cfg_attr(feature = "web", param(value_type = Option<i64>, minimum = 1, maximum = 500))]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (absent or blank: the first page).
    #[cfg_attr(
        feature = "web",
        param(
            required = false,
            pattern = "^\\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?\\s*$"
        )
    )]
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point
mod tests {
    use super::*;

    #[test]
    fn limit_bounds() {
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("501"), None).is_err());
        assert_eq!(
            PageRequest::parse(None, None).map(|p| p.limit).ok(),
            Some(50)
        );
        assert_eq!(
            PageRequest::parse(Some(" 10 "), None).map(|p| p.limit).ok(),
            Some(10)
        );
        assert!(PageRequest::parse(Some("10"), Some("nope")).is_err());
        for bad in ["abc", "1.5", ""] {
            match parse_limit(Some(bad)) {
                Err(ApiError::BadRequest { errors, .. }) => assert_eq!(errors[0].field, "limit"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[cfg(feature = "web")]
    #[test]
    fn page_items_refer_to_their_schema() {
        use utoipa::ToSchema;

        /// An item.
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        struct Item {
            id: i64,
        }
        #[derive(utoipa::OpenApi)]
        #[openapi(components(schemas(Page<Item>)))]
        struct Doc;
        let doc = serde_json::to_value(<Doc as utoipa::OpenApi>::openapi()).expect("json");
        let schema = &doc["components"]["schemas"][format!("Page_{}", Item::name())];
        assert_eq!(
            schema["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{}", Item::name()),
            "{schema}"
        );
    }

    #[test]
    fn next_cursor_only_when_more() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
