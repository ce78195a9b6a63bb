#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events_without_sdk::<
        invoice_pdf::Deployed,
        aws_lambda_events::event::sqs::SqsEvent,
    >(invoice_pdf::Deployed::from_lambda_env)
    .await
}
