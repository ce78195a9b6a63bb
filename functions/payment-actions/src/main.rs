use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shopflow_lambda_kit::telemetry::init();
    let app = payment_actions::App::from_env().await?;
    lambda_runtime::run(service_fn(|event| app.handle(event))).await
}
