//! `POST /v1/webhooks/couriers/{carrier}`: carriers that push tracking
//! (USPS, DHL) call it. The call is authenticated first (USPS: an HMAC of
//! the timestamp and the raw body; DHL: a static header token, both with
//! secrets from SSM, compared in constant time): unauthenticated is `401`
//! and nothing is kept. Then the raw payload is archived for 90 days, read
//! into tracking events, and each parcel's events go to its shipment
//! (`take_in_reports`). A parcel no shipment travels under is logged and
//! answered `202`: the label may come later, and a 5xx would only make
//! the carrier retry the same unknown number.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use shopflow_couriers::{ParcelNews, dhl, usps};
use shopflow_domain::{Actor, Carrier, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{ApiError, config, http, now};
use shopflow_ports::{
    InlineArchive, ObjectArchive, RawPayload, Secrets, ShipmentStore, TrackingError,
    TrackingOutcome, archive, take_in_reports,
};
use shopflow_signed_s3::SignedBucket;
use shopflow_ssm::SsmSecrets;
use tracing::Instrument;

pub const ROUTE: &str = "POST /v1/webhooks/couriers/{carrier}";

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "courier-webhook";
const ACTOR: Actor = Actor::System(FUNCTION);

/// A push carries one parcel's history (USPS) or a few parcels (DHL): a
/// few KB. 256 KB is far beyond any of them and bounds what one call costs.
pub const MAX_PUSH_BYTES: usize = 256 * 1024;

/// Where each carrier's credentials are, and how they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// SSM parameter holding USPS's HMAC secret.
    pub usps_secret_parameter: String,
    /// How far a signed timestamp may be from now, either way.
    pub usps_tolerance_secs: u64,
    /// SSM parameter holding the token DHL sends.
    pub dhl_token_parameter: String,
    /// The header DHL sends it in.
    pub dhl_token_header: String,
}

impl Settings {
    pub fn from(env: &impl config::Source) -> Result<Self, ConfigError> {
        Ok(Self {
            usps_secret_parameter: config::required(env, "USPS_SECRET_PARAMETER")?,
            usps_tolerance_secs: config::parsed_or(
                env,
                "USPS_SIGNATURE_TOLERANCE_SECS",
                usps::DEFAULT_TOLERANCE_SECS,
            )?,
            dhl_token_parameter: config::required(env, "DHL_TOKEN_PARAMETER")?,
            dhl_token_header: config::optional(env, "DHL_TOKEN_HEADER")
                .unwrap_or_else(|| dhl::DEFAULT_TOKEN_HEADER.to_owned()),
        })
    }
}

pub struct App<S, O, K> {
    store: S,
    objects: O,
    secrets: K,
    settings: Settings,
}

/// courier-webhook as deployed: the table, the raw-payload bucket and SSM.
pub type Deployed = App<DynamoStore, SignedBucket, SsmSecrets>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            SignedBucket::from_config(
                &shared.aws.s3,
                &config::required(env, "RAW_PAYLOAD_BUCKET")?,
            )
            .map_err(|error| ConfigError::Invalid {
                name: "RAW_PAYLOAD_BUCKET",
                reason: error.to_string(),
            })?,
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

/// What one push did, parcel by parcel.
#[derive(Debug, Default)]
struct Taken {
    parcels: usize,
    events_added: usize,
    unknown: Vec<String>,
}

impl<S, O, K> App<S, O, K>
where
    S: ShipmentStore + InlineArchive,
    O: ObjectArchive,
    K: Secrets,
{
    pub fn new(store: S, objects: O, secrets: K, settings: Settings) -> Self {
        Self {
            store,
            objects,
            secrets,
            settings,
        }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!(
            "courier_webhook",
            request_id = %http::request_id(&request),
            carrier = tracing::field::Empty,
            raw_ref = tracing::field::Empty
        );
        let result = async {
            match http::route_key(&request).as_deref() {
                Some(ROUTE) => self.receive(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    async fn receive(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let pusher = Pusher::named(&http::path_param(request, "carrier")?)
            .ok_or_else(|| ApiError::not_found("push carrier"))?;
        let carrier = pusher.carrier();
        tracing::Span::current().record("carrier", carrier.as_str());
        let body = http::body_within(request, MAX_PUSH_BYTES)?;
        let received_at = now();
        self.authenticate(pusher, request.headers(), body, received_at)
            .await?;
        let payload = RawPayload::new(carrier.as_str(), received_at, body);
        let raw_ref = archive(&self.store, &self.objects, &payload).await?;
        tracing::Span::current().record("raw_ref", raw_ref.as_str());
        let parcels = pusher.read(body).map_err(|error| {
            tracing::warn!(%error, %raw_ref, "a push we cannot read was refused");
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_payload",
                format!("the {carrier} payload cannot be read: {error}"),
            )
        })?;
        let taken = self
            .take_in(carrier, parcels, &raw_ref, received_at)
            .await?;
        metrics::emit(
            FUNCTION,
            &[
                ("CourierPushParcels", taken.parcels as f64, Unit::Count),
                ("CourierEventsAdded", taken.events_added as f64, Unit::Count),
                (
                    "CourierParcelsUnknown",
                    taken.unknown.len() as f64,
                    Unit::Count,
                ),
            ],
        );
        let status = if taken.unknown.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        Ok(http::json(
            status,
            &json!({
                "parcels": taken.parcels,
                "events_added": taken.events_added,
                "unknown_tracking_numbers": taken.unknown,
            }),
        ))
    }

    /// The carrier's proof that it sent the push; `401` without it.
    async fn authenticate(
        &self,
        pusher: Pusher,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let checked = match pusher {
            Pusher::Usps => {
                let secret = self
                    .secrets
                    .secret(&self.settings.usps_secret_parameter)
                    .await?;
                usps::verify_signature(
                    secret.as_bytes(),
                    header(usps::TIMESTAMP_HEADER),
                    header(usps::SIGNATURE_HEADER),
                    body,
                    now,
                    self.settings.usps_tolerance_secs,
                )
            }
            Pusher::Dhl => {
                let token = self
                    .secrets
                    .secret(&self.settings.dhl_token_parameter)
                    .await?;
                dhl::verify_token(&token, header(&self.settings.dhl_token_header))
            }
        };
        checked.map_err(|error| {
            tracing::warn!(%error, "a courier push was refused as unauthenticated");
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the push did not prove it came from the carrier",
            )
        })
    }

    /// Each parcel's events to its shipment, each event pointing at the
    /// payload that reported it.
    async fn take_in(
        &self,
        carrier: Carrier,
        parcels: Vec<ParcelNews>,
        raw_ref: &str,
        at: Timestamp,
    ) -> Result<Taken, ApiError> {
        let mut taken = Taken::default();
        for parcel in parcels {
            taken.parcels += 1;
            let events = parcel
                .events
                .into_iter()
                .map(|mut event| {
                    event.raw_ref = Some(raw_ref.to_owned());
                    event
                })
                .collect();
            let number = &parcel.tracking_number;
            match take_in_reports(&self.store, carrier, number, events, &ACTOR, at).await {
                Ok(TrackingOutcome::UnknownParcel) => {
                    tracing::info!(tracking_number = %number, "no shipment travels under this number yet");
                    taken.unknown.push(number.to_string());
                }
                Ok(TrackingOutcome::NothingNew { shipment }) => {
                    tracing::info!(shipment_id = %shipment, "nothing new in the push");
                }
                Ok(TrackingOutcome::Recorded {
                    shipment,
                    order_id,
                    added,
                    moved,
                    order_delivered,
                }) => {
                    tracing::info!(
                        shipment_id = %shipment,
                        order_id = %order_id,
                        added,
                        moved = ?moved,
                        order_delivered,
                        "tracking recorded"
                    );
                    taken.events_added += added;
                }
                Err(TrackingError::KeptChanging) => {
                    return Err(ApiError::concurrent_update(
                        "the shipment kept changing; send the push again",
                    ));
                }
                Err(TrackingError::Store(error)) => return Err(error.into()),
            }
        }
        Ok(taken)
    }
}

/// A carrier that pushes its tracking to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pusher {
    Usps,
    Dhl,
}

impl Pusher {
    /// The pushing carrier named in the path; polled carriers never push.
    fn named(raw: &str) -> Option<Self> {
        match Carrier::parse(raw)? {
            Carrier::Usps => Some(Self::Usps),
            Carrier::Dhl => Some(Self::Dhl),
            Carrier::CanadaPost | Carrier::ChitChats => None,
        }
    }

    fn carrier(self) -> Carrier {
        match self {
            Self::Usps => Carrier::Usps,
            Self::Dhl => Carrier::Dhl,
        }
    }

    /// The parcels a push tells about.
    fn read(self, body: &[u8]) -> Result<Vec<ParcelNews>, shopflow_couriers::ParseError> {
        match self {
            Self::Usps => usps::parse_push(body).map(|news| vec![news]),
            Self::Dhl => dhl::parse_push(body),
        }
    }
}
