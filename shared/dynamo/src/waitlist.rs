//! The waitlist: one item per SKU and address (`WAIT#<sku>` / the address
//! in lower case), put only where none is and deleted when the address is
//! told (with the event that tells it) or unsubscribes; one counter item per rate
//! bucket and window (`RATE#<bucket>` / the window's start), raised only
//! while under its limit. Both expire by TTL.

use super::items::OutboxItem;
use super::{DynamoStore, corrupt, key, malformed, n, s, sdk};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};
use shopflow_domain::waitlist::{FixedWindow, WaitlistEntry};
use shopflow_domain::{Email, Sku, Timestamp};
use shopflow_ports::{Admission, OutboxEvent, StoreError, Waitlist};

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

/// A waitlist entry as read back.
#[derive(Deserialize)]
struct WaitingItem {
    sku: Sku,
    email: String,
    at: u64,
}

impl WaitingItem {
    fn into_entry(self) -> Result<WaitlistEntry, StoreError> {
        Ok(WaitlistEntry {
            sku: self.sku,
            email: Email::parse(&self.email).map_err(|error| StoreError::Corrupt {
                entity: "waitlist entry",
                reason: error.to_string(),
            })?,
            at: Timestamp::from_millis(self.at * 1_000),
        })
    }
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
        let item = WaitlistItem {
            pk,
            sk,
            kind: "waitlist_entry",
            sku: &entry.sku,
            email: entry.email.as_str(),
            at,
            ttl: at + WAITLIST_TTL_SECS,
        };
        self.put_new_carrying(&item, None, "waitlist entry").await
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

    async fn waiting(&self, sku: &Sku, limit: u16) -> Result<Vec<WaitlistEntry>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("WAIT#{sku}")))
            .consistent_read(true)
            .limit(i32::from(limit))
            .send()
            .await
            .map_err(sdk)?;
        page.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, WaitingItem>(item)
                    .map_err(corrupt("waitlist entry"))?
                    .into_entry()
            })
            .collect()
    }

    async fn tell_waitlist(
        &self,
        told: &[WaitlistEntry],
        event: &OutboxEvent,
    ) -> Result<bool, StoreError> {
        let mut writes = told
            .iter()
            .map(|entry| {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(waitlist_key(&entry.sku, &entry.email))))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .map_err(malformed)?;
                Ok(TransactWriteItem::builder().delete(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let outbox =
            serde_dynamo::to_item(OutboxItem::from_event(event)?).map_err(corrupt("outbox"))?;
        writes.push(self.conditional_put(outbox, "attribute_not_exists(pk)", None)?);
        match self.transact(writes).await? {
            None => Ok(true),
            // An entry left (unsubscribed) or another teller took it: the
            // page is read again.
            Some(reasons)
                if reasons.iter().all(|code| {
                    matches!(
                        code.as_str(),
                        "ConditionalCheckFailed" | "TransactionConflict" | "None"
                    )
                }) =>
            {
                Ok(false)
            }
            Some(reasons) => Err(shopflow_aws_errors::unexplained_cancellation(
                "waitlist announcement",
                &reasons,
            )),
        }
    }
}
