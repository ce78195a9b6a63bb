//! shopflow's storage ports and their adapters. The ports speak the domain's
//! language; only the adapters in `dynamo` and `eventbridge` name AWS SDK types.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod dynamo;
pub mod eventbridge;
pub mod memory;
mod payments;
mod ports;
pub mod sqs;
pub mod stripe;

pub use payments::*;
pub use ports::*;
