//! The tracking APIs of the carriers shopflow polls, over the HTTP and TLS
//! stack the AWS SDK already links (hyper, rustls). One call per parcel, a
//! timeout on each, no retries: what a refusal or a failure means for the
//! carrier's budget is the poller's to decide. Base URLs are configuration,
//! so tests and the local stack point them at a fake carrier.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use base64::Engine;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use shopflow_couriers::{canada_post, chit_chats};
use shopflow_domain::{Carrier, TrackingNumber};
use shopflow_ports::{CarrierAnswer, CarrierCallError, Secrets, TrackingApi};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one tracking call may take, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// A tracking answer is a few KB; anything past this is not one.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// How shopflow reaches Canada Post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanadaPostAccess {
    /// `https://soa-gw.canadapost.ca`, or a fake's address.
    pub base_url: String,
    /// SSM parameter holding `username:password` for HTTP Basic auth.
    pub credentials_parameter: String,
}

/// How shopflow reaches Chit Chats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChitChatsAccess {
    /// `https://chitchats.com`, or a fake's address.
    pub base_url: String,
    pub client_id: u64,
    /// SSM parameter holding the access token.
    pub token_parameter: String,
}

type HttpClient = shopflow_https::HttpsClient<Empty<Bytes>>;

/// The polled carriers' APIs, through one connection pool built at start-up.
pub struct CarrierApis<K> {
    http: HttpClient,
    secrets: K,
    canada_post: Option<CanadaPostAccess>,
    chit_chats: Option<ChitChatsAccess>,
}

impl<K: Secrets> CarrierApis<K> {
    /// The clients, with the machine's trusted roots for TLS; a carrier
    /// without access is never called.
    pub fn new(
        secrets: K,
        canada_post: Option<CanadaPostAccess>,
        chit_chats: Option<ChitChatsAccess>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            http: shopflow_https::client(CONNECT_TIMEOUT)?,
            secrets,
            canada_post,
            chit_chats,
        })
    }

    /// The request asking `carrier` about `number`.
    async fn request(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<hyper::Request<Empty<Bytes>>, CarrierCallError> {
        let credentials = |error: shopflow_ports::StoreError| CarrierCallError::Credentials {
            carrier,
            reason: error.to_string(),
        };
        let builder = match (carrier, &self.canada_post, &self.chit_chats) {
            (Carrier::CanadaPost, Some(access), _) => {
                let user_password = self
                    .secrets
                    .secret(&access.credentials_parameter)
                    .await
                    .map_err(credentials)?;
                let basic = base64::engine::general_purpose::STANDARD.encode(user_password.trim());
                hyper::Request::get(format!(
                    "{}{}",
                    access.base_url.trim_end_matches('/'),
                    canada_post::detail_path(number)
                ))
                .header("accept", canada_post::ACCEPT)
                .header("accept-language", canada_post::ACCEPT_LANGUAGE)
                .header("authorization", format!("Basic {basic}"))
            }
            (Carrier::ChitChats, _, Some(access)) => {
                let token = self
                    .secrets
                    .secret(&access.token_parameter)
                    .await
                    .map_err(credentials)?;
                let (header, value) = chit_chats::authorization(&token);
                hyper::Request::get(format!(
                    "{}{}",
                    access.base_url.trim_end_matches('/'),
                    chit_chats::shipment_path(access.client_id, number)
                ))
                .header("accept", "application/json")
                .header(header, value)
            }
            _ => return Err(CarrierCallError::NotPolled(carrier)),
        };
        builder
            .body(Empty::new())
            .map_err(|error| CarrierCallError::NoAnswer {
                carrier,
                reason: format!("building the request: {error}"),
            })
    }
}

#[async_trait]
impl<K: Secrets> TrackingApi for CarrierApis<K> {
    async fn track(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<CarrierAnswer, CarrierCallError> {
        let request = self.request(carrier, number).await?;
        let no_answer = |reason: String| CarrierCallError::NoAnswer { carrier, reason };
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|error| no_answer(error.to_string()))?;
            let status = response.status().as_u16();
            let retry_after_secs = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse().ok());
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|error| no_answer(format!("reading the answer: {error}")))?
                .to_bytes();
            Ok(CarrierAnswer {
                status,
                retry_after_secs,
                body: body.to_vec(),
            })
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| no_answer(format!("no answer within {CALL_TIMEOUT:?}")))?
    }
}
