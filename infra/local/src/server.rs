//! Serves the template's HTTP routes on localhost the way API Gateway does:
//! verify the bearer token, match the route, build the payload-v2 event and
//! invoke the function's own handler.

use crate::paths::match_path;
use crate::template::RouteSpec;
use crate::token::DevTokens;
use crate::{fake_carriers, mock_stripe};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_stripe_mock::MockGateway;
use shopflow_testkit::couriers::FakeCarriers;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;

/// API Gateway's payload limit.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

pub type HandlerFuture = Pin<Box<dyn Future<Output = lambda_http::Response<Body>> + Send>>;
/// A function's HTTP handler, as the local stack invokes it.
pub type HttpHandler = Arc<dyn Fn(lambda_http::Request) -> HandlerFuture + Send + Sync>;

pub struct Router {
    routes: Vec<RouteSpec>,
    functions: HashMap<String, HttpHandler>,
    tokens: DevTokens,
    /// The mock Stripe whose customer side is served under `/_mock/stripe/`.
    mock_stripe: Option<MockGateway>,
    /// The polled carriers' fake APIs, served under `/_fake/carriers/`.
    fake_carriers: FakeCarriers,
}

fn respond(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The whole request body, or the 413 API Gateway answers above its limit.
async fn read_body(body: Incoming) -> Result<Bytes, hyper::Response<Full<Bytes>>> {
    match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(respond(413, r#"{"message":"Request Entity Too Large"}"#)),
    }
}

impl Router {
    pub fn new(
        routes: Vec<RouteSpec>,
        functions: HashMap<String, HttpHandler>,
        tokens: DevTokens,
        mock_stripe: Option<MockGateway>,
        fake_carriers: FakeCarriers,
    ) -> Self {
        Self {
            routes,
            functions,
            tokens,
            mock_stripe,
            fake_carriers,
        }
    }

    /// The route a request takes and its path parameters. Like API Gateway,
    /// a literal segment beats a parameter: `/v1/orders/metrics` wins over
    /// `/v1/orders/{id}`.
    fn route_for(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(&RouteSpec, BTreeMap<String, String>)> {
        self.routes
            .iter()
            .filter(|route| route.method == method)
            .filter_map(|route| match_path(&route.path, path).map(|params| (route, params)))
            .min_by_key(|(_, params)| params.len())
    }

    pub async fn dispatch(
        &self,
        request: hyper::Request<Incoming>,
    ) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let method = parts.method.as_str().to_owned();
        let path = parts.uri.path().to_owned();
        if let (Some(mock), true) = (&self.mock_stripe, path.starts_with(mock_stripe::PREFIX)) {
            let bytes = match read_body(body).await {
                Ok(bytes) => bytes,
                Err(too_large) => return too_large,
            };
            let (status, answer) = mock_stripe::answer(mock, &method, &path, &bytes).await;
            return respond(status, &answer.to_string());
        }
        if path.starts_with(fake_carriers::PREFIX) {
            let authorization = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = match read_body(body).await {
                Ok(bytes) => bytes,
                Err(too_large) => return too_large,
            };
            let answer = fake_carriers::answer(
                &self.fake_carriers,
                &method,
                &path,
                authorization.as_deref(),
                &bytes,
            );
            let mut response = respond(answer.status, &answer.body);
            response.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static(answer.content_type),
            );
            if let Some(secs) = answer.retry_after_secs {
                response
                    .headers_mut()
                    .insert("retry-after", hyper::header::HeaderValue::from(secs));
            }
            return response;
        }
        let matched = self.route_for(&method, &path);
        let Some((route, path_parameters)) = matched else {
            return respond(404, r#"{"message":"Not Found"}"#);
        };
        let claims = if route.authorized {
            let token = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            let now = crate::now_secs();
            match token.map(|t| self.tokens.verify(t, now)) {
                Some(Ok(claims)) => Some(claims),
                _ => return respond(401, r#"{"message":"Unauthorized"}"#),
            }
        } else {
            None
        };
        let bytes = match read_body(body).await {
            Ok(bytes) => bytes,
            Err(too_large) => return too_large,
        };
        let headers = parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let event = HttpEvent {
            method,
            route: route.path.clone(),
            path,
            path_parameters,
            raw_query: parts.uri.query().unwrap_or_default().to_owned(),
            headers,
            body: (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned()),
            claims,
            request_id: ulid::Ulid::generate().to_string(),
            // Every caller of the local stack is this machine.
            source_ip: None,
        };
        let Some(handler) = self.functions.get(&route.function) else {
            return respond(502, r#"{"message":"function not loaded"}"#);
        };
        let request = match event.into_request() {
            Ok(request) => request,
            Err(error) => {
                return respond(
                    400,
                    &serde_json::json!({ "message": error.to_string() }).to_string(),
                );
            }
        };
        let response = handler(request).await;
        let (parts, body) = response.into_parts();
        let bytes = match body {
            Body::Empty => Bytes::new(),
            Body::Text(text) => Bytes::from(text),
            Body::Binary(data) => Bytes::from(data),
            _ => Bytes::new(),
        };
        hyper::Response::from_parts(parts, Full::new(bytes))
    }
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, router: Arc<Router>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let router = router.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let router = router.clone();
                async move { Ok::<_, Infallible>(router.dispatch(request).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

pub async fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_route_wins_over_a_parameter_in_the_same_place() {
        let route = |path: &str| RouteSpec {
            method: "GET".into(),
            path: path.into(),
            function: path.into(),
            authorized: false,
        };
        let router = Router::new(
            vec![route("/v1/orders/{id}"), route("/v1/orders/metrics")],
            HashMap::new(),
            DevTokens::new(b"k", "i", "a"),
            None,
            FakeCarriers::default(),
        );
        let best = |path: &str| router.route_for("GET", path).map(|(r, _)| r.path.clone());
        assert_eq!(
            best("/v1/orders/metrics").as_deref(),
            Some("/v1/orders/metrics")
        );
        assert_eq!(best("/v1/orders/01J").as_deref(), Some("/v1/orders/{id}"));
    }
}
