//! What a customer is emailed. Transactional mail (their orders, payments,
//! shipments and invoices) always goes: it is part of what they bought.
//! Marketing-like mail (a product back in stock) goes only while they want
//! it, and they may say no at any time.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

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
}
