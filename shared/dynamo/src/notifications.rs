//! A customer's notification preferences: one item per customer
//! (`PREFS#<sub>` / `NOTIFY`), put whole when they change it. Every
//! notification: one item, put once per key and then moved on its
//! version. Suppressed addresses: one item each (`SUPPRESS#<address>`).

use super::listing::{PartitionRead, Read, merged, read_partition};
use super::{DynamoStore, Item, corrupt, n, s, sdk};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use serde::{Deserialize, Serialize};
use shopflow_domain::notification::{
    MarketingChoices, Notification, NotificationKey, NotificationPreferences, NotificationStatus,
    Suppression, SuppressionReason, Template,
};
use shopflow_domain::{CustomerId, OrderId, Timestamp};
use shopflow_ports::{
    NotificationQuery, NotificationStore, Opened, Page, PreferenceStore, StoreError,
};

fn preferences_key(customer: &CustomerId) -> (String, String) {
    (format!("PREFS#{customer}"), "NOTIFY".to_owned())
}

#[derive(Debug, Serialize, Deserialize)]
struct PreferencesItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    /// The marketing-like mail the customer accepts.
    mkt: MarketingChoices,
    at: Option<Timestamp>,
}

#[async_trait]
impl PreferenceStore for DynamoStore {
    async fn notification_preferences(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        let item: Option<PreferencesItem> = self
            .get_consistent(preferences_key(customer), "notification preferences")
            .await?;
        Ok(item.map(|item| NotificationPreferences {
            marketing: item.mkt,
            updated_at: item.at,
        }))
    }

    async fn save_notification_preferences(
        &self,
        customer: &CustomerId,
        preferences: &NotificationPreferences,
    ) -> Result<(), StoreError> {
        let (pk, sk) = preferences_key(customer);
        let item = PreferencesItem {
            pk,
            sk,
            kind: "notification_preferences".into(),
            mkt: preferences.marketing,
            at: preferences.updated_at,
        };
        self.put_record(&item, "notification preferences").await
    }
}

/// Where a notification is kept: with its order when it is about one (its
/// timeline reads them; `MAIL#` sorts before `META`, so reads of the order
/// with its payment records never read them), else on its own.
fn notification_key(key: &NotificationKey, order: Option<OrderId>) -> (String, String) {
    let NotificationKey {
        event_id,
        template,
        to,
    } = key;
    match order {
        Some(order) => (
            format!("ORDER#{order}"),
            format!("MAIL#{event_id}#{template}#{to}"),
        ),
        None => (format!("MAIL#{event_id}"), format!("MAIL#{template}#{to}")),
    }
}

fn suppression_key(address: &str) -> (String, String) {
    (
        format!("SUPPRESS#{}", address.to_lowercase()),
        "SUPPRESS".to_owned(),
    )
}

/// Index partitions every notification is spread over for staff's list.
const NOTIFICATION_SHARDS: u8 = 4;
/// A notification's record is kept a year.
const NOTIFICATION_TTL_SECS: u64 = 365 * 86_400;

/// The index shard of a notification: the event id's bytes, summed.
fn notification_shard(key: &NotificationKey) -> u8 {
    let sum: u32 = key.event_id.bytes().map(u32::from).sum();
    u8::try_from(sum % u32::from(NOTIFICATION_SHARDS)).unwrap_or(0)
}

#[derive(Debug, Serialize, Deserialize)]
struct NotificationItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    ev: String,
    tpl: Template,
    to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order: Option<OrderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cust: Option<CustomerId>,
    st: NotificationStatus,
    /// Made and last moved, epoch milliseconds.
    at: u64,
    up: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held: Option<u64>,
    tries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    version: u64,
    /// A customer's notifications (gsi1) and everyone's (gsi2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    gsi2pk: String,
    gsi2sk: String,
    ttl: u64,
}

impl NotificationItem {
    fn new(notification: &Notification) -> Self {
        let (pk, sk) = notification_key(&notification.key, notification.order_id);
        let sort = notification.listing_key();
        Self {
            pk,
            sk,
            kind: "notification".into(),
            ev: notification.key.event_id.clone(),
            tpl: notification.key.template,
            to: notification.key.to.clone(),
            order: notification.order_id,
            cust: notification.customer_id.clone(),
            st: notification.status,
            at: notification.created_at.as_millis(),
            up: notification.updated_at.as_millis(),
            held: notification.held_until.map(Timestamp::as_millis),
            tries: notification.attempts,
            msg: notification.message_id.clone(),
            why: notification.detail.clone(),
            version: notification.version,
            gsi1pk: notification
                .customer_id
                .as_ref()
                .map(|customer| format!("CUST#{customer}")),
            gsi1sk: notification
                .customer_id
                .as_ref()
                .map(|_| format!("MAIL#{sort}")),
            gsi2pk: format!("MAILS#{}", notification_shard(&notification.key)),
            gsi2sk: sort,
            ttl: notification.created_at.as_secs() + NOTIFICATION_TTL_SECS,
        }
    }

    fn into_notification(self) -> Notification {
        Notification {
            key: NotificationKey {
                event_id: self.ev,
                template: self.tpl,
                to: self.to,
            },
            order_id: self.order,
            customer_id: self.cust,
            status: self.st,
            created_at: Timestamp::from_millis(self.at),
            updated_at: Timestamp::from_millis(self.up),
            held_until: self.held.map(Timestamp::from_millis),
            attempts: self.tries,
            message_id: self.msg,
            detail: self.why,
            version: self.version,
        }
    }
}

/// A notification's item, read back.
fn read_notification(item: Item) -> Result<Notification, StoreError> {
    Ok(serde_dynamo::from_item::<_, NotificationItem>(item)
        .map_err(corrupt("notification"))?
        .into_notification())
}

#[derive(Debug, Serialize, Deserialize)]
struct SuppressionItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    address: String,
    reason: SuppressionReason,
    at: u64,
    ev: String,
    tpl: Template,
}

#[async_trait]
impl NotificationStore for DynamoStore {
    async fn open_notification(&self, notification: &Notification) -> Result<Opened, StoreError> {
        let item = serde_dynamo::to_item(NotificationItem::new(notification))
            .map_err(corrupt("notification"))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Opened::New),
            Err(error) => {
                let Some(PutItemError::ConditionalCheckFailedException(refused)) =
                    error.as_service_error()
                else {
                    return Err(sdk(error));
                };
                let recorded = match refused.item.clone() {
                    Some(item) => Some(read_notification(item)?),
                    None => {
                        self.notification(&notification.key, notification.order_id)
                            .await?
                    }
                };
                recorded
                    .map(|found| Opened::Existing(Box::new(found)))
                    .ok_or(StoreError::Corrupt {
                        entity: "notification",
                        reason: "refused as recorded, then not found".into(),
                    })
            }
        }
    }

    async fn save_notification(&self, notification: &Notification) -> Result<bool, StoreError> {
        let item = serde_dynamo::to_item(NotificationItem::new(notification))
            .map_err(corrupt("notification"))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(notification.version.saturating_sub(1)))
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

    async fn notification(
        &self,
        key: &NotificationKey,
        order: Option<OrderId>,
    ) -> Result<Option<Notification>, StoreError> {
        let item: Option<NotificationItem> = self
            .get_consistent(notification_key(key, order), "notification")
            .await?;
        Ok(item.map(NotificationItem::into_notification))
    }

    async fn order_notifications(&self, order: OrderId) -> Result<Vec<Notification>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :order AND begins_with(sk, :mail)")
            .expression_attribute_values(":order", s(format!("ORDER#{order}")))
            .expression_attribute_values(":mail", s("MAIL#"))
            .consistent_read(true);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk)?;
            for item in page.items.unwrap_or_default() {
                found.push(read_notification(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        found.sort_by_key(|notification| notification.created_at);
        Ok(found)
    }

    async fn suppression(&self, address: &str) -> Result<Option<Suppression>, StoreError> {
        let item: Option<SuppressionItem> = self
            .get_consistent(suppression_key(address), "suppression")
            .await?;
        Ok(item.map(|item| Suppression {
            notification: NotificationKey {
                event_id: item.ev,
                template: item.tpl,
                to: item.address.clone(),
            },
            address: item.address,
            reason: item.reason,
            at: Timestamp::from_millis(item.at),
        }))
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        let (pk, sk) = suppression_key(&suppression.address);
        let item = SuppressionItem {
            pk,
            sk,
            kind: "suppression".into(),
            address: suppression.address.to_lowercase(),
            reason: suppression.reason,
            at: suppression.at.as_millis(),
            ev: suppression.notification.event_id.clone(),
            tpl: suppression.notification.template,
        };
        // On the list already: the first reason stays.
        self.put_new_carrying(&item, None, "suppression")
            .await
            .map(|_| ())
    }

    async fn link_address(&self, address: &str, customer: &CustomerId) -> Result<(), StoreError> {
        let item = AddressItem {
            pk: address_partition(address),
            sk: format!("CUST#{customer}"),
            kind: "address_link".into(),
            cust: customer.clone(),
        };
        self.put_record(&item, "address link").await
    }

    async fn address_customers(&self, address: &str) -> Result<Vec<CustomerId>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :address")
            .expression_attribute_values(":address", s(address_partition(address)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        page.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, AddressItem>(item)
                    .map(|link| link.cust)
                    .map_err(corrupt("address link"))
            })
            .collect()
    }

    async fn find_notifications(
        &self,
        query: &NotificationQuery,
        below: Option<&str>,
        limit: u16,
    ) -> Result<Page<Notification, String>, StoreError> {
        if let Some(order) = query.order {
            let mut found: Vec<Notification> = self
                .order_notifications(order)
                .await?
                .into_iter()
                .filter(|n| query.admits(n))
                .filter(|n| below.is_none_or(|below| n.listing_key().as_str() < below))
                .collect();
            found.sort_by_key(|n| std::cmp::Reverse(n.listing_key()));
            return Ok(Page::first(
                found,
                usize::from(limit),
                Notification::listing_key,
            ));
        }
        let listings: Vec<NotificationListing> = match &query.customer {
            Some(customer) => vec![NotificationListing {
                index: "gsi1",
                partition: format!("CUST#{customer}"),
                prefix: "MAIL#",
            }],
            None => (0..NOTIFICATION_SHARDS)
                .map(|shard| NotificationListing {
                    index: "gsi2",
                    partition: format!("MAILS#{shard}"),
                    prefix: "",
                })
                .collect(),
        };
        let reads = futures::future::try_join_all(
            listings
                .iter()
                .map(|listing| self.read_notifications(listing, query, below, limit)),
        )
        .await?;
        Ok(merged(reads, usize::from(limit), Notification::listing_key))
    }
}

impl DynamoStore {
    /// One index partition's notifications below `below`, newest first,
    /// read until `limit` are admitted or the listing's page budget is
    /// spent: with where reading stopped when more remain.
    async fn read_notifications(
        &self,
        listing: &NotificationListing,
        query: &NotificationQuery,
        below: Option<&str>,
        limit: u16,
    ) -> Result<PartitionRead<Notification, String>, StoreError> {
        let index = listing.index;
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_values(":partition", s(listing.partition.clone()))
            .scan_index_forward(false)
            .limit(i32::from(limit) + 1);
        request = match below {
            Some(below) if listing.prefix.is_empty() => request
                .key_condition_expression(format!("{index}pk = :partition AND {index}sk < :below"))
                .expression_attribute_values(":below", s(below)),
            // BETWEEN is inclusive: the cursor's own item is skipped below.
            Some(below) => request
                .key_condition_expression(format!(
                    "{index}pk = :partition AND {index}sk BETWEEN :lowest AND :highest"
                ))
                .expression_attribute_values(":lowest", s(listing.prefix))
                .expression_attribute_values(":highest", s(format!("{}{below}", listing.prefix))),
            None if listing.prefix.is_empty() => {
                request.key_condition_expression(format!("{index}pk = :partition"))
            }
            None => request
                .key_condition_expression(format!(
                    "{index}pk = :partition AND begins_with({index}sk, :prefix)"
                ))
                .expression_attribute_values(":prefix", s(listing.prefix)),
        };
        read_partition(request, limit, |item| {
            let notification = read_notification(item)?;
            let key = notification.listing_key();
            // The cursor's own item, which BETWEEN includes.
            if below.is_some_and(|below| key.as_str() >= below) {
                return Ok(Read::Skipped);
            }
            Ok(Read::Read {
                key,
                admitted: query.admits(&notification),
                record: notification,
            })
        })
        .await
    }
}

/// An index partition a listing reads.
struct NotificationListing {
    index: &'static str,
    partition: String,
    /// What every notification's sort key starts with there.
    prefix: &'static str,
}

/// The customers who ordered with an address: one item each.
fn address_partition(address: &str) -> String {
    format!("ADDRESS#{}", address.to_lowercase())
}

#[derive(Debug, Serialize, Deserialize)]
struct AddressItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    cust: CustomerId,
}
