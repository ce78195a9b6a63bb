//! Mail on the local stack: moto takes SES v2 sends and keeps them (at
//! `/moto-api/data.json`) once the sender's identity is verified, which in
//! AWS the shop does once, by DNS or by a link.

use crate::resources::{Clients, ResourceError};
use crate::template::StackSpec;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};

/// Verifies the domain of every sender address the functions' environments
/// name (`MAIL_FROM`), so moto accepts their mail.
pub async fn verify_sender(clients: &Clients, spec: &StackSpec) -> Result<(), ResourceError> {
    let domains: std::collections::BTreeSet<String> = spec
        .environments
        .values()
        .filter_map(|environment| environment.get("MAIL_FROM"))
        .filter_map(|from| sender_domain(from))
        .collect();
    for domain in domains {
        let created = clients
            .ses
            .create_email_identity()
            .email_identity(&domain)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(error) if error.code() == Some("AlreadyExistsException") => {}
            Err(error) => {
                return Err(ResourceError(format!(
                    "verifying {domain}: {}",
                    DisplayErrorContext(&error)
                )));
            }
        }
    }
    Ok(())
}

/// `shop.example.com` from `Shop <no-reply@shop.example.com>` or
/// `no-reply@shop.example.com`.
fn sender_domain(from: &str) -> Option<String> {
    let address = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from,
    };
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_read_from_a_named_or_bare_address() {
        assert_eq!(
            sender_domain("Shop <no-reply@shop.example.com>").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(
            sender_domain("no-reply@shop.example.com").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(sender_domain("nobody"), None);
    }
}
