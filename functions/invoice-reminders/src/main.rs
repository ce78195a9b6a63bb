#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events::<invoice_reminders::Deployed, serde_json::Value>()
        .await
}
