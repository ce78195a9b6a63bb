//! The test helpers every function's tests share: logs taken as Lambda takes
//! them, API Gateway requests and the handler's replies, bus events as SQS
//! delivers them, shop fixtures, the in-memory store (the fake of the
//! storage ports, held to the DynamoDB adapter by tests/tests/store_contract.rs)
//! and its sharing between a handler and its test.
//! Helpers only one function's tests need stay in its `tests/common`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod bus;
pub mod clock;
pub mod couriers;
pub mod fixtures;
pub mod mail;
pub mod memory;
pub mod store;
pub mod stripe;

pub use api::{
    Claims, Reply, admin, anonymous, call, claims, customer, json_request, path_segment, request,
};
pub use bus::{PAYMENTS, eventbridge_body, sqs_batch, sqs_record};
pub use clock::clear_of_the_hour;
pub use fixtures::{
    ADA, GRACE, OPENING_DAY, STAFF, TEST_PAYMENT, ada_address, allow_backorders, apply,
    backordered_line, eur, invoice_terms, order_line, paid_order, payment_reports, payments,
    place_order, receive_stock, red_tee, ship_all, sku, status_events, try_place_order,
    unpaid_invoice, unpaid_order, wh,
};
pub use mail::MemoryMailer;
pub use memory::{MemoryBucket, MemorySecrets, MemoryStore};
pub use store::{SharedStore, StoreHooks};

/// A subscriber that takes every span and event, as Lambda's JSON logs do,
/// so the values the handler logs are computed (and can fail) in tests too.
/// The lines themselves are thrown away.
pub fn logging() -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(std::io::sink)
            .finish(),
    )
}
