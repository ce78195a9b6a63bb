//! How long a 20-line invoice takes to render, and how big it is:
//! `cargo run --release -p shopflow-invoice-pdf --example render_time`.
//! Prints the median and the slowest of 200 renders after one warm-up (the
//! first parses the font).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shopflow_domain::invoice::{
    Invoice, InvoiceId, InvoiceLine, InvoiceStatus, InvoiceTotals, Party, Sequence, Series,
};
use shopflow_domain::{Currency, CustomerId, Timestamp};
use std::time::{Duration, Instant};

fn main() {
    let at = Timestamp::from_millis(1_796_000_000_000);
    let lines: Vec<InvoiceLine> = (1..=20)
        .map(|n| InvoiceLine {
            sku: None,
            description: format!("Item {n:02}: enamel mug, blue"),
            quantity: 2,
            unit_price_minor: 1_250,
            total_minor: 2_500,
        })
        .collect();
    let party = |name: &str| Party {
        name: name.into(),
        address: vec!["Torstraße 1".into(), "10119 Berlin".into(), "DE".into()],
        tax_id: None,
        email: None,
    };
    let invoice = Invoice {
        id: InvoiceId::made_at(at),
        number: Some(Sequence::of(Series::Invoice, at).next_after(Some(41))),
        credits: None,
        order_id: None,
        customer_id: CustomerId::parse("cust-ada").unwrap(),
        seller: party("Shopflow Demo GmbH"),
        buyer: party("Ada Müller"),
        currency: Currency::parse("EUR").unwrap(),
        lines,
        totals: InvoiceTotals {
            subtotal_minor: 50_000,
            tax_minor: 9_500,
            shipping_minor: 0,
            total_minor: 59_500,
        },
        status: InvoiceStatus::Issued,
        paid_minor: 0,
        created_at: at,
        issued_at: Some(at),
        due_at: Some(at.plus_secs(14 * 86_400)),
        voided: None,
        reminders_sent: 0,
        version: 1,
    };
    let first = Instant::now();
    let size = shopflow_invoice_pdf::render(&invoice).unwrap().len();
    let first = first.elapsed();
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            let started = Instant::now();
            shopflow_invoice_pdf::render(&invoice).unwrap();
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "20-line invoice: {size} B; first render {first:?}, then p50 {:?}, max {:?} (200 renders)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
