//! Creates the template's resources in the emulators, and checks that what
//! exists locally still matches the template.

use crate::template::{KeySpec, StackSpec};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::BTreeMap;

/// SDK clients pointed at the emulators.
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub ses: aws_sdk_sesv2::Client,
    /// The same endpoints as the functions' shared AWS configuration.
    pub aws: shopflow_lambda_kit::function::AwsConfig,
}

impl Clients {
    pub async fn new(dynamodb_endpoint: &str, moto_endpoint: &str) -> Self {
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(crate::REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "local",
            ))
            .load()
            .await;
        let at = |endpoint: &str| base.to_builder().endpoint_url(endpoint).build();
        let (dynamodb, moto) = (at(dynamodb_endpoint), at(moto_endpoint));
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&dynamodb),
            streams: aws_sdk_dynamodbstreams::Client::new(&dynamodb),
            sqs: aws_sdk_sqs::Client::new(&moto),
            events: aws_sdk_eventbridge::Client::new(&moto),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&moto)
                    .force_path_style(true)
                    .build(),
            ),
            ssm: aws_sdk_ssm::Client::new(&moto),
            ses: aws_sdk_sesv2::Client::new(&moto),
            aws: shopflow_lambda_kit::function::AwsConfig {
                dynamodb,
                eventbridge: moto.clone(),
                sqs: moto.clone(),
                s3: moto.clone(),
                ssm: moto.clone(),
                ses: moto,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ResourceError(pub String);

fn failed(what: &str) -> impl Fn(&dyn std::error::Error) -> ResourceError + '_ {
    move |error| ResourceError(format!("{what}: {}", DisplayErrorContext(error)))
}

fn key_schema(key: &KeySpec) -> Result<Vec<KeySchemaElement>, ResourceError> {
    let mut schema = vec![(key.hash.as_str(), KeyType::Hash)];
    if let Some(range) = &key.range {
        schema.push((range.as_str(), KeyType::Range));
    }
    schema
        .into_iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| failed("key schema")(&e))
        })
        .collect()
}

/// Creates the table, bus, queues and rules the template declares.
pub async fn create(
    clients: &Clients,
    spec: &StackSpec,
) -> Result<BTreeMap<String, String>, ResourceError> {
    create_table(clients, spec).await?;
    clients
        .events
        .create_event_bus()
        .name(&spec.bus_name)
        .send()
        .await
        .map_err(|e| failed("create bus")(&e))?;
    let queue_urls = create_queues(clients, spec).await?;
    for bucket in &spec.buckets {
        clients
            .s3
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| failed("create bucket")(&e))?;
    }
    for rule in &spec.rules {
        clients
            .events
            .put_rule()
            .name(&rule.logical_id)
            .event_bus_name(&spec.bus_name)
            .event_pattern(rule.pattern.to_string())
            .send()
            .await
            .map_err(|e| failed("put rule")(&e))?;
        for (index, queue) in rule.target_queues.iter().enumerate() {
            let arn = queue_arn(spec, queue);
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id(format!("{}-{index}", rule.logical_id))
                .arn(arn)
                .build()
                .map_err(|e| failed("rule target")(&e))?;
            clients
                .events
                .put_targets()
                .rule(&rule.logical_id)
                .event_bus_name(&spec.bus_name)
                .targets(target)
                .send()
                .await
                .map_err(|e| failed("put targets")(&e))?;
        }
    }
    Ok(queue_urls)
}

fn queue_arn(spec: &StackSpec, logical_id: &str) -> String {
    let name = spec
        .queues
        .iter()
        .find(|q| q.logical_id == logical_id)
        .map(|q| q.name.as_str())
        .unwrap_or(logical_id);
    format!("arn:aws:sqs:{}:{}:{name}", crate::REGION, crate::ACCOUNT_ID)
}

/// Creates the template's table (under `spec.table.name`), its indexes,
/// stream and TTL.
pub async fn create_table(clients: &Clients, spec: &StackSpec) -> Result<(), ResourceError> {
    let table = &spec.table;
    let attributes = table
        .attributes
        .iter()
        .map(|(name, kind)| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| failed("attribute")(&e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&table.key)?));
    for (name, key) in &table.indexes {
        let index = GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(key_schema(key)?))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| failed("index")(&e))?;
        request = request.global_secondary_indexes(index);
    }
    if let Some(view) = &table.stream_view_type {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| failed("stream")(&e))?,
        );
    }
    request
        .send()
        .await
        .map_err(|e| failed("create table")(&e))?;
    if let Some(attribute) = &table.ttl_attribute {
        clients
            .dynamodb
            .update_time_to_live()
            .table_name(&table.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| failed("ttl")(&e))?,
            )
            .send()
            .await
            .map_err(|e| failed("update ttl")(&e))?;
    }
    Ok(())
}

/// Creates dead-letter queues before the queues that redrive into them.
async fn create_queues(
    clients: &Clients,
    spec: &StackSpec,
) -> Result<BTreeMap<String, String>, ResourceError> {
    let mut urls = BTreeMap::new();
    let (plain, redriven): (Vec<_>, Vec<_>) = spec.queues.iter().partition(|q| q.redrive.is_none());
    for queue in plain.into_iter().chain(redriven) {
        let mut request = clients.sqs.create_queue().queue_name(&queue.name);
        if let Some((dlq, max_receives)) = &queue.redrive {
            let policy = serde_json::json!({
                "deadLetterTargetArn": queue_arn(spec, dlq),
                "maxReceiveCount": max_receives,
            });
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let output = request
            .send()
            .await
            .map_err(|e| failed("create queue")(&e))?;
        urls.insert(
            queue.logical_id.clone(),
            output.queue_url.unwrap_or_default(),
        );
    }
    Ok(urls)
}

/// Every difference between the template and what exists locally.
pub async fn drift(clients: &Clients, spec: &StackSpec) -> Result<Vec<String>, ResourceError> {
    let mut problems = Vec::new();
    let table = clients
        .dynamodb
        .describe_table()
        .table_name(&spec.table.name)
        .send()
        .await
        .map_err(|e| failed("describe table")(&e))?
        .table
        .ok_or_else(|| ResourceError("table missing".into()))?;
    let local_indexes: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    for index in spec.table.indexes.keys() {
        if !local_indexes.contains(index) {
            problems.push(format!("index {index} is missing"));
        }
    }
    if spec.table.stream_view_type.is_some() && table.latest_stream_arn().is_none() {
        problems.push("the table has no stream".to_owned());
    }
    let queues = clients
        .sqs
        .list_queues()
        .send()
        .await
        .map_err(|e| failed("list queues")(&e))?;
    for queue in &spec.queues {
        if !queues
            .queue_urls()
            .iter()
            .any(|url| url.ends_with(&format!("/{}", queue.name)))
        {
            problems.push(format!("queue {} is missing", queue.name));
        }
    }
    for bucket in &spec.buckets {
        if clients
            .s3
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .is_err()
        {
            problems.push(format!("bucket {bucket} is missing"));
        }
    }
    if clients
        .events
        .describe_event_bus()
        .name(&spec.bus_name)
        .send()
        .await
        .is_err()
    {
        problems.push(format!("event bus {} is missing", spec.bus_name));
    }
    let rules = clients
        .events
        .list_rules()
        .event_bus_name(&spec.bus_name)
        .send()
        .await
        .map_err(|e| failed("list rules")(&e))?;
    for rule in &spec.rules {
        if !rules
            .rules()
            .iter()
            .any(|r| r.name() == Some(rule.logical_id.as_str()))
        {
            problems.push(format!("rule {} is missing", rule.logical_id));
        }
    }
    Ok(problems)
}
