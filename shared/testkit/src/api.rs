//! Requests shaped as API Gateway's HTTP API delivers them, with the JWT
//! authorizer's claims, and readers for what a handler answers.

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shopflow_lambda_kit::apigw::HttpEvent;
use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::fixtures::STAFF;

/// Who a request comes from, as the JWT authorizer's claims say; `None` when
/// no one signed in.
pub type Claims = Option<BTreeMap<String, String>>;

/// The claims of a signed-in customer with subject `sub` and no admin scope.
pub fn claims(sub: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("sub".into(), sub.into())])
}

/// A customer's claims: signed in as `sub`, no admin scope.
pub fn customer(sub: &str) -> Claims {
    Some(claims(sub))
}

/// A member of staff's claims: signed in as `STAFF`, with the admin scope.
pub fn admin() -> Claims {
    Some(BTreeMap::from([
        ("sub".into(), STAFF.into()),
        ("scope".into(), "admin".into()),
    ]))
}

pub fn anonymous() -> Claims {
    None
}

/// `method route` as API Gateway delivers it: the route's `{name}` segments
/// filled from `params` in the path, and the caller's `claims`.
pub fn request(method: &str, route: &str, params: &[(&str, &str)], claims: Claims) -> HttpEvent {
    let path = params.iter().fold(route.to_owned(), |path, (name, value)| {
        path.replace(&format!("{{{name}}}"), &path_segment(value))
    });
    HttpEvent {
        method: method.into(),
        route: route.into(),
        path,
        path_parameters: params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        claims,
        ..HttpEvent::default()
    }
}

/// The same as [`request`], declared as JSON and carrying `body`, if any.
pub fn json_request(
    method: &str,
    route: &str,
    params: &[(&str, &str)],
    body: Option<String>,
    claims: Claims,
) -> HttpEvent {
    HttpEvent {
        headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
        body,
        ..request(method, route, params, claims)
    }
}

/// A path parameter as it appears, percent-encoded, in the raw path.
pub fn path_segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Hands `event` to an HTTP handler (`handle`, e.g. `|request|
/// app.handle(request)`) as Lambda would, with logging on, and reads what it
/// answered. The handler failing outright fails the test.
pub async fn call<F, Fut, E>(handle: F, event: HttpEvent) -> Reply
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, E>>,
    E: Debug,
{
    let request = event.into_request().unwrap();
    let _logging = crate::logging();
    let response = handle(request).await.unwrap();
    Reply::read(&response)
}

/// What the handler answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Whether the answer is a replay of an earlier one for the same
    /// idempotency key.
    pub replayed: bool,
    pub body: String,
    /// Every header, by lower-case name.
    pub headers: std::collections::BTreeMap<String, String>,
}

impl Reply {
    pub fn read(response: &Response<Body>) -> Self {
        Self {
            status: response.status().as_u16(),
            replayed: response.headers().contains_key("idempotent-replayed"),
            body: String::from_utf8(response.body().as_ref().to_vec()).unwrap(),
            headers: response
                .headers()
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
                .collect(),
        }
    }

    /// A header's value, if the answer has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Asserts a problem body `{"error": {"code", "message", "details"}}` with
    /// this status and code, and returns its details.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        let body = self.json();
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["error"], "problem body: {}", self.body);
        let error = body["error"].as_object().unwrap();
        let mut keys: Vec<&String> = error.keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["code", "details", "message"],
            "problem: {}",
            self.body
        );
        assert_eq!(error["code"], code, "problem: {}", self.body);
        assert!(
            !error["message"].as_str().unwrap().is_empty(),
            "problem without a message"
        );
        error["details"].clone()
    }

    /// Asserts a `400 invalid_request` naming `field`.
    pub fn invalid(&self, field: &str) -> Value {
        let details = self.problem(400, "invalid_request");
        assert_eq!(details["field"], field, "problem: {}", self.body);
        details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_fills_the_route_with_its_parameters_percent_encoded_in_the_path() {
        let event = request(
            "POST",
            "/v1/inventory/{sku}/{warehouse}/restock",
            &[("sku", "TEE RED"), ("warehouse", "BER")],
            anonymous(),
        );

        assert_eq!(event.path, "/v1/inventory/TEE%20RED/BER/restock");
        assert_eq!(event.path_parameters["sku"], "TEE RED");
        assert_eq!(event.path_parameters["warehouse"], "BER");
        assert_eq!(event.claims, None);
        assert!(event.headers.is_empty());
    }

    #[test]
    fn a_json_request_is_declared_as_json_even_without_a_body() {
        let event = json_request(
            "POST",
            "/v1/orders/{id}/cancel",
            &[("id", "01J")],
            None,
            admin(),
        );

        assert_eq!(event.headers["content-type"], "application/json");
        assert_eq!(event.body, None);
        assert_eq!(event.path, "/v1/orders/01J/cancel");
        assert_eq!(event.claims.unwrap()["scope"], "admin");
    }
}
