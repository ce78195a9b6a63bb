//! Dead-letter queues in memory for the ops API tests: what waits in each,
//! every call the API makes to them, an outage on cue, and requests shaped
//! as API Gateway sends them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use async_trait::async_trait;
use ops_api::App;
use serde_json::Value;
use shopflow_lambda_kit::apigw::HttpEvent;
use shopflow_ports::{DeadLetter, DeadLetterRoute, DeadLetters, StoreError};
use shopflow_testkit::{Claims, PAYMENTS, Reply, call, eventbridge_body, json_request, request};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[allow(unused_imports)]
pub use shopflow_testkit::{admin, anonymous, customer};

pub const LIST: &str = "/v1/admin/dead-letters";
pub const REDRIVE: &str = "/v1/admin/dead-letters/redrive";

/// The consumers with dead-letter queues in these tests.
pub const ORDER_STATUS: &str = "order-status";
pub const ORDER_STATUS_DLQ: &str = "shopflow-test-order-status-dlq";
pub const STOCK_ALERTS: &str = "stock-alerts";
pub const STOCK_ALERTS_DLQ: &str = "shopflow-test-stock-alerts-dlq";

pub fn routes() -> Vec<DeadLetterRoute> {
    vec![
        DeadLetterRoute {
            consumer: ORDER_STATUS.into(),
            queue: "shopflow-test-order-status".into(),
            dead_letter_queue: ORDER_STATUS_DLQ.into(),
        },
        DeadLetterRoute {
            consumer: STOCK_ALERTS.into(),
            queue: "shopflow-test-stock-alerts".into(),
            dead_letter_queue: STOCK_ALERTS_DLQ.into(),
        },
    ]
}

/// A call the API made to the dead-letter queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueCall {
    Peek {
        dead_letter_queue: String,
        max: usize,
    },
    Redrive {
        dead_letter_queue: String,
        queue: String,
        max: usize,
    },
}

/// Dead-letter queues in memory. Clones share their contents, so a test
/// keeps one while the API owns another.
#[derive(Clone, Default)]
pub struct FakeDeadLetters {
    state: Arc<Mutex<QueuesState>>,
}

#[derive(Default)]
struct QueuesState {
    /// Messages waiting, by dead-letter queue, oldest first.
    waiting: BTreeMap<String, Vec<DeadLetter>>,
    calls: Vec<QueueCall>,
    down: bool,
}

impl FakeDeadLetters {
    pub fn new() -> Self {
        Self::default()
    }

    /// `letters` wait in `dead_letter_queue`, after any already there.
    pub fn holding(self, dead_letter_queue: &str, letters: Vec<DeadLetter>) -> Self {
        self.state()
            .waiting
            .entry(dead_letter_queue.into())
            .or_default()
            .extend(letters);
        self
    }

    /// SQS is down: every call fails.
    pub fn down(self) -> Self {
        self.state().down = true;
        self
    }

    pub fn calls(&self) -> Vec<QueueCall> {
        self.state().calls.clone()
    }

    /// How many messages still wait in `dead_letter_queue`.
    pub fn waiting(&self, dead_letter_queue: &str) -> usize {
        self.state()
            .waiting
            .get(dead_letter_queue)
            .map_or(0, Vec::len)
    }

    fn state(&self) -> MutexGuard<'_, QueuesState> {
        self.state.lock().unwrap()
    }
}

#[async_trait]
impl DeadLetters for FakeDeadLetters {
    async fn peek(
        &self,
        route: &DeadLetterRoute,
        max: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let mut state = self.state();
        state.calls.push(QueueCall::Peek {
            dead_letter_queue: route.dead_letter_queue.clone(),
            max,
        });
        if state.down {
            return Err(StoreError::Unavailable("SQS is down".into()));
        }
        Ok(state
            .waiting
            .get(&route.dead_letter_queue)
            .map(|letters| letters.iter().take(max).cloned().collect())
            .unwrap_or_default())
    }

    async fn redrive(&self, route: &DeadLetterRoute, max: usize) -> Result<usize, StoreError> {
        let mut state = self.state();
        state.calls.push(QueueCall::Redrive {
            dead_letter_queue: route.dead_letter_queue.clone(),
            queue: route.queue.clone(),
            max,
        });
        if state.down {
            return Err(StoreError::Unavailable("SQS is down".into()));
        }
        let letters = state
            .waiting
            .entry(route.dead_letter_queue.clone())
            .or_default();
        let moved = max.min(letters.len());
        letters.drain(..moved);
        Ok(moved)
    }
}

/// The ops API over fake dead-letter queues, routed as [`routes`] says.
pub struct Ops {
    app: App<FakeDeadLetters, shopflow_testkit::SharedStore>,
    pub queues: FakeDeadLetters,
    /// Where the scheduled jobs' runs are kept.
    pub store: shopflow_testkit::SharedStore,
}

impl Ops {
    pub fn new(queues: FakeDeadLetters) -> Self {
        let store = shopflow_testkit::SharedStore::default();
        Self {
            app: App::new(queues.clone(), routes(), store.clone()),
            queues,
            store,
        }
    }

    pub async fn send(&self, event: HttpEvent) -> Reply {
        call(|request| self.app.handle(request), event).await
    }

    /// `GET /v1/admin/dead-letters?{query}` as `claims`.
    pub async fn list(&self, query: &str, claims: Claims) -> Reply {
        self.send(HttpEvent {
            raw_query: query.into(),
            ..request("GET", LIST, &[], claims)
        })
        .await
    }

    /// `POST /v1/admin/dead-letters/redrive` with `body` as `claims`.
    pub async fn redrive(&self, body: &str, claims: Claims) -> Reply {
        self.send(json_request(
            "POST",
            REDRIVE,
            &[],
            Some(body.into()),
            claims,
        ))
        .await
    }
}

/// A message that failed its consumer five times.
pub fn dead_letter(message_id: &str, body: &str) -> DeadLetter {
    DeadLetter {
        message_id: message_id.into(),
        body: body.into(),
        receive_count: 5,
        sent_at_millis: shopflow_testkit::OPENING_DAY.as_millis(),
    }
}

/// A payment event that failed its consumer, as the queue's EventBridge
/// rule delivered it.
pub fn payment_letter(message_id: &str, detail_type: &str, event_id: &str) -> DeadLetter {
    let body = eventbridge_body(
        PAYMENTS,
        detail_type,
        event_id,
        serde_json::json!({ "order_id": "01JD0000000000000000000000" }),
    );
    dead_letter(message_id, &body)
}

/// `count` payment letters, `m-1`…
pub fn payment_letters(count: usize) -> Vec<DeadLetter> {
    (1..=count)
        .map(|n| payment_letter(&format!("m-{n}"), "payment.captured", &format!("e-{n}")))
        .collect()
}

/// The listed queue named `consumer` in a list reply.
pub fn listed_queue(reply: &Reply, consumer: &str) -> Value {
    let body = reply.json();
    body["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|queue| queue["queue"] == consumer)
        .cloned()
        .unwrap_or_else(|| panic!("{consumer} not listed: {}", reply.body))
}
