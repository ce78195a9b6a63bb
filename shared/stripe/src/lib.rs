//! Stripe, the payment provider: the HTTP client over the TLS stack the AWS
//! SDK already links (`client`), webhook signatures (`signature`), the wire
//! shapes (`wire`), and the choice of provider a function makes at start-up
//! (`setup`).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod client;
pub mod form;
pub mod setup;
pub mod signature;
pub mod wire;

pub use client::{StripeClient, StripeConfig};
