//! Cancelling one backorder: on its own, with its refund held back, while
//! its order keeps other units, or with its order when it was all the
//! order had left. The one path the backorders API and the expirer take.

use crate::{
    AllocateError, BackorderCancellation, BackorderStore, CancelBackorderError, ChangeError,
    OrderLifecycle, StatusChange, StoreError,
};
use shopflow_domain::{
    Actor, Backorder, BackorderStatus, CancelRefund, Order, OrderTrigger, Timestamp,
};

/// What cancelling a backorder did.
#[derive(Debug, Clone)]
pub enum CancelOutcome {
    /// It was cancelled before (or its order was): nothing changed.
    AlreadyCancelled(Backorder),
    Cancelled {
        /// As it stands now.
        backorder: Backorder,
        /// Its order as written: keeping its other units, or cancelled.
        order: Box<Order>,
        /// What goes back: the refund held on the order (its id), or, when
        /// the order was cancelled, what its cancellation gives back (no id).
        refund: Option<(Option<String>, CancelRefund)>,
    },
}

/// Why a backorder was not cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelFailure {
    #[error("every unit of this backorder is allocated: cancel the order instead")]
    Fulfilled,
    #[error(transparent)]
    Refused(#[from] CancelBackorderError),
    /// Its order cannot be cancelled (when the backorder was all it had left).
    #[error(transparent)]
    Order(#[from] shopflow_domain::CancelError),
    #[error("the backorder or its order kept changing")]
    KeptChanging,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Attempts at a cancellation when the backorder, its order or its stock
/// moved between read and write.
const CANCEL_ATTEMPTS: u32 = 5;

/// Cancels the backorder `read` (as any read found it) for `actor` and
/// `reason`: on its own while its order keeps other units, or with its
/// order when it was all the order had left. Each attempt decides on the
/// order read consistently, whose lines say exactly what still waits.
pub async fn cancel_backorder<S: BackorderStore + OrderLifecycle>(
    store: &S,
    read: &Backorder,
    actor: &Actor,
    reason: &str,
    at: Timestamp,
) -> Result<CancelOutcome, CancelFailure> {
    for _ in 0..CANCEL_ATTEMPTS {
        let Some(order) = store
            .orders_by_id(&[read.order_id])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(CancelOutcome::AlreadyCancelled(read.cancelled()));
        };
        let Some(backorder) = order.backorders().into_iter().find(|b| b.id == read.id) else {
            return Ok(CancelOutcome::AlreadyCancelled(read.cancelled()));
        };
        if !order.status.is_open() || backorder.status == BackorderStatus::Cancelled {
            return Ok(CancelOutcome::AlreadyCancelled(backorder.cancelled()));
        }
        if backorder.status == BackorderStatus::Fulfilled {
            return Err(CancelFailure::Fulfilled);
        }
        let written = match BackorderCancellation::new(&order, &backorder, actor, reason, at)? {
            Some(part) => cancel_part(store, &backorder, part).await?,
            None => cancel_order(store, &order, &backorder, actor, reason, at).await?,
        };
        if let Some(outcome) = written {
            return Ok(outcome);
        }
    }
    Err(CancelFailure::KeptChanging)
}

async fn cancel_part<S: BackorderStore>(
    store: &S,
    backorder: &Backorder,
    part: BackorderCancellation,
) -> Result<Option<CancelOutcome>, StoreError> {
    match store.cancel_backorder(&part).await {
        Ok(()) => Ok(Some(CancelOutcome::Cancelled {
            backorder: backorder.cancelled(),
            refund: part
                .refund
                .as_ref()
                .map(|refund| (Some(refund.id.clone()), part.shares)),
            order: Box::new(part.order),
        })),
        Err(AllocateError::Moved) => Ok(None),
        Err(AllocateError::Store(error)) => Err(error),
    }
}

async fn cancel_order<S: OrderLifecycle>(
    store: &S,
    order: &Order,
    backorder: &Backorder,
    actor: &Actor,
    reason: &str,
    at: Timestamp,
) -> Result<Option<CancelOutcome>, CancelFailure> {
    let to = order.check_cancel(actor, Some(reason))?;
    let why = format!("backorder cancelled: {reason}");
    let change = StatusChange::new(order, to, OrderTrigger::Cancelled, actor, Some(why), at);
    match store.change_status(&change).await {
        Ok(()) => {
            let shares = order
                .line_with_backorder(backorder.id)
                .map(|line| order.refund_for_cancelled(line, backorder.open(), false));
            let mut after = order.clone();
            after.status = to.status;
            after.fulfillment_status = to.fulfillment_status;
            Ok(Some(CancelOutcome::Cancelled {
                backorder: backorder.cancelled(),
                order: Box::new(after),
                refund: shares.filter(|s| s.amount_minor > 0).map(|s| (None, s)),
            }))
        }
        Err(ChangeError::Store(error)) => Err(error.into()),
        Err(_) => Ok(None),
    }
}
