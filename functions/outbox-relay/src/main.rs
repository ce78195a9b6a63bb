#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events::<
        outbox_relay::Deployed,
        aws_lambda_events::event::dynamodb::Event,
    >()
    .await
}
