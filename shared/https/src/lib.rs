//! The HTTPS client every outbound call shares (Stripe, the polled
//! carriers, S3 through signed requests): hyper over the rustls/aws-lc-rs
//! stack the AWS SDK already links, trusting the machine's roots, plain
//! HTTP allowed for the local emulators.

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// A pooled client sending bodies of type `B`.
pub type HttpsClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// How long an idle pooled connection is kept: across warm invocations.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// A client that gives up connecting after `connect_timeout`; an error when
/// the machine has no trusted roots to read.
pub fn client<B>(connect_timeout: Duration) -> std::io::Result<HttpsClient<B>>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(https))
}
