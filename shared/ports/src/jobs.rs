//! The records scheduled jobs keep of their runs.

use crate::StoreError;
use async_trait::async_trait;
use shopflow_domain::Timestamp;
use ulid::Ulid;

/// One run of a scheduled job, as it is kept for staff.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub id: Ulid,
    /// The job's function name.
    pub job: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// What it did, as the job reports it.
    pub report: serde_json::Value,
}

#[async_trait]
pub trait JobRuns: Send + Sync {
    /// Keeps the record of a run (for 90 days).
    async fn record_run(&self, run: &JobRun) -> Result<(), StoreError>;

    /// The runs of `job` recorded, newest first, at most `limit`.
    async fn runs(&self, job: &str, limit: u16) -> Result<Vec<JobRun>, StoreError>;
}
