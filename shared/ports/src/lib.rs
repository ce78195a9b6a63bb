//! shopflow's ports: the traits handlers depend on and the types they speak,
//! in the domain's language. Adapters (DynamoDB, EventBridge, SQS, Stripe)
//! implement them in crates of their own; the in-memory fake lives with the
//! test kit. Nothing here names an AWS SDK type or makes a network call.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod archive;
mod backorders;
mod cancellation;
mod invoices;
mod jobs;
mod ledger;
mod notifications;
mod payments;
mod polling;
mod ports;
mod secrets;
mod shipments;
mod waitlist;

pub use archive::*;
pub use backorders::*;
pub use cancellation::*;
pub use invoices::*;
pub use jobs::*;
pub use ledger::*;
pub use notifications::*;
pub use payments::*;
pub use polling::*;
pub use ports::*;
pub use secrets::*;
pub use shipments::*;
pub use waitlist::*;
