//! The DynamoDB adapter: one table, keys and item shapes in `items`, the
//! access patterns in docs/data-model.md.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod archive;
mod backorder_reads;
mod backorders;
mod checkout;
mod inventory;
mod invoices;
mod items;
mod jobs;
mod ledger;
mod lifecycle;
mod listing;
mod notifications;
mod orders;
mod payments;
mod polling;
mod search;
mod shipments;
mod waitlist;
mod webhooks;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use shopflow_domain::MovementNote;
use shopflow_ports::StoreError;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub use items::{OutboxItem, stock_change};

/// One DynamoDB item, attribute name to value.
type Item = HashMap<String, AttributeValue>;

use items::PendingEvent;

/// The shopflow table, reached through one SDK client built at start-up.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A store on a client of `config` (a Lambda's AWS configuration, or one
    /// pointing at DynamoDB Local).
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

impl DynamoStore {
    /// The item at `(pk, sk)`, read back as `T`.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        at: (String, String),
        entity: &'static str,
    ) -> Result<Option<T>, StoreError> {
        self.get_item(at, entity, false).await
    }

    /// The item at `(pk, sk)` as the last write left it.
    async fn get_consistent<T: serde::de::DeserializeOwned>(
        &self,
        at: (String, String),
        entity: &'static str,
    ) -> Result<Option<T>, StoreError> {
        self.get_item(at, entity, true).await
    }

    async fn get_item<T: serde::de::DeserializeOwned>(
        &self,
        at: (String, String),
        entity: &'static str,
        consistent: bool,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(at)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(sdk)?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).map_err(corrupt(entity)))
            .transpose()
    }

    /// A put that fails its transaction unless `condition` holds; `named`
    /// binds one attribute name and one value the condition refers to.
    fn conditional_put(
        &self,
        item: Item,
        condition: &str,
        named: Option<(&str, &str, &str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some((name_ref, name, value_ref, value)) = named {
            put = put
                .expression_attribute_names(name_ref, name)
                .expression_attribute_values(value_ref, value);
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(malformed)?)
            .build())
    }

    /// A put that fails its transaction when the item exists already.
    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        self.conditional_put(item, "attribute_not_exists(pk)", None)
    }

    /// Writes `record` as its item, replacing whatever was at its key.
    async fn put_record(
        &self,
        record: &impl serde::Serialize,
        entity: &'static str,
    ) -> Result<(), StoreError> {
        self.put_item(serde_dynamo::to_item(record).map_err(corrupt(entity))?)
            .await
    }

    /// Writes `item`, replacing whatever was at its key.
    async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}

/// A record with the event it caused riding on it: the outbox relay publishes
/// every new item that carries a `detail_type` (docs/decisions/0003), so the
/// record and its event are one item, written with one conditional PutItem
/// instead of two items in a transaction.
#[derive(serde::Serialize)]
struct Carrying<'a, R: serde::Serialize> {
    #[serde(flatten)]
    record: &'a R,
    #[serde(flatten)]
    event: Option<PendingEvent>,
}

/// The item of `record` with `event` riding on it.
fn carrying_item(
    record: &impl serde::Serialize,
    event: Option<&shopflow_ports::OutboxEvent>,
    entity: &'static str,
) -> Result<Item, StoreError> {
    let carrying = Carrying {
        record,
        event: event.map(PendingEvent::from_event).transpose()?,
    };
    serde_dynamo::to_item(carrying).map_err(corrupt(entity))
}

impl DynamoStore {
    /// Puts `record` with `event` on it, if no item has its key yet: `false`
    /// when one has (the record was written before).
    async fn put_new_carrying(
        &self,
        record: &impl serde::Serialize,
        event: Option<&shopflow_ports::OutboxEvent>,
        entity: &'static str,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let item = carrying_item(record, event, entity)?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(sdk(error)),
            },
        }
    }
}

/// Which items of a partition a query reads, by sort key.
enum SortKeys<'a> {
    /// Sort keys starting with this prefix.
    StartingWith(&'a str),
    /// This sort key and every one after it.
    From(&'a str),
}

impl DynamoStore {
    /// Every item of partition `pk` the sort keys pick, strongly consistent,
    /// following every page.
    async fn query_partition(
        &self,
        pk: &str,
        sort_keys: SortKeys<'_>,
    ) -> Result<Vec<Item>, StoreError> {
        let (condition, sk) = match sort_keys {
            SortKeys::StartingWith(prefix) => ("pk = :pk AND begins_with(sk, :sk)", prefix),
            SortKeys::From(first) => ("pk = :pk AND sk >= :sk", first),
        };
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":sk", s(sk))
            .consistent_read(true);
        Self::every_page(query).await
    }

    /// Every item `query` answers, following every page.
    async fn every_page(
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

impl DynamoStore {
    /// How many items one partition of an index holds, every page counted.
    async fn count_index(
        &self,
        index: &str,
        partition_key: &str,
        partition: &str,
    ) -> Result<u64, StoreError> {
        let mut counted = 0u64;
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :partition")
                .expression_attribute_names("#pk", partition_key)
                .expression_attribute_values(":partition", s(partition))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            counted += u64::try_from(page.count).unwrap_or(0);
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(counted);
            }
        }
    }
}

/// Units moving between a stock item's `available` and `reserved`, only
/// when there are enough to move (conditions cannot subtract, so both
/// counters are kept).
#[derive(Debug, Clone, Copy)]
enum Direction {
    Reserve,
    Release,
}

impl DynamoStore {
    fn move_stock(
        &self,
        sku: &shopflow_domain::Sku,
        warehouse: &shopflow_domain::WarehouseId,
        units: u32,
        direction: Direction,
        note: &MovementNote,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let (expression, condition) = match direction {
            Direction::Reserve => (
                "SET reserved = reserved + :q, available = available - :q, version = version + :one, mv = :mv",
                "available >= :q",
            ),
            // Only while the backorder queue is owed nothing: otherwise the
            // units are the queue's (the hand-back writes them exactly).
            Direction::Release => (
                "SET reserved = reserved - :q, available = available + :q, version = version + :one, mv = :mv",
                "reserved >= :q AND (attribute_not_exists(backordered) OR backordered <= set_aside)",
            ),
        };
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(items::stock_key(sku, warehouse))))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":q", n(units))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":mv", movement(note))
            .build()
            .map_err(malformed)?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .update(update)
            .build())
    }
}

/// BatchGetItem takes at most 100 keys per call.
const BATCH_GET_LIMIT: usize = 100;
/// Calls per chunk of keys, the first and its retries of unprocessed keys:
/// a table throttled that long is unavailable, not waited on forever.
const BATCH_GET_ATTEMPTS: u32 = 6;

impl DynamoStore {
    /// Reads items by key (strongly consistent), following `UnprocessedKeys`
    /// with backoff until every key is answered, a bounded number of times.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        self.batch_get_read(keys, true).await
    }

    /// The items at `keys` as reads a moment old may show them: half the
    /// read units of [`Self::batch_get`], for answers that may lag.
    async fn batch_get_eventually(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        self.batch_get_read(keys, false).await
    }

    async fn batch_get_read(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnConsumedCapacity};
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(consistent)
                    .build()
                    .map_err(malformed)?,
            );
            for attempt in 0..BATCH_GET_ATTEMPTS {
                let Some(request) = pending.take() else {
                    break;
                };
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(sdk)?;
                if let Some(items) = output.responses.and_then(|mut r| r.remove(&self.table)) {
                    found.extend(items);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
            if pending.is_some() {
                return Err(StoreError::Unavailable(format!(
                    "keys still unprocessed after {BATCH_GET_ATTEMPTS} BatchGetItem calls"
                )));
            }
        }
        Ok(found)
    }
}

/// Why each write of a cancelled transaction failed, in write order
/// (`"None"` for writes that would have succeeded).
type CancellationReasons = Vec<String>;

impl DynamoStore {
    /// Runs `writes` as one transaction: `None` when written, the reasons
    /// when DynamoDB cancelled it (a condition failed, or another
    /// transaction held an item).
    async fn transact(
        &self,
        writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<Option<CancellationReasons>, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
            .send()
            .await;
        let Err(error) = result else {
            return Ok(None);
        };
        match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Ok(Some(
                cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or("None").to_owned())
                    .collect(),
            )),
            _ => Err(sdk(error)),
        }
    }
}

/// Whether the write at `index` failed its condition.
fn condition_failed(reasons: &[String], index: usize) -> bool {
    reasons.get(index).map(String::as_str) == Some("ConditionalCheckFailed")
}

/// A DynamoDB call's failure, as the store error it is: transient or a
/// defect (see shopflow-aws-errors).
fn sdk<E>(
    error: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    shopflow_aws_errors::store_error("DynamoDB", error)
}

/// A DynamoDB request this adapter built wrong: a defect.
fn malformed(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Defect {
        what: "building a DynamoDB request".into(),
        source: Box::new(error),
    }
}

fn corrupt(entity: &'static str) -> impl Fn(serde_dynamo::Error) -> StoreError {
    move |error| StoreError::Corrupt {
        entity,
        reason: error.to_string(),
    }
}

/// The primary key of an item, from its `(pk, sk)` pair.
fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
}

/// A string attribute.
/// The `mv` attribute every stock write sets: the ledger's note of why the
/// level changed (stock-ledger reads it from the stream with the two
/// levels).
fn movement(note: &MovementNote) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("c".to_owned(), s(note.cause.as_str())),
        ("r".to_owned(), s(note.reference.clone())),
        ("at".to_owned(), n(note.at.as_millis())),
    ]))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
