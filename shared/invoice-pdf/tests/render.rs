//! Invoices rendered to PDF and read back with poppler's `pdftotext`, as a
//! person copying text from the document would: the number, every line,
//! the totals and the page numbers are there, the header repeats on every
//! page, and the same invoice always gives the same bytes. Page 1 of each
//! is also drawn as a PNG under the target dir, for a person to look at.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shopflow_domain::invoice::{
    Credited, Invoice, InvoiceId, InvoiceLine, InvoiceStatus, InvoiceTotals, Party, Sequence,
    Series, Voiding,
};
use shopflow_domain::{Currency, CustomerId, Email, OrderId, Timestamp};
use std::path::PathBuf;
use std::process::Command;

/// 2026-11-30T01:33:20Z.
const ISSUED: Timestamp = Timestamp::from_millis(1_796_000_000_000);

fn invoice(lines: usize) -> Invoice {
    let lines: Vec<InvoiceLine> = (1..=lines)
        .map(|n| {
            let quantity = u32::try_from(n % 4 + 1).unwrap();
            let unit = 1_000 + i64::try_from(n).unwrap() * 137;
            InvoiceLine {
                sku: None,
                description: if n == 1 {
                    "Größe M tee – Müller & Söhne".to_owned()
                } else {
                    format!("Item {n:02}: enamel mug, blue")
                },
                quantity,
                unit_price_minor: unit,
                total_minor: unit * i64::from(quantity),
            }
        })
        .collect();
    let subtotal: i64 = lines.iter().map(|line| line.total_minor).sum();
    let tax = subtotal * 19 / 100;
    let number = Sequence::of(Series::Invoice, ISSUED).next_after(Some(122));
    Invoice {
        id: InvoiceId::made_at(ISSUED),
        number: Some(number),
        credits: None,
        order_id: Some(OrderId::from_ulid(ulid::Ulid::from_parts(
            ISSUED.as_millis(),
            7,
        ))),
        customer_id: CustomerId::parse("cust-ada").unwrap(),
        seller: Party {
            name: "Shopflow Demo GmbH".into(),
            address: vec!["Torstraße 1".into(), "10119 Berlin".into(), "DE".into()],
            tax_id: Some("DE123456789".into()),
            email: None,
        },
        buyer: Party {
            name: "Ada Müller".into(),
            address: vec![
                "1 Analytical Way".into(),
                "10115 Berlin".into(),
                "DE".into(),
            ],
            tax_id: None,
            email: Some(Email::parse("ada@example.com").unwrap()),
        },
        currency: Currency::parse("EUR").unwrap(),
        lines,
        totals: InvoiceTotals {
            subtotal_minor: subtotal,
            tax_minor: tax,
            shipping_minor: 495,
            total_minor: subtotal + tax + 495,
        },
        status: InvoiceStatus::Paid,
        paid_minor: subtotal + tax + 495,
        created_at: ISSUED,
        issued_at: Some(ISSUED),
        due_at: Some(ISSUED.plus_secs(14 * 86_400)),
        voided: None,
        reminders_sent: 0,
        version: 2,
    }
}

/// `invoice` rendered to `<target tmp>/<name>.pdf`, page 1 drawn beside it.
fn rendered(invoice: &Invoice, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("invoice-pdf");
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join(format!("{name}.pdf"));
    std::fs::write(&pdf, shopflow_invoice_pdf::render(invoice).unwrap()).unwrap();
    let png = dir.join(format!("{name}-page1"));
    let drawn = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&png)
        .status()
        .expect("pdftoppm (poppler-utils) is installed by the bootstrap");
    assert!(drawn.success());
    pdf
}

/// The text of `page` (all pages when none), as `pdftotext -layout` reads it.
fn text(pdf: &PathBuf, page: Option<u32>) -> String {
    let mut command = Command::new("pdftotext");
    command.arg("-layout");
    if let Some(page) = page {
        command.args(["-f", &page.to_string(), "-l", &page.to_string()]);
    }
    let output = command
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by the bootstrap");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

fn pages(pdf: &PathBuf) -> usize {
    text(pdf, None).matches('\u{c}').count()
}

#[test]
fn a_three_line_invoice_shows_its_number_lines_and_totals_on_one_page() {
    let invoice = invoice(3);
    let pdf = rendered(&invoice, "invoice-3-lines");
    let page = text(&pdf, Some(1));

    assert_eq!(pages(&pdf), 1);
    for expected in [
        "INVOICE",
        "No. INV-2026-000123",
        "Issue date: 2026-11-30",
        "Due date: 2026-12-14",
        "Shopflow Demo GmbH",
        "Tax id DE123456789",
        "Bill to:",
        "Ada Müller",
        "Größe M tee – Müller & Söhne",
        "Item 02: enamel mug, blue",
        "Item 03: enamel mug, blue",
        "Page 1 of 1",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} missing from:\n{page}"
        );
    }
    let totals = &invoice.totals;
    for (label, minor) in [
        ("Subtotal", totals.subtotal_minor),
        ("Tax", totals.tax_minor),
        ("Shipping", totals.shipping_minor),
        ("Total", totals.total_minor),
        ("Due", 0),
    ] {
        let shown = format!("{} EUR", invoice.currency.amount(minor));
        let line = page
            .lines()
            .find(|line| line.trim_start().starts_with(label) && line.contains(&shown));
        assert!(line.is_some(), "{label} {shown} missing from:\n{page}");
    }
}

#[test]
fn a_sixty_line_invoice_runs_over_pages_each_with_the_header_and_its_number() {
    let invoice = invoice(60);
    let pdf = rendered(&invoice, "invoice-60-lines");
    let count = pages(&pdf);
    assert!(count >= 2, "{count} pages");

    for page in 1..=u32::try_from(count).unwrap() {
        let shown = text(&pdf, Some(page));
        assert!(
            shown.contains("No. INV-2026-000123"),
            "page {page}:\n{shown}"
        );
        assert!(shown.contains("Shopflow Demo GmbH"), "page {page}");
        assert!(shown.contains("Description"), "page {page}");
        assert!(
            shown.contains(&format!("Page {page} of {count}")),
            "page {page}"
        );
    }
    let all = text(&pdf, None);
    for line in &invoice.lines {
        assert!(
            all.contains(&line.description),
            "{} missing",
            line.description
        );
        assert!(all.contains(&invoice.currency.amount(line.total_minor)));
    }
    let last = text(&pdf, Some(u32::try_from(count).unwrap()));
    assert!(last.contains(&format!(
        "{} EUR",
        invoice.currency.amount(invoice.totals.total_minor)
    )));
    assert!(!text(&pdf, Some(1)).contains("Total credited"));
}

#[test]
fn the_same_invoice_always_renders_to_the_same_bytes() {
    let invoice = invoice(20);
    let first = shopflow_invoice_pdf::render(&invoice).unwrap();
    let again = shopflow_invoice_pdf::render(&invoice).unwrap();
    assert!(first.starts_with(b"%PDF-"));
    assert_eq!(first, again);
    let mut paid_less = invoice.clone();
    paid_less.paid_minor -= 1;
    assert_ne!(shopflow_invoice_pdf::render(&paid_less).unwrap(), first);
}

#[test]
fn a_voided_invoice_carries_the_void_mark_and_its_number() {
    let mut void = invoice(3);
    void.status = InvoiceStatus::Void;
    void.voided = Some(Voiding {
        reason: "duplicate".into(),
        at: ISSUED,
        by: "admin:staff".into(),
    });
    let page = text(&rendered(&void, "invoice-void"), Some(1));

    assert!(page.contains("VOID: duplicate"), "{page}");
    assert!(page.contains("No. INV-2026-000123"));
}

#[test]
fn a_credit_note_names_the_invoice_it_credits_and_no_due_date() {
    let original = invoice(3);
    let note = original
        .credit_note(1_000, 0, "Refund", ISSUED)
        .unwrap()
        .issued(
            Sequence::of(Series::CreditNote, ISSUED).next_after(Some(6)),
            &shopflow_domain::invoice::Terms {
                seller: original.seller.clone(),
                due_days: 14,
            },
            ISSUED,
        )
        .unwrap();
    assert!(matches!(note.credits, Some(Credited { .. })));
    let page = text(&rendered(&note, "credit-note"), Some(1));

    for expected in [
        "CREDIT NOTE",
        "No. CN-2026-000007",
        "Credits invoice INV-2026-000123",
        "Refund (credits INV-2026-000123)",
        "-10.00 EUR",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} missing from:\n{page}"
        );
    }
    assert!(!page.contains("Due date"));
}
