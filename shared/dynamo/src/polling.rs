//! The polling schedule (gsi1, per carrier, by when each parcel is next
//! due) and each carrier's budget item.

use super::items::{PollItem, poll_due, polling_schedule, tracking_partition};
use super::{DynamoStore, corrupt, key, n, s, sdk};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shopflow_domain::{Budget, Carrier, Timestamp};
use shopflow_ports::{KeptBudget, PollEntry, PollingSchedule, StoreError};

/// A carrier's budget between runs.
#[derive(Debug, Serialize, Deserialize)]
struct BudgetItem {
    pk: String,
    sk: String,
    #[serde(rename = "type")]
    kind: String,
    budget: Budget,
    version: u64,
}

fn budget_key(carrier: Carrier) -> (String, String) {
    (format!("BUDGET#{carrier}"), "BUDGET".to_owned())
}

fn poll_key(entry: &PollEntry) -> (String, String) {
    (
        tracking_partition(entry.carrier, &entry.tracking_number),
        PollItem::SORT.to_owned(),
    )
}

#[async_trait]
impl PollingSchedule for DynamoStore {
    async fn due_parcels(
        &self,
        carrier: Carrier,
        now: Timestamp,
        limit: u16,
    ) -> Result<Vec<PollEntry>, StoreError> {
        // Every due key sorts below the next millisecond's.
        let next = format!("{:015}", now.as_millis() + 1);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :schedule AND gsi1sk < :next")
            .expression_attribute_values(":schedule", s(polling_schedule(carrier)))
            .expression_attribute_values(":next", s(next))
            .scan_index_forward(true)
            .limit(i32::from(limit))
            .send()
            .await
            .map_err(sdk)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let poll: PollItem = serde_dynamo::from_item(item).map_err(corrupt("poll"))?;
                let due = poll
                    .gsi1sk
                    .split('#')
                    .next()
                    .and_then(|millis| millis.parse().ok())
                    .map(Timestamp::from_millis)
                    .ok_or_else(|| StoreError::Corrupt {
                        entity: "poll",
                        reason: format!("sort key {:?} holds no time", poll.gsi1sk),
                    })?;
                Ok(PollEntry {
                    carrier: poll.carrier,
                    tracking_number: poll.tn,
                    order_id: poll.order,
                    shipment_id: poll.ship,
                    due,
                })
            })
            .collect()
    }

    async fn reschedule(&self, entry: &PollEntry, due: Timestamp) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(poll_key(entry))))
            .update_expression("SET gsi1sk = :due")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":due", s(poll_due(due, &entry.tracking_number)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Its journey ended meanwhile: nothing to schedule.
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(sdk(error)),
        }
    }

    async fn unschedule(&self, entry: &PollEntry) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(poll_key(entry))))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn parcels_in_flight(&self, carrier: Carrier) -> Result<u64, StoreError> {
        self.count_index("gsi1", "gsi1pk", &polling_schedule(carrier))
            .await
    }

    async fn budget(&self, carrier: Carrier) -> Result<KeptBudget, StoreError> {
        let item: Option<BudgetItem> = self.get_consistent(budget_key(carrier), "budget").await?;
        Ok(match item {
            Some(item) => KeptBudget {
                budget: Some(item.budget),
                version: item.version,
            },
            None => KeptBudget {
                budget: None,
                version: 0,
            },
        })
    }

    async fn save_budget(
        &self,
        carrier: Carrier,
        read: &KeptBudget,
        budget: &Budget,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let (pk, sk) = budget_key(carrier);
        let item = BudgetItem {
            pk,
            sk,
            kind: "poll_budget".into(),
            budget: *budget,
            version: read.version + 1,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(
                serde_dynamo::to_item(item).map_err(corrupt("budget"))?,
            ))
            .condition_expression("attribute_not_exists(pk) OR version = :read")
            .expression_attribute_values(":read", n(read.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk(error)),
        }
    }
}
