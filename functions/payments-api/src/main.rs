use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shopflow_lambda_kit::telemetry::init();
    let app = payments_api::App::from_env().await?;
    lambda_http::run(service_fn(|request| app.handle(request))).await
}
