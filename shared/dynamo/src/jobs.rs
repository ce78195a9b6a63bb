//! Scheduled jobs' runs: one partition per job, newest first by the run's
//! ULID (which starts with when it started); all jobs' runs merged from
//! their partitions, one query each.

use super::items::{JobRunItem, job_runs_partition};
use super::{DynamoStore, corrupt, key, s, sdk};
use async_trait::async_trait;
use shopflow_domain::Timestamp;
use shopflow_ports::{JobRun, JobRuns, Page, RunQuery, SCHEDULED_JOBS, StoreError};
use ulid::Ulid;

#[async_trait]
impl JobRuns for DynamoStore {
    async fn record_run(&self, run: &JobRun) -> Result<(), StoreError> {
        self.put_record(&JobRunItem::new(run), "job run").await
    }

    async fn runs(&self, job: &str, limit: u16) -> Result<Vec<JobRun>, StoreError> {
        self.runs_of(job, None, None, limit).await
    }

    async fn list_runs(&self, query: &RunQuery) -> Result<Page<JobRun, Ulid>, StoreError> {
        let jobs: Vec<&str> = match &query.job {
            Some(job) => vec![job.as_str()],
            None => SCHEDULED_JOBS.to_vec(),
        };
        // One more than asked of each: it tells whether another page exists.
        let reads = jobs
            .iter()
            .map(|job| self.runs_of(job, query.from, query.after, query.limit + 1));
        let runs = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        Ok(query.page_of(runs))
    }

    async fn run(&self, id: Ulid) -> Result<Option<JobRun>, StoreError> {
        let keys = SCHEDULED_JOBS
            .iter()
            .map(|job| key((job_runs_partition(job), id.to_string())))
            .collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .next()
            .map(|item| {
                serde_dynamo::from_item::<_, JobRunItem>(item)
                    .map_err(corrupt("job run"))?
                    .into_run()
            })
            .transpose()
    }
}

impl DynamoStore {
    /// Up to `limit` runs of `job`, newest first, started before the run
    /// `after` and not before `from`.
    async fn runs_of(
        &self,
        job: &str,
        from: Option<Timestamp>,
        after: Option<Ulid>,
        limit: u16,
    ) -> Result<Vec<JobRun>, StoreError> {
        let earliest = from.map_or(0, Timestamp::as_millis);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(job_runs_partition(job)))
            .scan_index_forward(false)
            .limit(i32::from(limit))
            .consistent_read(true);
        query = match after {
            Some(after) => query
                .key_condition_expression("pk = :pk AND sk < :after")
                .expression_attribute_values(":after", s(after.to_string())),
            None => query
                .key_condition_expression("pk = :pk AND sk >= :from")
                .expression_attribute_values(":from", s(Ulid::from_parts(earliest, 0).to_string())),
        };
        let page = query.send().await.map_err(sdk)?;
        page.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, JobRunItem>(item)
                    .map_err(corrupt("job run"))?
                    .into_run()
            })
            // Newest first: past `from`, every run after is older still.
            .take_while(|run| {
                run.as_ref()
                    .map_or(true, |run| run.id.timestamp_ms() >= earliest)
            })
            .collect()
    }
}
