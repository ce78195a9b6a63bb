//! Payment settings every function reads the same way.

use crate::config::{self, ConfigError, Source};
use shopflow_domain::CapturePolicy;

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
