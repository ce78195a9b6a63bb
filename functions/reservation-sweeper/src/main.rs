#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events::<reservation_sweeper::Deployed, serde_json::Value>()
        .await
}
