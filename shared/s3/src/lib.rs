//! The S3 adapter: objects in a private bucket (encrypted, public access
//! blocked, TLS only, expired by lifecycle rules the template sets).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use shopflow_ports::{ObjectArchive, RawPayload, StoreError};

#[derive(Clone, Debug)]
pub struct S3Bucket {
    client: Client,
    bucket: String,
}

impl S3Bucket {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// `bucket` through a client of `config`. Path-style addressing: it
    /// works for every bucket name the template makes, in AWS and locally.
    pub fn from_config(config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build();
        Self::new(Client::from_conf(s3), bucket)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Writes `body` at `key`, encrypted at rest.
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| shopflow_aws_errors::store_error("s3:PutObject", error))?;
        Ok(())
    }
}

#[async_trait]
impl shopflow_ports::DocumentShelf for S3Bucket {
    async fn shelve(&self, key: &str, pdf: Vec<u8>) -> Result<(), StoreError> {
        self.put(key, pdf, "application/pdf").await
    }
}

#[async_trait]
impl shopflow_ports::DocumentLinks for S3Bucket {
    /// A HEAD of the object: 404 is "not yet".
    async fn is_shelved(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error)
                if error.as_service_error().is_some_and(
                    aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found,
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(shopflow_aws_errors::store_error("s3:HeadObject", error)),
        }
    }

    async fn link(&self, key: &str, valid_secs: u64) -> Result<String, StoreError> {
        let expiry = aws_sdk_s3::presigning::PresigningConfig::expires_in(
            std::time::Duration::from_secs(valid_secs),
        )
        .map_err(|error| StoreError::Defect {
            what: "presigning a download".into(),
            source: Box::new(error),
        })?;
        let signed = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(expiry)
            .await
            .map_err(|error| shopflow_aws_errors::store_error("s3:GetObject (presign)", error))?;
        Ok(signed.uri().to_owned())
    }
}

#[async_trait]
impl ObjectArchive for S3Bucket {
    async fn keep_object(
        &self,
        payload: &RawPayload,
        gzipped: &[u8],
    ) -> Result<String, StoreError> {
        let key = payload.object_key();
        self.put(&key, gzipped.to_vec(), "application/gzip").await?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}
