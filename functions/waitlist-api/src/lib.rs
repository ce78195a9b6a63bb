//! "Notify me when it is back": anyone signs an address up for a SKU the
//! shop sells (no token), once per SKU and address, within a rate limit
//! per address and per caller; an unsubscribe link signed with the shop's
//! key takes it off again. The answer to a signup never says whether the
//! address was already on the list.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::waitlist::{FixedWindow, UnsubscribeLink, WaitlistEntry};
use shopflow_domain::{Email, Sku, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::signed_link::{self, LinkError};
use shopflow_lambda_kit::{ApiError, http, idempotency, now};
use shopflow_ports::{Admission, InventoryStore, Secrets, Waitlist};
use shopflow_ssm::SsmSecrets;
use tracing::Instrument;

pub const JOIN: &str = "POST /v1/products/{sku}/waitlist";
pub const UNSUBSCRIBE: &str = "GET /v1/waitlist/unsubscribe";

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "waitlist-api";

/// How often one address, and one caller, may sign up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// SSM parameter holding the key unsubscribe links are signed with.
    pub signing_key_parameter: String,
    pub per_address: FixedWindow,
    pub per_source: FixedWindow,
}

impl Settings {
    pub fn from(env: &impl config::Source) -> Result<Self, ConfigError> {
        let hourly = |limit| FixedWindow { limit, secs: 3_600 };
        Ok(Self {
            signing_key_parameter: config::required(env, "WAITLIST_KEY_PARAMETER")?,
            per_address: hourly(config::parsed_or(
                env,
                "WAITLIST_SIGNUPS_PER_ADDRESS_HOUR",
                5,
            )?),
            per_source: hourly(config::parsed_or(
                env,
                "WAITLIST_SIGNUPS_PER_SOURCE_HOUR",
                30,
            )?),
        })
    }
}

pub struct App<S, K> {
    store: S,
    secrets: K,
    settings: Settings,
}

/// waitlist-api as deployed: the table and SSM.
pub type Deployed = App<DynamoStore, SsmSecrets>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            SsmSecrets::from_config(&shared.aws.ssm),
            Settings::from(env)?,
        ))
    }
}

impl HttpFunction for Deployed {
    fn serve(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Result<Response<Body>, Error>> + Send {
        self.handle(request)
    }
}

impl<S: InventoryStore + Waitlist, K: Secrets> App<S, K> {
    pub fn new(store: S, secrets: K, settings: Settings) -> Self {
        Self {
            store,
            secrets,
            settings,
        }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!("waitlist", request_id = %http::request_id(&request));
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(JOIN) => self.join(&request).await,
                Some(UNSUBSCRIBE) => self.unsubscribe(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    /// Puts the address on the SKU's waitlist. The same answer whether it
    /// was there already or not: a signup form must not tell a stranger
    /// who is waiting for what.
    async fn join(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let sku = Sku::parse(&http::path_param(request, "sku")?)?;
        let body: JoinBody = http::json_body(request)?;
        let email = Email::parse(body.email.trim())
            .map_err(|error| ApiError::invalid_field("email", error.to_string()))?;
        let at = now();
        let address = idempotency::sha256_hex(WaitlistEntry::address_key(&email));
        let source = http::source_ip(request).unwrap_or_default();
        self.within_limit(
            &format!("waitlist#address#{address}"),
            self.settings.per_address,
            at,
        )
        .await?;
        self.within_limit(
            &format!("waitlist#source#{source}"),
            self.settings.per_source,
            at,
        )
        .await?;
        self.store
            .product(&sku)
            .await?
            .filter(|product| product.active)
            .ok_or_else(|| ApiError::not_found("product"))?;
        let added = self
            .store
            .join_waitlist(&WaitlistEntry {
                sku: sku.clone(),
                email,
                at,
            })
            .await?;
        tracing::info!(%sku, address = %&address[..12], added, "waitlist signup");
        Ok(http::json(
            StatusCode::ACCEPTED,
            &json!({ "waitlist": { "sku": sku, "status": "waiting" } }),
        ))
    }

    /// Takes the address an unsubscribe link names off its SKU's list. A
    /// link we did not sign, or one past its time, is `400`; one already
    /// used answers as the first time.
    async fn unsubscribe(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let token = http::query_param(request, "token")
            .ok_or_else(|| ApiError::invalid_field("token", "is required"))?;
        let key = self.signing_key().await?;
        let named: UnsubscribeLink =
            signed_link::verify(key.as_bytes(), &token, now()).map_err(|error| match error {
                LinkError::Forged => ApiError::invalid_field("token", "is not a link we sent"),
                LinkError::Expired => ApiError::invalid_field("token", "has expired"),
            })?;
        let invalid = |_| ApiError::invalid_field("token", "is not a link we sent");
        let sku = Sku::parse(&named.sku).map_err(invalid)?;
        let email = Email::parse(&named.email).map_err(invalid)?;
        let removed = self.store.leave_waitlist(&sku, &email).await?;
        tracing::info!(%sku, removed, "waitlist unsubscribe");
        Ok(http::json(
            StatusCode::OK,
            &json!({ "waitlist": { "sku": sku, "status": "unsubscribed" } }),
        ))
    }

    async fn signing_key(&self) -> Result<String, ApiError> {
        Ok(self
            .secrets
            .secret(&self.settings.signing_key_parameter)
            .await?)
    }

    /// `429` with `Retry-After` once `bucket` is full for this window.
    async fn within_limit(
        &self,
        bucket: &str,
        window: FixedWindow,
        at: Timestamp,
    ) -> Result<(), ApiError> {
        match self.store.admit(bucket, window, at).await? {
            Admission::Admitted => Ok(()),
            Admission::Refused { retry_after_secs } => {
                tracing::warn!(
                    bucket = bucket.split('#').nth(1).unwrap_or(""),
                    retry_after_secs,
                    "waitlist signup rate limited"
                );
                Err(ApiError::rate_limited(
                    retry_after_secs,
                    format!("too many signups; retry in {retry_after_secs} s"),
                ))
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinBody {
    email: String,
}
