//! Tells a SKU's waitlist it is back in stock. Nudged by
//! `inventory.available_again` (a warehouse that had no unit free has
//! some), it reads the SKU as a storefront would; while it is in stock, it
//! takes the waiting addresses off the list a page at a time, each page in
//! one write with the `inventory.back_in_stock` event that tells them (and
//! carries each one's unsubscribe link). Entries are one-shot: a
//! redelivered nudge, or one for the next warehouse, finds nobody left to
//! tell, and a run cut short resumes on redelivery where it stopped.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use shopflow_domain::availability::Availability;
use shopflow_domain::events::{BackInStockSubscriber, DomainEvent, InventoryBackInStock};
use shopflow_domain::waitlist::{UnsubscribeLink, WaitlistEntry};
use shopflow_domain::{Sku, Timestamp, WarehouseId};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::consumer::{self, BusEvent, ConsumeError, Handled};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::{now, signed_link};
use shopflow_ports::{InventoryStore, OutboxEvent, Secrets, Waitlist};
use shopflow_ssm::SsmSecrets;
use ulid::Ulid;

pub const CONSUMER: &str = "waitlist-notifier";
/// Messages of one batch handled at once.
const CONCURRENCY: usize = 4;
/// Addresses told per event and per write: 50 deletes and the outbox item
/// fit one transaction, and an event of 50 stays far below 256 KB.
pub const PAGE: u16 = 50;
/// Pages one message may tell before it hands the rest to its redelivery
/// (what it told is off the list by then).
const MAX_PAGES: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The shop's warehouses: the SKU is in stock if any has a unit free.
    pub warehouses: Vec<WarehouseId>,
    /// SSM parameter holding the key unsubscribe links are signed with.
    pub signing_key_parameter: String,
    /// How long an unsubscribe link works, in days.
    pub link_days: u64,
}

impl Settings {
    pub fn from(env: &impl config::Source) -> Result<Self, ConfigError> {
        Ok(Self {
            warehouses: config::list_or(env, "WAREHOUSES", "MAIN", WarehouseId::parse)?,
            signing_key_parameter: config::required(env, "WAITLIST_KEY_PARAMETER")?,
            link_days: config::parsed_or(env, "WAITLIST_LINK_DAYS", 90)?,
        })
    }
}

pub struct App<S, K> {
    store: S,
    secrets: K,
    settings: Settings,
}

/// waitlist-notifier as deployed: the table and SSM.
pub type Deployed = App<DynamoStore, SsmSecrets>;

impl Function for Deployed {
    const NAME: &'static str = CONSUMER;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            SsmSecrets::from_config(&shared.aws.ssm),
            Settings::from(env)?,
        ))
    }
}

impl EventFunction<SqsEvent> for Deployed {
    type Answer = SqsBatchResponse;

    fn serve(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> impl std::future::Future<Output = Result<SqsBatchResponse, Error>> + Send {
        self.handle(event)
    }
}

/// The SKU a nudge names.
#[derive(Deserialize)]
struct Nudge {
    sku: Sku,
}

fn failed(error: impl std::error::Error) -> ConsumeError {
    ConsumeError::failed(&error)
}

impl<S: InventoryStore + Waitlist, K: Secrets> App<S, K> {
    pub fn new(store: S, secrets: K, settings: Settings) -> Self {
        Self {
            store,
            secrets,
            settings,
        }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        Ok(consumer::consume_counted(
            CONSUMER,
            "AvailableAgain",
            event.payload,
            CONCURRENCY,
            |event| self.apply(event),
        )
        .await)
    }

    pub async fn apply(&self, event: BusEvent) -> Result<Handled, ConsumeError> {
        if event.detail_type != "inventory.available_again" {
            return Ok(Handled::Ignored(format!(
                "not a nudge: {}",
                event.detail_type
            )));
        }
        let nudge: Nudge = serde_json::from_value(event.data)
            .map_err(|error| ConsumeError::Unreadable(error.to_string()))?;
        let Some((product, stocks)) = self
            .store
            .storefront_stock(&nudge.sku, &self.settings.warehouses)
            .await
            .map_err(failed)?
        else {
            return Ok(Handled::Ignored(format!(
                "{} is not in the catalog",
                nudge.sku
            )));
        };
        if !product.active || !Availability::of(&stocks, now()).in_stock {
            return Ok(Handled::Ignored(format!(
                "{} is not for sale now",
                nudge.sku
            )));
        }
        let key = self
            .secrets
            .secret(&self.settings.signing_key_parameter)
            .await
            .map_err(failed)?;
        let mut told = 0;
        for _ in 0..MAX_PAGES {
            let page = self.store.waiting(&nudge.sku, PAGE).await.map_err(failed)?;
            if page.is_empty() {
                tracing::info!(sku = %nudge.sku, told, "waitlist told");
                return Ok(if told == 0 {
                    Handled::Ignored(format!("nobody waits for {}", nudge.sku))
                } else {
                    Handled::Applied
                });
            }
            let event = self.back_in_stock(&product.sku, &product.name, &page, key.as_bytes());
            if self
                .store
                .tell_waitlist(&page, &event)
                .await
                .map_err(failed)?
            {
                told += page.len();
            }
        }
        Err(ConsumeError::Failed(format!(
            "told {told} waiting for {}; more wait, handed to the redelivery",
            nudge.sku
        )))
    }

    /// `inventory.back_in_stock` for one page, each address with its signed
    /// unsubscribe link for the email's footer.
    fn back_in_stock(
        &self,
        sku: &Sku,
        name: &str,
        page: &[WaitlistEntry],
        key: &[u8],
    ) -> OutboxEvent {
        let at = now();
        let expires_at: Timestamp = at.plus_secs(self.settings.link_days * 86_400);
        let subscribers = page
            .iter()
            .map(|entry| BackInStockSubscriber {
                email: entry.email.as_str().to_owned(),
                unsubscribe_token: signed_link::sign(key, &UnsubscribeLink::of(entry), expires_at),
            })
            .collect();
        OutboxEvent {
            id: Ulid::generate(),
            occurred_at: at,
            event: DomainEvent::InventoryBackInStock(InventoryBackInStock {
                sku: sku.clone(),
                name: name.to_owned(),
                subscribers,
            }),
        }
    }
}
