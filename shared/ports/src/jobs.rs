//! The records scheduled jobs keep of their runs: what each run saw, found
//! and failed at, whether it was cut short, and the job's own report.

use crate::{Page, StoreError};
use async_trait::async_trait;
use serde::Serialize;
use shopflow_domain::Timestamp;
use ulid::Ulid;

/// The scheduled jobs that record their runs, by function name.
pub const SCHEDULED_JOBS: &[&str] = &[
    "reservation-sweeper",
    "backorder-expirer",
    "courier-poller",
    "invoice-reminders",
];

/// What any run did, in the terms every job shares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Items the run looked at (orders, backorders, parcels).
    pub seen: u64,
    /// Items it found something to do for, or events it found.
    pub found: u64,
    /// Items it failed at; they are left for the next run.
    pub errors: u64,
    /// It stopped with work left: out of time or budget, or told to stop.
    pub cut_short: bool,
}

/// One run of a scheduled job, as it is kept for staff.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub id: Ulid,
    /// The job's function name.
    pub job: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub summary: RunSummary,
    /// What it did, as the job reports it.
    pub report: serde_json::Value,
}

impl JobRun {
    /// The run of `job` that started at `started_at` and finished at
    /// `finished_at`, with `report` (any serializable report of the job's).
    pub fn finished(
        job: &str,
        started_at: Timestamp,
        finished_at: Timestamp,
        summary: RunSummary,
        report: &impl Serialize,
    ) -> Self {
        Self {
            id: Ulid::from_parts(started_at.as_millis(), rand_bits()),
            job: job.to_owned(),
            started_at,
            finished_at,
            summary,
            report: serde_json::to_value(report).unwrap_or_default(),
        }
    }
}

/// The random part of a run's ULID: a fresh ULID's, so runs that start in
/// the same millisecond stay apart.
fn rand_bits() -> u128 {
    Ulid::generate().random()
}

/// Which runs staff list: of one job or of all, started from `from` on,
/// newest first, after the run `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunQuery {
    pub job: Option<String>,
    pub from: Option<Timestamp>,
    pub after: Option<Ulid>,
    pub limit: u16,
}

impl RunQuery {
    /// The page `runs` (each matching the query, in any order) make:
    /// newest first, at most `limit`, and the run the next page starts after.
    pub fn page_of(&self, mut runs: Vec<JobRun>) -> Page<JobRun, Ulid> {
        runs.sort_by_key(|run| std::cmp::Reverse(run.id));
        let more = runs.len() > usize::from(self.limit);
        runs.truncate(usize::from(self.limit));
        let next = more.then(|| runs.last().map(|run| run.id)).flatten();
        Page { items: runs, next }
    }
}

#[async_trait]
pub trait JobRuns: Send + Sync {
    /// Keeps the record of a run (for 90 days).
    async fn record_run(&self, run: &JobRun) -> Result<(), StoreError>;

    /// The runs of `job` recorded, newest first, at most `limit`.
    async fn runs(&self, job: &str, limit: u16) -> Result<Vec<JobRun>, StoreError>;

    /// The runs the query names, newest first, in pages.
    async fn list_runs(&self, query: &RunQuery) -> Result<Page<JobRun, Ulid>, StoreError>;

    /// One run by its id, whichever job it belongs to.
    async fn run(&self, id: Ulid) -> Result<Option<JobRun>, StoreError>;
}
