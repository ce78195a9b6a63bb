//! Cancels backorders that waited longer than the shop allows (60 days by
//! default), daily: each with its refund and `backorder.cancelled`, or with
//! its order when it was all the order had left, through the same
//! cancellation the backorders API makes. It reads the open backorders
//! oldest first from the standing index, a page at a time in each shard,
//! so a run never grows with the backorders still within their time. Safe
//! to rerun and to run beside itself: a backorder already cancelled is
//! left as it is, and every write holds only on what was read. Each run is
//! recorded (`JobRuns`) and its counts emitted as EMF metrics.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use shopflow_domain::{Actor, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{config, now};
use shopflow_ports::{
    BackorderReader, BackorderStanding, BackorderStore, CancelOutcome, JobRun, JobRuns,
    OrderLifecycle, RunSummary, STATUS_SHARDS, StandingEntry, StandingRange,
};

pub const FUNCTION: &str = "backorder-expirer";
const ACTOR: Actor = Actor::System(FUNCTION);
/// Open backorders read per page.
const PAGE_SIZE: u16 = 100;

/// How long a backorder may wait before it is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge {
    pub days: u32,
}

impl MaxAge {
    pub const DEFAULT_DAYS: u32 = 60;

    pub fn from(vars: &impl config::Source) -> Result<Self, ConfigError> {
        let days = config::parsed_or(vars, "BACKORDER_MAX_AGE_DAYS", Self::DEFAULT_DAYS)?;
        if !(1..=3_650).contains(&days) {
            return Err(ConfigError::Invalid {
                name: "BACKORDER_MAX_AGE_DAYS",
                reason: "must be between 1 and 3650".into(),
            });
        }
        Ok(Self { days })
    }

    /// Backorders created before this are past their time at `now`.
    pub fn cutoff(self, now: Timestamp) -> Timestamp {
        now.minus_secs(u64::from(self.days) * 86_400)
    }
}

/// What one run did, returned to the invoker, logged and recorded.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiryReport {
    /// Backorders created before this were due.
    pub cutoff: String,
    /// Open backorders past the cutoff that were read.
    pub examined: u64,
    /// Cancelled on their own, their orders keeping other units.
    pub cancelled: u64,
    /// Cancelled with their orders, which had nothing else to deliver.
    pub orders_cancelled: u64,
    /// Units taken out of the queues.
    pub units_cancelled: u64,
    /// Refunds held back on orders, and what the cancelled orders give back.
    pub refunded_minor: i64,
    /// Cancelled meanwhile by someone else.
    pub already_cancelled: u64,
    /// Could not be cancelled now (unpaid, fulfilled meanwhile, the store
    /// failing): left for the next run.
    pub failed: u64,
}

/// What became of one backorder past its time.
enum Expired {
    Cancelled {
        with_order: bool,
        units: u32,
        refund_minor: i64,
    },
    AlreadyCancelled,
    Failed,
}

impl ExpiryReport {
    fn count(&mut self, outcome: Expired) {
        self.examined += 1;
        match outcome {
            Expired::Cancelled {
                with_order,
                units,
                refund_minor,
            } => {
                if with_order {
                    self.orders_cancelled += 1;
                } else {
                    self.cancelled += 1;
                }
                self.units_cancelled += u64::from(units);
                self.refunded_minor += refund_minor;
            }
            Expired::AlreadyCancelled => self.already_cancelled += 1,
            Expired::Failed => self.failed += 1,
        }
    }
}

pub struct App<S> {
    store: S,
    max_age: MaxAge,
}

/// backorder-expirer as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            MaxAge::from(env)?,
        ))
    }
}

impl EventFunction<serde_json::Value> for Deployed {
    type Answer = ExpiryReport;

    fn serve(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> impl std::future::Future<Output = Result<ExpiryReport, Error>> + Send {
        self.handle(event)
    }
}

impl<S: BackorderReader + BackorderStore + OrderLifecycle + JobRuns> App<S> {
    pub fn new(store: S, max_age: MaxAge) -> Self {
        Self { store, max_age }
    }

    pub async fn handle(
        &self,
        _event: LambdaEvent<serde_json::Value>,
    ) -> Result<ExpiryReport, Error> {
        Ok(self.expire(now()).await?)
    }

    /// Cancels every open backorder created before the cutoff at `now`,
    /// and records the run.
    pub async fn expire(&self, now: Timestamp) -> Result<ExpiryReport, shopflow_ports::StoreError> {
        let started_at = shopflow_lambda_kit::now();
        let cutoff = self.max_age.cutoff(now);
        let mut report = ExpiryReport {
            cutoff: cutoff.to_rfc3339(),
            ..ExpiryReport::default()
        };
        for shard in 0..STATUS_SHARDS {
            let mut after = None;
            loop {
                let range = StandingRange {
                    standing: BackorderStanding::Open,
                    shard,
                    since: None,
                    before: Some(cutoff),
                    after: after.take(),
                    limit: PAGE_SIZE,
                };
                let page = match self.store.backorders_standing(&range).await {
                    Ok(page) => page,
                    Err(error) => {
                        tracing::error!(%error, shard, "reading the open backorders failed");
                        report.failed += 1;
                        break;
                    }
                };
                // One at a time: backorders past their time are mostly of one
                // SKU whose stock never came, and cancellations of one queue
                // contend for its stock item.
                for entry in &page.items {
                    report.count(self.expire_one(entry, now).await);
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        self.record(&report, started_at).await?;
        Ok(report)
    }

    async fn expire_one(&self, entry: &StandingEntry, now: Timestamp) -> Expired {
        let backorder = &entry.backorder;
        let reason = format!("waited longer than {} days", self.max_age.days);
        match shopflow_ports::cancel_backorder(&self.store, backorder, &ACTOR, &reason, now).await {
            Ok(CancelOutcome::Cancelled { order, refund, .. }) => {
                tracing::info!(backorder_id = %backorder.id, order_id = %order.id, "backorder expired");
                Expired::Cancelled {
                    with_order: !order.status.is_open(),
                    units: backorder.open(),
                    refund_minor: refund.map_or(0, |(_, shares)| shares.amount_minor),
                }
            }
            Ok(CancelOutcome::AlreadyCancelled(_)) => Expired::AlreadyCancelled,
            Err(failure) => {
                tracing::warn!(backorder_id = %backorder.id, order_id = %backorder.order_id, error = %failure, "backorder not expired");
                Expired::Failed
            }
        }
    }

    async fn record(
        &self,
        report: &ExpiryReport,
        started_at: Timestamp,
    ) -> Result<(), shopflow_ports::StoreError> {
        metrics::emit(
            FUNCTION,
            &[
                (
                    "BackordersExpired",
                    (report.cancelled + report.orders_cancelled) as f64,
                    Unit::Count,
                ),
                (
                    "BackorderUnitsExpired",
                    report.units_cancelled as f64,
                    Unit::Count,
                ),
                ("BackorderExpiryFailures", report.failed as f64, Unit::Count),
            ],
        );
        tracing::info!(
            examined = report.examined,
            cancelled = report.cancelled,
            orders_cancelled = report.orders_cancelled,
            failed = report.failed,
            "backorder expiry finished"
        );
        let summary = RunSummary {
            seen: report.examined,
            found: report.cancelled + report.orders_cancelled,
            errors: report.failed,
            cut_short: false,
        };
        let run = JobRun::finished(
            FUNCTION,
            started_at,
            shopflow_lambda_kit::now(),
            summary,
            report,
        );
        shopflow_lambda_kit::jobs::finish(&self.store, &run).await
    }
}
