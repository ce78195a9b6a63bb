//! The local stack against its sources of truth: the resources match
//! infra/template.yaml, docs/openapi.yaml lists exactly the template's routes,
//! and every sample event gets the answer its file name promises.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lambda_events::event::dynamodb::Event;
use serde_json::Value;
use shopflow_local::registry::Served;
use shopflow_local::repo_root;
use shopflow_tests::stack;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[tokio::test]
async fn local_resources_match_the_template() {
    let clients = stack().clients().await;
    let drift = shopflow_local::resources::drift(&clients, &stack().spec)
        .await
        .unwrap();
    assert!(
        drift.is_empty(),
        "local resources differ from infra/template.yaml: {drift:?}"
    );
}

#[test]
fn the_openapi_document_lists_exactly_the_template_routes() {
    let text = std::fs::read_to_string(repo_root().join("docs/openapi.yaml")).unwrap();
    let document: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_mapping().unwrap() {
        for (method, _) in operations.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "patch"].contains(&method) {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> = stack()
        .spec
        .routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(documented, routed);
}

/// `samples/<function>/<name>.<expectation>.json`, for every function.
fn samples() -> Vec<(String, String, PathBuf)> {
    let mut found = Vec::new();
    for function in std::fs::read_dir(repo_root().join("samples")).unwrap() {
        let function = function.unwrap().path();
        for sample in std::fs::read_dir(&function).unwrap() {
            let path = sample.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let expectation = stem.rsplit('.').next().unwrap().to_owned();
            found.push((
                function.file_name().unwrap().to_string_lossy().into_owned(),
                expectation,
                path,
            ));
        }
    }
    found.sort();
    found
}

#[test]
fn every_function_in_the_template_has_samples() {
    let with_samples: BTreeSet<String> = samples()
        .into_iter()
        .map(|(function, _, _)| function)
        .collect();
    let spec = &stack().spec;
    let functions: BTreeSet<String> = spec
        .routes
        .iter()
        .map(|r| r.function.clone())
        .chain(spec.stream_consumers.iter().cloned())
        .chain(spec.scheduled.iter().cloned())
        .chain(
            spec.queue_consumers
                .iter()
                .map(|(function, _)| function.clone()),
        )
        .collect();
    assert_eq!(with_samples, functions);
}

#[tokio::test]
async fn every_sample_gets_the_answer_its_name_promises() {
    let clients = stack().clients().await;
    // Each function built as the stack builds it: through the registry, from
    // its own environment, with a mock of its own.
    let mock: shopflow_ports::Payments =
        std::sync::Arc::new(shopflow_stripe_mock::MockGateway::default());
    let shared = shopflow_lambda_kit::function::Shared {
        aws: clients.aws.clone(),
        local_payments: Some(mock),
    };
    let built = |function: &str| {
        shopflow_local::registry::build(function, &stack().spec.environment_of(function), &shared)
            .unwrap_or_else(|| panic!("no function {function}"))
            .unwrap_or_else(|error| panic!("{function}: {error}"))
    };
    let mut failures = Vec::new();
    for (function, expectation, path) in samples() {
        let text = std::fs::read_to_string(&path).unwrap();
        let outcome = match built(&function) {
            Served::Http(handler) => {
                let request = lambda_http::request::from_str(&text).unwrap();
                let response = handler(request).await;
                let status = response.status().as_u16().to_string();
                let body: Value = match response.body() {
                    lambda_http::Body::Text(text) => {
                        serde_json::from_str(text).unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                };
                if !status.starts_with('2') && body["error"]["code"].as_str().is_none() {
                    failures.push(format!(
                        "{}: error without a problem body: {body}",
                        path.display()
                    ));
                }
                status
            }
            Served::Queue(handler) => {
                let event: aws_lambda_events::event::sqs::SqsEvent =
                    serde_json::from_str(&text).unwrap();
                let response = handler(event).await.unwrap();
                if response.batch_item_failures.is_empty() {
                    "ok".to_owned()
                } else {
                    "fail".to_owned()
                }
            }
            Served::Scheduled(handler) => {
                let event: Value = serde_json::from_str(&text).unwrap();
                match handler(event).await {
                    Ok(report) if report["failed"] == 0 => "ok".to_owned(),
                    Ok(report) => format!("failures: {report}"),
                    Err(error) => format!("error: {error}"),
                }
            }
            Served::Stream(handler) => {
                let event: Event = serde_json::from_str(&text).unwrap();
                let response = handler(event).await.unwrap();
                if response.batch_item_failures.is_empty() {
                    "ok".to_owned()
                } else {
                    "fail".to_owned()
                }
            }
        };
        if outcome != expectation {
            failures.push(format!(
                "{}: expected {expectation}, got {outcome}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
