#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events::<courier_poller::Deployed, serde_json::Value>().await
}
