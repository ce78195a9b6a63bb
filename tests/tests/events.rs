//! Every outbox record reaches the bus through the stream and the relay, and
//! every event on the bus matches its JSON Schema in events/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_eventbridge::types::Target;
use serde_json::{Value, json};
use shopflow_tests::{cart, stack, unique, warehouses};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

fn schemas() -> BTreeMap<String, jsonschema::Validator> {
    let dir = shopflow_local::repo_root().join("events");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".schema.json"))
        .map(|path| {
            let name = path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".schema.json")
                .to_owned();
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (name, jsonschema::validator_for(&schema).unwrap())
        })
        .collect()
}

/// A queue subscribed to every shopflow event on the bus, as a consumer's would be.
async fn tap_queue() -> String {
    let clients = stack().clients().await;
    let name = unique("tap").to_lowercase();
    let url = clients
        .sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let bus = &stack().spec.bus_name;
    let pattern = json!({ "source": [
        "shopflow.orders",
        "shopflow.inventory",
        "shopflow.payments",
        "shopflow.fulfillment"
    ] });
    clients
        .events
        .put_rule()
        .name(&name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    let arn = format!(
        "arn:aws:sqs:{}:{}:{name}",
        shopflow_local::REGION,
        shopflow_local::ACCOUNT_ID
    );
    let target = Target::builder().id("tap").arn(arn).build().unwrap();
    clients
        .events
        .put_targets()
        .rule(&name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .unwrap();
    url
}

/// Drains the queue until `done` says so, or gives up after a generous bound.
async fn receive_until(url: &str, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let clients = stack().clients().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut events = Vec::new();
    while !done(&events) && Instant::now() < deadline {
        let output = clients
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            events.push(serde_json::from_str(message.body().unwrap()).unwrap());
            clients
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    events
}

#[tokio::test]
async fn every_checkout_and_restock_reaches_a_subscribed_queue_as_a_valid_event() {
    let (api, admin) = (stack().api(), stack().admin());
    let url = tap_queue().await;
    let sku = unique("EVT");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 250, &[(&warehouse, 20)])
        .await;
    let buyer = stack().customer(&unique("buyer"));
    let mut expected = HashSet::new();
    for _ in 0..12 {
        let reply = api
            .checkout(&buyer, &unique("key"), &cart(&[(&sku, 1)]))
            .await;
        assert_eq!(reply.status, 201);
        expected.insert(reply.body["order"]["id"].as_str().unwrap().to_owned());
    }

    let ours = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| {
                e["detail"]["data"]["sku"] == sku.as_str()
                    || e["detail"]["data"]["lines"][0]["sku"] == sku.as_str()
            })
            .cloned()
            .collect()
    };
    // Stripe authorizes one of them: payment.authorized, then order.payment_authorized.
    let paid = expected.iter().next().unwrap().clone();
    let body = json!({
        "id": format!("evt_{}", ulid::Ulid::generate()),
        "type": "payment_intent.amount_capturable_updated",
        "data": { "object": { "id": "pi_events", "amount": 250, "amount_capturable": 250, "currency": "eur",
                              "metadata": { "order_id": paid } } }
    })
    .to_string();
    let reply = api.stripe_delivers(&body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let authorized = |events: &[Value]| {
        events.iter().any(|e| {
            e["detail-type"] == "order.payment_authorized"
                && e["detail"]["data"]["order_id"] == paid.as_str()
        })
    };
    let events = receive_until(&url, |events| {
        ours(events).len() > expected.len() && authorized(events)
    })
    .await;
    assert!(
        events
            .iter()
            .any(|e| e["detail-type"] == "payment.authorized"
                && e["detail"]["data"]["order_id"] == paid.as_str())
    );
    assert!(authorized(&events));
    let mine = ours(&events);

    let created: Vec<&str> = mine
        .iter()
        .filter(|e| e["detail-type"] == "order.created")
        .map(|e| e["detail"]["data"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        created.iter().copied().collect::<HashSet<_>>(),
        expected.iter().map(String::as_str).collect()
    );
    assert_eq!(created.len(), expected.len(), "each order announced once");
    let restocked: Vec<&Value> = mine
        .iter()
        .filter(|e| e["detail-type"] == "inventory.restocked")
        .collect();
    assert_eq!(restocked.len(), 1);
    assert_eq!(restocked[0]["source"], "shopflow.inventory");
    assert_eq!(restocked[0]["detail"]["data"]["received"], 20);
    assert_valid(&events);
}

/// Each detail matches the schema of its detail-type.
fn assert_valid(events: &[Value]) {
    let schemas = schemas();
    for event in events {
        let detail_type = event["detail-type"].as_str().unwrap();
        let schema = schemas
            .get(detail_type)
            .unwrap_or_else(|| panic!("no schema in events/ for {detail_type}"));
        let errors: Vec<String> = schema
            .iter_errors(&event["detail"])
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{detail_type} does not match its schema: {errors:?}\n{}",
            event["detail"]
        );
    }
}

/// Two paid orders shipped by USPS: one parcel delivered, one sent back.
/// Every shipment event and the order events they cause reach the bus,
/// each matching its schema.
#[tokio::test]
async fn every_shipment_event_reaches_a_subscribed_queue_as_a_valid_event() {
    use shopflow_testkit::couriers::Journey;
    let (api, admin) = (stack().api(), stack().admin());
    let url = tap_queue().await;
    let sku = unique("EVTSHIP");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 900, &[(&warehouse, 2)])
        .await;
    let mut orders = Vec::new();
    for journey in [Journey::Delivered, Journey::Returned] {
        let (id, _) = shopflow_tests::paid_order(&api, &[(&sku, 1)]).await;
        let number = shopflow_tests::tracking_number("EVT");
        let shipped =
            shopflow_tests::fulfil(&api, &id, &warehouse, "usps", &number, &[(&sku, 1)]).await;
        assert_eq!(shipped.status, 201, "{}", shipped.body);
        let start = shopflow_lambda_kit::now().plus_secs(1);
        let scans = journey.scans(shopflow_domain::Carrier::Usps, start);
        // Two pushes: the parcel moves along, then ends its journey.
        for part in [&scans[..3], &scans[3..]] {
            let pushed = shopflow_tests::usps_pushes(&api, &number, part).await;
            assert_eq!(pushed.status, 200, "{}", pushed.body);
        }
        orders.push(id);
    }
    let ours = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| {
                orders
                    .iter()
                    .any(|id| e["detail"]["data"]["order_id"] == id.as_str())
            })
            .cloned()
            .collect()
    };
    let wanted = [
        "shipment.created",
        "shipment.status_changed",
        "shipment.delivered",
        "shipment.exception",
        "order.shipped",
        "order.delivered",
    ];
    let seen = |events: &[Value]| -> HashSet<String> {
        ours(events)
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap().to_owned())
            .collect()
    };
    let events = receive_until(&url, |events| {
        wanted.iter().all(|kind| seen(events).contains(*kind))
    })
    .await;

    let mine = ours(&events);
    for kind in wanted {
        assert!(
            seen(&events).contains(kind),
            "no {kind} among {:?}",
            seen(&events)
        );
    }
    let created = mine
        .iter()
        .filter(|e| e["detail-type"] == "shipment.created")
        .count();
    assert_eq!(created, 2, "each shipment announced once");
    assert!(
        mine.iter()
            .filter(|e| e["detail-type"].as_str().unwrap().starts_with("shipment."))
            .all(|e| e["source"] == "shopflow.fulfillment")
    );
    assert_valid(&mine);
}

#[test]
fn every_schema_in_events_is_a_valid_json_schema_named_for_its_detail_type() {
    for (name, _) in schemas() {
        assert!(
            name.contains('.'),
            "{name} should be a detail-type like order.created"
        );
    }
    assert!(schemas().contains_key("order.created"));
    assert!(schemas().contains_key("inventory.restocked"));
}

/// Every change the order's machines allow, from every state, as the store
/// publishes it, matches the schema of its detail-type, and every detail-type
/// a change can have has a schema.
#[test]
fn every_legal_status_change_event_matches_its_schema() {
    use shopflow_domain::events::{DomainEvent, EventEnvelope, OrderStatusChanged};
    use shopflow_domain::{
        CustomerId, FulfillmentStatus, OrderId, OrderState, OrderStatus, OrderTrigger,
        PaymentStatus, Timestamp,
    };
    let schemas = schemas();
    let mut checked = 0;
    let states = OrderStatus::ALL.into_iter().flat_map(|status| {
        PaymentStatus::ALL
            .into_iter()
            .flat_map(move |payment_status| {
                FulfillmentStatus::ALL
                    .into_iter()
                    .map(move |fulfillment_status| OrderState {
                        status,
                        payment_status,
                        fulfillment_status,
                    })
            })
    });
    for from in states {
        for trigger in OrderTrigger::ALL {
            let Ok(to) = from.apply(trigger) else {
                continue;
            };
            let name = trigger.event_name();
            let schema = schemas
                .get(name)
                .unwrap_or_else(|| panic!("{name} has no schema in events/"));
            let event = DomainEvent::OrderStatusChanged(OrderStatusChanged {
                order_id: OrderId::from_ulid(ulid::Ulid::generate()),
                customer_id: CustomerId::parse("cust-ada").unwrap(),
                from,
                to,
                trigger,
                actor: "system:order-status".into(),
                reason: Some("why".into()),
                released: Vec::new(),
            });
            let envelope = EventEnvelope::new(
                ulid::Ulid::generate().to_string(),
                Timestamp::from_millis(1_795_874_400_000),
                &event,
            );
            let detail = serde_json::to_value(&envelope).unwrap();
            let errors: Vec<String> = schema.iter_errors(&detail).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{from:?} + {trigger:?} -> {name}: {errors:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 200, "only {checked} changes were checked");
}

/// D2: a key reused after its receipt expired, while DynamoDB (which deletes
/// expired items lazily, often days later) still holds it. The new
/// checkout's put replaces the receipt, a MODIFY on the stream, and the new
/// order's `order.created` must still reach the bus, once.
#[tokio::test]
async fn a_key_reused_on_an_expired_receipt_still_announces_the_new_order_once() {
    let (api, admin) = (stack().api(), stack().admin());
    let url = tap_queue().await;
    let sku = unique("REUSE");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 250, &[(&warehouse, 5)])
        .await;
    let customer = unique("reuser");
    let buyer = stack().customer(&customer);
    let key = unique("key");
    let first = api.checkout(&buyer, &key, &cart(&[(&sku, 1)])).await;
    assert_eq!(first.status, 201, "{}", first.body);

    // A day later: the receipt's TTL has passed, the item is still there.
    let clients = stack().clients().await;
    let receipt_pk = format!("IDEMP#checkout#{}:{customer}#{key}", customer.len());
    clients
        .dynamodb
        .update_item()
        .table_name(&stack().spec.table.name)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(receipt_pk))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("IDEMP".into()),
        )
        .update_expression("SET #ttl = :past")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N(
                (shopflow_local::now_secs() - 60).to_string(),
            ),
        )
        .send()
        .await
        .unwrap();
    let second = api.checkout(&buyer, &key, &cart(&[(&sku, 2)])).await;
    assert_eq!(
        second.status, 201,
        "a new order, not a replay: {}",
        second.body
    );
    let (first_id, second_id) = (
        first.body["order"]["id"].as_str().unwrap().to_owned(),
        second.body["order"]["id"].as_str().unwrap().to_owned(),
    );
    assert_ne!(first_id, second_id);

    let created_for = |events: &[Value], id: &str| {
        events
            .iter()
            .filter(|e| {
                e["detail-type"] == "order.created" && e["detail"]["data"]["order_id"] == id
            })
            .count()
    };
    let events = receive_until(&url, |events| created_for(events, &second_id) >= 1).await;
    // Anything published twice would have arrived by the time a later
    // checkout's own event arrives after it.
    let later = api
        .checkout(&buyer, &unique("key"), &cart(&[(&sku, 1)]))
        .await;
    let later_id = later.body["order"]["id"].as_str().unwrap().to_owned();
    let mut events = events;
    events.extend(receive_until(&url, |more| created_for(more, &later_id) >= 1).await);
    assert_eq!(created_for(&events, &first_id), 1);
    assert_eq!(created_for(&events, &second_id), 1, "announced once");
}

/// Every way a backorder moves, as the stores record it, matches the
/// schema of its detail-type: created, allocated, fulfilled, cancelled
/// (with and without a refund held back) and a priority change.
#[test]
fn every_backorder_move_matches_its_schema() {
    use shopflow_domain::events::{
        BackorderMove, BackorderMoved, BackorderRefund, DomainEvent, EventEnvelope,
    };
    use shopflow_domain::{
        Backorder, BackorderId, BackorderStatus, CancelRefund, CustomerId, OrderId, Sku, Timestamp,
        WarehouseId,
    };
    let waiting = Backorder {
        id: BackorderId::from_ulid(ulid::Ulid::generate()),
        order_id: OrderId::from_ulid(ulid::Ulid::generate()),
        customer_id: CustomerId::parse("cust-ada").unwrap(),
        sku: Sku::parse("POSTER-A2").unwrap(),
        warehouse: WarehouseId::parse("BER").unwrap(),
        quantity: 3,
        allocated: 0,
        status: BackorderStatus::Pending,
        priority: 0,
        created_at: Timestamp::from_millis(1_795_874_400_000),
        estimated_restock: Timestamp::from_millis(1_797_084_000_000),
        unit_price: shopflow_domain::Money::new(
            1_000,
            shopflow_domain::Currency::parse("EUR").unwrap(),
        )
        .unwrap(),
    };
    let cancelled = |refund: Option<BackorderRefund>| {
        let mut moved = BackorderMoved::new(BackorderMove::Cancelled, &waiting.cancelled());
        moved.units_cancelled = Some(3);
        moved.reason = Some("too slow".into());
        moved.refund = refund;
        moved
    };
    let mut raised = BackorderMoved::new(
        BackorderMove::PriorityChanged,
        &Backorder {
            priority: 5,
            ..waiting.clone()
        },
    );
    raised.priority_before = Some(0);
    raised.reason = Some("VIP".into());
    let moves = [
        BackorderMoved::new(BackorderMove::Created, &waiting),
        BackorderMoved::allocation(&waiting, 1, "restock"),
        BackorderMoved::allocation(&waiting, 3, "restock"),
        cancelled(None),
        cancelled(Some(BackorderRefund {
            refund_id: format!("rf_bo_{}", waiting.id),
            currency: "EUR".into(),
            shares: CancelRefund {
                goods_minor: 3_000,
                tax_minor: 600,
                shipping_minor: 0,
                amount_minor: 3_600,
            },
        })),
        raised,
    ];
    let schemas = schemas();
    for moved in moves {
        let event = DomainEvent::BackorderMoved(moved);
        let name = event.detail_type();
        let schema = schemas
            .get(name)
            .unwrap_or_else(|| panic!("{name} has no schema in events/"));
        let envelope = EventEnvelope::new(
            ulid::Ulid::generate().to_string(),
            Timestamp::from_millis(1_795_874_400_000),
            &event,
        );
        let detail = serde_json::to_value(&envelope).unwrap();
        let errors: Vec<String> = schema.iter_errors(&detail).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{detail}");
    }
}

/// Staff adjust a count and move units between warehouses: both events
/// reach the bus once, each matching its schema.
#[tokio::test]
async fn every_staff_move_reaches_a_subscribed_queue_as_a_valid_event() {
    let (api, admin) = (stack().api(), stack().admin());
    let url = tap_queue().await;
    let sku = unique("EVTMOVE");
    let all = warehouses();
    api.product_with_stock(&admin, &sku, 250, &[(&all[0], 10)])
        .await;
    let moves = [
        (
            format!("/v1/inventory/{sku}/{}/adjust", all[0]),
            json!({ "delta": -2, "reason": "damaged", "note": "crushed pallet" }),
        ),
        (
            format!("/v1/inventory/{sku}/transfer"),
            json!({ "from": all[0], "to": all[1], "quantity": 3 }),
        ),
    ];
    for (path, body) in moves {
        let key = unique("move");
        let reply = api
            .send(
                "POST",
                &path,
                Some(&admin),
                &[("idempotency-key", key.as_str())],
                Some(body.to_string()),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    let staff_kinds = [
        "inventory.restocked",
        "inventory.adjusted",
        "inventory.transferred",
    ];
    let ours = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["detail"]["data"]["sku"] == sku.as_str())
            .filter(|e| staff_kinds.iter().any(|kind| e["detail-type"] == *kind))
            .cloned()
            .collect()
    };
    let events = receive_until(&url, |events| ours(events).len() >= 3).await;
    let mine = ours(&events);
    let kinds: Vec<&str> = mine
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    for kind in staff_kinds {
        assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 1, "{kinds:?}");
    }
    let adjusted = mine
        .iter()
        .find(|e| e["detail-type"] == "inventory.adjusted")
        .unwrap();
    assert_eq!(adjusted["detail"]["data"]["on_hand"], 8);
    assert_valid(&mine);
}

/// 20 sales take a warehouse from 30 to 10 available across its threshold
/// of 15: one `inventory.low_stock`. A restock lifts it above and re-arms
/// it; the next fall raises it again.
#[tokio::test]
async fn low_stock_is_raised_once_per_fall_and_rearmed_above_the_threshold() {
    let (api, admin) = (stack().api(), stack().admin());
    let url = tap_queue().await;
    let sku = unique("EVTLOW");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 250, &[(&warehouse, 30)])
        .await;
    let reply = api
        .send(
            "PUT",
            &format!("/v1/inventory/{sku}/{warehouse}/low-stock"),
            Some(&admin),
            &[],
            Some(json!({ "threshold": 15 }).to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["low_stock"]["low"], false);
    let sell = |count: usize| {
        let api = &api;
        let sku = &sku;
        futures::future::join_all((0..count).map(move |_| async move {
            let buyer = stack().customer(&unique("buyer"));
            let key = unique("key");
            loop {
                let reply = api.checkout(&buyer, &key, &cart(&[(sku, 1)])).await;
                if reply.status != 503 {
                    assert_eq!(reply.status, 201, "{}", reply.body);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }))
    };

    sell(20).await;
    api.restock(&admin, &sku, &warehouse, 10).await;
    sell(5).await;

    let low = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| {
                e["detail-type"] == "inventory.low_stock"
                    && e["detail"]["data"]["sku"] == sku.as_str()
            })
            .cloned()
            .collect()
    };
    let events = receive_until(&url, |events| low(events).len() >= 2).await;
    // A third would arrive close behind the second: listen a while longer.
    let quiet_until = Instant::now() + Duration::from_secs(3);
    let mut falls = low(&events);
    falls.extend(low(
        &receive_until(&url, |_| Instant::now() > quiet_until).await
    ));
    assert_eq!(falls.len(), 2, "{falls:#?}");
    for fall in &falls {
        let data = &fall["detail"]["data"];
        assert_eq!(data["threshold"], 15);
        assert_eq!(data["available"], 15, "{data}");
        assert_eq!(data["cause"], "sale");
    }
    assert_valid(&falls);
}

/// Three shoppers wait for a product with no stock; a restock brings it
/// back: `inventory.available_again`, then one `inventory.back_in_stock`
/// naming all three, each once, and the waitlist is empty after.
#[tokio::test]
async fn shoppers_waiting_are_told_once_when_the_product_is_back() {
    let (api, admin) = (stack().api(), stack().admin());
    let url = tap_queue().await;
    let sku = unique("EVTBACK");
    let warehouse = warehouses()[0].clone();
    api.product_with_stock(&admin, &sku, 250, &[]).await;
    let shoppers: Vec<String> = (0..3)
        .map(|n| format!("{}{n}@example.com", unique("waiting").to_lowercase()))
        .collect();
    for email in &shoppers {
        let reply = api
            .send(
                "POST",
                &format!("/v1/products/{sku}/waitlist"),
                None,
                &[],
                Some(json!({ "email": email }).to_string()),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.body);
    }

    api.restock(&admin, &sku, &warehouse, 4).await;
    api.restock(&admin, &sku, &warehouse, 1).await;

    let ours = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["detail"]["data"]["sku"] == sku.as_str())
            .filter(|e| {
                e["detail-type"] == "inventory.back_in_stock"
                    || e["detail-type"] == "inventory.available_again"
            })
            .cloned()
            .collect()
    };
    let events = receive_until(&url, |events| {
        ours(events)
            .iter()
            .any(|e| e["detail-type"] == "inventory.back_in_stock")
    })
    .await;
    let quiet_until = Instant::now() + Duration::from_secs(3);
    let mut mine = ours(&events);
    mine.extend(ours(
        &receive_until(&url, |_| Instant::now() > quiet_until).await,
    ));
    let kinds: Vec<&str> = mine
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "inventory.available_again")
            .count(),
        1,
        "only the first restock found no unit free: {kinds:?}"
    );
    let told: Vec<&Value> = mine
        .iter()
        .filter(|e| e["detail-type"] == "inventory.back_in_stock")
        .collect();
    assert_eq!(told.len(), 1, "{kinds:?}");
    let mut emails: Vec<&str> = told[0]["detail"]["data"]["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    let mut waited: Vec<&str> = shoppers.iter().map(String::as_str).collect();
    waited.sort_unstable();
    assert_eq!(emails, waited);
    assert_valid(&mine);
}

/// An invoice issued, paid in part and paid in full, a credit note on it,
/// one voided and one overdue: each event matches its schema.
#[test]
fn every_invoice_move_matches_its_schema() {
    use shopflow_domain::events::{DomainEvent, EventEnvelope, InvoiceMove, InvoiceMoved};
    use shopflow_domain::invoice::{Invoice, Sequence, Series};
    use shopflow_domain::{OrderId, Timestamp};
    let at = Timestamp::from_millis(1_795_874_400_000);
    let order = shopflow_testkit::unpaid_order(
        OrderId::from_ulid(ulid::Ulid::generate()),
        shopflow_testkit::ADA,
        vec![shopflow_testkit::order_line("TEE-RED", "BER", 2, 1_000)],
        at,
    );
    let terms = shopflow_testkit::invoice_terms();
    let number = Sequence::of(Series::Invoice, at).next_after(Some(41));
    let issued = Invoice::draft_for_order(&order, &terms, at)
        .issued(number, &terms, at)
        .unwrap();
    let part = issued.allocated(500).unwrap();
    let paid = part.allocated(part.open_minor()).unwrap();
    let note = paid
        .credit_note(700, 0, "Refund", at)
        .unwrap()
        .issued(
            Sequence::of(Series::CreditNote, at).next_after(None),
            &terms,
            at,
        )
        .unwrap();
    let moves = [
        InvoiceMoved::new(InvoiceMove::Issued, &issued),
        InvoiceMoved::payment(&part),
        InvoiceMoved::payment(&paid),
        InvoiceMoved::new(InvoiceMove::CreditNoteIssued, &note),
        InvoiceMoved::new(
            InvoiceMove::Voided,
            &issued.voided("duplicate", "admin:staff", 0, at).unwrap(),
        ),
        InvoiceMoved::overdue(
            &part,
            shopflow_domain::invoice::Reminder {
                step: 2,
                days_overdue: 9,
            },
        ),
    ];
    let schemas = schemas();
    for moved in moves {
        let event = DomainEvent::InvoiceMoved(moved);
        let name = event.detail_type();
        let schema = schemas
            .get(name)
            .unwrap_or_else(|| panic!("{name} has no schema in events/"));
        let envelope = EventEnvelope::new(ulid::Ulid::generate().to_string(), at, &event);
        let detail = serde_json::to_value(&envelope).unwrap();
        let errors: Vec<String> = schema.iter_errors(&detail).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{detail}");
    }
}
