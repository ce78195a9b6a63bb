//! courier-poller: due parcels asked oldest first, within each carrier's
//! budget, their news taken in; refusals and failures stop the carrier and
//! the next run resumes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use shopflow_domain::{Carrier, FulfillmentStatus, TrackingStatus};

#[tokio::test]
async fn a_run_asks_the_oldest_due_parcels_first_within_the_budget_and_records_itself() {
    let poller = Poller::new().await;
    let mut shipped = Vec::new();
    for n in 0..10u64 {
        shipped.push(poller.shipped(Carrier::CanadaPost, secs(n), 1).await);
    }

    let report = poller.run(secs(100)).await;

    let canada_post = &report.carriers[0];
    assert_eq!(
        (canada_post.due, canada_post.granted, canada_post.calls),
        (10, 4, 4)
    );
    assert!(canada_post.cut_short);
    let asked: Vec<String> = poller
        .carriers
        .calls()
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let oldest: Vec<String> = shipped[..4]
        .iter()
        .map(|s| s.tracking_number.to_string())
        .collect();
    assert_eq!(asked, oldest, "never-checked parcels, oldest first");
    let runs = poller.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].summary.seen, runs[0].summary.cut_short),
        (10, true)
    );
    assert_eq!(runs[0].report["carriers"][0]["calls"], 4);
}

#[tokio::test]
async fn news_moves_the_shipment_with_its_answer_archived_and_a_delivered_parcel_leaves_the_schedule()
 {
    let poller = Poller::new().await;
    // Canada Post's delivered journey: picked up, out for delivery, delivered.
    let shipment = poller.shipped(Carrier::CanadaPost, secs(0), 2).await;

    let first = poller.run(secs(10)).await;

    assert_eq!(first.carriers[0].events_added, 2);
    let read = poller.shipment(&shipment).await;
    assert_eq!(read.status(), TrackingStatus::OutForDelivery);
    let raw = poller.store().raw_payloads();
    assert_eq!(raw.len(), 1);
    let reference = raw.keys().next().unwrap();
    assert!(
        read.journey
            .events()
            .iter()
            .all(|e| e.raw_ref.as_ref() == Some(reference))
    );
    assert_eq!(
        poller.store().polling_schedule(Carrier::CanadaPost),
        [(shipment.tracking_number.clone(), secs(10 + 3_600))],
        "due again after the interval"
    );

    poller.scan(&shipment, 6, secs(0));
    poller.run(secs(10 + 3_600)).await;

    assert!(poller.shipment(&shipment).await.is_delivered());
    let order = shopflow_ports::OrderReader::order(poller.store(), shipment.order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.fulfillment_status, FulfillmentStatus::Delivered);
    assert!(
        poller
            .store()
            .polling_schedule(Carrier::CanadaPost)
            .is_empty()
    );
}

#[tokio::test]
async fn an_answer_with_nothing_new_writes_nothing_but_the_next_check() {
    let poller = Poller::new().await;
    let shipment = poller.shipped(Carrier::ChitChats, secs(0), 2).await;
    poller.run(secs(10)).await;
    let version = poller.shipment(&shipment).await.version;

    let again = poller.run(secs(10 + 3_600)).await;

    assert_eq!(again.carriers[1].calls, 1);
    assert_eq!(again.carriers[1].events_added, 0);
    assert_eq!(poller.shipment(&shipment).await.version, version);
    assert_eq!(
        poller.store().raw_payloads().len(),
        1,
        "only the answer with news is kept"
    );
    assert_eq!(
        poller.store().polling_schedule(Carrier::ChitChats)[0].1,
        secs(10 + 7_200)
    );
}

#[tokio::test]
async fn a_429_stops_the_carrier_until_its_retry_after_and_the_next_run_resumes() {
    let poller = Poller::new().await;
    for n in 0..12 {
        poller.shipped(Carrier::ChitChats, secs(n), 1).await;
    }
    poller.carriers.then(
        Carrier::ChitChats,
        [Scripted::Status(429, Some(120), "{}".into())],
    );

    let limited = poller.run(secs(100)).await;

    let run = &limited.carriers[1];
    assert!(run.rate_limited && run.cut_short);
    assert_eq!(run.calls, 4, "the batch in flight, then nothing more");
    assert_eq!(
        run.blocked_until.as_deref(),
        Some(secs(220).to_rfc3339().as_str())
    );
    let before = poller.carriers.calls().len();
    let waiting = poller.run(secs(160)).await;
    assert_eq!(waiting.carriers[1].calls, 0, "not before Retry-After");
    assert_eq!(poller.carriers.calls().len(), before);

    let resumed = poller.run(secs(221)).await;

    assert_eq!(
        resumed.carriers[1].calls, 9,
        "the refused parcel and those never asked"
    );
    assert!(!resumed.carriers[1].cut_short);
    assert!(
        poller
            .store()
            .polling_schedule(Carrier::ChitChats)
            .iter()
            .all(|(_, due)| *due > secs(221))
    );
}

#[tokio::test]
async fn failures_in_a_row_back_off_and_leave_the_parcels_first_in_line() {
    let poller = Poller::new().await;
    let shipments = [
        poller.shipped(Carrier::CanadaPost, secs(0), 1).await,
        poller.shipped(Carrier::CanadaPost, secs(1), 1).await,
        poller.shipped(Carrier::CanadaPost, secs(2), 1).await,
    ];
    poller.carriers.then(
        Carrier::CanadaPost,
        [
            Scripted::Status(500, None, "oops".into()),
            Scripted::NoAnswer,
            Scripted::Status(503, None, "busy".into()),
        ],
    );

    let failing = poller.run(secs(100)).await;

    assert_eq!(failing.carriers[0].errors, 3);
    assert_eq!(
        failing.carriers[0].blocked_until.as_deref(),
        Some(secs(130).to_rfc3339().as_str())
    );
    assert_eq!(
        poller.runs().await[0].summary.errors,
        3,
        "errors are in the job run"
    );
    assert!(
        poller
            .store()
            .polling_schedule(Carrier::CanadaPost)
            .iter()
            .all(|(_, due)| *due < secs(100))
    );

    let recovered = poller.run(secs(131)).await;

    assert_eq!(recovered.carriers[0].calls, 3);
    assert_eq!(recovered.carriers[0].errors, 0);
    for shipment in &shipments {
        assert_eq!(
            poller.shipment(shipment).await.status(),
            TrackingStatus::PickedUp,
            "the recovered run took in what the failed one could not"
        );
    }
}

#[tokio::test]
async fn a_parcel_not_scanned_yet_and_an_unreadable_answer_are_checked_again_later() {
    let poller = Poller::new().await;
    let quiet = poller.shipped(Carrier::CanadaPost, secs(0), 0).await;
    let garbled = poller.shipped(Carrier::ChitChats, secs(0), 1).await;
    poller.carriers.then(
        Carrier::ChitChats,
        [Scripted::Status(200, None, "{\"shipment\": 3".into())],
    );

    let report = poller.run(secs(10)).await;

    let (cp, cc) = (&report.carriers[0], &report.carriers[1]);
    assert_eq!((cp.not_scanned_yet, cp.errors), (1, 0));
    assert_eq!((cc.not_scanned_yet, cc.errors), (0, 1));
    for (carrier, shipment) in [
        (Carrier::CanadaPost, &quiet),
        (Carrier::ChitChats, &garbled),
    ] {
        let due = poller.store().polling_schedule(carrier);
        assert_eq!(due, [(shipment.tracking_number.clone(), secs(10 + 3_600))]);
    }
    assert_eq!(
        poller.store().raw_payloads().len(),
        1,
        "the unreadable answer is kept"
    );
}

#[tokio::test]
async fn however_often_it_runs_no_minute_holds_more_than_twenty_canada_post_calls() {
    let poller = Poller::new().await;
    for n in 0..150 {
        poller.shipped(Carrier::CanadaPost, secs(n), 0).await;
    }
    // A run every 7 seconds for 5 minutes: far more often than scheduled.
    let mut calls = Vec::new();
    for second in (200..500).step_by(7) {
        let report = poller.run(secs(second)).await;
        calls.extend(std::iter::repeat_n(
            second,
            report.carriers[0].calls as usize,
        ));
    }

    for (i, start) in calls.iter().enumerate() {
        let within = calls[i..].iter().take_while(|at| **at < start + 60).count();
        assert!(within <= 20, "{within} calls in the minute from {start}");
    }
    assert!(
        calls.len() >= 70,
        "it still polls at the carrier's pace: {}",
        calls.len()
    );
}
