//! Scheduled jobs' runs for staff: `GET /v1/admin/job-runs?job=&from=&cursor=&limit=`
//! (newest first, one job or all) and `GET /v1/admin/job-runs/{id}`.

use crate::App;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shopflow_lambda_kit::{ApiError, http};
use shopflow_ports::{DeadLetters, JobRun, JobRuns, RunQuery, SCHEDULED_JOBS};
use ulid::Ulid;

const DEFAULT_PAGE: u16 = 20;
const MAX_PAGE: u16 = 100;

impl<D: DeadLetters, R: JobRuns> App<D, R> {
    pub(crate) async fn list_runs(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let job = http::query_param(request, "job")
            .map(|job| {
                SCHEDULED_JOBS
                    .contains(&job.as_str())
                    .then_some(job)
                    .ok_or_else(|| {
                        ApiError::invalid_field("job", format!("must be one of {SCHEDULED_JOBS:?}"))
                    })
            })
            .transpose()?;
        let after = http::cursor_param(request)?
            .map(|raw| raw.parse::<Ulid>().map_err(|_| http::invalid_cursor()))
            .transpose()?;
        let query = RunQuery {
            job,
            from: http::instant_param(request, "from")?,
            after,
            limit: http::page_limit(request, DEFAULT_PAGE, MAX_PAGE)?,
        };
        let page = self.runs.list_runs(&query).await?;
        Ok(http::json(
            StatusCode::OK,
            &json!({
                "runs": page.items.iter().map(run_view).collect::<Vec<_>>(),
                "next_cursor": page.next.map(|id| http::encode_cursor(&id.to_string())),
            }),
        ))
    }

    pub(crate) async fn get_run(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let id: Ulid = http::path_param(request, "id")?
            .parse()
            .map_err(|_| ApiError::not_found("job run"))?;
        match self.runs.run(id).await? {
            Some(run) => Ok(http::json(StatusCode::OK, &run_view(&run))),
            None => Err(ApiError::not_found("job run")),
        }
    }
}

fn run_view(run: &JobRun) -> Value {
    json!({
        "id": run.id.to_string(),
        "job": run.job,
        "started_at": run.started_at.to_rfc3339(),
        "finished_at": run.finished_at.to_rfc3339(),
        "items_seen": run.summary.seen,
        "found": run.summary.found,
        "errors": run.summary.errors,
        "cut_short": run.summary.cut_short,
        "report": run.report,
    })
}
