//! The EventBridge adapter of the `EventBus` port.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use shopflow_ports::{BusEntry, EventBus, StoreError};

#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// The bus `bus_name` through a client of `config`.
    pub fn from_config(config: &aws_config::SdkConfig, bus_name: impl Into<String>) -> Self {
        Self::new(Client::new(config), bus_name)
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, entries: &[BusEntry]) -> Result<Vec<usize>, StoreError> {
        let request = entries.iter().map(|entry| {
            PutEventsRequestEntry::builder()
                .event_bus_name(&self.bus_name)
                .source(&entry.source)
                .detail_type(&entry.detail_type)
                .detail(&entry.detail)
                .build()
        });
        let output = self
            .client
            .put_events()
            .set_entries(Some(request.collect()))
            .send()
            .await
            .map_err(|error| shopflow_aws_errors::store_error("EventBridge", error))?;
        // PutEvents answers entry by entry, in request order; failed ones carry an error code.
        Ok(output
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, result)| result.error_code().is_some())
            .map(|(index, _)| index)
            .collect())
    }
}
