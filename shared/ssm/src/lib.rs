//! The SSM Parameter Store adapter: SecureString secrets, decrypted, read
//! once per container and kept for its life.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use shopflow_ports::{Secrets, StoreError};
use std::collections::HashMap;
use tokio::sync::Mutex;

#[derive(Debug)]
pub struct SsmSecrets {
    client: Client,
    read: Mutex<HashMap<String, String>>,
}

impl SsmSecrets {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            read: Mutex::default(),
        }
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }
}

#[async_trait]
impl Secrets for SsmSecrets {
    async fn secret(&self, name: &str) -> Result<String, StoreError> {
        // Held across the read, so a cold container asks SSM once.
        let mut read = self.read.lock().await;
        if let Some(value) = read.get(name) {
            return Ok(value.clone());
        }
        let output = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| shopflow_aws_errors::store_error("ssm:GetParameter", error))?;
        let value = output
            .parameter
            .and_then(|parameter| parameter.value)
            .ok_or_else(|| StoreError::Corrupt {
                entity: "secret",
                reason: format!("parameter {name} has no value"),
            })?;
        tracing::info!(parameter = name, "secret read from SSM");
        read.insert(name.to_owned(), value.clone());
        Ok(value)
    }
}
