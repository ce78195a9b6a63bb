//! Every function the local stack serves, by the binary name the template
//! gives it: the one list a new function joins. Each is built through its
//! own `Function::build`, as its `main.rs` builds it in Lambda, from the
//! environment the template gives that function alone.

use crate::queues::QueueHandler;
use crate::server::HttpHandler;
use crate::stream::StreamHandler;
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_http::Body;
use shopflow_lambda_kit::config::{ConfigError, Env};
use shopflow_lambda_kit::function::{EventFunction, HttpFunction, LambdaEvent, Shared};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A scheduled function: takes the EventBridge scheduled event, answers what it did.
pub type ScheduledHandler =
    Arc<dyn Fn(serde_json::Value) -> Answering<serde_json::Value> + Send + Sync>;

/// A built function, as the stack invokes it.
pub enum Served {
    Http(HttpHandler),
    Queue(QueueHandler),
    Scheduled(ScheduledHandler),
    Stream(StreamHandler),
}

type Build = fn(&Env, &Shared) -> Result<Served, ConfigError>;

/// The functions, by name.
pub fn functions() -> Vec<(&'static str, Build)> {
    vec![
        http::<checkout_api::Deployed>(),
        http::<orders_api::Deployed>(),
        http::<inventory_api::Deployed>(),
        http::<backorders_api::Deployed>(),
        http::<fulfillment_api::Deployed>(),
        http::<payments_api::Deployed>(),
        http::<ops_api::Deployed>(),
        http::<stripe_webhook::Deployed>(),
        http::<courier_webhook::Deployed>(),
        http::<waitlist_api::Deployed>(),
        http::<notifications_api::Deployed>(),
        queue::<backorder_allocator::Deployed>(),
        queue::<order_status::Deployed>(),
        queue::<payment_actions::Deployed>(),
        queue::<waitlist_notifier::Deployed>(),
        queue::<invoice_issuer::Deployed>(),
        queue::<notifier::Deployed>(),
        queue::<mail_feedback::Deployed>(),
        queue::<invoice_pdf::Deployed>(),
        http::<invoices_api::Deployed>(),
        scheduled::<invoice_reminders::Deployed>(),
        scheduled::<reservation_sweeper::Deployed>(),
        scheduled::<backorder_expirer::Deployed>(),
        scheduled::<courier_poller::Deployed>(),
        stream::<outbox_relay::Deployed>(),
        stream::<stock_ledger::Deployed>(),
    ]
}

/// Builds the function the template calls `name`.
pub fn build(name: &str, env: &Env, shared: &Shared) -> Option<Result<Served, ConfigError>> {
    functions()
        .into_iter()
        .find(|(known, _)| *known == name)
        .map(|(_, build)| build(env, shared))
}

fn http<F: HttpFunction>() -> (&'static str, Build) {
    (F::NAME, |env, shared| {
        let function = Arc::new(F::build(env, shared)?);
        Ok(Served::Http(Arc::new(move |request| {
            let function = function.clone();
            Box::pin(async move {
                function.serve(request).await.unwrap_or_else(|error| {
                    tracing::error!(%error, function = F::NAME, "handler failed");
                    shopflow_lambda_kit::ApiError::new(
                        lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        "the function failed",
                    )
                    .into_response()
                })
            }) as Pin<Box<dyn Future<Output = lambda_http::Response<Body>> + Send>>
        })))
    })
}

/// What an event-invoked function answers, its error as text.
type Answering<A> = Pin<Box<dyn Future<Output = Result<A, String>> + Send>>;

/// `function` invoked as Lambda invokes it with an event of type `E`.
fn invoke<F: EventFunction<E>, E: Send + 'static>(
    function: Arc<F>,
) -> impl Fn(E) -> Answering<F::Answer> {
    move |event| {
        let function = function.clone();
        Box::pin(async move {
            let invocation = LambdaEvent::new(event, lambda_http::Context::default());
            function.serve(invocation).await.map_err(|e| e.to_string())
        })
    }
}

fn queue<F: EventFunction<SqsEvent, Answer = SqsBatchResponse>>() -> (&'static str, Build) {
    (F::NAME, |env, shared| {
        Ok(Served::Queue(Arc::new(invoke(Arc::new(F::build(
            env, shared,
        )?)))))
    })
}

fn scheduled<F: EventFunction<serde_json::Value>>() -> (&'static str, Build) {
    (F::NAME, |env, shared| {
        let run = invoke(Arc::new(F::build(env, shared)?));
        Ok(Served::Scheduled(Arc::new(move |event| {
            let answer = run(event);
            Box::pin(async move { serde_json::to_value(answer.await?).map_err(|e| e.to_string()) })
        })))
    })
}

fn stream<F: EventFunction<StreamEvent, Answer = DynamoDbEventResponse>>() -> (&'static str, Build)
{
    (F::NAME, |env, shared| {
        Ok(Served::Stream(Arc::new(invoke(Arc::new(F::build(
            env, shared,
        )?)))))
    })
}
