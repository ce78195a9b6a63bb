//! Sweeping lapsed reservations: unpaid orders past their deadline expire and
//! hand their stock back, once each; everything else is left alone; the
//! report says exactly what happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    CUSTOMER, MUG, NOW, ON_HAND, PageRead, Shop, TEE, limits, lines, minutes_ago, minutes_from_now,
    payments,
};
use reservation_sweeper::{SweepLimits, SweepReport};
use shopflow_domain::{
    Actor, CustomerId, FulfillmentStatus, OrderState, OrderStatus, OrderTrigger, PaymentStatus,
};
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test]
async fn lapsed_unpaid_orders_expire_and_hand_their_reserved_stock_back() {
    let mut shop = Shop::new().await;
    let both = shop.unpaid_order(minutes_ago(30), 2, 1).await;
    let tees_only = shop.unpaid_order(minutes_ago(1), 3, 0).await;
    let failed_payment = shop.unpaid_order(minutes_ago(5), 0, 4).await;
    shop.apply(failed_payment, OrderTrigger::PaymentFailed, payments())
        .await;
    assert_eq!((shop.reserved(TEE), shop.reserved(MUG)), (5, 5));

    let report = shop.sweeper(limits()).sweep(NOW).await;

    assert_eq!(
        report,
        SweepReport {
            expired_orders: 3,
            released_units: 10,
            drafts_cancelled: 0,
            skipped: 0,
            failed: 0,
            incomplete: false,
        }
    );
    for id in [both, tees_only, failed_payment] {
        assert_eq!(shop.status(id).await, OrderStatus::Expired, "{id}");
    }
    assert_eq!((shop.reserved(TEE), shop.reserved(MUG)), (0, 0));
    assert_eq!(shop.stock(TEE).on_hand, ON_HAND, "expiry moves no goods");
    let runs = shop.runs().await;
    assert_eq!(runs.len(), 1, "each sweep is recorded");
    assert_eq!(
        runs[0].summary,
        shopflow_ports::RunSummary {
            seen: 3,
            found: 3,
            errors: 0,
            cut_short: false
        }
    );
    assert_eq!(runs[0].report["released_units"], 10);

    for (id, paying, released) in [
        (both, PaymentStatus::Awaiting, lines(2, 1)),
        (tees_only, PaymentStatus::Awaiting, lines(3, 0)),
        (failed_payment, PaymentStatus::Failed, lines(0, 4)),
    ] {
        let from = OrderState {
            payment_status: paying,
            ..OrderState::placed(FulfillmentStatus::Unfulfilled)
        };
        let to = OrderState {
            status: OrderStatus::Expired,
            ..from
        };
        let events = shop.expiry_events(id);
        assert_eq!(events.len(), 1, "{id}: {events:?}");
        let event = &events[0];
        assert_eq!(event.customer_id, CustomerId::parse(CUSTOMER).unwrap());
        assert_eq!(event.from, from);
        assert_eq!(event.to, to);
        assert_eq!(event.trigger, OrderTrigger::ReservationExpired);
        assert_eq!(event.actor, "system:reservation-sweeper");
        assert_eq!(event.reason, None);
        assert_eq!(event.released, released, "{id}");

        let last = shop.history(id).await.pop().unwrap();
        assert_eq!((last.from, last.to), (from, to));
        assert_eq!(last.trigger, OrderTrigger::ReservationExpired);
        assert_eq!(last.actor, "system:reservation-sweeper");
        assert_eq!(last.at, NOW);
    }
}

#[tokio::test]
async fn orders_whose_reservation_has_not_lapsed_are_untouched() {
    let mut shop = Shop::new().await;
    let later = shop.unpaid_order(minutes_from_now(10), 2, 0).await;
    let right_now = shop.unpaid_order(NOW, 0, 3).await;
    let lapsed = shop.unpaid_order(minutes_ago(1), 1, 0).await;

    let report = shop.sweeper(limits()).sweep(NOW).await;

    assert_eq!(report.expired_orders, 1);
    assert_eq!(report.released_units, 1);
    assert_eq!(shop.status(lapsed).await, OrderStatus::Expired);
    for id in [later, right_now] {
        assert_eq!(shop.status(id).await, OrderStatus::PendingPayment, "{id}");
        assert!(shop.expiry_events(id).is_empty());
        assert!(shop.history(id).await.is_empty());
    }
    assert_eq!((shop.reserved(TEE), shop.reserved(MUG)), (2, 3));
}

#[tokio::test]
async fn paid_authorized_and_cancelled_orders_are_untouched_after_their_deadline() {
    let mut shop = Shop::new().await;
    let paid = shop.unpaid_order(minutes_ago(60), 1, 0).await;
    shop.apply(paid, OrderTrigger::PaymentCaptured, payments())
        .await;
    let authorized = shop.unpaid_order(minutes_ago(60), 2, 0).await;
    shop.apply(authorized, OrderTrigger::PaymentAuthorized, payments())
        .await;
    let cancelled = shop.unpaid_order(minutes_ago(60), 0, 5).await;
    shop.apply(
        cancelled,
        OrderTrigger::Cancelled,
        Actor::Customer(CustomerId::parse(CUSTOMER).unwrap()),
    )
    .await;
    let events_before = shop.status_events();

    let report = shop.sweeper(limits()).sweep(NOW).await;

    assert_eq!(report, SweepReport::default());
    let (paid, authorized) = (shop.state(paid).await, shop.state(authorized).await);
    assert_eq!(
        (paid.status, paid.payment_status),
        (OrderStatus::Confirmed, PaymentStatus::Paid)
    );
    assert_eq!(
        (authorized.status, authorized.payment_status),
        (OrderStatus::Confirmed, PaymentStatus::Authorized)
    );
    assert_eq!(shop.status(cancelled).await, OrderStatus::Cancelled);
    assert_eq!(
        (shop.reserved(TEE), shop.reserved(MUG)),
        (3, 0),
        "paid orders keep their stock; the cancelled one gave its back already"
    );
    assert_eq!(shop.status_events(), events_before, "nothing announced");
}

#[tokio::test]
async fn a_second_sweep_finds_nothing_to_do() {
    let mut shop = Shop::new().await;
    for tees in 1..=3 {
        shop.unpaid_order(minutes_ago(10), tees, 0).await;
    }
    let sweeper = shop.sweeper(limits());

    let first = sweeper.sweep(NOW).await;
    let events_after_first = shop.status_events();
    let second = sweeper.sweep(NOW).await;

    assert_eq!(first.expired_orders, 3);
    assert_eq!(first.released_units, 6);
    assert_eq!(second, SweepReport::default());
    assert_eq!(shop.status_events(), events_after_first);
    assert_eq!(shop.reserved(TEE), 0);
}

#[tokio::test]
async fn a_page_smaller_than_the_lapsed_orders_still_sweeps_them_all() {
    let mut shop = Shop::new().await;
    let mut lapsed = Vec::new();
    for n in 0..7 {
        lapsed.push(shop.unpaid_order(minutes_ago(70 - n), 1, 1).await);
    }
    let waiting = shop.unpaid_order(minutes_from_now(5), 1, 1).await;
    let small_pages = SweepLimits {
        concurrency: 1,
        page_size: 2,
        ..limits()
    };

    let report = shop.sweeper(small_pages).sweep(NOW).await;

    assert_eq!(report.expired_orders, 7);
    assert_eq!(report.released_units, 14);
    assert!(!report.incomplete);
    for id in &lapsed {
        assert_eq!(shop.status(*id).await, OrderStatus::Expired, "{id}");
        assert_eq!(shop.expiry_events(*id).len(), 1, "{id}");
    }
    assert_eq!(shop.status(waiting).await, OrderStatus::PendingPayment);
    assert_eq!((shop.reserved(TEE), shop.reserved(MUG)), (1, 1));

    let shard_zero: Vec<PageRead> = shop
        .pages_read()
        .into_iter()
        .filter(|page| page.shard == 0)
        .collect();
    assert!(
        shard_zero.len() >= 4,
        "7 orders in pages of 2: {shard_zero:?}"
    );
    assert!(shard_zero.iter().all(|page| page.limit == 2));
    assert!(shard_zero.iter().all(|page| page.orders <= 2));
    assert!(!shard_zero[0].continued);
    assert!(shard_zero[1..].iter().all(|page| page.continued));
    let mut shards: Vec<u8> = shop.pages_read().iter().map(|page| page.shard).collect();
    shards.dedup();
    assert_eq!(shards, [0, 1, 2, 3], "every shard of the index is read");
}

#[tokio::test]
async fn an_order_paid_between_read_and_write_is_skipped_and_the_rest_expire() {
    let mut shop = Shop::new().await;
    let before = shop.unpaid_order(minutes_ago(20), 1, 0).await;
    let paid_late = shop.unpaid_order(minutes_ago(20), 4, 0).await;
    let after = shop.unpaid_order(minutes_ago(20), 0, 2).await;
    shop.paid_between_read_and_write(paid_late);

    let report = shop.sweeper(limits()).sweep(NOW).await;

    assert_eq!(
        report,
        SweepReport {
            expired_orders: 2,
            released_units: 3,
            drafts_cancelled: 0,
            skipped: 1,
            failed: 0,
            incomplete: false,
        }
    );
    assert_eq!(
        shop.state(paid_late).await.payment_status,
        PaymentStatus::Paid
    );
    assert!(shop.expiry_events(paid_late).is_empty());
    assert_eq!(shop.reserved(TEE), 4, "the paid order keeps its tees");
    assert_eq!(shop.status(before).await, OrderStatus::Expired);
    assert_eq!(shop.status(after).await, OrderStatus::Expired);
}

#[tokio::test]
async fn a_store_failure_on_one_order_is_counted_and_the_rest_expire() {
    let mut shop = Shop::new().await;
    let before = shop.unpaid_order(minutes_ago(20), 1, 0).await;
    let unlucky = shop.unpaid_order(minutes_ago(20), 0, 3).await;
    let after = shop.unpaid_order(minutes_ago(20), 2, 0).await;
    shop.failing_writes_for(unlucky);
    let sweeper = shop.sweeper(limits());

    let report = sweeper.sweep(NOW).await;

    assert_eq!(
        report,
        SweepReport {
            expired_orders: 2,
            released_units: 3,
            drafts_cancelled: 0,
            skipped: 0,
            failed: 1,
            incomplete: false,
        }
    );
    assert_eq!(shop.status(unlucky).await, OrderStatus::PendingPayment);
    assert_eq!(shop.reserved(MUG), 3, "its mugs stay reserved");
    assert!(shop.expiry_events(unlucky).is_empty());
    assert_eq!(shop.status(before).await, OrderStatus::Expired);
    assert_eq!(shop.status(after).await, OrderStatus::Expired);

    shop.recover();
    let retry = sweeper.sweep(NOW).await;

    assert_eq!(
        (retry.expired_orders, retry.released_units, retry.failed),
        (1, 3, 0),
        "the next run picks up what failed"
    );
    assert_eq!(shop.status(unlucky).await, OrderStatus::Expired);
    assert_eq!(shop.reserved(MUG), 0);
}

#[tokio::test]
async fn a_spent_time_budget_reports_incomplete_and_expires_nothing() {
    let mut shop = Shop::new().await;
    let lapsed = shop.unpaid_order(minutes_ago(20), 2, 2).await;
    let no_time = SweepLimits {
        time_budget: Duration::ZERO,
        ..limits()
    };

    let report = shop.sweeper(no_time).sweep(NOW).await;

    assert_eq!(
        report,
        SweepReport {
            incomplete: true,
            ..SweepReport::default()
        }
    );
    assert_eq!(shop.status(lapsed).await, OrderStatus::PendingPayment);
    assert_eq!((shop.reserved(TEE), shop.reserved(MUG)), (2, 2));
    assert!(shop.pages_read().is_empty(), "no page is started");
}

// `buffer_unordered(0)` never polls the expiries it is given, and a zero page
// size reads nothing: both are refused at start-up like other bad configuration.
#[test]
fn a_zero_concurrency_or_page_size_fails_at_start_up() {
    for name in ["SWEEP_CONCURRENCY", "SWEEP_PAGE_SIZE"] {
        let vars = BTreeMap::from([(name.to_owned(), "0".to_owned())]);
        let limits = SweepLimits::from(&vars);
        assert!(limits.is_err(), "{name}=0 gave {limits:?}");
    }
}

#[tokio::test]
async fn a_sweep_with_zero_concurrency_still_finishes() {
    let mut shop = Shop::new().await;
    shop.unpaid_order(minutes_ago(20), 1, 0).await;
    let zero = SweepLimits {
        concurrency: 0,
        ..limits()
    };

    let sweep = tokio::time::timeout(Duration::from_secs(5), shop.sweeper(zero).sweep(NOW)).await;

    assert!(sweep.is_ok(), "the sweep hung");
}

#[tokio::test]
async fn drafts_abandoned_for_half_an_hour_are_cancelled_and_fresh_ones_kept() {
    let mut shop = Shop::new().await;
    let abandoned = shop.draft(minutes_ago(31)).await;
    let fresh = shop.draft(minutes_ago(5)).await;

    let report = shop.sweeper(limits()).sweep(NOW).await;

    assert_eq!(report.drafts_cancelled, 1, "{report:?}");
    assert_eq!(report.expired_orders, 0);
    assert_eq!(shop.status(abandoned).await, OrderStatus::Cancelled);
    assert_eq!(shop.status(fresh).await, OrderStatus::Draft);
    assert_eq!(shop.sweeper(limits()).sweep(NOW).await.drafts_cancelled, 0);
}
