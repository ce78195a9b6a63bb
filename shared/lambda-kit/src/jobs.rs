//! A scheduled job's run, finished: kept for staff, logged, and counted as
//! `JobSucceeded`, the metric whose absence for twice the job's period
//! raises its stale alarm (infra/template.yaml, `<Job>StaleAlarm`).

use crate::metrics::{self, Unit};
use shopflow_ports::{JobRun, JobRuns, StoreError};

/// Records `run` and counts it: a run whose record could not be kept is
/// not counted as a success.
pub async fn finish(store: &impl JobRuns, run: &JobRun) -> Result<(), StoreError> {
    store.record_run(run).await?;
    let summary = run.summary;
    metrics::emit(
        &run.job,
        &[
            ("JobSucceeded", 1.0, Unit::Count),
            ("JobItemsSeen", summary.seen as f64, Unit::Count),
            ("JobErrors", summary.errors as f64, Unit::Count),
        ],
    );
    tracing::info!(
        job = %run.job,
        run_id = %run.id,
        seen = summary.seen,
        found = summary.found,
        errors = summary.errors,
        cut_short = summary.cut_short,
        "job run finished"
    );
    Ok(())
}
