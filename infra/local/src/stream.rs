//! Plays Lambda's DynamoDB event source mapping: reads the table's stream
//! shard by shard and invokes the stream consumer with batches in the Lambda
//! event shape. A batch item failure re-reads from the failed record on, as
//! Lambda does with `ReportBatchItemFailures`.

use crate::resources::Clients;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type StreamFuture = Pin<Box<dyn Future<Output = Result<DynamoDbEventResponse, String>> + Send>>;
pub type StreamHandler = Arc<dyn Fn(Event) -> StreamFuture + Send + Sync>;

const BATCH_SIZE: i32 = 100;
const POLL_INTERVAL: Duration = Duration::from_millis(100);

fn image(map: &HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>) -> Value {
    serde_json::to_value(serde_dynamo::Item::from(map.clone())).unwrap_or(Value::Null)
}

/// The Lambda event record for a stream record.
fn lambda_record(record: &Record, stream_arn: &str) -> Value {
    let change = record.dynamodb();
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change.and_then(|c| c.approximate_creation_date_time()).map(|t| t.secs()).unwrap_or_default(),
        "SequenceNumber": change.and_then(|c| c.sequence_number()),
        "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or_default(),
        "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|v| v.as_str()),
    });
    if let Some(change) = change {
        for (name, map) in [
            ("Keys", change.keys()),
            ("NewImage", change.new_image()),
            ("OldImage", change.old_image()),
        ] {
            if let Some(map) = map {
                dynamodb[name] = image(map);
            }
        }
    }
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": crate::REGION,
        "eventSourceARN": stream_arn,
        "dynamodb": dynamodb,
    })
}

struct ShardReader {
    iterator: Option<String>,
}

/// Runs until the task is dropped.
pub async fn pump(clients: Clients, table: String, handler: StreamHandler) {
    let mut readers: HashMap<String, ShardReader> = HashMap::new();
    let mut finished: HashSet<String> = HashSet::new();
    loop {
        if let Err(error) = pump_once(&clients, &table, &handler, &mut readers, &mut finished).await
        {
            tracing::warn!(%error, "stream poll failed");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn pump_once(
    clients: &Clients,
    table: &str,
    handler: &StreamHandler,
    readers: &mut HashMap<String, ShardReader>,
    finished: &mut HashSet<String>,
) -> Result<(), String> {
    let described = clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let Some(stream_arn) = described.table.and_then(|t| t.latest_stream_arn) else {
        return Ok(());
    };
    let stream = clients
        .streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    for shard in stream
        .stream_description
        .map(|d| d.shards.unwrap_or_default())
        .unwrap_or_default()
    {
        let Some(id) = shard.shard_id else { continue };
        // A child shard starts once its parent is drained, as Lambda orders them.
        let parent_pending = shard
            .parent_shard_id
            .as_ref()
            .is_some_and(|p| readers.contains_key(p) && !finished.contains(p));
        if finished.contains(&id) || readers.contains_key(&id) || parent_pending {
            continue;
        }
        let iterator = shard_iterator(
            clients,
            &stream_arn,
            &id,
            ShardIteratorType::TrimHorizon,
            None,
        )
        .await?;
        readers.insert(
            id,
            ShardReader {
                iterator: Some(iterator),
            },
        );
    }
    for (shard_id, reader) in readers.iter_mut() {
        let Some(iterator) = reader.iterator.clone() else {
            continue;
        };
        let output = clients
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(BATCH_SIZE)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let records = output.records.unwrap_or_default();
        let next = output.next_shard_iterator;
        if records.is_empty() {
            reader.iterator = next;
            if reader.iterator.is_none() {
                finished.insert(shard_id.clone());
            }
            continue;
        }
        let event_json = json!({ "Records": records.iter().map(|r| lambda_record(r, &stream_arn)).collect::<Vec<_>>() });
        let event: Event =
            serde_json::from_value(event_json).map_err(|e| format!("stream event: {e}"))?;
        let failed_from = match handler(event).await {
            Ok(response) => {
                let failed: HashSet<String> = response
                    .batch_item_failures
                    .into_iter()
                    .filter_map(|f| f.item_identifier)
                    .collect();
                // Lambda resumes from the earliest failed record in the batch.
                records
                    .iter()
                    .filter_map(|r| r.dynamodb().and_then(|c| c.sequence_number()))
                    .find(|sequence| failed.contains(*sequence))
                    .map(str::to_owned)
            }
            Err(error) => {
                tracing::warn!(%error, "stream consumer failed; retrying the batch");
                records
                    .first()
                    .and_then(|r| r.dynamodb())
                    .and_then(|c| c.sequence_number())
                    .map(str::to_owned)
            }
        };
        reader.iterator = match failed_from {
            Some(sequence) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                Some(
                    shard_iterator(
                        clients,
                        &stream_arn,
                        shard_id,
                        ShardIteratorType::AtSequenceNumber,
                        Some(sequence),
                    )
                    .await?,
                )
            }
            None => next,
        };
        if reader.iterator.is_none() {
            finished.insert(shard_id.clone());
        }
    }
    Ok(())
}

async fn shard_iterator(
    clients: &Clients,
    stream_arn: &str,
    shard_id: &str,
    kind: ShardIteratorType,
    sequence: Option<String>,
) -> Result<String, String> {
    clients
        .streams
        .get_shard_iterator()
        .stream_arn(stream_arn)
        .shard_id(shard_id)
        .shard_iterator_type(kind)
        .set_sequence_number(sequence)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .shard_iterator
        .ok_or_else(|| "no shard iterator".to_owned())
}
