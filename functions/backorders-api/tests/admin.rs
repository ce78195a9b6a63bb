//! Staff's hands on one backorder: a raised priority moves it up its queue
//! (recorded with its reason), and an allocation by hand gives it units
//! set aside ahead of its turn (recorded as staff's).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use shopflow_domain::{BackorderStatus, events::DomainEvent};
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::OrderReader;
use shopflow_testkit::{ADA, GRACE, json_request};

impl BackordersApi {
    async fn patch(&self, id: &str, body: Value, claims: Claims) -> Reply {
        let event: HttpEvent = json_request(
            "PATCH",
            "/v1/admin/backorders/{id}",
            &[("id", id)],
            Some(body.to_string()),
            claims,
        );
        self.send(event).await
    }

    async fn allocate(&self, id: &str, body: Value, claims: Claims) -> Reply {
        self.post(
            "/v1/admin/backorders/{id}/allocate",
            id,
            &body.to_string(),
            claims,
        )
        .await
    }

    fn events(&self, detail_type: &str) -> Vec<Value> {
        self.store()
            .outbox()
            .into_iter()
            .filter(|event| event.event.detail_type() == detail_type)
            .filter_map(|event| match &event.event {
                DomainEvent::BackorderMoved(moved) => Some(serde_json::to_value(moved).unwrap()),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn a_raised_priority_moves_a_backorder_to_the_head_of_its_queue() {
    let api = BackordersApi::new().await;
    let first = api.backorder(ADA, BERLIN, (2, 2)).await;
    let second = api.backorder(GRACE, BERLIN, (1, 1)).await;
    let vip = api.backorder(GRACE, BERLIN, (3, 3)).await;

    let reply = api
        .patch(
            &vip.id.to_string(),
            json!({ "priority": 5, "reason": "VIP customer" }),
            admin(),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["backorder"]["priority"], 5);
    assert_eq!(
        (&body["queue_position"], &body["units_ahead"]),
        (&1.into(), &0.into())
    );
    let order: Vec<_> = api.queue(BERLIN).iter().map(|b| b.id).collect();
    assert_eq!(order, [vip.id, first.id, second.id]);
    let line = api
        .store()
        .order(vip.order_id)
        .await
        .unwrap()
        .unwrap()
        .lines[0]
        .clone();
    assert_eq!(line.backorder.unwrap().priority, 5);
    let changed = api.events("backorder.priority_changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (
            &changed[0]["priority_before"],
            &changed[0]["priority"],
            &changed[0]["reason"]
        ),
        (&0.into(), &5.into(), &"VIP customer".into())
    );

    // The same priority again changes nothing.
    let again = api
        .patch(
            &vip.id.to_string(),
            json!({ "priority": 5, "reason": "VIP" }),
            admin(),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(api.events("backorder.priority_changed").len(), 1);
    // Shown where the first restock goes: to the raised backorder.
    let shown = api.get(&vip.id.to_string(), grace()).await.json();
    assert_eq!(shown["backorder"]["queue_position"], 1);
    let changes = shown["backorder"]["priority_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            &changes[0]["from"],
            &changes[0]["to"],
            &changes[0]["reason"]
        ),
        (&0.into(), &5.into(), &"VIP customer".into())
    );
    assert_eq!(
        changes[0]["by"],
        format!("admin:{}", shopflow_testkit::STAFF)
    );
    assert_eq!(
        api.get(&first.id.to_string(), ada()).await.json()["backorder"]["units_ahead"],
        3
    );
}

#[tokio::test]
async fn priority_changes_are_staffs_with_a_reason_on_open_backorders() {
    let api = BackordersApi::new().await;
    let waiting = api.backorder(ADA, BERLIN, (1, 1)).await;
    let id = waiting.id.to_string();

    api.patch(&id, json!({ "priority": 1, "reason": "VIP" }), ada())
        .await
        .problem(403, "forbidden");
    api.patch(&id, json!({ "priority": 1, "reason": " " }), admin())
        .await
        .invalid("reason");
    assert_eq!(
        api.patch(&id, json!({ "priority": 256, "reason": "VIP" }), admin())
            .await
            .status,
        400
    );
    api.patch(
        "01KB0000000000000000000000",
        json!({ "priority": 1, "reason": "VIP" }),
        admin(),
    )
    .await
    .problem(404, "not_found");
    api.cancel(waiting.id, "not needed", ada()).await;
    api.patch(&id, json!({ "priority": 1, "reason": "VIP" }), admin())
        .await
        .problem(409, "backorder_closed");
}

#[tokio::test]
async fn staff_allocate_set_aside_units_by_hand_ahead_of_the_queue() {
    let api = BackordersApi::new().await;
    let head = api.backorder(ADA, BERLIN, (2, 2)).await;
    let behind = api.backorder(GRACE, BERLIN, (2, 2)).await;
    api.restock(BERLIN, 2).await;
    assert_eq!(api.level(BERLIN).set_aside, 2);

    let reply = api
        .allocate(
            &behind.id.to_string(),
            json!({ "reason": "replacement for a damaged delivery" }),
            admin(),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["backorder"]["status"], "fulfilled");
    assert_eq!(
        (&body["units_allocated"], &body["set_aside_left"]),
        (&2.into(), &0.into())
    );
    let queue = api.queue(BERLIN);
    let status_of = |id| queue.iter().find(|b| b.id == id).unwrap().status;
    assert_eq!(status_of(behind.id), BackorderStatus::Fulfilled);
    assert_eq!(status_of(head.id), BackorderStatus::Pending);
    let level = api.level(BERLIN);
    assert_eq!(
        (level.set_aside, level.backordered, level.reserved),
        (0, 2, 2)
    );
    let records = api.store().allocation_records();
    assert_eq!(
        records,
        [(
            behind.id,
            2,
            format!("admin:{}", shopflow_testkit::STAFF),
            "replacement for a damaged delivery".to_owned()
        )]
    );
    assert_eq!(api.events("backorder.fulfilled").len(), 1);

    // Nothing set aside is left for the head; the fulfilled one is closed.
    let short = api
        .allocate(
            &head.id.to_string(),
            json!({ "units": 1, "reason": "VIP" }),
            admin(),
        )
        .await;
    assert_eq!(short.problem(409, "not_enough_set_aside")["set_aside"], 0);
    api.allocate(
        &behind.id.to_string(),
        json!({ "reason": "again" }),
        admin(),
    )
    .await
    .problem(409, "backorder_closed");
    api.allocate(
        &head.id.to_string(),
        json!({ "units": 3, "reason": "VIP" }),
        admin(),
    )
    .await
    .problem(422, "units_exceed_waiting");
    api.allocate(&head.id.to_string(), json!({ "reason": "VIP" }), grace())
        .await
        .problem(403, "forbidden");
}
