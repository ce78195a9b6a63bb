//! Keeps the stock ledger from the table's stream: every change of a stock
//! item becomes one movement with the cause its write named; a change that
//! makes the stock low carries `inventory.low_stock` on its movement, and
//! one that gives a warehouse with no unit free some again carries
//! `inventory.available_again` (the waitlist's nudge).
//! A movement is keyed by the version its change made, so a batch the
//! stream delivers again records nothing twice. The first record that
//! cannot be kept is reported as the batch's failure: Lambda delivers it
//! and everything after it again, in order.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent};
use shopflow_domain::{MovementCause, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{self, ConfigError, Env};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_ports::{Recorded, StockChange, StockLedger, StoreError};
use ulid::Ulid;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "stock-ledger";

pub struct App<S> {
    store: S,
}

/// stock-ledger as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(DynamoStore::from_config(
            &shared.aws.dynamodb,
            config::required(env, "TABLE_NAME")?,
        )))
    }
}

impl EventFunction<Event> for Deployed {
    type Answer = DynamoDbEventResponse;

    fn serve(
        &self,
        event: LambdaEvent<Event>,
    ) -> impl std::future::Future<Output = Result<DynamoDbEventResponse, Error>> + Send {
        self.handle(event)
    }
}

/// What one batch did, for the logs and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub recorded: u64,
    /// Changes whose movement was kept before (a redelivery).
    pub repeated: u64,
    pub low_stock: u64,
    /// Warehouses that had no unit free and have some again.
    pub available_again: u64,
    /// Movements of writes that named no cause: each is a defect to fix.
    pub unexplained: u64,
}

impl<S: StockLedger> App<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    pub async fn handle(&self, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
        let mut tally = Tally::default();
        let mut failed = None;
        for record in event.payload.records {
            let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
            if let Err(error) = self.keep(record, &mut tally).await {
                tracing::error!(%error, %sequence_number, "stock change not recorded; handing back to the stream");
                failed = Some(sequence_number);
                break;
            }
        }
        tracing::info!(?tally, failed = failed.is_some(), "stock changes recorded");
        metrics::emit(
            FUNCTION,
            &[
                ("MovementsRecorded", tally.recorded as f64, Unit::Count),
                ("LowStockRaised", tally.low_stock as f64, Unit::Count),
                (
                    "AvailableAgainRaised",
                    tally.available_again as f64,
                    Unit::Count,
                ),
                (
                    "UnexplainedMovements",
                    tally.unexplained as f64,
                    Unit::Count,
                ),
                (
                    "LedgerFailures",
                    f64::from(u8::from(failed.is_some())),
                    Unit::Count,
                ),
            ],
        );
        let mut response = DynamoDbEventResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|sequence_number| {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence_number);
                failure
            })
            .collect();
        Ok(response)
    }

    /// Records one stream record's movement, if it is a stock change that
    /// moved units (or made the stock low).
    async fn keep(&self, record: EventRecord, tally: &mut Tally) -> Result<(), StoreError> {
        let change = record.change;
        let seen_at = Timestamp::from_millis(
            u64::try_from(change.approximate_creation_date_time.timestamp_millis()).unwrap_or(0),
        );
        let Some(stock) = shopflow_dynamo::stock_change(
            &record.event_name,
            change.old_image,
            change.new_image,
            seen_at,
        )?
        else {
            return Ok(());
        };
        let low_stock = stock.low_stock(Ulid::generate());
        let Some(movement) = stock.movement() else {
            // No unit moved, yet a new threshold may make the stock low:
            // the settings change is kept so its event has an item to ride.
            return match low_stock {
                Some(event) => self.keep_settings_change(&stock, &event, tally).await,
                None => Ok(()),
            };
        };
        // A change either empties a warehouse's free units toward its
        // threshold or brings some back, never both.
        let available_again = stock.available_again(Ulid::generate());
        let event = low_stock.clone().or_else(|| available_again.clone());
        match self
            .store
            .record_movement(&movement, event.as_ref())
            .await?
        {
            Recorded::Before => tally.repeated += 1,
            Recorded::Now => {
                tally.recorded += 1;
                tally.low_stock += u64::from(low_stock.is_some());
                tally.available_again += u64::from(available_again.is_some());
                if movement.note.cause == MovementCause::Unexplained {
                    tally.unexplained += 1;
                    tracing::error!(sku = %movement.sku, warehouse = %movement.warehouse, version = movement.version, "a stock write named no cause");
                }
                tracing::info!(sku = %movement.sku, warehouse = %movement.warehouse, version = movement.version, cause = movement.note.cause.as_str(), reference = %movement.note.reference, event = event.as_ref().map(|e| e.event.detail_type()), "movement recorded");
            }
        }
        Ok(())
    }

    /// A threshold raised above the stock: recorded as a movement of no
    /// units, carrying `inventory.low_stock`.
    async fn keep_settings_change(
        &self,
        stock: &StockChange,
        event: &shopflow_ports::OutboxEvent,
        tally: &mut Tally,
    ) -> Result<(), StoreError> {
        let movement = stock.settings_movement();
        if self.store.record_movement(&movement, Some(event)).await? == Recorded::Now {
            tally.low_stock += 1;
            tracing::info!(sku = %movement.sku, warehouse = %movement.warehouse, version = movement.version, "low stock on a new threshold");
        }
        Ok(())
    }
}
