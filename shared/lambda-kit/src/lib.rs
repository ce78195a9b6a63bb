//! What every shopflow Lambda shares: how it is built and run, JSON logs,
//! typed configuration, the one mapping from errors to problem-JSON
//! responses, caller identity from the authorizer's claims, request parsing
//! and idempotency keys.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod apigw;
pub mod auth;
pub mod config;
pub mod consumer;
pub mod function;
pub mod http;
pub mod idempotency;
pub mod integral;
pub mod jobs;
pub mod metrics;
pub mod payments;
pub mod problem;
pub mod signed_link;
pub mod telemetry;
pub mod views;

pub use auth::Caller;
pub use problem::ApiError;

/// The wall clock, read only at the edges so the domain stays deterministic.
pub fn now() -> shopflow_domain::Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    shopflow_domain::Timestamp::from_millis(millis)
}
