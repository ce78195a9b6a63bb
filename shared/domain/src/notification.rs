//! What a customer is emailed. Transactional mail (their orders, payments,
//! shipments and invoices) always goes: it is part of what they bought.
//! Marketing-like mail (a product back in stock) goes only while they want
//! it, and they may say no at any time.

use crate::ids::{CustomerId, OrderId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of marketing-like mail a customer may refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketingChoices {
    /// "It is back in stock" from a waitlist they joined.
    pub back_in_stock: bool,
}

/// A customer's choices, as last saved; everything is on until they say
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationPreferences {
    pub marketing: MarketingChoices,
    /// When they last changed them; none while never changed.
    pub updated_at: Option<Timestamp>,
}

impl Default for NotificationPreferences {
    fn default() -> Self {
        Self {
            marketing: MarketingChoices {
                back_in_stock: true,
            },
            updated_at: None,
        }
    }
}

impl NotificationPreferences {
    /// The choices `marketing` made at `at`.
    pub fn chosen(marketing: MarketingChoices, at: Timestamp) -> Self {
        Self {
            marketing,
            updated_at: Some(at),
        }
    }

    /// Whether "back in stock" mail may be sent.
    pub fn wants_back_in_stock(&self) -> bool {
        self.marketing.back_in_stock
    }
}

/// The mails shopflow sends, one template each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    OrderConfirmation,
    PaymentFailed,
    /// Cancelled by the customer or staff, or expired unpaid.
    OrderCancelled,
    RefundIssued,
    Shipped,
    OutForDelivery,
    Delivered,
    DeliveryException,
    BackorderConfirmation,
    BackorderAllocated,
    BackorderCancelled,
    BackInStock,
    InvoiceIssued,
    InvoiceOverdue,
}

impl Template {
    pub const ALL: [Template; 14] = [
        Self::OrderConfirmation,
        Self::PaymentFailed,
        Self::OrderCancelled,
        Self::RefundIssued,
        Self::Shipped,
        Self::OutForDelivery,
        Self::Delivered,
        Self::DeliveryException,
        Self::BackorderConfirmation,
        Self::BackorderAllocated,
        Self::BackorderCancelled,
        Self::BackInStock,
        Self::InvoiceIssued,
        Self::InvoiceOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderConfirmation => "order_confirmation",
            Self::PaymentFailed => "payment_failed",
            Self::OrderCancelled => "order_cancelled",
            Self::RefundIssued => "refund_issued",
            Self::Shipped => "shipped",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delivered => "delivered",
            Self::DeliveryException => "delivery_exception",
            Self::BackorderConfirmation => "backorder_confirmation",
            Self::BackorderAllocated => "backorder_allocated",
            Self::BackorderCancelled => "backorder_cancelled",
            Self::BackInStock => "back_in_stock",
            Self::InvoiceIssued => "invoice_issued",
            Self::InvoiceOverdue => "invoice_overdue",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// Marketing-like mail, which a customer may refuse; everything else is
    /// about what they bought and always goes.
    pub fn is_marketing(self) -> bool {
        self == Self::BackInStock
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one notification is: the event that asked for it, its template and
/// the address it goes to. A notification is sent once per key, however
/// often its event is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationKey {
    pub event_id: String,
    pub template: Template,
    /// The address, in lower case.
    pub to: String,
}

impl NotificationKey {
    pub fn new(event_id: &str, template: Template, to: &str) -> Self {
        Self {
            event_id: event_id.to_owned(),
            template,
            to: to.to_lowercase(),
        }
    }
}

/// Where a notification stands. `pending` until the mail service took it;
/// then what the mail service reported back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// Recorded, not sent yet (or sent and not recorded: a crash there is
    /// sent again).
    Pending,
    /// The mail service took it.
    Sent,
    /// The mail service refused it for good.
    Failed,
    /// Not sent: the address bounced or complained before.
    Suppressed,
    /// Not sent: the customer refused this kind of mail.
    OptedOut,
    /// The receiving server accepted it.
    Delivered,
    /// The receiving server refused it.
    Bounced,
    /// The recipient marked it as spam.
    Complained,
}

impl NotificationStatus {
    pub const ALL: [NotificationStatus; 8] = [
        Self::Pending,
        Self::Sent,
        Self::Failed,
        Self::Suppressed,
        Self::OptedOut,
        Self::Delivered,
        Self::Bounced,
        Self::Complained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Suppressed => "suppressed",
            Self::OptedOut => "opted_out",
            Self::Delivered => "delivered",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the mail went out (whatever became of it after).
    pub fn was_sent(self) -> bool {
        matches!(
            self,
            Self::Sent | Self::Delivered | Self::Bounced | Self::Complained
        )
    }
}

/// One notification, as recorded before it is sent and moved on after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub key: NotificationKey,
    /// The order it is about, when it is about one.
    pub order_id: Option<OrderId>,
    pub customer_id: Option<CustomerId>,
    pub status: NotificationStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// While pending: until when the sender that recorded it holds it. A
    /// second delivery of its event waits until then, so two deliveries
    /// at once never both send.
    pub held_until: Option<Timestamp>,
    /// Sends tried.
    pub attempts: u32,
    /// The mail service's id for the message, once sent.
    pub message_id: Option<String>,
    /// Why it failed, was not sent, or bounced.
    pub detail: Option<String>,
    /// Optimistic-locking counter: every change is conditional on it.
    pub version: u64,
}

/// What a sender does with a notification it found recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Settled before: nothing to do.
    Settled(NotificationStatus),
    /// Another sender holds it until then: try again later.
    Held(Timestamp),
    /// Pending and nobody holds it (a sender stopped after recording it):
    /// take it over and send.
    Abandoned,
}

impl Notification {
    /// A new notification, held by its sender for `hold_secs` seconds.
    pub fn pending(
        key: NotificationKey,
        order_id: Option<OrderId>,
        customer_id: Option<CustomerId>,
        at: Timestamp,
        hold_secs: u64,
    ) -> Self {
        Self {
            key,
            order_id,
            customer_id,
            status: NotificationStatus::Pending,
            created_at: at,
            updated_at: at,
            held_until: Some(at.plus_secs(hold_secs)),
            attempts: 0,
            message_id: None,
            detail: None,
            version: 1,
        }
    }

    /// What a sender that finds this notification already recorded at
    /// `now` does with it.
    pub fn standing(&self, now: Timestamp) -> Recorded {
        match (self.status, self.held_until) {
            (NotificationStatus::Pending, Some(until)) if until > now => Recorded::Held(until),
            (NotificationStatus::Pending, _) => Recorded::Abandoned,
            (status, _) => Recorded::Settled(status),
        }
    }

    /// Taken over by a sender at `at`, held for `hold_secs` seconds.
    pub fn taken_over(&self, at: Timestamp, hold_secs: u64) -> Self {
        self.moved(NotificationStatus::Pending, at, |n| {
            n.held_until = Some(at.plus_secs(hold_secs));
        })
    }

    /// A send tried at `at` that did not go through and will be tried
    /// again (by the queue); released so the retry need not wait.
    pub fn retried(&self, at: Timestamp, error: &str) -> Self {
        self.moved(NotificationStatus::Pending, at, |n| {
            n.attempts += 1;
            n.held_until = None;
            n.detail = Some(error.to_owned());
        })
    }

    /// Taken by the mail service as `message_id`.
    pub fn sent(&self, at: Timestamp, message_id: &str) -> Self {
        self.moved(NotificationStatus::Sent, at, |n| {
            n.attempts += 1;
            n.message_id = Some(message_id.to_owned());
            n.detail = None;
        })
    }

    /// Refused by the mail service for good.
    pub fn failed(&self, at: Timestamp, reason: &str) -> Self {
        self.moved(NotificationStatus::Failed, at, |n| {
            n.attempts += 1;
            n.detail = Some(reason.to_owned());
        })
    }

    /// Not sent: `status` (suppressed or opted out) for `reason`.
    pub fn withheld(&self, at: Timestamp, status: NotificationStatus, reason: &str) -> Self {
        self.moved(status, at, |n| n.detail = Some(reason.to_owned()))
    }

    /// What the mail service later reported on it, if it moves it: a
    /// delivery, a bounce or a complaint moves a sent mail (and a delivery
    /// reported after a bounce or complaint does not hide them).
    pub fn reported(&self, feedback: &Feedback, at: Timestamp) -> Option<Self> {
        let status = match feedback {
            Feedback::Rejected { .. } => NotificationStatus::Failed,
            Feedback::Delivered => NotificationStatus::Delivered,
            Feedback::Bounced {
                permanent: false, ..
            } => return None,
            Feedback::Bounced { .. } => NotificationStatus::Bounced,
            Feedback::Complained => NotificationStatus::Complained,
        };
        let open = match self.status {
            NotificationStatus::Pending | NotificationStatus::Sent => true,
            // A complaint, or a bounce the receiving server sent later,
            // comes after the delivery it is about.
            NotificationStatus::Delivered => matches!(
                status,
                NotificationStatus::Bounced | NotificationStatus::Complained
            ),
            _ => false,
        };
        open.then(|| {
            self.moved(status, at, |n| {
                if let Feedback::Bounced { kind: why, .. } | Feedback::Rejected { reason: why } =
                    feedback
                {
                    n.detail = Some(why.clone());
                }
            })
        })
    }

    /// Where it sorts in listings, newest last: when it was made, then its
    /// key. Unique, and the same in every store.
    pub fn listing_key(&self) -> String {
        format!(
            "{:015}#{}#{}#{}",
            self.created_at.as_millis(),
            self.key.event_id,
            self.key.template,
            self.key.to
        )
    }

    fn moved(
        &self,
        status: NotificationStatus,
        at: Timestamp,
        change: impl FnOnce(&mut Self),
    ) -> Self {
        let mut next = self.clone();
        next.status = status;
        next.updated_at = at;
        if status != NotificationStatus::Pending {
            next.held_until = None;
        }
        next.version += 1;
        change(&mut next);
        next
    }
}

/// What the mail service reported about a sent mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    Delivered,
    /// `permanent`: the address does not take mail (a hard bounce);
    /// otherwise a full mailbox or the like, which may pass.
    Bounced {
        permanent: bool,
        kind: String,
    },
    Complained,
    /// Taken, then refused before delivery (SES found a virus in it).
    Rejected {
        reason: String,
    },
}

impl Feedback {
    /// Why an address must not be mailed again, if this says so: a hard
    /// bounce or a complaint.
    pub fn suppresses(&self) -> Option<SuppressionReason> {
        match self {
            Self::Bounced {
                permanent: true, ..
            } => Some(SuppressionReason::Bounce),
            Self::Complained => Some(SuppressionReason::Complaint),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    Bounce,
    Complaint,
}

impl SuppressionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
        }
    }
}

/// An address nothing is sent to any more, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// In lower case.
    pub address: String,
    pub reason: SuppressionReason,
    pub at: Timestamp,
    /// The notification whose feedback put it there.
    pub notification: NotificationKey,
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_is_on_until_the_customer_says_otherwise() {
        let unset = NotificationPreferences::default();
        assert!(unset.wants_back_in_stock());
        assert_eq!(unset.updated_at, None);

        let at = Timestamp::from_millis(1_796_000_000_000);
        let refused = NotificationPreferences::chosen(
            MarketingChoices {
                back_in_stock: false,
            },
            at,
        );
        assert!(!refused.wants_back_in_stock());
        assert_eq!(refused.updated_at, Some(at));
    }

    fn key() -> NotificationKey {
        NotificationKey::new("evt-1", Template::OrderConfirmation, "Ada@Example.com")
    }

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(1_796_000_000_000 + ms)
    }

    #[test]
    fn a_key_keeps_the_address_in_lower_case() {
        assert_eq!(key().to, "ada@example.com");
    }

    #[test]
    fn only_back_in_stock_is_marketing() {
        let marketing: Vec<_> = Template::ALL
            .into_iter()
            .filter(|t| t.is_marketing())
            .collect();
        assert_eq!(marketing, vec![Template::BackInStock]);
        for template in Template::ALL {
            assert_eq!(Template::parse(template.as_str()), Some(template));
        }
        for status in NotificationStatus::ALL {
            assert_eq!(NotificationStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn a_second_sender_waits_while_the_first_holds_it_then_takes_over() {
        let pending = Notification::pending(key(), None, None, at(0), 60);
        assert_eq!(pending.standing(at(59_999)), Recorded::Held(at(60_000)));
        assert_eq!(pending.standing(at(60_000)), Recorded::Abandoned);
        let taken = pending.taken_over(at(60_000), 60);
        assert_eq!(taken.version, 2);
        assert_eq!(taken.standing(at(60_001)), Recorded::Held(at(120_000)));
    }

    #[test]
    fn a_retried_send_is_released_at_once_and_counted() {
        let pending = Notification::pending(key(), None, None, at(0), 60);
        let retried = pending.retried(at(10), "throttled");
        assert_eq!(retried.attempts, 1);
        assert_eq!(retried.standing(at(11)), Recorded::Abandoned);
        assert_eq!(retried.detail.as_deref(), Some("throttled"));
    }

    #[test]
    fn a_settled_notification_is_never_sent_again() {
        let pending = Notification::pending(key(), None, None, at(0), 60);
        let sent = pending.sent(at(5), "ses-1");
        assert_eq!(
            sent.standing(at(6)),
            Recorded::Settled(NotificationStatus::Sent)
        );
        assert_eq!(sent.message_id.as_deref(), Some("ses-1"));
        assert_eq!(sent.held_until, None);
        let failed = pending.failed(at(5), "MessageRejected");
        assert_eq!(
            failed.standing(at(6)),
            Recorded::Settled(NotificationStatus::Failed)
        );
    }

    #[test]
    fn feedback_moves_a_sent_mail_and_a_late_delivery_hides_no_bounce() {
        let sent = Notification::pending(key(), None, None, at(0), 60_000).sent(at(1), "m");
        let bounce = Feedback::Bounced {
            permanent: true,
            kind: "Permanent/General".into(),
        };
        let bounced = sent.reported(&bounce, at(2)).unwrap();
        assert_eq!(bounced.status, NotificationStatus::Bounced);
        assert_eq!(bounced.detail.as_deref(), Some("Permanent/General"));
        assert_eq!(bounced.reported(&Feedback::Delivered, at(3)), None);

        let delivered = sent.reported(&Feedback::Delivered, at(2)).unwrap();
        assert_eq!(delivered.reported(&Feedback::Delivered, at(3)), None);
        let complained = delivered.reported(&Feedback::Complained, at(3)).unwrap();
        assert_eq!(complained.status, NotificationStatus::Complained);

        let soft = Feedback::Bounced {
            permanent: false,
            kind: "Transient/MailboxFull".into(),
        };
        assert_eq!(sent.reported(&soft, at(2)), None);
    }

    #[test]
    fn hard_bounces_and_complaints_suppress_the_address() {
        let hard = Feedback::Bounced {
            permanent: true,
            kind: "Permanent/General".into(),
        };
        let soft = Feedback::Bounced {
            permanent: false,
            kind: "Transient/General".into(),
        };
        assert_eq!(hard.suppresses(), Some(SuppressionReason::Bounce));
        assert_eq!(
            Feedback::Complained.suppresses(),
            Some(SuppressionReason::Complaint)
        );
        assert_eq!(soft.suppresses(), None);
        assert_eq!(Feedback::Delivered.suppresses(), None);
    }
}
