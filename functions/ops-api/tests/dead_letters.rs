//! Staff looking into the consumers' dead-letter queues and moving messages
//! back: only staff may, only known queues, within limits, and the answer
//! says what the queues said.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    FakeDeadLetters, LIST, ORDER_STATUS, ORDER_STATUS_DLQ, Ops, QueueCall, STOCK_ALERTS,
    STOCK_ALERTS_DLQ, admin, anonymous, customer, dead_letter, listed_queue, payment_letter,
    payment_letters,
};
use serde_json::json;
use shopflow_testkit::request;

#[tokio::test]
async fn customers_may_neither_list_nor_redrive_dead_letters() {
    let ops = Ops::new(FakeDeadLetters::new().holding(ORDER_STATUS_DLQ, payment_letters(2)));

    let list = ops.list("queue=order-status", customer("cust-ada")).await;
    let redrive = ops
        .redrive(r#"{"queue": "order-status"}"#, customer("cust-ada"))
        .await;

    list.problem(403, "forbidden");
    redrive.problem(403, "forbidden");
    assert!(ops.queues.calls().is_empty(), "{:?}", ops.queues.calls());
    assert_eq!(ops.queues.waiting(ORDER_STATUS_DLQ), 2);
}

#[tokio::test]
async fn callers_who_are_not_signed_in_are_asked_to_sign_in() {
    let ops = Ops::new(FakeDeadLetters::new());

    ops.list("", anonymous())
        .await
        .problem(401, "unauthenticated");
    ops.redrive(r#"{"queue": "order-status"}"#, anonymous())
        .await
        .problem(401, "unauthenticated");
    assert!(ops.queues.calls().is_empty());
}

#[tokio::test]
async fn listing_an_unknown_queue_is_refused_naming_queue_and_the_known_ones() {
    let ops = Ops::new(FakeDeadLetters::new());

    let reply = ops.list("queue=billing", admin()).await;

    let details = reply.invalid("queue");
    let reason = details["reason"].as_str().unwrap();
    assert!(
        reason.contains(ORDER_STATUS) && reason.contains(STOCK_ALERTS),
        "{reason}"
    );
    assert!(ops.queues.calls().is_empty());
}

#[tokio::test]
async fn redriving_an_unknown_queue_is_refused_naming_queue() {
    let ops = Ops::new(FakeDeadLetters::new());

    let reply = ops.redrive(r#"{"queue": "billing"}"#, admin()).await;

    reply.invalid("queue");
    assert!(ops.queues.calls().is_empty());
}

#[tokio::test]
async fn the_list_shows_each_queues_dead_letters_with_detail_type_and_event_id_from_their_bodies() {
    let captured = payment_letter("m-1", "payment.captured", "01JDSAMPLE0000000000000010");
    let refunded = payment_letter("m-2", "payment.refunded", "01JDSAMPLE0000000000000011");
    let ops = Ops::new(
        FakeDeadLetters::new()
            .holding(ORDER_STATUS_DLQ, vec![captured.clone(), refunded])
            .holding(STOCK_ALERTS_DLQ, Vec::new()),
    );

    let reply = ops.list("", admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let consumers: Vec<&str> = body["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|queue| queue["queue"].as_str().unwrap())
        .collect();
    assert_eq!(consumers, [ORDER_STATUS, STOCK_ALERTS]);
    let order_status = listed_queue(&reply, ORDER_STATUS);
    assert_eq!(order_status["dead_letter_queue"], ORDER_STATUS_DLQ);
    assert_eq!(
        order_status["messages"][0],
        json!({
            "message_id": "m-1",
            "receive_count": 5,
            "sent_at_millis": captured.sent_at_millis,
            "detail_type": "payment.captured",
            "event_id": "01JDSAMPLE0000000000000010",
            "body": captured.body,
        })
    );
    assert_eq!(
        order_status["messages"][1]["detail_type"],
        "payment.refunded"
    );
    assert_eq!(
        order_status["messages"][1]["event_id"],
        "01JDSAMPLE0000000000000011"
    );
    let stock_alerts = listed_queue(&reply, STOCK_ALERTS);
    assert_eq!(stock_alerts["dead_letter_queue"], STOCK_ALERTS_DLQ);
    assert_eq!(stock_alerts["messages"], json!([]));
}

#[tokio::test]
async fn a_dead_letter_whose_body_is_not_an_event_is_listed_with_null_detail_type_and_event_id() {
    let ops = Ops::new(FakeDeadLetters::new().holding(
        ORDER_STATUS_DLQ,
        vec![
            dead_letter("m-text", "not json"),
            dead_letter("m-object", r#"{"hello": "world"}"#),
            dead_letter("m-array", "[1, 2, 3]"),
        ],
    ));

    let reply = ops.list("queue=order-status", admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let messages = listed_queue(&reply, ORDER_STATUS)["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 3);
    for (message, body) in
        messages
            .as_array()
            .unwrap()
            .iter()
            .zip(["not json", r#"{"hello": "world"}"#, "[1, 2, 3]"])
    {
        assert_eq!(message["detail_type"], json!(null), "{message}");
        assert_eq!(message["event_id"], json!(null), "{message}");
        assert_eq!(message["body"], body, "the body is shown as it is");
    }
}

#[tokio::test]
async fn the_list_can_be_narrowed_to_one_queue() {
    let ops = Ops::new(
        FakeDeadLetters::new()
            .holding(ORDER_STATUS_DLQ, payment_letters(1))
            .holding(STOCK_ALERTS_DLQ, payment_letters(2)),
    );

    let reply = ops.list("queue=stock-alerts", admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let queues = reply.json()["queues"].clone();
    assert_eq!(queues.as_array().unwrap().len(), 1, "{queues}");
    assert_eq!(queues[0]["queue"], STOCK_ALERTS);
    assert_eq!(queues[0]["messages"].as_array().unwrap().len(), 2);
    assert_eq!(
        ops.queues.calls(),
        [QueueCall::Peek {
            dead_letter_queue: STOCK_ALERTS_DLQ.into(),
            max: 20
        }]
    );
}

#[tokio::test]
async fn the_list_peeks_at_twenty_messages_per_queue_unless_told_otherwise() {
    let ops = Ops::new(FakeDeadLetters::new().holding(ORDER_STATUS_DLQ, payment_letters(25)));

    let reply = ops.list("", admin()).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        listed_queue(&reply, ORDER_STATUS)["messages"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert_eq!(
        ops.queues.calls(),
        [
            QueueCall::Peek {
                dead_letter_queue: ORDER_STATUS_DLQ.into(),
                max: 20
            },
            QueueCall::Peek {
                dead_letter_queue: STOCK_ALERTS_DLQ.into(),
                max: 20
            },
        ]
    );
    assert_eq!(
        ops.queues.waiting(ORDER_STATUS_DLQ),
        25,
        "looking moves nothing"
    );
}

#[tokio::test]
async fn a_limit_from_1_to_100_is_how_many_messages_are_peeked_at() {
    for limit in [1, 100] {
        let ops = Ops::new(FakeDeadLetters::new());

        let reply = ops
            .list(&format!("queue=order-status&limit={limit}"), admin())
            .await;

        assert_eq!(reply.status, 200, "{limit}: {}", reply.body);
        assert_eq!(
            ops.queues.calls(),
            [QueueCall::Peek {
                dead_letter_queue: ORDER_STATUS_DLQ.into(),
                max: limit
            }]
        );
    }
}

#[tokio::test]
async fn a_limit_outside_1_to_100_is_refused_before_any_queue_is_read() {
    for limit in ["0", "101", "-1", "ten"] {
        let ops = Ops::new(FakeDeadLetters::new());

        let reply = ops.list(&format!("limit={limit}"), admin()).await;

        reply.invalid("limit");
        assert!(ops.queues.calls().is_empty(), "limit={limit}");
    }
    // An empty parameter is an absent one: the default limit.
    let ops = Ops::new(FakeDeadLetters::new());
    assert_eq!(ops.list("limit=", admin()).await.status, 200);
}

#[tokio::test]
async fn a_redrive_moves_up_to_max_and_answers_how_many_the_queue_moved() {
    let ops = Ops::new(FakeDeadLetters::new().holding(ORDER_STATUS_DLQ, payment_letters(7)));

    let first = ops
        .redrive(r#"{"queue": "order-status", "max": 5}"#, admin())
        .await;
    let rest = ops
        .redrive(r#"{"queue": "order-status", "max": 5}"#, admin())
        .await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json(), json!({ "queue": ORDER_STATUS, "moved": 5 }));
    assert_eq!(rest.json(), json!({ "queue": ORDER_STATUS, "moved": 2 }));
    assert_eq!(ops.queues.waiting(ORDER_STATUS_DLQ), 0);
    let redrive = QueueCall::Redrive {
        dead_letter_queue: ORDER_STATUS_DLQ.into(),
        queue: "shopflow-test-order-status".into(),
        max: 5,
    };
    assert_eq!(ops.queues.calls(), [redrive.clone(), redrive]);
}

#[tokio::test]
async fn a_redrive_without_max_moves_up_to_100() {
    let ops = Ops::new(FakeDeadLetters::new().holding(STOCK_ALERTS_DLQ, payment_letters(120)));

    let reply = ops.redrive(r#"{"queue": "stock-alerts"}"#, admin()).await;

    assert_eq!(reply.json(), json!({ "queue": STOCK_ALERTS, "moved": 100 }));
    assert_eq!(
        ops.queues.calls(),
        [QueueCall::Redrive {
            dead_letter_queue: STOCK_ALERTS_DLQ.into(),
            queue: "shopflow-test-stock-alerts".into(),
            max: 100,
        }]
    );
}

#[tokio::test]
async fn a_redrive_of_1000_is_allowed() {
    let ops = Ops::new(FakeDeadLetters::new());

    let reply = ops
        .redrive(r#"{"queue": "order-status", "max": 1000}"#, admin())
        .await;

    assert_eq!(reply.json(), json!({ "queue": ORDER_STATUS, "moved": 0 }));
    assert!(matches!(
        ops.queues.calls().as_slice(),
        [QueueCall::Redrive { max: 1000, .. }]
    ));
}

#[tokio::test]
async fn a_redrive_max_outside_1_to_1000_is_refused_and_nothing_moves() {
    for max in ["0", "1001", "-1", "\"ten\"", "2.5"] {
        let ops = Ops::new(FakeDeadLetters::new().holding(ORDER_STATUS_DLQ, payment_letters(3)));

        let reply = ops
            .redrive(
                &format!(r#"{{"queue": "order-status", "max": {max}}}"#),
                admin(),
            )
            .await;

        reply.invalid("max");
        assert!(ops.queues.calls().is_empty(), "max {max}");
        assert_eq!(ops.queues.waiting(ORDER_STATUS_DLQ), 3);
    }
}

#[tokio::test]
async fn a_redrive_body_with_an_unknown_field_is_refused_and_nothing_moves() {
    let ops = Ops::new(FakeDeadLetters::new().holding(ORDER_STATUS_DLQ, payment_letters(3)));

    let reply = ops
        .redrive(r#"{"queue": "order-status", "limit": 10}"#, admin())
        .await;

    let details = reply.problem(400, "invalid_request");
    assert!(
        details["reason"].as_str().unwrap().contains("limit"),
        "the reason names the unknown field: {details}"
    );
    assert!(ops.queues.calls().is_empty());
    assert_eq!(ops.queues.waiting(ORDER_STATUS_DLQ), 3);
}

#[tokio::test]
async fn a_redrive_body_without_a_queue_or_not_json_is_refused() {
    for body in ["{}", r#"{"max": 10}"#, "order-status", ""] {
        let ops = Ops::new(FakeDeadLetters::new());

        let reply = ops.redrive(body, admin()).await;

        reply.problem(400, "invalid_request");
        assert!(ops.queues.calls().is_empty(), "{body:?}");
    }
}

#[tokio::test]
async fn an_sqs_outage_answers_503_for_list_and_redrive() {
    let ops = Ops::new(FakeDeadLetters::new().down());

    ops.list("queue=order-status", admin())
        .await
        .problem(503, "temporarily_unavailable");
    ops.redrive(r#"{"queue": "order-status"}"#, admin())
        .await
        .problem(503, "temporarily_unavailable");
}

#[tokio::test]
async fn other_methods_on_the_dead_letter_routes_are_not_routes() {
    let ops = Ops::new(FakeDeadLetters::new());

    let reply = ops.send(request("DELETE", LIST, &[], admin())).await;

    reply.problem(404, "route_not_found");
    assert!(ops.queues.calls().is_empty());
}
