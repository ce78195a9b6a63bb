//! Request parsing and JSON responses for API Gateway (HTTP API) handlers.

use crate::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What `function` answers for a request it handled: the response, or the
/// problem the error maps to. The one path every HTTP function's answers
/// take, so each 5xx is counted as the EMF metric `ServerErrors` (namespace
/// `shopflow`, dimension `Function`), which its alarm watches: Lambda's own
/// `Errors` sees only panics and timeouts, never a handled failure.
pub fn answer(function: &str, result: Result<Response<Body>, ApiError>) -> Response<Body> {
    let response = result.unwrap_or_else(ApiError::into_response);
    if response.status().is_server_error() {
        crate::metrics::emit(
            function,
            &[("ServerErrors", 1.0, crate::metrics::Unit::Count)],
        );
    }
    response
}

/// A public answer caches and CDNs may keep for `max_age_secs`, tagged
/// with an ETag of its body: a client that sends the tag it holds in
/// `If-None-Match` gets `304 Not Modified` and no body.
pub fn cacheable<T: Serialize + ?Sized>(
    request: &Request,
    value: &T,
    max_age_secs: u32,
) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let digest = crate::idempotency::sha256_hex(&body);
    let etag = format!("\"{}\"", &digest[..32]);
    let held = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == etag || tag == "*")
        });
    let mut response = if held {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        raw_json(StatusCode::OK, body)
    };
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = header::HeaderValue::from_str(&format!("public, max-age={max_age_secs}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

/// Bodies above this are refused with 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    raw_json(status, body)
}

pub fn raw_json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The request body as `T`, refusing oversized, non-JSON and ill-typed bodies
/// with a problem naming the offending field.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(request)?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::invalid_field(&field, error.into_inner().to_string())
    })
}

/// The raw body, after the size check.
pub fn body_bytes(request: &Request) -> Result<&[u8], ApiError> {
    body_within(request, MAX_BODY_BYTES)
}

/// The raw body, refused with 413 above `max` bytes.
pub fn body_within(request: &Request, max: usize) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the body is {} bytes; at most {max} are accepted",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// A path parameter the route template guarantees.
pub fn path_param(request: &Request, name: &str) -> Result<String, ApiError> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
        .ok_or_else(|| ApiError::invalid_field(name, "is required in the path"))
}

/// The order id in the path's `{id}`. A malformed id names nobody's order:
/// `404`, as a missing one.
pub fn order_id(request: &Request) -> Result<shopflow_domain::OrderId, ApiError> {
    path_param(request, "id")?
        .parse()
        .map_err(|_| ApiError::not_found("order"))
}

/// The query parameter `name`; an empty one (`?status=`) is absent, as the
/// API description says.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The `limit` query parameter: 1 to `max`, `default` when absent.
pub fn page_limit(request: &Request, default: u16, max: u16) -> Result<u16, ApiError> {
    match query_param(request, "limit") {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_field("limit", format!("must be between 1 and {max}"))
            }),
    }
}

/// The RFC 3339 instant in query parameter `name`, if one is given.
pub fn instant_param(
    request: &Request,
    name: &'static str,
) -> Result<Option<shopflow_domain::Timestamp>, ApiError> {
    query_param(request, name)
        .map(|raw| {
            shopflow_domain::Timestamp::parse_rfc3339(&raw).ok_or_else(|| {
                ApiError::invalid_field(
                    name,
                    "must be an RFC 3339 time such as 2026-11-28T00:00:00Z",
                )
            })
        })
        .transpose()
}

/// The `from` and `to` query parameters, `from` not after `to`
/// (`422 empty_window` otherwise).
pub fn window_params(
    request: &Request,
) -> Result<
    (
        Option<shopflow_domain::Timestamp>,
        Option<shopflow_domain::Timestamp>,
    ),
    ApiError,
> {
    let (from, to) = (
        instant_param(request, "from")?,
        instant_param(request, "to")?,
    );
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_window",
            "from must not be after to",
        )
        .with_detail("field", "from"));
    }
    Ok((from, to))
}

/// A list's `next_cursor`: where the next page starts, opaque to clients
/// (base64url).
pub fn encode_cursor(next: &str) -> String {
    URL_SAFE_NO_PAD.encode(next)
}

/// The `cursor` query parameter as [`encode_cursor`] wrote it, if given.
pub fn cursor_param(request: &Request) -> Result<Option<String>, ApiError> {
    query_param(request, "cursor")
        .map(|raw| {
            URL_SAFE_NO_PAD
                .decode(raw)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(invalid_cursor)
        })
        .transpose()
}

/// A cursor is opaque: any value this API did not hand out is refused as
/// such, not as a malformed request.
pub fn invalid_cursor() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_cursor",
        "cursor is not a next_cursor this API returned",
    )
    .with_detail("field", "cursor")
}

/// The API Gateway route key, e.g. `GET /v1/orders/{id}`.
pub fn route_key(request: &Request) -> Option<String> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.clone(),
        _ => None,
    }
}

/// API Gateway's request id, for log correlation.
pub fn request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.request_id.clone().unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// The caller's address as API Gateway saw it (the client, not a proxy
/// the client controls): what per-source limits count.
pub fn source_ip(request: &Request) -> Option<String> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
}

/// The SKU and quantity of line `index` of a request's `lines`, each
/// checked; a bad one names its field (`lines[2].quantity`).
pub fn line_of(
    index: usize,
    sku: &str,
    quantity: i64,
) -> Result<(shopflow_domain::Sku, shopflow_domain::Quantity), ApiError> {
    use shopflow_domain::{Quantity, Sku};
    let sku = Sku::parse(sku)
        .map_err(|e| ApiError::invalid_field(&format!("lines[{index}].sku"), e.reason))?;
    let quantity = u32::try_from(quantity)
        .ok()
        .and_then(|units| Quantity::parse(units).ok())
        .ok_or_else(|| {
            ApiError::invalid_field(
                &format!("lines[{index}].quantity"),
                format!("must be between 1 and {}", Quantity::MAX),
            )
        })?;
    Ok((sku, quantity))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_cacheable_answer_is_tagged_and_a_held_tag_is_not_modified() {
        let body = serde_json::json!({ "in_stock": true });
        let first = super::cacheable(&Request::default(), &body, 15);
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers()["cache-control"], "public, max-age=15");
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");

        for held in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".into(),
        ] {
            let mut request = Request::default();
            request
                .headers_mut()
                .insert("if-none-match", held.parse().unwrap());
            let again = super::cacheable(&request, &body, 15);
            assert_eq!(again.status(), 304, "{held}");
            assert_eq!(again.headers()["etag"], etag.as_str());
            assert!(matches!(again.body(), Body::Empty));
        }
        let mut stale = Request::default();
        stale
            .headers_mut()
            .insert("if-none-match", "\"other\"".parse().unwrap());
        assert_eq!(super::cacheable(&stale, &body, 15).status(), 200);
        let changed = super::cacheable(
            &Request::default(),
            &serde_json::json!({ "in_stock": false }),
            15,
        );
        assert_ne!(changed.headers()["etag"], etag.as_str());
    }

    use super::*;

    #[test]
    fn an_answer_is_the_response_or_the_problem_its_error_maps_to() {
        let ok = answer(
            "test",
            Ok(json(StatusCode::CREATED, &serde_json::json!({}))),
        );
        assert_eq!(ok.status(), StatusCode::CREATED);
        let unavailable = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "retry");
        let failed = answer("test", Err(unavailable));
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(failed.headers()[header::CONTENT_TYPE], "application/json");
    }
}
