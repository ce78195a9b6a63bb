//! Reads infra/template.yaml, the one source of truth for resources, into the
//! plain specs the local stack creates: the table, the bus, queues, rules,
//! HTTP routes, stream consumers and function environments.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template: {0}")]
    Read(#[from] std::io::Error),
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub hash: String,
    pub range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub name: String,
    pub key: KeySpec,
    /// Every attribute named in a key, with its type (`S`, `N`, `B`).
    pub attributes: BTreeMap<String, String>,
    pub indexes: BTreeMap<String, KeySpec>,
    pub ttl_attribute: Option<String>,
    pub stream_view_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    /// Dead-letter queue logical id and the receives before a message moves there.
    pub redrive: Option<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub logical_id: String,
    pub pattern: Value,
    /// Logical ids of the queues the rule delivers to.
    pub target_queues: Vec<String>,
}

/// A CloudWatch alarm: which metric it watches, with its dimensions resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSpec {
    pub logical_id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: String,
    pub path: String,
    /// The function's binary (package) name.
    pub function: String,
    pub authorized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    pub table: TableSpec,
    pub bus_name: String,
    pub queues: Vec<QueueSpec>,
    pub rules: Vec<RuleSpec>,
    pub routes: Vec<RouteSpec>,
    /// Functions triggered by the table's stream.
    pub stream_consumers: Vec<String>,
    /// Functions run on a schedule (locally: every few seconds).
    pub scheduled: Vec<String>,
    /// Functions fed by a queue: (function, queue logical id).
    pub queue_consumers: Vec<(String, String)>,
    /// Each function's environment, by binary name: Globals plus its own
    /// `Environment` section, as Lambda gives it, and nothing of another's.
    pub environments: BTreeMap<String, BTreeMap<String, String>>,
    /// Each function's deployed name (`FunctionName`), by binary name.
    pub function_names: BTreeMap<String, String>,
    /// The alarms, which the local stack leaves to AWS but a test holds to
    /// the functions and queues they must watch.
    pub alarms: Vec<AlarmSpec>,
    /// The S3 buckets' names.
    pub buckets: Vec<String>,
    /// Resources of a type the local stack neither creates nor deliberately
    /// leaves to AWS: each is a gap between the template and localhost.
    pub unsupported: Vec<(String, String)>,
}

/// Resource types the local stack creates or plays itself.
const EMULATED: &[&str] = &[
    "AWS::DynamoDB::Table",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::Serverless::Function",
    "AWS::Serverless::HttpApi",
];

/// Resource types that only matter in AWS (operations, retention, alerting).
const AWS_ONLY: &[&str] = &[
    "AWS::Events::Archive",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Alarm",
    // Moto takes mail without a configuration set's feedback; the local
    // stack's tests hand feedback to its consumer instead.
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
];

/// Converts YAML with CloudFormation short-form tags into the JSON form
/// (`!Ref X` becomes `{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}`).
fn to_json(value: serde_yaml::Value) -> Result<Value, TemplateError> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).map_err(|e| shape(e.to_string()))?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = key
                    .as_str()
                    .ok_or_else(|| shape("non-string mapping key"))?
                    .to_owned();
                out.insert(key, to_json(value)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            let inner = to_json(tagged.value)?;
            match (name, inner) {
                ("Ref", inner) => json!({ "Ref": inner }),
                ("GetAtt", Value::String(path)) => {
                    let (resource, attribute) = path
                        .split_once('.')
                        .ok_or_else(|| shape(format!("bad !GetAtt {path}")))?;
                    json!({ "Fn::GetAtt": [resource, attribute] })
                }
                (other, inner) => json!({ format!("Fn::{other}"): inner }),
            }
        }
    })
}

/// Resolves intrinsic functions against parameter values and the local
/// names of resources.
struct Resolver<'a> {
    parameters: &'a BTreeMap<String, String>,
    resources: &'a Map<String, Value>,
}

impl Resolver<'_> {
    fn string(&self, value: &Value) -> Result<String, TemplateError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Object(map) if map.contains_key("Ref") => {
                self.reference(&self.string(&map["Ref"])?)
            }
            Value::Object(map) if map.contains_key("Fn::Sub") => {
                self.substitute(&self.string(&map["Fn::Sub"])?)
            }
            Value::Object(map) if map.contains_key("Fn::GetAtt") => {
                let parts = map["Fn::GetAtt"]
                    .as_array()
                    .ok_or_else(|| shape("bad Fn::GetAtt"))?;
                let resource = parts.first().and_then(Value::as_str).unwrap_or_default();
                let attribute = parts.get(1).and_then(Value::as_str).unwrap_or_default();
                self.attribute(resource, attribute)
            }
            other => Err(shape(format!("cannot resolve {other}"))),
        }
    }

    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        match name {
            "AWS::Region" => Ok(crate::REGION.to_owned()),
            "AWS::AccountId" => Ok(crate::ACCOUNT_ID.to_owned()),
            "AWS::URLSuffix" => Ok("amazonaws.com".to_owned()),
            "AWS::Partition" => Ok("aws".to_owned()),
            _ => self.physical_name(name),
        }
    }

    /// What `Ref` gives for the resource kinds the local stack knows.
    fn physical_name(&self, logical_id: &str) -> Result<String, TemplateError> {
        let resource = self
            .resources
            .get(logical_id)
            .ok_or_else(|| shape(format!("unknown Ref {logical_id}")))?;
        let properties = &resource["Properties"];
        let name_property = match resource["Type"].as_str().unwrap_or_default() {
            "AWS::DynamoDB::Table" => "TableName",
            "AWS::Events::EventBus" => "Name",
            "AWS::S3::Bucket" => "BucketName",
            "AWS::SQS::Queue" => "QueueName",
            "AWS::Serverless::Function" => "FunctionName",
            _ => return Ok(logical_id.to_owned()),
        };
        match properties.get(name_property) {
            Some(name) => self.string(name),
            None => Ok(logical_id.to_owned()),
        }
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, TemplateError> {
        let name = self.physical_name(resource)?;
        let kind = self.resources[resource]["Type"]
            .as_str()
            .unwrap_or_default();
        Ok(match (kind, attribute) {
            ("AWS::SQS::Queue", "Arn") => {
                format!("arn:aws:sqs:{}:{}:{name}", crate::REGION, crate::ACCOUNT_ID)
            }
            ("AWS::SQS::Queue", "QueueName") => name,
            ("AWS::Events::EventBus", "Arn") => {
                format!(
                    "arn:aws:events:{}:{}:event-bus/{name}",
                    crate::REGION,
                    crate::ACCOUNT_ID
                )
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::DynamoDB::Table", "Arn") => {
                format!(
                    "arn:aws:dynamodb:{}:{}:table/{name}",
                    crate::REGION,
                    crate::ACCOUNT_ID
                )
            }
            _ => format!("{resource}.{attribute}"),
        })
    }

    fn substitute(&self, text: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| shape(format!("unclosed ${{ in {text}")))?
                + start;
            let name = &rest[start + 2..end];
            let value = match name.split_once('.') {
                Some((resource, attribute)) if !name.starts_with("AWS::") => {
                    self.attribute(resource, attribute)?
                }
                _ => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn key_spec(schema: &Value) -> Result<KeySpec, TemplateError> {
    let entries = schema
        .as_array()
        .ok_or_else(|| shape("KeySchema must be a list"))?;
    let named = |kind: &str| {
        entries
            .iter()
            .find(|entry| entry["KeyType"] == kind)
            .and_then(|entry| entry["AttributeName"].as_str())
            .map(str::to_owned)
    };
    Ok(KeySpec {
        hash: named("HASH").ok_or_else(|| shape("KeySchema needs a HASH key"))?,
        range: named("RANGE"),
    })
}

impl StackSpec {
    /// Reads the template with the given parameter values; parameters not
    /// given take their template defaults.
    pub fn load(path: &Path, overrides: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path)?)?;
        let template = to_json(yaml)?;
        let mut parameters = BTreeMap::new();
        if let Some(declared) = template["Parameters"].as_object() {
            for (name, declaration) in declared {
                let value = match (overrides.get(name), declaration.get("Default")) {
                    (Some(value), _) => value.clone(),
                    (None, Some(Value::String(s))) => s.clone(),
                    (None, Some(other)) => other.to_string(),
                    (None, None) => {
                        return Err(shape(format!(
                            "parameter {name} has no default and no local value"
                        )));
                    }
                };
                parameters.insert(name.clone(), value);
            }
        }
        let resources = template["Resources"]
            .as_object()
            .cloned()
            .ok_or_else(|| shape("no Resources"))?;
        let resolver = Resolver {
            parameters: &parameters,
            resources: &resources,
        };
        let of_type = |kind: &'static str| resources.iter().filter(move |(_, r)| r["Type"] == kind);

        let (_, table) = of_type("AWS::DynamoDB::Table")
            .next()
            .ok_or_else(|| shape("no DynamoDB table"))?;
        let table = Self::table(&resolver, &table["Properties"])?;
        let (_, bus) = of_type("AWS::Events::EventBus")
            .next()
            .ok_or_else(|| shape("no event bus"))?;
        let bus_name = resolver.string(&bus["Properties"]["Name"])?;

        let queue_ids: BTreeMap<String, String> = of_type("AWS::SQS::Queue")
            .map(|(id, _)| Ok((resolver.attribute(id, "Arn")?, id.clone())))
            .collect::<Result<_, TemplateError>>()?;
        let mut queues = Vec::new();
        for (id, queue) in of_type("AWS::SQS::Queue") {
            let properties = &queue["Properties"];
            let redrive = match properties.get("RedrivePolicy") {
                Some(policy) => {
                    let arn = resolver.string(&policy["deadLetterTargetArn"])?;
                    let dlq = queue_ids
                        .get(&arn)
                        .cloned()
                        .ok_or_else(|| shape(format!("{id}: unknown DLQ {arn}")))?;
                    let max = policy["maxReceiveCount"].as_u64().unwrap_or(5);
                    Some((dlq, u32::try_from(max).unwrap_or(5)))
                }
                None => None,
            };
            queues.push(QueueSpec {
                logical_id: id.clone(),
                name: resolver.physical_name(id)?,
                redrive,
            });
        }

        let mut rules = Vec::new();
        for (id, rule) in of_type("AWS::Events::Rule") {
            let properties = &rule["Properties"];
            let mut target_queues = Vec::new();
            for target in properties["Targets"].as_array().into_iter().flatten() {
                let arn = resolver.string(&target["Arn"])?;
                if let Some(queue) = queue_ids.get(&arn) {
                    target_queues.push(queue.clone());
                }
            }
            rules.push(RuleSpec {
                logical_id: id.clone(),
                pattern: properties["EventPattern"].clone(),
                target_queues,
            });
        }

        let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
        let mut global_environment = BTreeMap::new();
        for (name, value) in globals.as_object().into_iter().flatten() {
            global_environment.insert(name.clone(), resolver.string(value)?);
        }
        let mut environments = BTreeMap::new();
        let mut function_names = BTreeMap::new();
        let mut routes = Vec::new();
        let mut stream_consumers = Vec::new();
        let mut scheduled = Vec::new();
        let mut queue_consumers = Vec::new();
        for (id, function) in of_type("AWS::Serverless::Function") {
            let binary = function["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .ok_or_else(|| shape(format!("{id}: Metadata.BuildProperties.Binary is required")))?
                .to_owned();
            let properties = &function["Properties"];
            let mut environment = global_environment.clone();
            for (name, value) in properties["Environment"]["Variables"]
                .as_object()
                .into_iter()
                .flatten()
            {
                environment.insert(name.clone(), resolver.string(value)?);
            }
            environments.insert(binary.clone(), environment);
            function_names.insert(binary.clone(), resolver.physical_name(id)?);
            for (_, event) in properties["Events"].as_object().into_iter().flatten() {
                match event["Type"].as_str() {
                    Some("HttpApi") => routes.push(RouteSpec {
                        method: event["Properties"]["Method"]
                            .as_str()
                            .unwrap_or_default()
                            .to_uppercase(),
                        path: event["Properties"]["Path"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        function: binary.clone(),
                        authorized: event["Properties"]["Auth"]["Authorizer"] != "NONE",
                    }),
                    Some("DynamoDB") => stream_consumers.push(binary.clone()),
                    Some("Schedule") => scheduled.push(binary.clone()),
                    Some("SQS") => {
                        let arn = resolver.string(&event["Properties"]["Queue"])?;
                        let queue = queue_ids
                            .get(&arn)
                            .cloned()
                            .ok_or_else(|| shape(format!("{id}: unknown queue {arn}")))?;
                        queue_consumers.push((binary.clone(), queue));
                    }
                    _ => {}
                }
            }
        }
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        let mut alarms = Vec::new();
        for (id, alarm) in of_type("AWS::CloudWatch::Alarm") {
            let properties = &alarm["Properties"];
            let mut dimensions = BTreeMap::new();
            for dimension in properties["Dimensions"].as_array().into_iter().flatten() {
                dimensions.insert(
                    resolver.string(&dimension["Name"])?,
                    resolver.string(&dimension["Value"])?,
                );
            }
            alarms.push(AlarmSpec {
                logical_id: id.clone(),
                namespace: resolver.string(&properties["Namespace"])?,
                metric: resolver.string(&properties["MetricName"])?,
                dimensions,
            });
        }
        let buckets = of_type("AWS::S3::Bucket")
            .map(|(id, _)| resolver.physical_name(id))
            .collect::<Result<_, _>>()?;
        let unsupported = resources
            .iter()
            .map(|(id, r)| {
                (
                    id.clone(),
                    r["Type"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .filter(|(_, kind)| {
                !EMULATED.contains(&kind.as_str()) && !AWS_ONLY.contains(&kind.as_str())
            })
            .collect();
        Ok(Self {
            unsupported,
            table,
            bus_name,
            queues,
            rules,
            routes,
            stream_consumers,
            scheduled,
            queue_consumers,
            environments,
            function_names,
            alarms,
            buckets,
        })
    }

    /// The environment the template gives `function` (empty for a function
    /// it does not declare).
    pub fn environment_of(&self, function: &str) -> BTreeMap<String, String> {
        self.environments.get(function).cloned().unwrap_or_default()
    }

    fn table(resolver: &Resolver<'_>, properties: &Value) -> Result<TableSpec, TemplateError> {
        let attributes = properties["AttributeDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let name = d["AttributeName"].as_str().unwrap_or_default().to_owned();
                let kind = d["AttributeType"].as_str().unwrap_or_default().to_owned();
                (name, kind)
            })
            .collect();
        let mut indexes = BTreeMap::new();
        for index in properties["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = index["IndexName"]
                .as_str()
                .ok_or_else(|| shape("index without IndexName"))?;
            indexes.insert(name.to_owned(), key_spec(&index["KeySchema"])?);
        }
        let ttl = &properties["TimeToLiveSpecification"];
        Ok(TableSpec {
            name: resolver.string(&properties["TableName"])?,
            key: key_spec(&properties["KeySchema"])?,
            attributes,
            indexes,
            ttl_attribute: (ttl["Enabled"] == true)
                .then(|| ttl["AttributeName"].as_str().map(str::to_owned))
                .flatten(),
            stream_view_type: properties["StreamSpecification"]["StreamViewType"]
                .as_str()
                .map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> StackSpec {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        StackSpec::load(&path, &crate::local_parameters()).unwrap()
    }

    #[test]
    fn reads_the_table_with_its_index_ttl_and_stream() {
        let table = spec().table;
        assert_eq!(table.name, "shopflow-local");
        assert_eq!(
            table.key,
            KeySpec {
                hash: "pk".into(),
                range: Some("sk".into())
            }
        );
        assert!(table.indexes.contains_key("gsi1"));
        assert_eq!(table.ttl_attribute.as_deref(), Some("ttl"));
        assert_eq!(
            table.stream_view_type.as_deref(),
            Some("NEW_AND_OLD_IMAGES")
        );
    }

    #[test]
    fn every_resource_in_the_template_is_created_locally_or_knowingly_left_to_aws() {
        assert_eq!(spec().unsupported, Vec::<(String, String)>::new());
    }

    #[test]
    fn reads_every_http_route_with_its_function() {
        let routes = spec().routes;
        assert!(routes.iter().any(|r| r.method == "POST"
            && r.path == "/v1/checkout"
            && r.function == "checkout-api"));
        // Only webhooks (which authenticate by signature or token) and
        // what storefronts show anyone skip the JWT authorizer.
        let open: Vec<&str> = routes
            .iter()
            .filter(|r| !r.authorized)
            .map(|r| r.path.as_str())
            .collect();
        assert_eq!(
            open,
            [
                "/v1/products/{sku}/availability",
                "/v1/products/{sku}/waitlist",
                "/v1/waitlist/unsubscribe",
                "/v1/webhooks/couriers/{carrier}",
                "/v1/webhooks/stripe"
            ]
        );
    }

    #[test]
    fn resolves_function_environments_from_parameters_and_resources() {
        let spec = spec();
        let checkout = spec.environment_of("checkout-api");
        assert_eq!(checkout["TABLE_NAME"], "shopflow-local");
        assert_eq!(
            checkout["WAREHOUSES"],
            crate::local_parameters()["Warehouses"]
        );
        assert_eq!(
            spec.environment_of("outbox-relay")["EVENT_BUS_NAME"],
            "shopflow-local"
        );
    }

    #[test]
    fn a_function_sees_globals_and_its_own_section_and_nothing_of_another() {
        let spec = spec();
        let webhook = spec.environment_of("stripe-webhook");
        let checkout = spec.environment_of("checkout-api");
        // Globals reach every function.
        assert_eq!(webhook["STAGE"], "local");
        assert_eq!(checkout["STAGE"], "local");
        // Each section reaches only its own function.
        assert!(webhook.contains_key("STRIPE_WEBHOOK_SECRET"));
        assert!(
            !checkout.contains_key("STRIPE_WEBHOOK_SECRET"),
            "{checkout:?}"
        );
        assert!(checkout.contains_key("TAX_RATE_BPS"));
        assert!(!webhook.contains_key("TAX_RATE_BPS"), "{webhook:?}");
    }

    #[test]
    fn every_function_has_its_alarms() {
        let spec = spec();
        let watches = |namespace: &str, metric: &str, name: &str, value: &str| {
            spec.alarms.iter().any(|alarm| {
                alarm.namespace == namespace
                    && alarm.metric == metric
                    && alarm.dimensions.get(name).map(String::as_str) == Some(value)
            })
        };
        let mut missing = Vec::new();
        // Crashes and timeouts, for every function.
        for (binary, deployed) in &spec.function_names {
            if !watches("AWS/Lambda", "Errors", "FunctionName", deployed) {
                missing.push(format!("{binary}: Errors"));
            }
        }
        // Handled failures: every 5xx an HTTP function answers.
        let http: std::collections::BTreeSet<&str> =
            spec.routes.iter().map(|r| r.function.as_str()).collect();
        for binary in http {
            if !watches("shopflow", "ServerErrors", "Function", binary) {
                missing.push(format!("{binary}: ServerErrors"));
            }
        }
        // What a consumer gave up on, and what the bus could not deliver.
        for (binary, queue) in &spec.queue_consumers {
            let dead_letters = spec
                .queues
                .iter()
                .find(|q| &q.logical_id == queue)
                .and_then(|q| q.redrive.as_ref())
                .and_then(|(dlq, _)| spec.queues.iter().find(|q| &q.logical_id == dlq));
            match dead_letters {
                Some(dlq)
                    if watches(
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        &dlq.name,
                    ) => {}
                _ => missing.push(format!("{binary}: its dead-letter queue")),
            }
        }
        for queue in spec.queues.iter().filter(|q| q.name.ends_with("-dlq")) {
            if !watches(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                &queue.name,
            ) {
                missing.push(format!("{}: depth", queue.name));
            }
        }
        // Every scheduled job: stale when no run succeeded in twice its
        // period, and each is one that records its runs.
        for binary in &spec.scheduled {
            if !watches("shopflow", "JobSucceeded", "Function", binary) {
                missing.push(format!("{binary}: JobSucceeded"));
            }
            if !shopflow_ports::SCHEDULED_JOBS.contains(&binary.as_str()) {
                missing.push(format!(
                    "{binary}: not among the jobs whose runs staff read"
                ));
            }
        }
        // Scheduled jobs report what they could not do.
        if !watches(
            "shopflow",
            "SweepFailures",
            "Function",
            "reservation-sweeper",
        ) {
            missing.push("reservation-sweeper: SweepFailures".into());
        }
        assert!(missing.is_empty(), "alarms missing: {missing:#?}");
    }
}
