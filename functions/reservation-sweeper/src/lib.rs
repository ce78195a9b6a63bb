//! Releases reservations that lapsed before payment: each unpaid order past
//! its `reservation_expires_at` becomes `expired`, its reserved units go back
//! to stock and `order.expired` is recorded, in one transaction per order.
//! Drafts abandoned for 30 minutes are cancelled the same way. Safe to run
//! beside itself and beside late payments: every change is conditional on the
//! order's version, so each order is settled once.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use futures::StreamExt;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use shopflow_domain::{Actor, Order, OrderStatus, OrderTrigger, Timestamp};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{config, now};
use shopflow_ports::{
    ChangeError, JobRun, JobRuns, OrderLifecycle, Page, RunSummary, STATUS_SHARDS, StatusChange,
    StoreError,
};
use std::time::{Duration, Instant};

const ACTOR: Actor = Actor::System("reservation-sweeper");

/// How many orders one run expires at once, and reads per page.
#[derive(Debug, Clone, Copy)]
pub struct SweepLimits {
    pub concurrency: usize,
    pub page_size: u16,
    /// Stop starting new pages after this long, leaving the rest to the next run.
    pub time_budget: Duration,
}

impl SweepLimits {
    pub fn from(vars: &impl config::Source) -> Result<Self, config::ConfigError> {
        let within = |name: &'static str, value: usize, max: usize| {
            if (1..=max).contains(&value) {
                Ok(value)
            } else {
                Err(config::ConfigError::Invalid {
                    name,
                    reason: format!("must be between 1 and {max}"),
                })
            }
        };
        let concurrency = within(
            "SWEEP_CONCURRENCY",
            config::parsed_or(vars, "SWEEP_CONCURRENCY", 16)?,
            64,
        )?;
        let page_size = within(
            "SWEEP_PAGE_SIZE",
            config::parsed_or(vars, "SWEEP_PAGE_SIZE", 100)?,
            1_000,
        )?;
        Ok(Self {
            concurrency,
            page_size: u16::try_from(page_size).unwrap_or(100),
            time_budget: Duration::from_secs(config::parsed_or(
                vars,
                "SWEEP_TIME_BUDGET_SECS",
                50,
            )?),
        })
    }
}

/// What one run did, returned to the invoker and logged.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub expired_orders: u64,
    pub released_units: u64,
    /// Drafts abandoned for 30 minutes, cancelled.
    pub drafts_cancelled: u64,
    /// Orders that changed between read and write (paid, cancelled, or
    /// expired by another run); left alone.
    pub skipped: u64,
    pub failed: u64,
    /// The time budget ran out with pages left.
    pub incomplete: bool,
}

pub struct App<S> {
    store: S,
    limits: SweepLimits,
}

/// reservation-sweeper as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = "reservation-sweeper";

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            SweepLimits::from(env)?,
        ))
    }
}

impl EventFunction<serde_json::Value> for Deployed {
    type Answer = SweepReport;

    fn serve(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> impl std::future::Future<Output = Result<SweepReport, Error>> + Send {
        self.handle(event)
    }
}

/// What one run looks for.
#[derive(Debug, Clone, Copy)]
enum Job {
    LapsedReservations,
    AbandonedDrafts,
}

enum Outcome {
    Expired(u64),
    DraftCancelled,
    Skipped,
    Failed,
}

impl SweepReport {
    /// The run in the terms every job shares.
    fn summary(&self) -> RunSummary {
        let found = self.expired_orders + self.drafts_cancelled;
        RunSummary {
            seen: found + self.skipped + self.failed,
            found,
            errors: self.failed,
            cut_short: self.incomplete,
        }
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Expired(units) => {
                self.expired_orders += 1;
                self.released_units += units;
            }
            Outcome::DraftCancelled => self.drafts_cancelled += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// Drafts nobody submitted for this long are cancelled.
pub const DRAFT_LIFETIME_SECS: u64 = 30 * 60;

impl<S: OrderLifecycle + JobRuns> App<S> {
    pub fn new(store: S, limits: SweepLimits) -> Self {
        Self { store, limits }
    }

    pub async fn handle(
        &self,
        _event: LambdaEvent<serde_json::Value>,
    ) -> Result<SweepReport, Error> {
        Ok(self.sweep(now()).await)
    }

    pub async fn sweep(&self, now: Timestamp) -> SweepReport {
        let started_at = shopflow_lambda_kit::now();
        let started = Instant::now();
        let mut report = SweepReport::default();
        for job in [Job::LapsedReservations, Job::AbandonedDrafts] {
            for shard in 0..STATUS_SHARDS {
                let mut cursor = None;
                loop {
                    if started.elapsed() >= self.limits.time_budget {
                        report.incomplete = true;
                        break;
                    }
                    let page = match self.read(job, now, shard, cursor.take()).await {
                        Ok(page) => page,
                        Err(error) => {
                            tracing::error!(%error, shard, ?job, "reading the index failed");
                            report.failed += 1;
                            break;
                        }
                    };
                    let outcomes: Vec<Outcome> = futures::stream::iter(page.items)
                        .map(|order| self.settle(job, order, now))
                        .buffer_unordered(self.limits.concurrency.max(1))
                        .collect()
                        .await;
                    for outcome in outcomes {
                        report.count(outcome);
                    }
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        metrics::emit(
            "reservation-sweeper",
            &[
                (
                    "ReservationsExpired",
                    report.expired_orders as f64,
                    Unit::Count,
                ),
                (
                    "ReservedUnitsReleased",
                    report.released_units as f64,
                    Unit::Count,
                ),
                (
                    "DraftsCancelled",
                    report.drafts_cancelled as f64,
                    Unit::Count,
                ),
                ("SweepFailures", report.failed as f64, Unit::Count),
            ],
        );
        tracing::info!(
            expired_orders = report.expired_orders,
            released_units = report.released_units,
            skipped = report.skipped,
            failed = report.failed,
            incomplete = report.incomplete,
            "reservation sweep finished"
        );
        let run = JobRun::finished(
            "reservation-sweeper",
            started_at,
            shopflow_lambda_kit::now(),
            report.summary(),
            &report,
        );
        if let Err(error) = shopflow_lambda_kit::jobs::finish(&self.store, &run).await {
            tracing::error!(%error, "the sweep's run could not be recorded");
        }
        report
    }

    async fn read(
        &self,
        job: Job,
        now: Timestamp,
        shard: u8,
        cursor: Option<String>,
    ) -> Result<Page<Order, String>, StoreError> {
        let page_size = self.limits.page_size.max(1);
        match job {
            Job::LapsedReservations => {
                self.store
                    .lapsed_reservations(now, shard, cursor, page_size)
                    .await
            }
            Job::AbandonedDrafts => {
                let before = now.minus_secs(DRAFT_LIFETIME_SECS);
                self.store
                    .abandoned_drafts(before, shard, cursor, page_size)
                    .await
            }
        }
    }

    async fn settle(&self, job: Job, order: Order, now: Timestamp) -> Outcome {
        match job {
            Job::LapsedReservations => self.expire(order, now).await,
            Job::AbandonedDrafts => self.abandon(order, now).await,
        }
    }

    async fn abandon(&self, order: Order, now: Timestamp) -> Outcome {
        let Ok(to) = order.state().apply(OrderTrigger::Cancelled) else {
            return Outcome::Skipped;
        };
        if order.status != OrderStatus::Draft
            || order.created_at >= now.minus_secs(DRAFT_LIFETIME_SECS)
        {
            return Outcome::Skipped;
        }
        let reason = Some("draft abandoned for 30 minutes".to_owned());
        let change = StatusChange::new(&order, to, OrderTrigger::Cancelled, &ACTOR, reason, now);
        match self.store.change_status(&change).await {
            Ok(()) => {
                tracing::info!(order_id = %order.id, "abandoned draft cancelled");
                Outcome::DraftCancelled
            }
            Err(ChangeError::Stale | ChangeError::AlreadyApplied | ChangeError::OutOfStock) => {
                Outcome::Skipped
            }
            Err(ChangeError::Store(error)) => {
                tracing::error!(order_id = %order.id, %error, "cancelling draft failed");
                Outcome::Failed
            }
        }
    }

    async fn expire(&self, order: Order, now: Timestamp) -> Outcome {
        // The index may lag: re-check with the domain before writing.
        let Ok(to) = order.state().apply(OrderTrigger::ReservationExpired) else {
            return Outcome::Skipped;
        };
        if order.reservation_expires_at >= now {
            return Outcome::Skipped;
        }
        let change = StatusChange::new(
            &order,
            to,
            OrderTrigger::ReservationExpired,
            &ACTOR,
            None,
            now,
        );
        let units = change
            .release
            .iter()
            .map(|handback| u64::from(handback.reserved))
            .sum();
        match self.store.change_status(&change).await {
            Ok(()) => {
                tracing::info!(order_id = %order.id, released_units = units, "reservation lapsed; order expired");
                Outcome::Expired(units)
            }
            Err(ChangeError::Stale | ChangeError::AlreadyApplied | ChangeError::OutOfStock) => {
                Outcome::Skipped
            }
            Err(ChangeError::Store(error)) => {
                tracing::error!(order_id = %order.id, %error, "expiring order failed");
                Outcome::Failed
            }
        }
    }
}
