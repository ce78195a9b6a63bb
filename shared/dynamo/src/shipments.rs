//! Shipments: a fulfilment's one transaction, the reads, and tracking
//! updates written on the version read.

use super::backorders::OrderRewrite;
use super::items::{
    FulfilmentReceiptItem, PendingEvent, PollItem, SHIPMENTS_PREFIX, ShipmentItem, TrackingItem,
    idempotency_key, journey_attr, order_key, shipment_by_id, shipment_key, shipment_standing,
    shipment_standing_named, shipment_standing_sort, stock_key, tracking_partition,
};
use super::{
    DynamoStore, SortKeys, carrying_item, condition_failed, corrupt, key, malformed, movement, n,
    now_secs, s, sdk,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use shopflow_domain::{
    Carrier, MovementCause, MovementNote, OrderId, Shipment, ShipmentFigures, ShipmentId,
    ShipmentStanding, ShippedLine, TrackedBy, TrackingNumber,
};
use shopflow_ports::{
    FulfilError, Fulfilment, FulfilmentReceipt, IdempotencyKey, OrderTouch, ShipmentStore,
    StoreError, TrackingUpdate, TrackingWriteError,
};
use std::collections::HashMap;

#[async_trait]
impl ShipmentStore for DynamoStore {
    async fn fulfilment_receipt(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<FulfilmentReceipt>, StoreError> {
        let item: Option<FulfilmentReceiptItem> = self
            .get_consistent(idempotency_key(key), "fulfilment receipt")
            .await?;
        Ok(item.and_then(|receipt| receipt.into_live_receipt(now_secs())))
    }

    async fn fulfil(&self, fulfilment: &Fulfilment) -> Result<(), FulfilError> {
        let shipment = &fulfilment.shipment;
        let mut writes = vec![
            self.receipt_put(fulfilment)?,
            self.rewrite_order(
                &fulfilment.order,
                OrderRewrite {
                    money: false,
                    goods: true,
                },
            )?,
            self.history_put(&fulfilment.goods)?,
            self.put_new(
                serde_dynamo::to_item(ShipmentItem::new(shipment)).map_err(corrupt("shipment"))?,
            )?,
            // The small tracking item carries `shipment.created`: the
            // shipment's item, rewritten by every report, stays small.
            self.put_new(carrying_item(
                &TrackingItem::new(shipment),
                Some(&fulfilment.created),
                "tracking",
            )?)?,
        ];
        const RECEIPT: usize = 0;
        const ORDER: usize = 1;
        const TRACKING: usize = 4;
        if shipment.carrier.tracked_by() == TrackedBy::Polling {
            // Never checked: due at once.
            let poll = PollItem::new(shipment, shipment.created_at);
            writes.push(self.put_new(serde_dynamo::to_item(poll).map_err(corrupt("poll"))?)?);
        }
        let stock_from = writes.len();
        for line in &shipment.lines {
            writes.push(self.take_shipped(shipment, line)?);
        }
        let Some(reasons) = self.transact(writes).await? else {
            return Ok(());
        };
        let failed = |index: usize| condition_failed(&reasons, index);
        Err(if failed(RECEIPT) {
            FulfilError::KeyTaken
        } else if failed(ORDER) || reasons.iter().any(|r| r == "TransactionConflict") {
            FulfilError::OrderChanged
        } else if failed(TRACKING) {
            FulfilError::TrackingNumberTaken(shipment.tracking_number.clone())
        } else if (stock_from..reasons.len()).any(failed) {
            FulfilError::StockMissing
        } else {
            shopflow_aws_errors::unexplained_cancellation("fulfilment", &reasons).into()
        })
    }

    async fn shipment(&self, id: ShipmentId) -> Result<Option<Shipment>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :id")
            .expression_attribute_values(":id", s(shipment_by_id(id)))
            .send()
            .await
            .map_err(sdk)?;
        let Some(item) = output.items.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let tracking: TrackingItem = serde_dynamo::from_item(item).map_err(corrupt("tracking"))?;
        self.shipment_of(tracking.order, tracking.ship).await
    }

    async fn order_shipments(&self, order: OrderId) -> Result<Vec<Shipment>, StoreError> {
        let (pk, _) = order_key(order);
        self.query_partition(&pk, SortKeys::StartingWith(SHIPMENTS_PREFIX))
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, ShipmentItem>(item)
                    .map(ShipmentItem::into_shipment)
                    .map_err(corrupt("shipment"))
            })
            .collect()
    }

    async fn tracked_shipment(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<Option<Shipment>, StoreError> {
        let at = (tracking_partition(carrier, number), "TRACK".to_owned());
        let tracking: Option<TrackingItem> = self.get_consistent(at, "tracking").await?;
        match tracking {
            Some(tracking) => self.shipment_of(tracking.order, tracking.ship).await,
            None => Ok(None),
        }
    }

    async fn record_tracking(&self, update: &TrackingUpdate) -> Result<(), TrackingWriteError> {
        let journey = self.journey_update(update)?;
        let leaves_schedule = update.shipment.carrier.tracked_by() == TrackedBy::Polling
            && !update.shipment.is_in_flight();
        let standing = ShipmentStanding::of(update.shipment.status());
        let stands_elsewhere = ShipmentStanding::of(update.status_before) != standing;
        if update.order.is_none() && !leaves_schedule && !stands_elsewhere {
            return self.update_alone(journey).await;
        }
        let mut writes = vec![TransactWriteItem::builder().update(journey).build()];
        if stands_elsewhere {
            writes.push(self.move_standing(&update.shipment, standing)?);
        }
        match &update.order {
            Some(OrderTouch::Hold { order_id, version }) => {
                writes.push(self.hold_order(*order_id, *version)?);
            }
            Some(OrderTouch::Deliver(change)) => {
                writes.push(self.status_update(change)?);
                writes.push(self.history_put(change)?);
            }
            None => {}
        }
        if leaves_schedule {
            writes.push(self.leave_schedule(&update.shipment)?);
        }
        match self.transact(writes).await? {
            None => Ok(()),
            Some(reasons)
                if (0..reasons.len()).any(|index| condition_failed(&reasons, index))
                    || reasons.iter().any(|r| r == "TransactionConflict") =>
            {
                Err(TrackingWriteError::Stale)
            }
            Some(reasons) => Err(shopflow_aws_errors::unexplained_cancellation(
                "tracking update",
                &reasons,
            )
            .into()),
        }
    }

    async fn shipment_figures(&self) -> Result<ShipmentFigures, StoreError> {
        let partitions = ShipmentStanding::ALL.into_iter().flat_map(|standing| {
            (0..shopflow_ports::STATUS_SHARDS).map(move |shard| (standing, shard))
        });
        let counts =
            futures::future::try_join_all(partitions.map(|(standing, shard)| async move {
                let partition = shipment_standing_named(standing, shard);
                self.count_index("gsi3", "gsi3pk", &partition)
                    .await
                    .map(|count| (standing, count))
            }))
            .await?;
        let mut figures = ShipmentFigures::default();
        for (standing, count) in counts {
            figures.add(standing, count);
        }
        Ok(figures)
    }
}

impl DynamoStore {
    async fn shipment_of(
        &self,
        order: OrderId,
        id: ShipmentId,
    ) -> Result<Option<Shipment>, StoreError> {
        let item: Option<ShipmentItem> = self
            .get_consistent(shipment_key(order, id), "shipment")
            .await?;
        Ok(item.map(ShipmentItem::into_shipment))
    }

    /// The key's receipt; an expired one still present is replaced.
    fn receipt_put(&self, fulfilment: &Fulfilment) -> Result<TransactWriteItem, StoreError> {
        let now = now_secs();
        let receipt = FulfilmentReceiptItem::new(fulfilment, now);
        self.conditional_put(
            serde_dynamo::to_item(receipt).map_err(corrupt("fulfilment receipt"))?,
            "attribute_not_exists(pk) OR #ttl <= :now",
            Some(("#ttl", "ttl", ":now", n(now))),
        )
    }

    /// The shipped units leave the warehouse: out of `on_hand` and
    /// `reserved` both, so `available` and `set_aside` are untouched.
    fn take_shipped(
        &self,
        shipment: &Shipment,
        line: &ShippedLine,
    ) -> Result<TransactWriteItem, StoreError> {
        let note = MovementNote::new(MovementCause::Shipped, shipment.id, shipment.created_at);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_key(&line.sku, &shipment.warehouse))))
            .update_expression(
                "SET on_hand = on_hand - :q, reserved = reserved - :q, version = version + :one, \
                 mv = :mv",
            )
            .condition_expression("reserved >= :q AND on_hand >= :q")
            .expression_attribute_values(":q", n(line.quantity.get()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":mv", movement(&note))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The shipment's journey and status on the version read, carrying
    /// its `shipment.*` event when the status moved.
    fn journey_update(&self, update: &TrackingUpdate) -> Result<Update, StoreError> {
        let shipment = &update.shipment;
        let events = serde_dynamo::to_attribute_value(journey_attr(&shipment.journey))
            .map_err(corrupt("shipment events"))?;
        let mut values: HashMap<String, AttributeValue> = HashMap::from([
            (":ev".to_owned(), events),
            (":st".to_owned(), s(shipment.status().as_str())),
            (":read".to_owned(), n(shipment.version)),
            (":one".to_owned(), n(1)),
        ]);
        let mut expression = "SET ev = :ev, st = :st, version = version + :one".to_owned();
        match &update.moved {
            Some(moved) => {
                let event = PendingEvent::from_event(moved)?;
                expression
                    .push_str(", #source = :source, detail_type = :detail_type, detail = :detail");
                values.insert(":source".to_owned(), s(event.source));
                values.insert(":detail_type".to_owned(), s(event.detail_type));
                values.insert(":detail".to_owned(), s(event.detail));
            }
            // The last move's event, published already, is not kept: the
            // item every report rewrites stays small (the relay publishes
            // nothing for an item that carries no event).
            None => expression.push_str(" REMOVE #source, detail_type, detail"),
        }
        let names = Some(HashMap::from([("#source".to_owned(), "source".to_owned())]));
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(shipment_key(shipment.order_id, shipment.id))))
            .update_expression(expression)
            .condition_expression("version = :read")
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(malformed)
    }

    /// One conditional UpdateItem: a report that touches nothing else.
    async fn update_alone(&self, journey: Update) -> Result<(), TrackingWriteError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(journey.table_name())
            .set_key(Some(journey.key().clone()))
            .update_expression(journey.update_expression())
            .set_condition_expression(journey.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(journey.expression_attribute_names().cloned())
            .set_expression_attribute_values(journey.expression_attribute_values().cloned())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(TrackingWriteError::Stale)
                }
                _ => Err(sdk(error).into()),
            },
        }
    }

    /// The tracking item files the shipment where it now stands, or nowhere
    /// once it is delivered.
    fn move_standing(
        &self,
        shipment: &Shipment,
        standing: Option<ShipmentStanding>,
    ) -> Result<TransactWriteItem, StoreError> {
        let at = key((
            tracking_partition(shipment.carrier, &shipment.tracking_number),
            TrackingItem::SORT.to_owned(),
        ));
        let update = Update::builder().table_name(&self.table).set_key(Some(at));
        let update = match standing {
            Some(standing) => update
                .update_expression("SET gsi3pk = :standing, gsi3sk = :since")
                .expression_attribute_values(
                    ":standing",
                    s(shipment_standing(standing, shipment.id)),
                )
                .expression_attribute_values(":since", s(shipment_standing_sort(shipment))),
            None => update.update_expression("REMOVE gsi3pk, gsi3sk"),
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(malformed)?)
            .build())
    }

    /// The order moves to its next version, only from the one read.
    fn hold_order(&self, id: OrderId, version: u64) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(order_key(id))))
            .update_expression("SET version = version + :one")
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(version))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// An arrived parcel is not polled any more.
    fn leave_schedule(&self, shipment: &Shipment) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key((
                tracking_partition(shipment.carrier, &shipment.tracking_number),
                PollItem::SORT.to_owned(),
            ))))
            .build()
            .map_err(malformed)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
