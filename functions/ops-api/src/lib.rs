//! Operations for staff: what waits in the consumers' dead-letter queues, and
//! moving it back once the cause is fixed (docs/runbooks/dead-letters.md);
//! and the scheduled jobs' runs.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod job_runs;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shopflow_dynamo::DynamoStore;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{Function, HttpFunction, Shared};
use shopflow_lambda_kit::{ApiError, Caller, config, http, integral};
use shopflow_ports::{DeadLetterRoute, DeadLetters, JobRuns};
use shopflow_sqs::SqsDeadLetters;
use tracing::Instrument;

pub const LIST_DEAD_LETTERS: &str = "GET /v1/admin/dead-letters";
pub const REDRIVE_DEAD_LETTERS: &str = "POST /v1/admin/dead-letters/redrive";
pub const LIST_JOB_RUNS: &str = "GET /v1/admin/job-runs";
pub const GET_JOB_RUN: &str = "GET /v1/admin/job-runs/{id}";

const DEFAULT_PEEK: usize = 20;
const MAX_PEEK: usize = 100;
const MAX_REDRIVE: usize = 1_000;

/// The function's name, in its logs, metrics and the registry.
pub const FUNCTION: &str = "ops-api";

pub struct App<D, R> {
    dead_letters: D,
    routes: Vec<DeadLetterRoute>,
    runs: R,
}

/// `DEAD_LETTER_QUEUES`: comma-separated `consumer:dead-letter-queue:queue` names.
pub fn routes_from(
    vars: &impl config::Source,
) -> Result<Vec<DeadLetterRoute>, config::ConfigError> {
    config::list_or(vars, "DEAD_LETTER_QUEUES", "", |entry| {
        match entry.split(':').collect::<Vec<_>>().as_slice() {
            [consumer, dead_letter_queue, queue]
                if [consumer, dead_letter_queue, queue]
                    .iter()
                    .all(|part| !part.is_empty()) =>
            {
                Ok(DeadLetterRoute {
                    consumer: (*consumer).to_owned(),
                    dead_letter_queue: (*dead_letter_queue).to_owned(),
                    queue: (*queue).to_owned(),
                })
            }
            _ => Err(format!("{entry:?} is not consumer:dead-letter-queue:queue")),
        }
    })
}

/// ops-api as deployed: on the consumers' SQS queues and the table.
pub type Deployed = App<SqsDeadLetters, DynamoStore>;

impl Function for Deployed {
    const NAME: &'static str = FUNCTION;

    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self::new(
            SqsDeadLetters::from_config(&shared.aws.sqs),
            routes_from(env)?,
            DynamoStore::from_config(&shared.aws.dynamodb, config::required(env, "TABLE_NAME")?),
        ))
    }
}

impl HttpFunction for Deployed {
    fn serve(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Result<Response<Body>, Error>> + Send {
        self.handle(request)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedriveBody {
    queue: String,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    max: Option<i64>,
}

impl<D: DeadLetters, R: JobRuns> App<D, R> {
    pub fn new(dead_letters: D, routes: Vec<DeadLetterRoute>, runs: R) -> Self {
        Self {
            dead_letters,
            routes,
            runs,
        }
    }

    pub async fn handle(&self, request: Request) -> Result<Response<Body>, Error> {
        let span = tracing::info_span!("ops", request_id = %http::request_id(&request));
        let result = async {
            Caller::from_request(&request)?.require_admin()?;
            match http::route_key(&request).as_deref() {
                Some(LIST_DEAD_LETTERS) => self.list(&request).await,
                Some(REDRIVE_DEAD_LETTERS) => self.redrive(&request).await,
                Some(LIST_JOB_RUNS) => self.list_runs(&request).await,
                Some(GET_JOB_RUN) => self.get_run(&request).await,
                _ => Err(ApiError::route_not_found()),
            }
        }
        .instrument(span)
        .await;
        Ok(http::answer(FUNCTION, result))
    }

    fn route(&self, consumer: &str) -> Result<&DeadLetterRoute, ApiError> {
        self.routes
            .iter()
            .find(|r| r.consumer == consumer)
            .ok_or_else(|| {
                let known: Vec<&str> = self.routes.iter().map(|r| r.consumer.as_str()).collect();
                ApiError::invalid_field("queue", format!("must be one of {known:?}"))
            })
    }

    async fn list(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let limit = match http::query_param(request, "limit") {
            None => DEFAULT_PEEK,
            Some(raw) => raw
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PEEK).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_field("limit", format!("must be between 1 and {MAX_PEEK}"))
                })?,
        };
        let routes: Vec<&DeadLetterRoute> = match http::query_param(request, "queue") {
            Some(consumer) => vec![self.route(&consumer)?],
            None => self.routes.iter().collect(),
        };
        let mut queues = Vec::new();
        for route in routes {
            let letters = self.dead_letters.peek(route, limit).await?;
            let messages: Vec<Value> = letters
                .iter()
                .map(|letter| {
                    let event: Value = serde_json::from_str(&letter.body).unwrap_or(Value::Null);
                    json!({
                        "message_id": letter.message_id,
                        "receive_count": letter.receive_count,
                        "sent_at_millis": letter.sent_at_millis,
                        "detail_type": event["detail-type"],
                        "event_id": event["detail"]["id"],
                        "body": letter.body,
                    })
                })
                .collect();
            queues.push(json!({
                "queue": route.consumer,
                "dead_letter_queue": route.dead_letter_queue,
                "messages": messages,
            }));
        }
        Ok(http::json(StatusCode::OK, &json!({ "queues": queues })))
    }

    async fn redrive(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let body: RedriveBody = http::json_body(request)?;
        let route = self.route(&body.queue)?;
        let max = body.max.map_or(Ok(100), usize::try_from).unwrap_or(0);
        if !(1..=MAX_REDRIVE).contains(&max) {
            return Err(ApiError::invalid_field(
                "max",
                format!("must be between 1 and {MAX_REDRIVE}"),
            ));
        }
        let moved = self.dead_letters.redrive(route, max).await?;
        tracing::info!(queue = %route.consumer, moved, "dead letters redriven");
        Ok(http::json(
            StatusCode::OK,
            &json!({ "queue": route.consumer, "moved": moved }),
        ))
    }
}
