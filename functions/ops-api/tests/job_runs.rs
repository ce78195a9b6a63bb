//! Staff reading the scheduled jobs' runs: newest first, one job or all,
//! from a time on, in pages; one run by its id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{FakeDeadLetters, Ops, admin, customer};
use serde_json::Value;
use shopflow_domain::Timestamp;
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::{JobRun, JobRuns, RunSummary};
use shopflow_testkit::request;

const T0: Timestamp = Timestamp::from_millis(1_750_000_000_000);

/// Runs of the sweeper every minute and of the poller every minute, offset.
async fn ops_with_runs() -> (Ops, Vec<JobRun>) {
    let ops = Ops::new(FakeDeadLetters::new());
    let mut runs = Vec::new();
    for minute in 0..3u64 {
        for (job, offset) in [("reservation-sweeper", 0), ("courier-poller", 10)] {
            let started = T0.plus_secs(minute * 60 + offset);
            let summary = RunSummary {
                seen: minute,
                found: 0,
                errors: u64::from(job == "courier-poller"),
                cut_short: false,
            };
            let run = JobRun::finished(job, started, started.plus_secs(1), summary, &minute);
            ops.store.record_run(&run).await.unwrap();
            runs.push(run);
        }
    }
    (ops, runs)
}

async fn list(ops: &Ops, query: &str) -> shopflow_testkit::Reply {
    ops.send(HttpEvent {
        raw_query: query.into(),
        ..request("GET", "/v1/admin/job-runs", &[], admin())
    })
    .await
}

fn ids(body: &Value) -> Vec<String> {
    body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_read_every_jobs_runs_newest_first_in_pages() {
    let (ops, runs) = ops_with_runs().await;
    let newest_first: Vec<String> = runs.iter().rev().map(|run| run.id.to_string()).collect();

    let first = list(&ops, "limit=4").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let body = first.json();
    assert_eq!(ids(&body), newest_first[..4]);
    let cursor = body["next_cursor"].as_str().unwrap();
    let rest = list(&ops, &format!("limit=4&cursor={cursor}")).await.json();
    assert_eq!(ids(&rest), newest_first[4..]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let run = &body["runs"][0];
    assert_eq!(run["job"], "courier-poller");
    assert_eq!(run["errors"], 1);
    assert_eq!(run["items_seen"], 2);
    assert_eq!(run["cut_short"], false);
    assert_eq!(run["report"], 2);
}

#[tokio::test]
async fn staff_read_one_jobs_runs_from_a_time_on() {
    let (ops, _) = ops_with_runs().await;

    let body = list(&ops, "job=reservation-sweeper&from=2025-06-15T15:07:10Z")
        .await
        .json();

    let runs = body["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{body}");
    assert!(runs.iter().all(|run| run["job"] == "reservation-sweeper"));
}

#[tokio::test]
async fn one_run_by_its_id_and_what_is_not_there_is_404() {
    let (ops, runs) = ops_with_runs().await;
    let id = runs[1].id.to_string();
    let get = |id: String, claims| {
        let ops = &ops;
        async move {
            ops.send(request(
                "GET",
                "/v1/admin/job-runs/{id}",
                &[("id", &id)],
                claims,
            ))
            .await
        }
    };

    let found = get(id.clone(), admin()).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.json()["job"], "courier-poller");
    get(ulid::Ulid::generate().to_string(), admin())
        .await
        .problem(404, "not_found");
    get("not-a-run".into(), admin())
        .await
        .problem(404, "not_found");
    get(id, customer("cust-ada"))
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn an_unknown_job_or_a_bad_cursor_or_time_is_refused() {
    let (ops, _) = ops_with_runs().await;
    list(&ops, "job=mystery").await.invalid("job");
    list(&ops, "from=yesterday").await.invalid("from");
    list(&ops, "cursor=bm90LWEtdWxpZA")
        .await
        .problem(422, "invalid_cursor");
}
