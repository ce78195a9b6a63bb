#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shopflow_lambda_kit::function::run_http::<invoices_api::Deployed>().await
}
