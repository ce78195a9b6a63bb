//! `shopflow-local up` serves the whole product on localhost;
//! `shopflow-local token` mints dev tokens for it. See README.

use shopflow_local::{LocalStack, Options, dev_tokens, now_secs};
use std::process::ExitCode;

const USAGE: &str = "usage:
  shopflow-local up [--port PORT] [--no-seed] [--localstripe]
                                                    start the local stack (default port 3000);
                                                    --localstripe takes payments through the
                                                    localstripe emulator instead of the mock
  shopflow-local token --customer ID [--admin] [--ttl SECS]
                                                    print a dev bearer token
  shopflow-local simulate --shipment ID [--journey delivered|exception|returned]
                          [--every SECS] [--url http://127.0.0.1:3000]
                                                    replay a courier journey for a shipment
                                                    on the running stack";

fn flag_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("up") | None => up(&args).await,
        Some("token") => token(&args),
        Some("simulate") => simulate(&args).await,
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn token(args: &[String]) -> ExitCode {
    let Some(customer) = flag_value(args, "--customer") else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(ttl) = flag_value(args, "--ttl")
        .unwrap_or_else(|| "86400".into())
        .parse::<u64>()
    else {
        eprintln!("--ttl must be a number of seconds");
        return ExitCode::from(2);
    };
    println!(
        "{}",
        dev_tokens().mint(
            &customer,
            args.iter().any(|a| a == "--admin"),
            now_secs(),
            ttl
        )
    );
    ExitCode::SUCCESS
}

async fn simulate(args: &[String]) -> ExitCode {
    let Some(shipment) = flag_value(args, "--shipment") else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let journey_name = flag_value(args, "--journey").unwrap_or_else(|| "delivered".into());
    let Some(journey) = shopflow_testkit::couriers::Journey::parse(&journey_name) else {
        eprintln!("--journey must be delivered, exception or returned");
        return ExitCode::from(2);
    };
    let Ok(every) = flag_value(args, "--every")
        .unwrap_or_else(|| "1".into())
        .parse::<u64>()
    else {
        eprintln!("--every must be a number of seconds");
        return ExitCode::from(2);
    };
    let port = std::env::var("SHOPFLOW_PORT").unwrap_or_else(|_| "3000".into());
    let simulation = shopflow_local::simulate::Simulation {
        base: flag_value(args, "--url").unwrap_or_else(|| format!("http://127.0.0.1:{port}")),
        shipment,
        journey,
        every: std::time::Duration::from_secs(every),
    };
    let admin = dev_tokens().mint("simulator", true, now_secs(), 600);
    match shopflow_local::simulate::run(&simulation, &admin).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("the simulation stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn up(args: &[String]) -> ExitCode {
    shopflow_lambda_kit::telemetry::init();
    let port = match flag_value(args, "--port").or_else(|| std::env::var("SHOPFLOW_PORT").ok()) {
        Some(raw) => match raw.parse() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("--port must be a port number");
                return ExitCode::from(2);
            }
        },
        None => 3000,
    };
    let schedule_secs = std::env::var("SHOPFLOW_SCHEDULE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let options = Options {
        port,
        seed_demo_catalog: !args.iter().any(|a| a == "--no-seed"),
        schedule_interval: std::time::Duration::from_secs(schedule_secs),
        localstripe: args.iter().any(|a| a == "--localstripe"),
        ..Options::default()
    };
    let stack = match LocalStack::start(options).await {
        Ok(stack) => stack,
        Err(error) => {
            eprintln!("the local stack did not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let base = stack.base_url();
    eprintln!(
        "\nshopflow local stack is up\n  API          {base}\n  DynamoDB     {}\n  SQS/Events   {}\n  routes       {}\n\
         \nTokens:\n  cargo run -q -p shopflow-local -- token --customer alice\n  cargo run -q -p shopflow-local -- token --customer ops --admin\n\
         \nCtrl-C stops everything.\n",
        stack.dynamodb_endpoint,
        stack.moto_endpoint,
        stack.spec.routes.len(),
    );
    for route in &stack.spec.routes {
        eprintln!("  {:6} {}{}", route.method, base, route.path);
    }
    if let Some(localstripe) = &stack.localstripe_endpoint {
        eprintln!(
            "\nPayments go to localstripe at {localstripe} (webhooks to {base}/v1/webhooks/stripe)."
        );
    }
    if stack.mock.is_some() {
        eprintln!(
            "\nPayments run in MOCK mode (no STRIPE_SECRET_KEY). Pay as the customer would:\n  \
             POST {base}/_mock/stripe/payment_intents/{{intent_id}}/confirm  {{\"payment_method\": \"pm_card_visa\"}}\n  \
             POST {base}/_mock/stripe/checkout/{{session_id}}               (pm_card_chargeDeclined declines)"
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping");
    drop(stack);
    ExitCode::SUCCESS
}
