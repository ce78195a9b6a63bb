#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events::<backorder_expirer::Deployed, serde_json::Value>()
        .await
}
