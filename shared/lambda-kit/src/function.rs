//! One way to build and run a function. Each function crate implements
//! [`Function`] for the type it deploys: built from its own environment and
//! the clients every function shares. Its `main.rs` is one call to
//! [`run_http`] or [`run_events`]; the local stack builds it through the
//! same `build`, from the same template environment (Globals plus the
//! function's own section), and serves it through [`HttpFunction`] or
//! [`EventFunction`].

use crate::config::{self, ConfigError, Env};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shopflow_ports::Payments;
use std::future::Future;

pub use aws_config::SdkConfig;
pub use lambda_http::lambda_runtime::LambdaEvent;

/// The AWS SDK configuration for each service a function may call: in AWS
/// one configuration from the Lambda environment; locally each points at
/// its emulator.
#[derive(Clone, Debug)]
pub struct AwsConfig {
    pub dynamodb: SdkConfig,
    pub eventbridge: SdkConfig,
    pub sqs: SdkConfig,
    pub s3: SdkConfig,
    pub ssm: SdkConfig,
    pub ses: SdkConfig,
}

/// What every function is built from besides its own environment.
#[derive(Clone)]
pub struct Shared {
    pub aws: AwsConfig,
    /// The local stack's mock payment provider, one for all its functions.
    /// Deployed functions have none, and refuse to start without a Stripe key.
    pub local_payments: Option<Payments>,
}

impl Shared {
    /// As a deployed function has it: the Lambda environment's AWS
    /// configuration (`AWS_ENDPOINT_URL_<SERVICE>` is honoured), no mock.
    pub async fn deployed() -> Self {
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self {
            aws: AwsConfig {
                dynamodb: aws.clone(),
                eventbridge: aws.clone(),
                sqs: aws.clone(),
                s3: aws.clone(),
                ssm: aws.clone(),
                ses: aws,
            },
            local_payments: None,
        }
    }
}

/// A function as it is deployed.
pub trait Function: Sized + Send + Sync + 'static {
    /// Its name: the template's binary, and the local stack's registry key.
    const NAME: &'static str;

    /// Builds it from its own environment and the shared clients; a missing
    /// or malformed variable is an error naming it.
    fn build(env: &Env, shared: &Shared) -> Result<Self, ConfigError>;
}

/// A function behind API Gateway routes.
pub trait HttpFunction: Function {
    fn serve(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response<Body>, lambda_http::Error>> + Send;
}

/// A function Lambda invokes with an event `E` (an SQS batch, a stream
/// batch, a schedule's tick), answering `Self::Answer`.
pub trait EventFunction<E>: Function {
    type Answer: Serialize;

    fn serve(
        &self,
        event: LambdaEvent<E>,
    ) -> impl Future<Output = Result<Self::Answer, lambda_http::Error>> + Send;
}

/// Builds the deployed `F` as Lambda starts it: JSON logs, the process
/// environment, the shared clients built once.
pub async fn start<F: Function>() -> Result<F, ConfigError> {
    crate::telemetry::init();
    F::build(&config::process_env(), &Shared::deployed().await)
}

/// `main` of an HTTP function.
pub async fn run_http<F: HttpFunction>() -> Result<(), lambda_http::Error> {
    let function = start::<F>().await?;
    lambda_http::run(lambda_http::service_fn(|request| function.serve(request))).await
}

/// `main` of a function invoked with events of type `E`.
pub async fn run_events<F, E>() -> Result<(), lambda_http::Error>
where
    F: EventFunction<E>,
    E: DeserializeOwned + Send + 'static,
{
    let function = start::<F>().await?;
    serve_events(function).await
}

/// `main` of a function invoked with events of type `E` that builds itself
/// from its environment alone, without the shared AWS SDK configuration: a
/// function that must stay small links none of the SDK.
pub async fn run_events_without_sdk<F, E>(
    build: impl FnOnce(&Env) -> Result<F, ConfigError>,
) -> Result<(), lambda_http::Error>
where
    F: EventFunction<E>,
    E: DeserializeOwned + Send + 'static,
{
    crate::telemetry::init();
    let function = build(&config::process_env())?;
    serve_events(function).await
}

async fn serve_events<F, E>(function: F) -> Result<(), lambda_http::Error>
where
    F: EventFunction<E>,
    E: DeserializeOwned + Send + 'static,
{
    lambda_http::lambda_runtime::run(lambda_http::service_fn(|event| function.serve(event))).await
}
