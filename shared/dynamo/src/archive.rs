//! Small raw payloads: gzip bytes in a binary attribute of an item that
//! expires with them.

use super::items::raw_payload_key;
use super::{DynamoStore, key, n, s};
use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use shopflow_ports::{InlineArchive, RawPayload, StoreError};

#[async_trait]
impl InlineArchive for DynamoStore {
    async fn keep_inline(
        &self,
        payload: &RawPayload,
        gzipped: &[u8],
    ) -> Result<String, StoreError> {
        let at = raw_payload_key(payload.id);
        let mut item = key(at.clone());
        item.insert("type".into(), s("raw_payload"));
        item.insert("src".into(), s(&payload.source));
        item.insert("at".into(), n(payload.received_at.as_millis()));
        item.insert("gz".into(), AttributeValue::B(Blob::new(gzipped)));
        item.insert("ttl".into(), n(payload.expires_at().as_secs()));
        self.put_item(item).await?;
        Ok(format!("dynamodb:{}", at.0))
    }
}
