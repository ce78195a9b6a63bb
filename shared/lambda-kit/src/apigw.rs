//! API Gateway HTTP API (payload v2) events, built from plain HTTP parts. The
//! local stack turns every localhost request into one of these and hands it to
//! the same handler the Lambda runs; tests and samples use the same shape.

use lambda_http::Request;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct HttpEvent {
    pub method: String,
    /// The template route, e.g. `/v1/orders/{id}`.
    pub route: String,
    /// The concrete path, e.g. `/v1/orders/01J…`.
    pub path: String,
    pub path_parameters: BTreeMap<String, String>,
    pub raw_query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// Verified JWT claims, as API Gateway's JWT authorizer passes them on.
    pub claims: Option<BTreeMap<String, String>>,
    pub request_id: String,
    /// The caller's address as API Gateway saw it; 127.0.0.1 when unset.
    pub source_ip: Option<String>,
}

impl HttpEvent {
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.route)
    }

    /// The event exactly as API Gateway would send it to the function.
    pub fn to_json(&self) -> Value {
        let query: Map<String, Value> = url_pairs(&self.raw_query)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let mut context = json!({
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": self.source_ip.as_deref().unwrap_or("127.0.0.1"),
                "userAgent": self.headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": self.request_id,
            "routeKey": self.route_key(),
            "stage": "$default",
            "time": "",
            "timeEpoch": 0,
        });
        if let Some(claims) = &self.claims {
            context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key(),
            "rawPath": self.path,
            "rawQueryString": self.raw_query,
            "headers": self.headers,
            "requestContext": context,
            "isBase64Encoded": false,
        });
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = json!(self.path_parameters);
        }
        if let Some(body) = &self.body {
            event["body"] = Value::String(body.clone());
        }
        event
    }

    /// The request a Lambda handler receives for this event.
    pub fn into_request(self) -> Result<Request, serde_json::Error> {
        lambda_http::request::from_str(&self.to_json().to_string())
    }
}

/// `a=1&b=x%20y` as decoded pairs; the last value of a repeated name wins,
/// as in API Gateway's `queryStringParameters` (which joins them with commas).
fn url_pairs(raw: &str) -> BTreeMap<String, String> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    #[test]
    fn the_handler_sees_route_path_query_and_claims() {
        let event = HttpEvent {
            method: "GET".into(),
            route: "/v1/orders/{id}".into(),
            path: "/v1/orders/abc".into(),
            path_parameters: BTreeMap::from([("id".into(), "abc".into())]),
            raw_query: "limit=5&cursor=a%2Bb".into(),
            claims: Some(BTreeMap::from([("sub".into(), "cust-1".into())])),
            ..HttpEvent::default()
        };
        let request = event.into_request().unwrap();
        assert_eq!(
            crate::http::route_key(&request).as_deref(),
            Some("GET /v1/orders/{id}")
        );
        assert_eq!(crate::http::path_param(&request, "id").unwrap(), "abc");
        assert_eq!(
            crate::http::query_param(&request, "cursor").as_deref(),
            Some("a+b")
        );
        assert_eq!(
            crate::Caller::from_request(&request)
                .unwrap()
                .customer_id
                .as_str(),
            "cust-1"
        );
        assert!(request.query_string_parameters_ref().is_some());
    }
}
