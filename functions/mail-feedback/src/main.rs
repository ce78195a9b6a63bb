#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopflow_lambda_kit::function::run_events::<
        mail_feedback::Deployed,
        aws_lambda_events::event::sqs::SqsEvent,
    >()
    .await
}
