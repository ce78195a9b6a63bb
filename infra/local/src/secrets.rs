//! The carriers' credentials and the waitlist's signing key on the local
//! stack: put into moto's SSM as SecureString parameters, under the names
//! the template gives the functions, so the functions read them exactly as
//! they do in AWS.

use crate::resources::{Clients, ResourceError};
use crate::template::StackSpec;
use aws_sdk_ssm::types::ParameterType;
use std::collections::BTreeMap;

/// USPS's HMAC secret on the local stack (the courier simulator signs with it).
pub const LOCAL_USPS_SECRET: &str = "usps_local_webhook_secret";
/// The token DHL sends on the local stack.
pub const LOCAL_DHL_TOKEN: &str = "dhl_local_push_token";

/// Canada Post's `username:password` on the local stack (its fake checks it).
pub const LOCAL_CANADA_POST_CREDENTIALS: &str = "shopflow-local:canada-post-password";
/// Chit Chats' access token on the local stack.
pub const LOCAL_CHIT_CHATS_TOKEN: &str = "chitchats_local_token";

/// The key the local stack signs waitlist unsubscribe links with.
pub const LOCAL_WAITLIST_KEY: &str = "waitlist_local_signing_key";

/// Each environment variable naming a secret's parameter, and the local value.
const LOCAL_SECRETS: &[(&str, &str)] = &[
    ("USPS_SECRET_PARAMETER", LOCAL_USPS_SECRET),
    ("DHL_TOKEN_PARAMETER", LOCAL_DHL_TOKEN),
    (
        "CANADA_POST_CREDENTIALS_PARAMETER",
        LOCAL_CANADA_POST_CREDENTIALS,
    ),
    ("CHIT_CHATS_TOKEN_PARAMETER", LOCAL_CHIT_CHATS_TOKEN),
    ("WAITLIST_KEY_PARAMETER", LOCAL_WAITLIST_KEY),
];

/// The parameters the functions' environments name, with their local values.
pub fn local_secrets(spec: &StackSpec) -> BTreeMap<String, &'static str> {
    spec.environments
        .values()
        .flat_map(|environment| {
            LOCAL_SECRETS.iter().filter_map(|(variable, value)| {
                environment
                    .get(*variable)
                    .map(|parameter| (parameter.clone(), *value))
            })
        })
        .collect()
}

/// Puts every local secret into SSM.
pub async fn seed(clients: &Clients, spec: &StackSpec) -> Result<(), ResourceError> {
    for (parameter, value) in local_secrets(spec) {
        clients
            .ssm
            .put_parameter()
            .name(&parameter)
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .map_err(|error| {
                ResourceError(format!(
                    "put parameter {parameter}: {}",
                    aws_sdk_ssm::error::DisplayErrorContext(&error)
                ))
            })?;
    }
    Ok(())
}
