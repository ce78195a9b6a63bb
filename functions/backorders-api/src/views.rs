//! How backorders look on the wire; instants are RFC 3339 UTC.

use serde::Serialize;
use shopflow_domain::{Backorder, Standing};
use shopflow_ports::{AllocationRecord, PriorityChange};

#[derive(Debug, Serialize)]
pub struct BackorderView<'a> {
    pub id: String,
    pub order_id: String,
    pub customer_id: &'a str,
    pub sku: &'a str,
    pub warehouse: &'a str,
    /// Units backordered.
    pub quantity: u32,
    /// Units allocated so far.
    pub allocated: u32,
    /// Units still waiting (0 once fulfilled or cancelled).
    pub waiting: u32,
    /// pending, partial, fulfilled or cancelled.
    pub status: &'static str,
    pub priority: u8,
    pub created_at: String,
    pub estimated_restock_date: Option<String>,
}

impl<'a> From<&'a Backorder> for BackorderView<'a> {
    fn from(backorder: &'a Backorder) -> Self {
        Self {
            id: backorder.id.to_string(),
            order_id: backorder.order_id.to_string(),
            customer_id: backorder.customer_id.as_str(),
            sku: backorder.sku.as_str(),
            warehouse: backorder.warehouse.as_str(),
            quantity: backorder.quantity,
            allocated: backorder.allocated,
            waiting: backorder.open(),
            status: backorder.status.as_str(),
            priority: backorder.priority,
            created_at: backorder.created_at.to_rfc3339(),
            estimated_restock_date: backorder
                .status
                .is_open()
                .then(|| backorder.estimated_restock.to_rfc3339()),
        }
    }
}

/// One backorder with its allocations and its place in the queue.
#[derive(Debug, Serialize)]
pub struct DetailView<'a> {
    #[serde(flatten)]
    pub backorder: BackorderView<'a>,
    /// 1 for the head of the queue; null once it no longer waits.
    pub queue_position: Option<u32>,
    /// Units the backorders before it still wait for; null once it no
    /// longer waits.
    pub units_ahead: Option<u32>,
    pub allocations: Vec<AllocationView<'a>>,
    /// Staff's changes of its priority, oldest first.
    pub priority_changes: Vec<PriorityChangeView<'a>>,
}

#[derive(Debug, Serialize)]
pub struct PriorityChangeView<'a> {
    pub from: u8,
    pub to: u8,
    pub at: String,
    pub by: &'a str,
    pub reason: &'a str,
}

impl<'a> From<&'a PriorityChange> for PriorityChangeView<'a> {
    fn from(change: &'a PriorityChange) -> Self {
        Self {
            from: change.from,
            to: change.to,
            at: change.at.to_rfc3339(),
            by: &change.by,
            reason: &change.reason,
        }
    }
}

impl<'a> DetailView<'a> {
    pub fn new(
        backorder: &'a Backorder,
        allocations: &'a [AllocationRecord],
        priority_changes: &'a [PriorityChange],
        standing: Option<Standing>,
    ) -> Self {
        Self {
            backorder: BackorderView::from(backorder),
            queue_position: standing.map(|s| s.position),
            units_ahead: standing.map(|s| s.units_ahead),
            allocations: allocations.iter().map(AllocationView::from).collect(),
            priority_changes: priority_changes
                .iter()
                .map(PriorityChangeView::from)
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AllocationView<'a> {
    pub units: u32,
    pub at: String,
    /// Who allocated: `system:backorder-allocator` or a staff member.
    pub by: &'a str,
    /// What made the units available: a restock, a release, staff's request.
    pub reason: &'a str,
}

impl<'a> From<&'a AllocationRecord> for AllocationView<'a> {
    fn from(record: &'a AllocationRecord) -> Self {
        Self {
            units: record.units,
            at: record.at.to_rfc3339(),
            by: &record.by,
            reason: &record.reason,
        }
    }
}
