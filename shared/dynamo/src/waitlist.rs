//! The waitlist: one item per SKU and address (`WAIT#<sku>` / the address
//! in lower case), put only where none is, and one counter item per rate
//! bucket and window (`RATE#<bucket>` / the window's start), raised only
//! while under its limit. Both expire by TTL.

use super::{DynamoStore, Item, corrupt, key, n, s, sdk};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use serde::Serialize;
use shopflow_domain::waitlist::{FixedWindow, WaitlistEntry};
use shopflow_domain::{Email, Sku, Timestamp};
use shopflow_ports::{Admission, StoreError, Waitlist};

/// How long an address waits before its signup lapses: 180 days.
const WAITLIST_TTL_SECS: u64 = 180 * 86_400;

#[derive(Serialize)]
struct WaitlistItem<'a> {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: &'static str,
    sku: &'a Sku,
    email: &'a str,
    at: u64,
    ttl: u64,
}

fn waitlist_key(sku: &Sku, email: &Email) -> (String, String) {
    (format!("WAIT#{sku}"), WaitlistEntry::address_key(email))
}

#[async_trait]
impl Waitlist for DynamoStore {
    async fn admit(
        &self,
        bucket: &str,
        window: FixedWindow,
        now: Timestamp,
    ) -> Result<Admission, StoreError> {
        let start = window.start(now);
        let raised = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key((format!("RATE#{bucket}"), start.to_string()))))
            .update_expression("SET #type = :rate, #ttl = :ttl ADD hits :one")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":rate", s("rate_window"))
            .expression_attribute_values(":ttl", n(start + window.secs + 3_600))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(window.limit))
            .send()
            .await;
        match raised {
            Ok(_) => Ok(Admission::Admitted),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Ok(Admission::Refused {
                        retry_after_secs: window.retry_after(now),
                    })
                }
                _ => Err(sdk(error)),
            },
        }
    }

    async fn join_waitlist(&self, entry: &WaitlistEntry) -> Result<bool, StoreError> {
        let (pk, sk) = waitlist_key(&entry.sku, &entry.email);
        let at = entry.at.as_millis() / 1_000;
        let item: Item = serde_dynamo::to_item(WaitlistItem {
            pk,
            sk,
            kind: "waitlist_entry",
            sku: &entry.sku,
            email: entry.email.as_str(),
            at,
            ttl: at + WAITLIST_TTL_SECS,
        })
        .map_err(corrupt("waitlist entry"))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(sdk(error)),
            },
        }
    }

    async fn leave_waitlist(&self, sku: &Sku, email: &Email) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(waitlist_key(sku, email))))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(sdk(error)),
            },
        }
    }
}
