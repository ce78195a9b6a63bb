//! The payment provider a function talks to, chosen once at start-up.
//!
//! - `STRIPE_SECRET_KEY` set: Stripe (or, with `STRIPE_API_BASE`, an
//!   emulator such as localstripe). Live keys (`sk_live_`, `rk_live_`) run
//!   only in `STAGE=prod`; every other stage takes a test key.
//! - No key: only the local stack (`STAGE=local`), which hands every
//!   function the one mock it shares, so a payment made at checkout is the
//!   one captured and refunded later. Deployed, a function without a key
//!   refuses to start: each Lambda would hold a mock of its own, and no
//!   payment could be taken (decision 0009).

use shopflow_lambda_kit::config::{self, ConfigError, Source};
use shopflow_ports::Payments;
use std::sync::Arc;

use crate::{StripeClient, StripeConfig};

const KEY: &str = "STRIPE_SECRET_KEY";

/// The provider `env` names, or `local_mock` on the local stack.
pub fn payments_from(
    env: &impl Source,
    local_mock: Option<&Payments>,
) -> Result<Payments, ConfigError> {
    let stage = config::optional(env, "STAGE").unwrap_or_default();
    let Some(key) = config::optional(env, KEY) else {
        return match (stage.as_str(), local_mock) {
            ("local", Some(mock)) => {
                tracing::warn!(
                    payments = "mock",
                    "payments run in MOCK mode: no STRIPE_SECRET_KEY is set, no real money moves"
                );
                Ok(mock.clone())
            }
            _ => Err(ConfigError::Invalid {
                name: KEY,
                reason: format!(
                    "is required in stage {stage:?}: a test key (sk_test_… or rk_test_…), or a live key in prod; \
                     only the local stack runs without one"
                ),
            }),
        };
    };
    let live = key.starts_with("sk_live_") || key.starts_with("rk_live_");
    let test = key.starts_with("sk_test_") || key.starts_with("rk_test_");
    if !(live || test) {
        return Err(ConfigError::Invalid {
            name: KEY,
            reason: "must be a Stripe secret or restricted key (sk_test_…, rk_test_…, sk_live_… or rk_live_…)"
                .into(),
        });
    }
    if live && stage != "prod" {
        return Err(ConfigError::Invalid {
            name: KEY,
            reason: format!("is a live key, which only STAGE=prod may use (this is {stage:?})"),
        });
    }
    let base = config::optional(env, "STRIPE_API_BASE")
        .unwrap_or_else(|| StripeConfig::DEFAULT_API_BASE.to_owned());
    let client = StripeClient::new(StripeConfig::new(key, base.clone())).map_err(|e| {
        ConfigError::Invalid {
            name: KEY,
            reason: format!("the HTTPS client cannot start: {e}"),
        }
    })?;
    let mode = if live { "live" } else { "test" };
    tracing::info!(payments = "stripe", mode, api_base = %base, "payments go to Stripe");
    Ok(Arc::new(client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopflow_lambda_kit::config::vars;
    use shopflow_ports::{
        CheckoutSession, CheckoutSessionRequest, GatewayError, Intent, IntentRequest,
        PaymentGateway, ProviderRefund, RefundRequest,
    };

    /// Stands in for the local stack's mock: it is only ever handed over.
    struct Unused;

    #[async_trait::async_trait]
    impl PaymentGateway for Unused {
        async fn create_intent(&self, _: &IntentRequest) -> Result<Intent, GatewayError> {
            unreachable!()
        }
        async fn intent(&self, _: &str) -> Result<Intent, GatewayError> {
            unreachable!()
        }
        async fn capture(&self, _: &str, _: i64, _: &str) -> Result<Intent, GatewayError> {
            unreachable!()
        }
        async fn cancel(&self, _: &str, _: &str) -> Result<Intent, GatewayError> {
            unreachable!()
        }
        async fn refund(&self, _: &RefundRequest) -> Result<ProviderRefund, GatewayError> {
            unreachable!()
        }
        async fn create_checkout_session(
            &self,
            _: &CheckoutSessionRequest,
        ) -> Result<CheckoutSession, GatewayError> {
            unreachable!()
        }
        async fn expire_checkout_session(&self, _: &str) -> Result<(), GatewayError> {
            unreachable!()
        }
    }

    fn refused(env: &[(&str, &str)], mock: Option<&Payments>) -> String {
        match payments_from(&vars(env), mock) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("{env:?} was accepted"),
        }
    }

    #[test]
    fn only_the_local_stack_runs_without_a_key_and_then_on_its_shared_mock() {
        let mock: Payments = Arc::new(Unused);
        let chosen = payments_from(&vars(&[("STAGE", "local")]), Some(&mock)).unwrap();
        assert!(Arc::ptr_eq(&chosen, &mock), "the stack's one mock");
        for stage in ["dev", "staging", "prod"] {
            let error = refused(&[("STAGE", stage)], Some(&mock));
            assert!(
                error.contains("STRIPE_SECRET_KEY") && error.contains("test key"),
                "{error}"
            );
        }
        assert!(refused(&[("STAGE", "local")], None).contains("STRIPE_SECRET_KEY"));
    }

    #[test]
    fn deployed_stages_take_test_keys_and_only_prod_a_live_one() {
        for key in ["sk_test_1", "rk_test_1"] {
            assert!(payments_from(&vars(&[("STAGE", "dev"), (KEY, key)]), None).is_ok());
        }
        assert!(refused(&[("STAGE", "dev"), (KEY, "sk_live_1")], None).contains("live key"));
        assert!(payments_from(&vars(&[("STAGE", "prod"), (KEY, "rk_live_1")]), None).is_ok());
        assert!(refused(&[("STAGE", "dev"), (KEY, "pk_test_public")], None).contains("secret"));
    }
}
