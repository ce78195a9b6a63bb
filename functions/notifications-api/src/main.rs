#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shopflow_lambda_kit::function::run_http::<notifications_api::Deployed>().await
}
