#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events::<
        stock_ledger::Deployed,
        aws_lambda_events::event::dynamodb::Event,
    >()
    .await
}
