//! Secrets a function needs to talk to others (carriers' credentials),
//! read from their store once per container and cached.

use crate::StoreError;
use async_trait::async_trait;

#[async_trait]
pub trait Secrets: Send + Sync {
    /// The secret called `name`. A secret that does not exist is a defect
    /// (the deployment is missing it), not "unavailable".
    async fn secret(&self, name: &str) -> Result<String, StoreError>;
}
