//! Reminds buyers of unpaid invoices past due, daily: for each open
//! invoice due before the cadence's first step, the latest step it reached
//! and was not reminded of yet becomes one `invoice.overdue` (for the
//! notifier), written with the invoice's reminder count on the version read.
//! It reads the open-invoice index, soonest due first, a page at a time in
//! each shard, so a run never reads invoices paid, void or not due. Safe to
//! rerun and to run beside itself: a step is sent once. Each run is
//! recorded (`JobRuns`) and its counts emitted as EMF metrics.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use shopflow_domain::Timestamp;
use shopflow_domain::invoice::{Invoice, ReminderCadence};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{EventFunction, Function, Shared};
use shopflow_lambda_kit::metrics::{self, Unit};
use shopflow_lambda_kit::{config, now};
use shopflow_ports::{
    DueRange, InvoiceReminder, InvoiceStore, InvoiceWriteError, JobRun, JobRuns, RunSummary,
    STATUS_SHARDS, StoreError,
};

pub const FUNCTION: &str = "invoice-reminders";
/// Open invoices read per page.
const PAGE_SIZE: u16 = 100;

/// The cadence from `INVOICE_REMINDER_DAYS`: days after due, comma
/// separated (`1,7,14` unless set).
pub fn cadence_from(env: &impl config::Source) -> Result<ReminderCadence, ConfigError> {
    let days = config::list_or(env, "INVOICE_REMINDER_DAYS", "1,7,14", str::parse::<u32>)?;
    ReminderCadence::new(days).map_err(|reason| ConfigError::Invalid {
        name: "INVOICE_REMINDER_DAYS",
        reason,
    })
}

/// What one run did, returned to the invoker, logged and recorded.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ReminderReport {
    /// Open invoices due before this were read.
    pub due_before: String,
    pub examined: u64,
    /// `invoice.overdue` written.
    pub reminded: u64,
    /// Reminded of their latest step already.
    pub up_to_date: u64,
    /// Could not be reminded now (paid, voided or reminded by another run
    /// meanwhile, or the store failing): left for the next run.
    pub failed: u64,
}

pub struct App<S> {
    store: S,
    cadence: ReminderCadence,
}

/// invoice-reminders as deployed: on the DynamoDB table.
pub type Deployed = App<DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
            cadence_from(env)?,
        ))
    }
}

impl EventFunction<serde_json::Value> for Deployed {
    type Answer = ReminderReport;

    fn serve(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> impl std::future::Future<Output = Result<ReminderReport, Error>> + Send {
        self.handle(event)
    }
}

impl<S: InvoiceStore + JobRuns> App<S> {
    pub fn new(store: S, cadence: ReminderCadence) -> Self {
        Self { store, cadence }
    }

    pub async fn handle(
        &self,
        _event: LambdaEvent<serde_json::Value>,
    ) -> Result<ReminderReport, Error> {
        Ok(self.remind(now()).await?)
    }

    /// Sends every reminder owed at `now`, and records the run.
    pub async fn remind(&self, now: Timestamp) -> Result<ReminderReport, StoreError> {
        let started_at = shopflow_lambda_kit::now();
        let before = now.minus_secs(u64::from(self.cadence.first_days()) * 86_400);
        let mut report = ReminderReport {
            due_before: before.to_rfc3339(),
            ..ReminderReport::default()
        };
        for shard in 0..STATUS_SHARDS {
            let mut after = None;
            loop {
                let range = DueRange {
                    shard,
                    before,
                    after: after.take(),
                    limit: PAGE_SIZE,
                };
                let page = match self.store.open_invoices_due(&range).await {
                    Ok(page) => page,
                    Err(error) => {
                        tracing::error!(%error, shard, "reading the open invoices failed");
                        report.failed += 1;
                        break;
                    }
                };
                for invoice in &page.items {
                    self.remind_one(invoice, now, &mut report).await;
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

    async fn remind_one(&self, invoice: &Invoice, now: Timestamp, report: &mut ReminderReport) {
        report.examined += 1;
        let Some(reminder) = invoice.reminder_due(&self.cadence, now) else {
            report.up_to_date += 1;
            return;
        };
        match self
            .store
            .remind_overdue(&InvoiceReminder::new(invoice, reminder, now))
            .await
        {
            Ok(()) => {
                tracing::info!(invoice_id = %invoice.id, step = reminder.step, days_overdue = reminder.days_overdue, "overdue reminder sent");
                report.reminded += 1;
            }
            Err(InvoiceWriteError::Stale) => report.failed += 1,
            Err(InvoiceWriteError::Store(error)) => {
                tracing::warn!(invoice_id = %invoice.id, %error, "overdue reminder not sent");
                report.failed += 1;
            }
        }
    }

    async fn record(
        &self,
        report: &ReminderReport,
        started_at: Timestamp,
    ) -> Result<(), StoreError> {
        metrics::emit(
            FUNCTION,
            &[
                ("InvoicesReminded", report.reminded as f64, Unit::Count),
                ("InvoiceRemindersSkipped", report.failed as f64, Unit::Count),
            ],
        );
        tracing::info!(
            examined = report.examined,
            reminded = report.reminded,
            failed = report.failed,
            "invoice reminders finished"
        );
        let summary = RunSummary {
            seen: report.examined,
            found: report.reminded,
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
