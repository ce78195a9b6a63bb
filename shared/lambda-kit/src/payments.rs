//! The payment provider a function talks to, chosen once at start-up:
//! Stripe when `STRIPE_SECRET_KEY` is set, the mock otherwise. The mock is
//! refused when `STAGE=prod`, and announced in the logs wherever it runs.

use crate::config::{self, ConfigError, Source};
use shopflow_domain::CapturePolicy;
use shopflow_store::stripe::{Gateway, MockGateway, StripeClient, StripeConfig};

/// Where the mock serves hosted checkout pages when nothing else is set.
const MOCK_CHECKOUT_PAGES: &str = "http://127.0.0.1:3000/_mock/stripe/checkout";

/// `STRIPE_SECRET_KEY` (and `STRIPE_API_BASE`, for an emulator), or the mock.
pub fn gateway_from(vars: &impl Source) -> Result<Gateway, ConfigError> {
    let stage = config::optional(vars, "STAGE").unwrap_or_default();
    let Some(key) = config::optional(vars, "STRIPE_SECRET_KEY") else {
        if stage == "prod" {
            return Err(ConfigError::Invalid {
                name: "STRIPE_SECRET_KEY",
                reason: "is required when STAGE=prod: mock payments are refused in production"
                    .into(),
            });
        }
        tracing::warn!(
            payments = "mock",
            %stage,
            "payments run in MOCK mode: no STRIPE_SECRET_KEY is set, no real money moves"
        );
        return Ok(Gateway::Mock(MockGateway::new(MOCK_CHECKOUT_PAGES)));
    };
    if !(key.starts_with("sk_") || key.starts_with("rk_")) {
        return Err(ConfigError::Invalid {
            name: "STRIPE_SECRET_KEY",
            reason: "must be a Stripe secret or restricted key (sk_… or rk_…)".into(),
        });
    }
    let base = config::optional(vars, "STRIPE_API_BASE")
        .unwrap_or_else(|| StripeConfig::DEFAULT_API_BASE.to_owned());
    let client = StripeClient::new(StripeConfig::new(key.clone(), base.clone())).map_err(|e| {
        ConfigError::Invalid {
            name: "STRIPE_SECRET_KEY",
            reason: format!("the HTTPS client cannot start: {e}"),
        }
    })?;
    let mode = if key.contains("_live_") {
        "live"
    } else {
        "test"
    };
    tracing::info!(payments = "stripe", mode, api_base = %base, "payments go to Stripe");
    Ok(Gateway::Stripe(client))
}

/// `CAPTURE_ON`: `authorize` (the default) or `ship`. Capture on shipment
/// needs something that ships orders (`order.shipped`); until fulfilment
/// exists, an authorization left waiting for it would lapse after 7 days.
pub fn capture_policy_from(vars: &impl Source) -> Result<CapturePolicy, ConfigError> {
    let raw = config::optional(vars, "CAPTURE_ON").unwrap_or_else(|| "authorize".into());
    CapturePolicy::parse(raw.trim()).ok_or(ConfigError::Invalid {
        name: "CAPTURE_ON",
        reason: format!("{raw:?} is neither `ship` nor `authorize`"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vars;

    #[test]
    fn without_a_key_payments_are_mocked_except_in_production() {
        assert!(gateway_from(&vars(&[("STAGE", "dev")])).unwrap().is_mock());
        let refused = gateway_from(&vars(&[("STAGE", "prod")])).unwrap_err();
        assert!(
            refused.to_string().contains("STRIPE_SECRET_KEY"),
            "{refused}"
        );
        assert!(
            !gateway_from(&vars(&[
                ("STAGE", "prod"),
                ("STRIPE_SECRET_KEY", "sk_live_x")
            ]))
            .unwrap()
            .is_mock()
        );
    }

    #[test]
    fn a_key_that_is_not_a_stripe_secret_is_refused() {
        assert!(gateway_from(&vars(&[("STRIPE_SECRET_KEY", "pk_test_public")])).is_err());
    }

    #[test]
    fn capture_happens_at_authorization_unless_configured_for_shipment() {
        assert_eq!(
            capture_policy_from(&vars(&[])).unwrap(),
            CapturePolicy::OnAuthorization
        );
        assert_eq!(
            capture_policy_from(&vars(&[("CAPTURE_ON", "ship")])).unwrap(),
            CapturePolicy::OnShipment
        );
        assert!(capture_policy_from(&vars(&[("CAPTURE_ON", "later")])).is_err());
    }
}
